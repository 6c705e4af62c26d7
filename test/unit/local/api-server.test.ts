import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApi } from '#local/template/stack-model.ts';
import { type FixtureApi, localFunction, startFixtureApi } from '#test/support/functions.ts';

// API Gateway's behaviour without any customised gateway responses (the Pictura template customises
// them; test/integration/api-flow.test.ts covers that): routes, keys, binary bodies, limits, failures.
const api: LocalApi = {
  restApiId: 'test',
  name: 'test',
  stage: 'prod',
  binaryMediaTypes: ['image/*'],
  usesApiKeys: true,
  gatewayResponses: {},
  routes: [
    {
      method: 'POST',
      resource: '/items/{id}',
      pattern: /^\/items\/([^/]+)\/?$/,
      parameterNames: ['id'],
      apiKeyRequired: true,
      functionName: 'proxy',
    },
    {
      method: 'GET',
      resource: '/open',
      pattern: /^\/open\/?$/,
      parameterNames: [],
      apiKeyRequired: false,
      functionName: 'proxy',
    },
  ],
};

let fixtureApi: FixtureApi;
let base: string;
beforeAll(async () => {
  fixtureApi = await startFixtureApi({
    api,
    functions: [localFunction({ name: 'proxy', entry: 'test/unit/local/fixtures/proxy-handler.ts' })],
    apiKey: 'k'.repeat(24),
  });
  base = fixtureApi.base;
});
afterAll(() => fixtureApi?.close());

const key = { 'x-api-key': 'k'.repeat(24) };

describe('the API emulation', () => {
  it('passes path parameters (undecoded, as a REST API does), the key id and a binary body base64-encoded', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]);
    const response = await fetch(`${base}/items/a%20b`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'image/png' },
      body: bytes,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-multi')).toBe('a, b');
    const echoed = (await response.json()) as {
      pathParameters: { id: string };
      isBase64Encoded: boolean;
      body: string;
      apiKeyId: string;
    };
    // AWS hands path parameters over still percent-encoded: recorded on AWS in LocalStack's
    // tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json (`test%2Balias@gmail.com` stays).
    expect(echoed.pathParameters).toEqual({ id: 'a%20b' });
    expect(echoed.apiKeyId).toBe('key-1');
    expect(echoed.isBase64Encoded).toBe(true);
    expect(Buffer.from(echoed.body, 'base64')).toEqual(bytes);
  });

  it('passes a text body as is', async () => {
    const response = await fetch(`${base}/items/x`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await response.json()).toMatchObject({ isBase64Encoded: false, body: '{"a":1}' });
  });

  // Statuses and messages: API Gateway's defaults
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html);
  // x-amzn-ErrorType: the exception names AWS sends (InternalServerErrorException as recorded on AWS in
  // LocalStack's tests/aws/services/apigateway/test_apigateway_integrations.snapshot.json).
  it.each([
    [
      'an unknown route',
      '/nowhere',
      'GET',
      {},
      403,
      'Missing Authentication Token',
      'MissingAuthenticationTokenException',
    ],
    [
      'a known route with another method',
      '/open',
      'DELETE',
      {},
      403,
      'Missing Authentication Token',
      'MissingAuthenticationTokenException',
    ],
    ['no API key on a key-required route', '/items/x', 'POST', {}, 403, 'Forbidden', 'ForbiddenException'],
    ['a wrong API key', '/items/x', 'POST', { 'x-api-key': 'nope' }, 403, 'Forbidden', 'ForbiddenException'],
    [
      'a failing function',
      '/open?fail=1',
      'GET',
      {},
      502,
      'Internal server error',
      'InternalServerErrorException',
    ],
    [
      'a malformed proxy response',
      '/open?malformed=1',
      'GET',
      {},
      502,
      'Internal server error',
      'InternalServerErrorException',
    ],
    [
      'a function slower than the integration timeout',
      '/open?sleepMs=3000',
      'GET',
      {},
      504,
      'Endpoint request timed out',
      'InternalServerErrorException',
    ],
  ])('answers %s as API Gateway does', async (_label, path, method, headers, status, message, errorType) => {
    const response = await fetch(`${base}${path}`, { method, headers });
    expect(response.status).toBe(status);
    expect(response.headers.get('x-amzn-errortype')).toBe(errorType);
    expect(response.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ message });
  });

  it.each(['/items/%', '/items/%zz', '/items/%E0%A4%A', '/items/%25'])(
    'hands a malformed escape (%s) to the function undecoded instead of failing',
    async (path) => {
      const response = await fetch(`${base}${path}`, { method: 'POST', headers: key });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { pathParameters: { id: string } }).pathParameters.id).toBe(
        path.slice('/items/'.length),
      );
    },
  );

  it.each(['/open%', '/%', '/%zz/open', '/open/%'])(
    'answers a malformed escape on no route (%s) 403',
    async (path) => {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(403);
      expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    },
  );

  it('refuses a body over 10 MB without invoking the function', async () => {
    const response = await fetch(`${base}/items/x`, {
      method: 'POST',
      headers: { ...key, 'content-type': 'image/png' },
      body: new Uint8Array(10 * 1024 * 1024 + 1),
    });
    // As captured on AWS: https://github.com/koki-develop/lgtm-generator/issues/10
    expect(response.status).toBe(413);
    expect(await response.text()).toBe('HTTP content length exceeded 10485760 bytes.');
  });
});
