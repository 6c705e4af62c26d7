import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalApi } from '#local/template/stack-model.ts';
import { type FixtureApi, localFunction, startFixtureApi } from '#test/support/functions.ts';
import { type RawReply, rawRequest } from '#test/support/http.ts';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

// The API Gateway REST API emulation held to what AWS sends and answers. The references: Powertools'
// APIGatewayProxyEventSchema (written by AWS), AWS SAM's sample event
// (samcli/lib/generated_sample_events/events/apigateway/AwsProxy.json), the events LocalStack recorded on AWS
// (tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json, "the snapshot" below) and AWS's docs.

const KEY = 'k'.repeat(24);
const route = (method: string, resource: string, apiKeyRequired = false) => ({
  method,
  resource,
  pattern: new RegExp(`^${resource.replace(/\{[^}]+\}/g, '([^/]+)')}/?$`),
  parameterNames: [...resource.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''),
  apiKeyRequired,
  functionName: 'echo',
});
// A customised DEFAULT_4XX and REQUEST_TOO_LARGE, as the Pictura template has: they shape the gateway's
// own 4xx answers, but not the front door's 10 MB refusal nor Lambda's 6 MB one.
const api: LocalApi = {
  restApiId: 'a1b2c3d4e5',
  name: 'conformance',
  stage: 'prod',
  binaryMediaTypes: ['image/*'],
  usesApiKeys: true,
  gatewayResponses: {
    DEFAULT_4XX: { headers: {}, template: '{"custom":true,"type":"$context.error.responseType"}' },
    REQUEST_TOO_LARGE: { statusCode: 413, headers: {}, template: '{"custom":true}' },
  },
  routes: [route('GET', '/echo/{id}'), route('POST', '/echo/{id}', true), route('GET', '/open')],
};

let fixtureApi: FixtureApi;
let base: string;
let port: number;
const functionLog: string[] = [];
beforeAll(async () => {
  fixtureApi = await startFixtureApi({
    api,
    functions: [localFunction({ name: 'echo', entry: 'test/conformance/fixtures/echo-event.ts' })],
    apiKey: KEY,
    logSink: (_fn, line) => functionLog.push(line),
  });
  ({ base, port } = fixtureApi);
});
afterAll(() => fixtureApi?.close());

/** Sends a request exactly as given: raw header list (repeats, spelling) and raw target. */
function raw(method: string, target: string, headers: string[][], body?: Buffer): Promise<RawReply> {
  // A list of headers is sent as is: Node adds no Host, so it is given here.
  const all = [['Host', `127.0.0.1:${port}`], ...headers].flat();
  return rawRequest(`${base}${target}`, { method, path: target, headers: all, body });
}

async function echo(target: string, init: RequestInit = {}): Promise<APIGatewayProxyEvent> {
  const response = await fetch(`${base}${target}`, init);
  expect(response.status).toBe(200);
  return (await response.json()) as APIGatewayProxyEvent;
}

describe('the proxy event', () => {
  it.each([
    ['a GET with a query', '/echo/abc?a=1&b=two', {}],
    [
      'a keyed POST with a JSON body',
      '/echo/abc',
      { method: 'POST', headers: { 'x-api-key': KEY }, body: '{}' },
    ],
    [
      'a keyed POST with a binary body',
      '/echo/abc',
      {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'image/png' },
        body: new Uint8Array([0, 255]),
      },
    ],
    ['a GET on a route without parameters', '/open', {}],
  ])('validates against Powertools APIGatewayProxyEventSchema: %s', async (_label, target, init) => {
    const event = await echo(target, init as RequestInit);
    const parsed = APIGatewayProxyEventSchema.safeParse(event);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it("carries the request context fields of AWS SAM's sample event and the snapshot", async () => {
    const before = Date.now();
    const response = await fetch(`${base}/echo/abc`);
    const event = (await response.json()) as APIGatewayProxyEvent;
    const context = event.requestContext;
    // `09/Apr/2015:12:34:56 +0000` in AwsProxy.json; the same instant as requestTimeEpoch.
    expect(context.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(context.requestTimeEpoch).toBeGreaterThanOrEqual(before - 1000);
    const [d, mon, rest] = (context.requestTime ?? '').split('/');
    const asDate = new Date(`${d} ${mon} ${rest?.replace(':', ' ')}`);
    expect(Math.abs(asDate.getTime() - context.requestTimeEpoch)).toBeLessThan(1000);
    // The ids match the answer's x-amzn-RequestId and x-amz-apigw-id, as API Gateway's do.
    expect(context.requestId).toBe(response.headers.get('x-amzn-requestid'));
    expect(context.extendedRequestId).toBe(response.headers.get('x-amz-apigw-id'));
    expect(context.extendedRequestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(context).toMatchObject({
      apiId: 'a1b2c3d4e5',
      stage: 'prod',
      protocol: 'HTTP/1.1',
      path: '/echo/abc',
    });
    expect(context.identity.sourceIp).toBe('127.0.0.1');
    expect(event).toMatchObject({
      resource: '/echo/{id}',
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
    });
  });

  it('keeps every value of a repeated query parameter, the last in queryStringParameters', async () => {
    // Snapshot, invocation-payload-with-params-encoding-multi: price=10&price=20&price=30 → "30" and all three.
    const event = await echo('/echo/abc?a=1&a=2&b=x');
    expect(event.multiValueQueryStringParameters).toEqual({ a: ['1', '2'], b: ['x'] });
    expect(event.queryStringParameters).toEqual({ a: '2', b: 'x' });
  });

  it('decodes the query, + as a space, and sends null without one', async () => {
    // Snapshot, invocation-payload-with-params-encoding: plus=test+alias@gmail.com → "test alias@gmail.com".
    const event = await echo('/echo/abc?plus=test+alias@x&email=test%2Balias@x&bad=%zz');
    expect(event.queryStringParameters).toEqual({ plus: 'test alias@x', email: 'test+alias@x', bad: '%zz' });
    const none = await echo('/echo/abc');
    expect(none.queryStringParameters).toBeNull();
    expect(none.multiValueQueryStringParameters).toBeNull();
  });

  it('keeps parameters and headers named like Object.prototype members as plain entries', async () => {
    // Literals would set the prototype instead of a key: the headers are an array, the expectation parsed JSON.
    const response = await raw('GET', '/echo/abc?__proto__=x&constructor=y&__proto__=z', [
      ['__proto__', 'h'],
    ]);
    const event = JSON.parse(response.body) as APIGatewayProxyEvent;
    expect(event.multiValueQueryStringParameters).toEqual(
      JSON.parse('{"__proto__":["x","z"],"constructor":["y"]}'),
    );
    expect(Object.hasOwn(event.queryStringParameters ?? {}, '__proto__')).toBe(true);
    expect(Object.hasOwn(event.headers, '__proto__')).toBe(true);
    expect(APIGatewayProxyEventSchema.safeParse(event).success).toBe(true);
  });

  it('hands path and pathParameters over undecoded', async () => {
    // Snapshot, invocation-payload-with-path-encoded-email: `test%2Balias@gmail.com` stays encoded in both;
    // https://github.com/serverless/serverless/issues/5037: `/posts/%40` → pathParameters.id "%40" on AWS.
    const event = await echo('/echo/test%2Balias@x.com');
    expect(event.path).toBe('/echo/test%2Balias@x.com');
    expect(event.pathParameters).toEqual({ id: 'test%2Balias@x.com' });
  });
});

describe('request headers', () => {
  async function headersOf(headers: string[][], body?: Buffer): Promise<APIGatewayProxyEvent> {
    const response = await raw(
      body ? 'POST' : 'GET',
      '/echo/h',
      body ? [...headers, ['X-Api-Key', KEY]] : headers,
      body,
    );
    expect(response.status).toBe(200);
    return JSON.parse(response.body) as APIGatewayProxyEvent;
  }

  it('keeps both values of a repeated header, the last in headers', async () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html:
    // header2 sent twice → headers {header2: "value2"}, multiValueHeaders {header2: ["value1", "value2"]}.
    const event = await headersOf([
      ['X-Dup', 'one'],
      ['X-Dup', 'two'],
    ]);
    expect(event.multiValueHeaders['X-Dup']).toEqual(['one', 'two']);
    expect(event.headers['X-Dup']).toBe('two');
  });

  it("keeps the client's spelling of header names, except Authorization", async () => {
    // Snapshot: `tEsT-HEADeR` arrives as sent; `authorization`/`aUThorization` arrive as `Authorization`.
    const event = await headersOf([
      ['tEsT-HEADeR', 'aValUE'],
      ['aUThorization', 'Bearer t'],
      ['user-agent', 'conformance/1'],
    ]);
    expect(event.headers['tEsT-HEADeR']).toBe('aValUE');
    expect(event.headers['test-header']).toBeUndefined();
    expect(event.headers.Authorization).toBe('Bearer t');
    expect(event.headers['user-agent']).toBe('conformance/1');
    expect(event.requestContext.identity.userAgent).toBe('conformance/1');
  });

  it('drops hop-by-hop headers and Content-Length', async () => {
    // RFC 9110 §7.6.1 (hop-by-hop, and the headers Connection names); the snapshot's POST events carry no
    // Content-Length; LocalStack's AWS-checked list (next_gen/execute_api/header_utils.py).
    const event = await headersOf(
      [
        ['Connection', 'keep-alive, X-Hop'],
        ['Keep-Alive', 'timeout=5'],
        ['X-Hop', 'secret'],
        ['TE', 'trailers'],
        ['Proxy-Authorization', 'Basic eDp5'],
        ['Proxy-Connection', 'keep-alive'],
        ['Max-Forwards', '3'],
        ['Transfer-Encoding', 'chunked'],
        ['Content-Type', 'application/json'],
        ['X-Kept', 'yes'],
      ],
      Buffer.from('{"a":1}'),
    );
    const names = Object.keys(event.multiValueHeaders).map((n) => n.toLowerCase());
    for (const dropped of [
      'connection',
      'keep-alive',
      'x-hop',
      'te',
      'proxy-authorization',
      'proxy-connection',
      'max-forwards',
      'transfer-encoding',
      'content-length',
    ])
      expect(names).not.toContain(dropped);
    expect(event.headers['X-Kept']).toBe('yes');
    expect(event.body).toBe('{"a":1}');
  });

  it('adds X-Forwarded-For, -Port and -Proto as API Gateway does', async () => {
    // AwsProxy.json: "X-Forwarded-For": "127.0.0.1, 127.0.0.2" (the client's chain, then the caller),
    // X-Forwarded-Port and X-Forwarded-Proto for the connection to API Gateway (https/443 on AWS).
    const event = await headersOf([
      ['X-Forwarded-For', '10.0.0.1'],
      ['X-Forwarded-Proto', 'gopher'],
      ['X-Forwarded-Port', '1'],
    ]);
    expect(event.multiValueHeaders['X-Forwarded-For']).toEqual(['10.0.0.1, 127.0.0.1']);
    expect(event.multiValueHeaders['X-Forwarded-Port']).toEqual([String(port)]);
    expect(event.multiValueHeaders['X-Forwarded-Proto']).toEqual(['http']);
    expect(event.headers['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    const plain = await headersOf([]);
    expect(plain.headers['X-Forwarded-For']).toBe('127.0.0.1');
  });
});

describe('limits and errors', () => {
  /** Invocations so far, once the function's log lines (which trail its answer) have come in. */
  const invocations = async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return functionLog.filter((line) => line.includes('echo-invoked')).length;
  };

  it('refuses an event over Lambda’s 6 MB before the function runs, as AWS answers', async () => {
    // Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 6 MB per
    // synchronous invocation. AWS's answer through API Gateway, captured in
    // https://github.com/koki-develop/lgtm-generator/issues/10: 413, x-amzn-errortype BadRequestException,
    // body {"message": "Request Too Long"} (not shaped by the REQUEST_TOO_LARGE gateway response).
    const before = await invocations();
    const image = Buffer.alloc(4.6 * 1024 * 1024, 7); // base64 in the event: 6.13 MiB
    const response = await fetch(`${base}/echo/big`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'image/png' },
      body: image,
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    expect(await response.text()).toBe('{"message": "Request Too Long"}');
    expect(await invocations()).toBe(before);
    // Just under: 4.4 MiB is 5.87 MiB in base64, and the function runs.
    const under = await fetch(`${base}/echo/big`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'image/png' },
      body: Buffer.alloc(4.4 * 1024 * 1024, 7),
    });
    expect(under.status).toBe(200);
    expect(await invocations()).toBe(before + 1);
  });

  it.each([
    ['declared', true],
    ['chunked', false],
  ])(
    'refuses a %s body over 10 MB at the front door, with AWS’s plain-text 413',
    async (_label, declared) => {
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (10 MB payload); the answer
      // as captured on AWS in https://github.com/koki-develop/lgtm-generator/issues/10, which also found that a
      // REQUEST_TOO_LARGE gateway response does not change it.
      const body = Buffer.alloc(10 * 1024 * 1024 + 1);
      const headers = declared
        ? [['Content-Length', String(body.length)]]
        : [['Transfer-Encoding', 'chunked']];
      const before = await invocations();
      const response = await raw('POST', '/echo/x', [...headers, ['X-Api-Key', KEY]], body);
      expect(response.status).toBe(413);
      expect(response.headers['content-type']).toBe('text; charset=utf-8');
      expect(response.body).toBe('HTTP content length exceeded 10485760 bytes.');
      expect(await invocations()).toBe(before);
    },
  );

  it.each([
    [
      'an unknown route',
      'GET',
      '/nowhere',
      403,
      'MISSING_AUTHENTICATION_TOKEN',
      'MissingAuthenticationTokenException',
    ],
    ['a missing API key', 'POST', '/echo/x', 403, 'INVALID_API_KEY', 'ForbiddenException'],
  ])(
    'answers %s with the template’s gateway response and AWS’s exception name',
    async (_label, method, target, status, type, errorType) => {
      // x-amzn-ErrorType names: the issue's MissingAuthenticationTokenException, ForbiddenException (LocalStack
      // execute-api gateway_response.py); the body is the customised DEFAULT_4XX template.
      const response = await fetch(`${base}${target}`, { method });
      expect(response.status).toBe(status);
      expect(response.headers.get('x-amzn-errortype')).toBe(errorType);
      expect(await response.json()).toEqual({ custom: true, type });
    },
  );

  it.each([
    ['a failing function', '/open?fail=1', 502],
    ['a malformed proxy response', '/open?malformed=1', 502],
    ['an integration timeout', '/open?sleepMs=3000', 504],
  ])('answers %s with InternalServerErrorException', async (_label, target, status) => {
    // Recorded on AWS: test_apigateway_integrations.snapshot.json (x-amzn-ErrorType InternalServerErrorException,
    // {"message": "Internal server error"}); 502 for a failed function:
    // https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html
    const response = await fetch(`${base}${target}`);
    expect(response.status).toBe(status);
    expect(response.headers.get('x-amzn-errortype')).toBe('InternalServerErrorException');
  });
});

describe('hostile request targets, through the whole local cloud', () => {
  let cloud: TestCloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  /** Sends `target` exactly as given and answers the status. */
  const rawStatus = async (target: string) =>
    (await rawRequest(`${cloud.urls.api}${target}`, { path: target })).status;

  it.each([
    '/v1/images/%',
    '/v1/images/%zz',
    '/v1/images/%E0%A4%A',
    '/v1/images/%C0%AF',
    '/v1/images/..%2F..%2Fetc',
    '/v1/%',
    '/v1/health%',
    '/%',
  ])('answers %s with a 4xx, never a 5xx', async (target) => {
    // API Gateway hands the undecoded path parameter to the function (see "hands path and pathParameters over
    // undecoded"): the images function answers 404 for an id that is no image, and a path matching no route is
    // the template's ROUTE_NOT_FOUND.
    const status = await rawStatus(target);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });

  it('answers an id of "%25" with the images function’s own 404', async () => {
    const response = await fetch(`${cloud.urls.api}/v1/images/%25`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});
