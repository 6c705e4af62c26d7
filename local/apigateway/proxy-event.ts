import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { lastHeaderValue } from './request-headers.ts';

/** Header or query values: one string, or every value of a repeated name in order. */
export type ParameterValues = Record<string, string | readonly string[]>;

/** An HTTP request as the API emulation sees it. */
export interface ProxyRequest {
  method: string;
  /** The route template, e.g. `/v1/images/{id}`. */
  resource: string;
  /** The concrete path as sent (still percent-encoded), e.g. `/v1/images/abc`. */
  path: string;
  pathParameters?: Record<string, string> | null;
  /** Decoded query string parameters. */
  query?: ParameterValues | null;
  /** Headers under the client's spelling. */
  headers?: ParameterValues;
  body?: Buffer | string | null;
  /** Whether the body is delivered base64-encoded (binary media types). */
  binary?: boolean;
  stage?: string;
  /** Prefix before the route in `requestContext.path`: `/{stage}` on the execute-api domain (the default), `''`
   * behind a custom domain or the local API, which serve routes at the root. */
  basePath?: string;
  /** Id of the API key API Gateway validated, on key-required routes. */
  apiKeyId?: string | null;
  sourceIp?: string;
  /** The REST API's id (`requestContext.apiId`). */
  apiId?: string;
  requestId?: string;
  extendedRequestId?: string;
  /** When API Gateway received the request (now by default). */
  time?: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime`: CLF format in UTC, e.g. `09/Apr/2015:12:34:56 +0000` (AWS SAM's sample event). */
export function requestTime(time: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${two(time.getUTCDate())}/${MONTHS[time.getUTCMonth()]}/${time.getUTCFullYear()}`;
  return `${date}:${two(time.getUTCHours())}:${two(time.getUTCMinutes())}:${two(time.getUTCSeconds())} +0000`;
}

/**
 * The single-value and multi-value views of repeated parameters: the multi-value one keeps every value in
 * order, the single-value one the last (`?a=1&a=2` → `{a:"2"}` and `{a:["1","2"]}`), as recorded on AWS in
 * LocalStack's tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json
 * (`invocation-payload-with-params-encoding-multi`). `null` for none, as AWS sends.
 */
function views(values: ParameterValues | null | undefined) {
  const entries = Object.entries(values ?? {}).map(([k, v]): [string, string[]] => [
    k,
    typeof v === 'string' ? [v] : [...v],
  ]);
  if (entries.length === 0) return { single: null, multi: null };
  return {
    single: Object.fromEntries(entries.map(([k, v]) => [k, v.at(-1) ?? ''])),
    multi: Object.fromEntries(entries),
  };
}

/** Node reports IPv4 clients of a dual-stack socket as `::ffff:a.b.c.d`; API Gateway reports `a.b.c.d`. */
function plainIp(ip: string | undefined): string {
  return (ip ?? '127.0.0.1').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

function encodeBody(request: ProxyRequest): string | null {
  const body = request.body ?? null;
  if (body === null) return null;
  return request.binary ? Buffer.from(body).toString('base64') : Buffer.from(body).toString('utf8');
}

function requestContext(request: ProxyRequest, headers: ParameterValues) {
  const stage = request.stage ?? 'prod';
  const time = request.time ?? new Date();
  const host = lastHeaderValue(headers, 'host') ?? 'localhost';
  const apiKey = request.apiKeyId ? (lastHeaderValue(headers, 'x-api-key') ?? null) : null;
  return {
    accountId: '000000000000',
    apiId: request.apiId ?? 'local',
    authorizer: null,
    deploymentId: 'local',
    domainName: host,
    domainPrefix: host.split(/[.:]/)[0] ?? host,
    extendedRequestId: request.extendedRequestId ?? randomBytes(11).toString('base64'),
    httpMethod: request.method,
    identity: {
      accessKey: null,
      accountId: null,
      apiKey,
      apiKeyId: request.apiKeyId ?? null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: plainIp(request.sourceIp),
      user: null,
      userAgent: lastHeaderValue(headers, 'user-agent') ?? null,
      userArn: null,
    },
    path: `${request.basePath ?? `/${stage}`}${request.path}`,
    protocol: 'HTTP/1.1',
    requestId: request.requestId ?? randomUUID(),
    requestTime: requestTime(time),
    requestTimeEpoch: time.getTime(),
    resourceId: 'local',
    resourcePath: request.resource,
    stage,
  };
}

/**
 * Builds the REST API (v1) Lambda proxy event API Gateway sends
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format),
 * shaped as AWS SAM's sample event and the events LocalStack recorded on AWS: single- and multi-value headers
 * and query parameters (last value wins in the single-value maps), the body (base64 for binary media types)
 * and the request context with `requestTime`, `requestTimeEpoch`, `extendedRequestId` and the validated API
 * key id. It validates against Powertools' `APIGatewayProxyEventSchema`.
 */
export function proxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const headerViews = views(request.headers ?? {});
  const queryViews = views(request.query);
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers: headerViews.single ?? {},
    multiValueHeaders: headerViews.multi ?? {},
    queryStringParameters: queryViews.single,
    multiValueQueryStringParameters: queryViews.multi,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    requestContext: requestContext(request, request.headers ?? {}),
    body: encodeBody(request),
    isBase64Encoded: Boolean(request.binary && request.body != null),
  };
}
