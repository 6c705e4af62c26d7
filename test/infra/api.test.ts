import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT } from '#infra/constructs/api.ts';
import { functionNamed, type Json, resourcesOfType, type Synthesized, single, synthesize } from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

/** `/v1/images/{id}` → the resource's logical id, walking PathPart/ParentId from the root. */
function resourceId(path: string): string {
  const [apiId] = single(aws.json, 'AWS::ApiGateway::RestApi');
  let parent: Json = { 'Fn::GetAtt': [apiId, 'RootResourceId'] };
  let id = '';
  for (const part of path.split('/').filter(Boolean)) {
    const found = resourcesOfType(aws.json, 'AWS::ApiGateway::Resource').find(
      ([, r]) =>
        r.Properties.PathPart === part && JSON.stringify(r.Properties.ParentId) === JSON.stringify(parent),
    );
    if (!found) throw new Error(`No resource ${path}`);
    id = found[0];
    parent = { Ref: id };
  }
  return id;
}

function method(path: string, verb: string): Json {
  const id = resourceId(path);
  const found = resourcesOfType(aws.json, 'AWS::ApiGateway::Method').find(
    ([, m]) => m.Properties.HttpMethod === verb && m.Properties.ResourceId.Ref === id,
  );
  if (!found) throw new Error(`No ${verb} ${path}`);
  return found[1].Properties;
}

/** The function a proxy integration invokes (its URI embeds the function's ARN). */
function integratedFunction(props: Json): string {
  const uri = JSON.stringify(props.Integration.Uri);
  const fn = ['upload', 'images', 'delete', 'metadata', 'thumbnail'].find((name) =>
    uri.includes(`"${functionNamed(aws.json, name)[0]}"`),
  );
  if (!fn) throw new Error(`Unknown integration ${uri}`);
  return fn;
}

const ROUTES = [
  { verb: 'POST', path: '/v1/images', fn: 'upload', key: true },
  { verb: 'GET', path: '/v1/images', fn: 'images', key: true },
  { verb: 'GET', path: '/v1/images/{id}', fn: 'images', key: false },
  // The owner's delete: the gateway validates the key, so a disabled or deleted key is refused (issue 12).
  { verb: 'DELETE', path: '/v1/images/{id}', fn: 'delete', key: true },
  // The token holder's delete: no key to check; the function checks the bearer token.
  { verb: 'DELETE', path: '/v1/images/{id}/token', fn: 'delete', key: false },
  { verb: 'GET', path: '/v1/health', fn: 'images', key: false },
  // The OpenAPI document (issue 13): public, served by the read function.
  { verb: 'GET', path: '/v1/openapi.json', fn: 'images', key: false },
] as const;

describe('REST API', () => {
  it('is a regional REST API named pictura that takes image/* bodies as binary', () => {
    aws.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      Name: 'pictura',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      BinaryMediaTypes: ['image/*'],
      ApiKeySourceType: 'HEADER',
    });
  });

  it('deploys stage prod (routes carry /v1) with a stage-wide throttle', () => {
    aws.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ],
    });
  });

  it.each(ROUTES)('$verb $path → $fn (Lambda proxy), API key required: $key', ({ verb, path, fn, key }) => {
    const props = method(path, verb);
    expect(props.Integration.Type).toBe('AWS_PROXY');
    expect(props.Integration.IntegrationHttpMethod).toBe('POST');
    expect(integratedFunction(props)).toBe(fn);
    expect(props.ApiKeyRequired ?? false).toBe(key);
  });

  it('has no other routes', () => {
    const methods = resourcesOfType(aws.json, 'AWS::ApiGateway::Method').filter(
      ([, m]) => m.Properties.HttpMethod !== 'OPTIONS',
    );
    expect(methods).toHaveLength(ROUTES.length);
  });

  it('answers CORS preflight on every resource, without an API key', () => {
    for (const path of ['/v1', '/v1/images', '/v1/images/{id}', '/v1/images/{id}/token', '/v1/health']) {
      const props = method(path, 'OPTIONS');
      expect(props.Integration.Type).toBe('MOCK');
      expect(props.ApiKeyRequired ?? false).toBe(false);
      const headers = props.Integration.IntegrationResponses[0].ResponseParameters;
      expect(headers['method.response.header.Access-Control-Allow-Origin']).toBe("'*'");
      const allowed = String(headers['method.response.header.Access-Control-Allow-Headers'])
        .replaceAll("'", '')
        .split(',');
      expect(allowed).toEqual(expect.arrayContaining(['X-Api-Key', 'Authorization', 'Content-Type']));
      expect(new Set(allowed).size).toBe(allowed.length); // each header named once
      expect(headers['method.response.header.Access-Control-Allow-Methods']).toContain('DELETE');
    }
  });

  it('lets API Gateway invoke the three API functions, from this API only', () => {
    const [apiId] = single(aws.json, 'AWS::ApiGateway::RestApi');
    const [stageId] = single(aws.json, 'AWS::ApiGateway::Stage');
    // The sweeper's permission (for EventBridge) is test/infra/sweeper.test.ts's.
    const permissions = resourcesOfType(aws.json, 'AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === 'apigateway.amazonaws.com');
    // One per route, scoped to the deployed stage (no test-invoke permissions on `*` stages).
    expect(permissions).toHaveLength(ROUTES.length);
    for (const permission of permissions) {
      expect(permission.Principal).toBe('apigateway.amazonaws.com');
      const source = JSON.stringify(permission.SourceArn);
      expect(source).toContain(JSON.stringify({ Ref: apiId }));
      expect(source).toContain(JSON.stringify({ Ref: stageId }));
    }
  });
});

describe('access logs (the trail)', () => {
  it('writes one JSON line per request to a log group kept a month: who, what, outcome', () => {
    const stage = resourcesOfType(aws.json, 'AWS::ApiGateway::Stage')[0]?.[1].Properties;
    const [groupId, group] =
      resourcesOfType(aws.json, 'AWS::Logs::LogGroup').find(([id]) => id.startsWith('ApiAccessLogs')) ?? [];
    expect(group?.Properties.RetentionInDays).toBe(30);
    expect(JSON.stringify(stage.AccessLogSetting.DestinationArn)).toContain(JSON.stringify(groupId));
    const line = JSON.parse(stage.AccessLogSetting.Format);
    expect(line).toEqual(ACCESS_LOG_FORMAT);
    expect(line).toMatchObject({
      sourceIp: '$context.identity.sourceIp',
      apiKeyId: '$context.identity.apiKeyId',
      status: '$context.status',
      errorType: '$context.error.responseType',
    });
    // The key's id only: nothing in the format can carry the key itself.
    expect(stage.AccessLogSetting.Format).not.toMatch(
      /apiKey"|x-api-key|\$input|\$context\.identity\.apiKey[^I]/,
    );
  });
});

describe('API key and usage plan', () => {
  it('issues a key, attached to a plan with a per-key throttle and a monthly quota on the prod stage', () => {
    const [keyId] = single(aws.json, 'AWS::ApiGateway::ApiKey');
    const [planId, plan] = single(aws.json, 'AWS::ApiGateway::UsagePlan');
    expect(plan.Properties).toMatchObject({
      Throttle: { RateLimit: 25, BurstLimit: 50 },
      Quota: { Limit: 1_000_000, Period: 'MONTH' },
    });
    const [stageId] = single(aws.json, 'AWS::ApiGateway::Stage');
    expect(plan.Properties.ApiStages).toEqual([expect.objectContaining({ Stage: { Ref: stageId } })]);
    aws.template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: keyId },
      KeyType: 'API_KEY',
      UsagePlanId: { Ref: planId },
    });
  });
});

describe('gateway errors in the API’s format', () => {
  const responses = (): Record<string, Json> =>
    Object.fromEntries(
      resourcesOfType(aws.json, 'AWS::ApiGateway::GatewayResponse').map(([, r]) => [
        r.Properties.ResponseType,
        r.Properties,
      ]),
    );
  /** The body a template renders, with API Gateway's variables replaced by sample values. */
  const render = (template: string): Json =>
    JSON.parse(
      template
        .replace('$context.error.messageString', '"message"')
        .replace('$context.error.responseType', 'TYPE'),
    );

  it.each([
    ['INVALID_API_KEY', '401', 'API_KEY_REQUIRED'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'ROUTE_NOT_FOUND'],
    ['THROTTLED', '429', 'THROTTLED'],
    ['QUOTA_EXCEEDED', '429', 'QUOTA_EXCEEDED'],
    ['REQUEST_TOO_LARGE', '413', 'FILE_TOO_LARGE'],
    ['INTEGRATION_FAILURE', '502', 'INTEGRATION_FAILURE'],
    ['INTEGRATION_TIMEOUT', '504', 'INTEGRATION_TIMEOUT'],
    ['UNSUPPORTED_MEDIA_TYPE', '415', 'UNSUPPORTED_MEDIA_TYPE'],
  ])('%s answers %s problem+json with code %s', (type, status, code) => {
    const response = responses()[type];
    expect(response.StatusCode).toBe(status);
    expect(response.ResponseParameters).toMatchObject({
      'gatewayresponse.header.Content-Type': "'application/problem+json'",
      'gatewayresponse.header.Access-Control-Allow-Origin': "'*'",
      'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
      'gatewayresponse.header.Cache-Control': "'no-store'",
    });
    expect(render(response.ResponseTemplates['application/json'])).toEqual({
      type: 'about:blank',
      title: expect.any(String),
      status: Number(status),
      detail: expect.any(String),
      code,
    });
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX'])(
    '%s keeps its status and names the gateway error in code',
    (type) => {
      const response = responses()[type];
      expect(response.StatusCode).toBeUndefined();
      // Every gateway error, not only the listed ones, carries nosniff and no-store (issue 12).
      expect(response.ResponseParameters).toMatchObject({
        'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
        'gatewayresponse.header.Cache-Control': "'no-store'",
      });
      expect(render(response.ResponseTemplates['application/json'])).toMatchObject({
        code: 'TYPE',
        detail: 'message',
      });
    },
  );
});

describe('request limits', () => {
  it('caps direct uploads below the Lambda payload limit (base64 of 4 MiB < 6 MB)', () => {
    const max = Number(
      functionNamed(aws.json, 'upload')[1].Properties.Environment.Variables.MAX_DIRECT_UPLOAD_BYTES,
    );
    expect(Math.ceil(max / 3) * 4).toBeLessThan(6 * 1000 * 1000);
  });

  it('validates nothing API Gateway would answer differently from the contract (no request validator)', () => {
    expect(resourcesOfType(aws.json, 'AWS::ApiGateway::RequestValidator')).toHaveLength(0);
  });
});
