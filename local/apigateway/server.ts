import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { BodyTooLargeError, readBody } from '../http-util.ts';
import type { FunctionRuntime } from '../lambda/runtime/function-runtime.ts';
import type { LocalApi, LocalRoute } from '../template/stack-model.ts';
import { type ApiKey, ApiKeyStore } from './api-keys.ts';
import {
  newRequestIds,
  type RequestIds,
  relayHeaders,
  sendContentLengthExceeded,
  sendGatewayError,
  sendInternalFailure,
  sendRequestTooLong,
} from './gateway-responses.ts';
import { proxyEvent } from './proxy-event.ts';
import { invocationHeaders, lastHeaderValue } from './request-headers.ts';
import { parseRequestTarget } from './request-target.ts';
import { ApiThrottle } from './throttle.ts';

/** API Gateway's payload quota: 10 MB (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
export const API_PAYLOAD_LIMIT = 10 * 1024 * 1024;
/** Lambda's synchronous invocation payload quota: 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
export const LAMBDA_SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** API Gateway's default integration timeout: 29 s. */
export const API_TIMEOUT_MS = 29_000;

export interface ApiServerOptions {
  api: LocalApi;
  runtime: FunctionRuntime;
  /** The keys API Gateway accepts (a plain list: every key enabled, no usage plans to check). */
  keys: ApiKey[] | ApiKeyStore;
  log: (line: string) => void;
  /** Integration timeout; API Gateway's is 29 s (tests shorten it). */
  timeoutMs?: number;
}

/** A request API Gateway has routed: the method, the raw path and what the route gives it. */
interface RoutedRequest {
  ids: RequestIds;
  method: string;
  path: string;
  query: Record<string, string[]>;
  route: LocalRoute;
  pathParameters: Record<string, string> | null;
  headers: Record<string, string[]>;
}

function isBinary(contentType: string | undefined, binaryTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return binaryTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    return p === '*/*' || p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1)));
  });
}

/**
 * The first route matching the method and the raw (still percent-encoded) path, with its path parameters
 * undecoded, as a REST API hands them over (see parseRequestTarget for the AWS recordings).
 */
function matchRoute(routes: readonly LocalRoute[], method: string, path: string) {
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const parameters = Object.fromEntries(route.parameterNames.map((name, i) => [name, m[i + 1] ?? '']));
    return { route, pathParameters: route.parameterNames.length > 0 ? parameters : null };
  }
  return undefined;
}

/** Step 1: the route, or `undefined` (API Gateway's 403 Missing Authentication Token). */
function routeRequest(req: IncomingMessage, api: LocalApi, ids: RequestIds): RoutedRequest | undefined {
  const target = parseRequestTarget(req.url);
  const method = (req.method ?? 'GET').toUpperCase();
  const found = target && matchRoute(api.routes, method, target.path);
  if (!target || !found) return undefined;
  const headers = invocationHeaders(req.rawHeaders, {
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    port: req.socket.localPort ?? 0,
    protocol: 'http',
  });
  return { ids, method, path: target.path, query: target.query, ...found, headers };
}

/**
 * Step 2: the validated API key on key-required routes; `false` when it is missing, unknown, disabled, deleted
 * or in no usage plan of the stage (API Gateway's INVALID_API_KEY, 403 unless the template reshapes it).
 */
function checkApiKey(request: RoutedRequest, keys: ApiKeyStore): ApiKey | undefined | false {
  if (!request.route.apiKeyRequired) return undefined;
  return keys.validate(lastHeaderValue(request.headers, 'x-api-key')) ?? false;
}

/** Step 3: the body, or `undefined` once a 413 has been sent for a body over 10 MB. */
async function readPayload(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
  try {
    return await readBody(req, API_PAYLOAD_LIMIT);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendContentLengthExceeded(res, API_PAYLOAD_LIMIT);
    return undefined;
  }
}

/** Step 4: the Lambda proxy event. */
function buildEvent(request: RoutedRequest, api: LocalApi, body: Buffer, apiKey: ApiKey | undefined) {
  return proxyEvent({
    method: request.method,
    resource: request.route.resource,
    path: request.path,
    pathParameters: request.pathParameters,
    query: request.query,
    headers: request.headers,
    body: body.length > 0 ? body : null,
    binary: isBinary(lastHeaderValue(request.headers, 'content-type'), api.binaryMediaTypes),
    stage: api.stage,
    basePath: '',
    apiKeyId: apiKey ? apiKey.id : null,
    apiId: api.restApiId,
    requestId: request.ids.requestId,
    extendedRequestId: request.ids.extendedRequestId,
  });
}

/** Step 6: relays a well-formed proxy result (`multiValueHeaders` override `headers` of the same name). */
function sendProxyResult(res: ServerResponse, result: APIGatewayProxyResult, ids: RequestIds): void {
  const headers: Record<string, string | string[]> = relayHeaders(ids);
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name.toLowerCase()] = values.map(String);
  const payload = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
  headers['content-length'] = String(payload.length);
  res.writeHead(result.statusCode, headers);
  res.end(payload);
}

/**
 * Step 5: invokes the function within the integration timeout and answers: its proxy result, or API
 * Gateway's 502 for a failed function or a malformed result, 504 on timeout, 500 when the invocation
 * itself is refused (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html).
 */
async function invokeIntegration(
  options: ApiServerOptions,
  request: RoutedRequest,
  event: APIGatewayProxyEvent,
  res: ServerResponse,
): Promise<void> {
  const { api, runtime, log } = options;
  const label = `api ${request.method} ${request.path}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? API_TIMEOUT_MS);
  });
  try {
    const invocation = await Promise.race([runtime.invoke(request.route.functionName ?? '', event), timeout]);
    if (invocation === 'timeout') return sendGatewayError(res, api, 'INTEGRATION_TIMEOUT', request.ids);
    if (invocation.functionError) {
      log(`${label}: the function failed (${invocation.error?.errorType})`);
      return sendGatewayError(res, api, 'INTEGRATION_FAILURE', request.ids);
    }
    const result = invocation.payload as Partial<APIGatewayProxyResult> | null;
    if (!result || typeof result.statusCode !== 'number') {
      log(`${label}: the function returned a malformed proxy response`);
      return sendGatewayError(res, api, 'API_CONFIGURATION_ERROR', request.ids);
    }
    sendProxyResult(res, result as APIGatewayProxyResult, request.ids);
  } catch (error) {
    log(`${label}: ${(error as Error).message}`);
    if (!res.headersSent) sendInternalFailure(res, request.ids);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The REST API (v1) emulation, in API Gateway's order: the 10 MB payload quota at the front door, the
 * template's routes (403 Missing Authentication Token otherwise), API keys on key-required methods, the
 * usage plans' and the stage's throttles and quotas (throttle.ts, 429), mock
 * integrations (CORS preflight), then Lambda proxy integrations with the event API Gateway sends, Lambda's
 * 6 MB invocation quota, and API Gateway's own error answers, so clients see what they will see on AWS.
 */
export function apiRequestHandler(
  options: ApiServerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { api } = options;
  const keys = options.keys instanceof ApiKeyStore ? options.keys : new ApiKeyStore(options.keys);
  const throttle = new ApiThrottle(api.throttling ?? { methodSettings: [], usagePlans: [] });

  const handle = async (req: IncomingMessage, res: ServerResponse, ids: RequestIds) => {
    if (Number(req.headers['content-length'] ?? 0) > API_PAYLOAD_LIMIT)
      return sendContentLengthExceeded(res, API_PAYLOAD_LIMIT);
    const request = routeRequest(req, api, ids);
    if (!request) return sendGatewayError(res, api, 'MISSING_AUTHENTICATION_TOKEN', ids);
    const apiKey = checkApiKey(request, keys);
    if (apiKey === false) return sendGatewayError(res, api, 'INVALID_API_KEY', ids);
    const throttled = throttle.admit(request.route, apiKey ? apiKey.id : undefined);
    if (throttled) return sendGatewayError(res, api, throttled, ids);
    const { mock } = request.route;
    if (mock) {
      res.writeHead(mock.statusCode, { ...relayHeaders(ids), ...mock.headers });
      return void res.end();
    }
    const body = await readPayload(req, res);
    if (!body) return;
    const event = buildEvent(request, api, body, apiKey);
    if (Buffer.byteLength(JSON.stringify(event)) > LAMBDA_SYNC_PAYLOAD_LIMIT)
      return sendRequestTooLong(res, ids);
    await invokeIntegration(options, request, event, res);
  };
  return (req, res) => {
    const ids = newRequestIds();
    handle(req, res, ids).catch((error: Error) => {
      options.log(`api: ${error.message}`);
      if (!res.headersSent) sendInternalFailure(res, ids);
      else res.end();
    });
  };
}
