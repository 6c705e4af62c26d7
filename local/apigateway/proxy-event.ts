import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** An HTTP request as the API emulation sees it. */
export interface ProxyRequest {
  method: string;
  /** The route template, e.g. `/v1/images/{id}`. */
  resource: string;
  /** The concrete path, e.g. `/v1/images/abc`. */
  path: string;
  pathParameters?: Record<string, string> | null;
  query?: Record<string, string> | null;
  headers?: Record<string, string>;
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
}

/**
 * Builds the REST API (v1) Lambda proxy event API Gateway sends, with the fields handlers actually read:
 * method, resource, path, parameters, headers (single and multi-value), the body (base64 for binary media
 * types) and the request context with the validated API key id.
 */
export function proxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const headers = request.headers ?? {};
  const body = request.body ?? null;
  const stage = request.stage ?? 'prod';
  const encoded =
    body === null
      ? null
      : request.binary
        ? Buffer.from(body).toString('base64')
        : Buffer.from(body).toString('utf8');
  const now = new Date();
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: request.query && Object.keys(request.query).length > 0 ? request.query : null,
    multiValueQueryStringParameters:
      request.query && Object.keys(request.query).length > 0
        ? Object.fromEntries(Object.entries(request.query).map(([k, v]) => [k, [v]]))
        : null,
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body: encoded,
    isBase64Encoded: Boolean(request.binary && body !== null),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      path: `${request.basePath ?? `/${stage}`}${request.path}`,
      stage,
      requestId: randomUUID(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: request.resource,
      domainName: headers.host ?? 'localhost',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: request.apiKeyId ? (headers['x-api-key'] ?? null) : null,
        apiKeyId: request.apiKeyId ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
}
