import { beforeAll, describe, expect, it } from 'vitest';
import { STAGE_THROTTLE, USAGE_PLAN } from '#infra/constructs/api.ts';
import { COMMON_RULES_COUNTED, WAF_RATE_LIMITS } from '#infra/constructs/waf.ts';
import { buildStackModel } from '#local/template/stack-model.ts';
import { type Json, resourcesOfType, type Synthesized, synthesize } from './synth.ts';

// The distribution's web ACL. Property names and limits:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-wafv2-webacl.html,
// https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html (Limit ≥ 10,
// EvaluationWindowSec 60/120/300/600), managed groups and their rule names:
// https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html
let aws: Synthesized;
let localstack: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
  localstack = await synthesize({ target: 'localstack' });
});

const webAcls = (s: Synthesized): [string, Json][] => resourcesOfType(s.json, 'AWS::WAFv2::WebACL');
const acl = (): [string, Json] => webAcls(aws)[0] as [string, Json];
const rule = (name: string): Json => acl()[1].Properties.Rules.find((r: Json) => r.Name === name);
const distributionConfig = (s: Synthesized): Json =>
  resourcesOfType(s.json, 'AWS::CloudFront::Distribution')[0]?.[1].Properties.DistributionConfig;

describe('the web ACL', () => {
  it('is one CLOUDFRONT-scoped ACL that allows by default, created only in us-east-1', () => {
    expect(webAcls(aws)).toHaveLength(1);
    const [, resource] = acl();
    expect(resource.Properties).toMatchObject({ Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    expect(aws.json.Conditions[resource.Condition]).toEqual({
      'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'],
    });
  });

  it('is the distribution’s WebACLId in us-east-1 and no value elsewhere', () => {
    const [logicalId, resource] = acl();
    expect(distributionConfig(aws).WebACLId).toEqual({
      'Fn::If': [resource.Condition, { 'Fn::GetAtt': [logicalId, 'Arn'] }, { Ref: 'AWS::NoValue' }],
    });
  });

  it('blocks anonymous API clients and any flooding client per IP, with limits AWS accepts', () => {
    for (const [name, rate] of [
      ['AnyPerIp', WAF_RATE_LIMITS.any],
      ['AnonymousApiPerIp', WAF_RATE_LIMITS.anonymous],
    ] as const) {
      const statement = rule(name).Statement.RateBasedStatement;
      expect(rule(name).Action).toEqual({ Block: {} });
      expect(statement).toMatchObject({
        Limit: rate.limit,
        EvaluationWindowSec: rate.windowSec,
        AggregateKeyType: 'IP',
      });
      expect(statement.Limit).toBeGreaterThanOrEqual(10);
      expect([60, 120, 300, 600]).toContain(statement.EvaluationWindowSec);
    }
    // Above a keyed client at its usage plan's full rate (25 rps), so only floods hit it.
    expect(WAF_RATE_LIMITS.any.limit / WAF_RATE_LIMITS.any.windowSec).toBeGreaterThan(25);
    // Scoped by method and path, never by headers: a made-up x-api-key must not leave the rule's scope.
    const scope =
      rule('AnonymousApiPerIp').Statement.RateBasedStatement.ScopeDownStatement.OrStatement.Statements;
    const byteMatches = (s: Json) =>
      (s.AndStatement?.Statements ?? [s]).map((m: Json) => {
        const b = m.ByteMatchStatement;
        return [Object.keys(b.FieldToMatch)[0], b.PositionalConstraint, b.SearchString];
      });
    expect(scope.map(byteMatches)).toEqual([
      [
        ['Method', 'EXACTLY', 'GET'],
        ['UriPath', 'STARTS_WITH', '/v1/images/'],
      ],
      [
        ['Method', 'EXACTLY', 'DELETE'],
        ['UriPath', 'STARTS_WITH', '/v1/images/'],
        ['UriPath', 'ENDS_WITH', '/token'],
      ],
      [['UriPath', 'EXACTLY', '/v1/health']],
      [['UriPath', 'EXACTLY', '/v1/openapi.json']],
    ]);
    expect(JSON.stringify(scope)).not.toMatch(/SingleHeader|x-api-key/i);
  });

  it('uses AWS managed groups, with the body rules uploads trip set to count', () => {
    const groups = acl()[1].Properties.Rules.filter((r: Json) => r.Statement.ManagedRuleGroupStatement);
    expect(groups.map((r: Json) => r.Statement.ManagedRuleGroupStatement.Name)).toEqual([
      'AWSManagedRulesAmazonIpReputationList',
      'AWSManagedRulesKnownBadInputsRuleSet',
      'AWSManagedRulesCommonRuleSet',
    ]);
    for (const group of groups) {
      expect(group.OverrideAction).toEqual({ None: {} });
      expect(group.Statement.ManagedRuleGroupStatement.VendorName).toBe('AWS');
    }
    expect(
      rule('AWSManagedRulesCommonRuleSet').Statement.ManagedRuleGroupStatement.RuleActionOverrides,
    ).toEqual(COMMON_RULES_COUNTED.map((name) => ({ Name: name, ActionToUse: { Count: {} } })));
    expect(COMMON_RULES_COUNTED).toContain('SizeRestrictions_BODY');
  });

  it('has unique priorities, metrics and sampled requests on every rule', () => {
    const rules = acl()[1].Properties.Rules as Json[];
    expect(new Set(rules.map((r) => r.Priority)).size).toBe(rules.length);
    for (const r of rules)
      expect(r.VisibilityConfig).toMatchObject({
        CloudWatchMetricsEnabled: true,
        SampledRequestsEnabled: true,
      });
  });
});

describe('-c wafWebAclArn', () => {
  const arn =
    'arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/0123abcd-0000-1111-2222-333344445555';

  it('attaches that ACL and creates none', async () => {
    const given = await synthesize({ wafWebAclArn: arn });
    expect(webAcls(given)).toHaveLength(0);
    expect(distributionConfig(given).WebACLId).toBe(arn);
  });

  it.each([
    'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/0123',
    'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/x/0123',
    'not-an-arn',
  ])('refuses %s (CloudFront needs a CLOUDFRONT ACL from us-east-1)', async (bad) => {
    await expect(synthesize({ wafWebAclArn: bad })).rejects.toThrow(/wafWebAclArn/);
  });
});

it('LocalStack’s template has no distribution and no web ACL', () => {
  expect(webAcls(localstack)).toHaveLength(0);
});

it('the local cloud reads the production limits from this template (throttles, quota, rate rules)', () => {
  const model = buildStackModel(
    {
      stackName: 'Pictura',
      resources: aws.json.Resources,
      outputs: {},
      conditions: aws.json.Conditions ?? {},
    },
    {
      region: 'us-east-1',
      accountId: '000000000000',
      awsEndpoint: 'http://l:1',
      cdnHost: 'l:2',
      apiHost: 'l:3',
    },
  );
  expect(model.api?.throttling?.methodSettings).toEqual([
    { httpMethod: '*', resourcePath: '/*', ...STAGE_THROTTLE },
  ]);
  expect(model.api?.throttling?.usagePlans).toMatchObject([
    { throttle: USAGE_PLAN.throttle, quota: { limit: USAGE_PLAN.quota.limit, period: 'MONTH', offset: 0 } },
  ]);
  expect(model.distribution?.webAcl?.rateRules.map((r) => [r.name, r.limit, r.windowSec])).toEqual([
    ['AnyPerIp', WAF_RATE_LIMITS.any.limit, WAF_RATE_LIMITS.any.windowSec],
    ['AnonymousApiPerIp', WAF_RATE_LIMITS.anonymous.limit, WAF_RATE_LIMITS.anonymous.windowSec],
  ]);
  // Elsewhere than us-east-1 the ACL does not exist, and the local model finds none.
  const inEurope = buildStackModel(
    {
      stackName: 'Pictura',
      resources: aws.json.Resources,
      outputs: {},
      conditions: aws.json.Conditions ?? {},
    },
    {
      region: 'eu-west-1',
      accountId: '000000000000',
      awsEndpoint: 'http://l:1',
      cdnHost: 'l:2',
      apiHost: 'l:3',
    },
  );
  expect(inEurope.distribution?.webAcl).toBeUndefined();
});
