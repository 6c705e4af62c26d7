import { describe, expect, it } from 'vitest';
import { ApiThrottle, quotaPeriodStart, stageThrottleFor, TokenBucket } from '#local/apigateway/throttle.ts';
import { statementMatches, WafRateLimiter } from '#local/cloudfront/waf.ts';
import { methodThrottles, throttleOf, usagePlan } from '#local/template/model/throttling.ts';
import { rateRules, wafStatement } from '#local/template/model/wafv2.ts';
import { buildStackModel, type LocalAddresses } from '#local/template/stack-model.ts';
import type { StackTemplate } from '#local/template/template.ts';

// Token buckets as API Gateway documents them: burst = bucket size, rate = refill per second
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
describe('TokenBucket', () => {
  it('starts full, empties after the burst, refills at the rate, never above the burst', () => {
    const bucket = new TokenBucket({ rateLimit: 2, burstLimit: 3 }, 0);
    expect([1, 2, 3, 4].map(() => bucket.take(0))).toEqual([true, true, true, false]);
    expect(bucket.take(400)).toBe(false); // 0.8 token
    expect(bucket.take(500)).toBe(true); // 1 token
    expect([1, 2, 3, 4].map(() => bucket.take(100_000))).toEqual([true, true, true, false]);
  });

  it('throttles everything with a burst of 0, and never with infinite limits; a clock going back adds nothing', () => {
    expect(new TokenBucket({ rateLimit: 10, burstLimit: 0 }, 0).take(5000)).toBe(false);
    const open = new TokenBucket({ rateLimit: Infinity, burstLimit: Infinity }, 0);
    expect(Array.from({ length: 1000 }, () => open.take(0)).every(Boolean)).toBe(true);
    const bucket = new TokenBucket({ rateLimit: 1, burstLimit: 1 }, 10_000);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(0)).toBe(false);
  });
});

describe('quotaPeriodStart', () => {
  const at = Date.UTC(2026, 10, 26, 15, 30); // Thursday 26 November 2026
  it.each([
    ['DAY', Date.UTC(2026, 10, 26)],
    ['WEEK', Date.UTC(2026, 10, 23)],
    ['MONTH', Date.UTC(2026, 10, 1)],
  ] as const)('%s starts at UTC midnight of its first day', (period, start) => {
    expect(quotaPeriodStart(period, at)).toBe(start);
  });
});

const plan = (over: Partial<Parameters<typeof usagePlan>[1]> = {}) =>
  usagePlan(
    'Plan',
    {
      UsagePlanName: 'p',
      ApiStages: [{ ApiId: 'api', Stage: 'StageRef' }],
      Throttle: { RateLimit: 1, BurstLimit: 2 },
      Quota: { Limit: 3, Period: 'DAY' },
      ...over,
    },
    ['prod', 'StageRef'],
  );

describe('the template reader', () => {
  it('reads a usage plan covering the stage by its Ref, with its per-method throttles', () => {
    expect(
      plan({
        ApiStages: [{ Stage: 'StageRef', Throttle: { '/v1/images/POST': { RateLimit: 5, BurstLimit: 6 } } }],
      }),
    ).toEqual({
      id: 'Plan',
      name: 'p',
      throttle: { rateLimit: 1, burstLimit: 2 },
      methodThrottles: { '/v1/images/POST': { rateLimit: 5, burstLimit: 6 } },
      quota: { limit: 3, period: 'DAY', offset: 0 },
      keyIds: [],
      // GetUsagePlans lists the stage by name, not by the Stage resource's Ref.
      apiStages: [{ apiId: '', stage: 'prod' }],
    });
    expect(plan({ ApiStages: [{ Stage: 'other' }] })).toBeUndefined();
    expect(() => plan({ Quota: { Limit: 3, Period: 'YEAR' } })).toThrow(/DAY, WEEK or MONTH/);
  });

  it('reads method settings with throttles only, unescaping paths; a missing half is unlimited', () => {
    expect(
      methodThrottles([
        { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        { HttpMethod: 'get', ResourcePath: '/~1v1~1health', ThrottlingRateLimit: 1 },
        { HttpMethod: '*', ResourcePath: '/*', DataTraceEnabled: false },
      ]),
    ).toEqual([
      { httpMethod: '*', resourcePath: '/*', rateLimit: 100, burstLimit: 200 },
      { httpMethod: 'GET', resourcePath: '/v1/health', rateLimit: 1, burstLimit: Infinity },
    ]);
    expect(methodThrottles('garbage')).toEqual([]);
    expect(throttleOf(undefined, undefined)).toBeUndefined();
  });

  it('builds the throttling of a whole stack: stage, plan, and the keys UsagePlanKeys attach', () => {
    const stack: StackTemplate = {
      stackName: 'T',
      outputs: {},
      conditions: {},
      resources: {
        Api: { Type: 'AWS::ApiGateway::RestApi', Properties: { Name: 'a' } },
        Stage: {
          Type: 'AWS::ApiGateway::Stage',
          Properties: {
            StageName: 'prod',
            MethodSettings: [
              { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
            ],
          },
        },
        Key: { Type: 'AWS::ApiGateway::ApiKey', Properties: {} },
        Plan: {
          Type: 'AWS::ApiGateway::UsagePlan',
          Properties: {
            ApiStages: [{ ApiId: { Ref: 'Api' }, Stage: { Ref: 'Stage' } }],
            Throttle: { RateLimit: 25, BurstLimit: 50 },
            Quota: { Limit: 1000000, Period: 'MONTH' },
          },
        },
        PlanKey: {
          Type: 'AWS::ApiGateway::UsagePlanKey',
          Properties: { KeyId: { Ref: 'Key' }, KeyType: 'API_KEY', UsagePlanId: { Ref: 'Plan' } },
        },
      },
    };
    const addresses: LocalAddresses = {
      region: 'us-east-1',
      accountId: '000000000000',
      awsEndpoint: 'http://localhost:1',
      cdnHost: 'localhost:2',
      apiHost: 'localhost:3',
    };
    expect(buildStackModel(stack, addresses).api?.throttling).toEqual({
      methodSettings: [{ httpMethod: '*', resourcePath: '/*', rateLimit: 100, burstLimit: 200 }],
      usagePlans: [
        {
          id: 'Plan',
          name: 'Plan',
          throttle: { rateLimit: 25, burstLimit: 50 },
          methodThrottles: {},
          quota: { limit: 1000000, period: 'MONTH', offset: 0 },
          keyIds: ['Key'],
          apiStages: [{ apiId: 'localce111709', stage: 'prod' }], // the API's Ref (its local id)
        },
      ],
    });
  });
});

describe('ApiThrottle', () => {
  const throttling = () => ({
    methodSettings: methodThrottles([
      { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 1, ThrottlingBurstLimit: 3 },
    ]),
    usagePlans: [plan() ?? { id: '', name: '', methodThrottles: {}, keyIds: [], apiStages: [] }],
  });
  const list = { resource: '/v1/images', method: 'GET' };
  const read = { resource: '/v1/images/{id}', method: 'GET' };

  it('throttles a key over its plan, keys apart, then counts the quota of admitted requests only', () => {
    let now = 0;
    const gate = new ApiThrottle(throttling(), () => now);
    expect([gate.admit(list, 'a'), gate.admit(list, 'a'), gate.admit(list, 'a')]).toEqual([
      undefined,
      undefined,
      'THROTTLED',
    ]);
    expect(gate.admit(list, 'b')).toBeUndefined(); // b's own bucket (the stage has 3)
    now = 1000;
    expect(gate.admit(list, 'a')).toBeUndefined(); // a's third request: the quota (3) is now used up
    now = 5000;
    expect(gate.admit(list, 'a')).toBe('QUOTA_EXCEEDED');
    now = Date.UTC(1970, 0, 2); // the next day
    expect(gate.admit(list, 'a')).toBeUndefined();
  });

  it('applies the stage throttle per method, to keyless requests too', () => {
    const gate = new ApiThrottle(throttling(), () => 0);
    expect([1, 2, 3, 4].map(() => gate.admit(read, undefined))).toEqual([
      undefined,
      undefined,
      undefined,
      'THROTTLED',
    ]);
    expect(gate.admit({ resource: '/v1/health', method: 'GET' }, undefined)).toBeUndefined();
  });

  it('gives a key a UsagePlanKey names that plan, and any other key the first plan', () => {
    const second = { ...(plan() as NonNullable<ReturnType<typeof plan>>), id: 'Second', keyIds: ['k2'] };
    const gate = new ApiThrottle({ methodSettings: [], usagePlans: [plan() as never, second] });
    expect(gate.planOf('k2')?.id).toBe('Second');
    expect(gate.planOf('local-123')?.id).toBe('Plan');
    expect(new ApiThrottle({ methodSettings: [], usagePlans: [] }).admit(list, 'x')).toBeUndefined();
  });

  it('prefers the most specific stage method setting', () => {
    const settings = methodThrottles([
      { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 1 },
      { HttpMethod: 'GET', ResourcePath: '/~1v1~1health', ThrottlingRateLimit: 2 },
      { HttpMethod: 'POST', ResourcePath: '/~1v1~1health', ThrottlingRateLimit: 3 },
    ]);
    expect(stageThrottleFor(settings, '/v1/health', 'GET')?.rateLimit).toBe(2);
    expect(stageThrottleFor(settings, '/v1/images', 'GET')?.rateLimit).toBe(1);
    expect(stageThrottleFor(settings.slice(1), '/v1/images', 'GET')).toBeUndefined();
  });
});

// Rate-based rules: https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
describe('the WAF rate rules', () => {
  const anonymousApi = {
    AndStatement: {
      Statements: [
        {
          ByteMatchStatement: {
            FieldToMatch: { UriPath: {} },
            PositionalConstraint: 'STARTS_WITH',
            SearchString: '/v1/',
          },
        },
        {
          NotStatement: {
            Statement: {
              SizeConstraintStatement: {
                FieldToMatch: { SingleHeader: { Name: 'X-Api-Key' } },
                ComparisonOperator: 'GT',
                Size: 0,
              },
            },
          },
        },
      ],
    },
  };
  const rules = rateRules([
    { Name: 'Managed', Priority: 0, Statement: { ManagedRuleGroupStatement: { Name: 'x' } } },
    {
      Name: 'Anon',
      Priority: 2,
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: { Limit: 2, EvaluationWindowSec: 60, ScopeDownStatement: anonymousApi },
      },
    },
    {
      Name: 'ByKey',
      Priority: 1,
      Statement: { RateBasedStatement: { Limit: 1, AggregateKeyType: 'CUSTOM_KEYS' } },
    },
    { Name: 'Counted', Priority: 3, Action: { Count: {} }, Statement: { RateBasedStatement: { Limit: 1 } } },
  ]);

  it('reads per-IP rate rules only, by priority, with AWS’s 300 s default window', () => {
    expect(rules.map((r) => [r.name, r.windowSec, r.action])).toEqual([
      ['Anon', 60, 'block'],
      ['Counted', 300, 'count'],
    ]);
  });

  it('evaluates scope-down statements; a missing header has size 0; unknown statements match', () => {
    const scope = wafStatement(anonymousApi);
    expect(statementMatches(scope, { method: 'GET', path: '/v1/health', headers: {} })).toBe(true);
    expect(
      statementMatches(scope, { method: 'GET', path: '/v1/health', headers: { 'x-api-key': 'k' } }),
    ).toBe(false);
    expect(statementMatches(scope, { method: 'GET', path: '/variants/a.webp', headers: {} })).toBe(false);
    expect(
      statementMatches(wafStatement({ GeoMatchStatement: {} }), { method: 'GET', path: '/', headers: {} }),
    ).toBe(true);
  });

  it('matches the request method with a byte match, as sent (GET is not get)', () => {
    // FieldToMatch Method: https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-fields-list.html
    const getImage = wafStatement({
      AndStatement: {
        Statements: [
          {
            ByteMatchStatement: {
              FieldToMatch: { Method: {} },
              PositionalConstraint: 'EXACTLY',
              SearchString: 'GET',
            },
          },
          {
            ByteMatchStatement: {
              FieldToMatch: { UriPath: {} },
              PositionalConstraint: 'STARTS_WITH',
              SearchString: '/v1/images/',
            },
          },
        ],
      },
    });
    const request = (method: string, path: string) => ({ method, path, headers: { 'x-api-key': 'made-up' } });
    expect(statementMatches(getImage, request('GET', '/v1/images/abc'))).toBe(true);
    expect(statementMatches(getImage, request('POST', '/v1/images/abc'))).toBe(false);
    expect(statementMatches(getImage, request('get', '/v1/images/abc'))).toBe(false);
    expect(statementMatches(getImage, request('GET', '/v1/images'))).toBe(false);
  });

  it('blocks an IP over the limit within the window, others not, and lets it back after the window', () => {
    let now = 0;
    const waf = new WafRateLimiter({ name: 'acl', rateRules: rules }, () => now);
    const anon = { method: 'GET', path: '/v1/health', headers: {} };
    expect([waf.check('1.1.1.1', anon), waf.check('1.1.1.1', anon), waf.check('1.1.1.1', anon)]).toEqual([
      undefined,
      undefined,
      'Anon',
    ]);
    expect(waf.check('2.2.2.2', anon)).toBeUndefined();
    expect(
      waf.check('1.1.1.1', { method: 'GET', path: '/v1/images', headers: { 'x-api-key': 'k' } }),
    ).toBeUndefined();
    now = 61_000;
    expect(waf.check('1.1.1.1', anon)).toBeUndefined();
  });
});
