import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { BodyTooLargeError, readBody, requestUrl, sendJson } from '../http-util.ts';
import type { FunctionRuntime } from '../lambda/runtime/function-runtime.ts';
import type { LocalApi, LocalRoute } from '../template/stack-model.ts';
import type { ApiKey } from './api-keys.ts';
import { proxyEvent } from './proxy-event.ts';

/** API Gateway REST API limits: 10 MB payloads, 29 s integration timeout. */
export const API_PAYLOAD_LIMIT = 10 * 1024 * 1024;
export const API_TIMEOUT_MS = 29_000;

export interface ApiServerOptions {
  api: LocalApi;
  runtime: FunctionRuntime;
  keys: ApiKey[];
  log: (line: string) => void;
  /** Integration timeout; API Gateway's is 29 s (tests shorten it). */
  timeoutMs?: number;
}

/** API Gateway's own error answers: default status and message per gateway response type. */
const GATEWAY_ERRORS = {
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    message: 'Missing Authentication Token',
    family: 'DEFAULT_4XX',
  },
  INVALID_API_KEY: { status: 403, message: 'Forbidden', family: 'DEFAULT_4XX' },
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Entity Too Large', family: 'DEFAULT_4XX' },
  INTEGRATION_FAILURE: { status: 502, message: 'Internal server error', family: 'DEFAULT_5XX' },
  API_CONFIGURATION_ERROR: { status: 502, message: 'Internal server error', family: 'DEFAULT_5XX' },
  INTEGRATION_TIMEOUT: { status: 504, message: 'Endpoint request timed out', family: 'DEFAULT_5XX' },
} as const;
type GatewayError = keyof typeof GATEWAY_ERRORS;

/**
 * Answers with a gateway error, shaped by the template's GatewayResponse for its type (or its family's
 * DEFAULT_4XX/5XX), as API Gateway does; `$context` variables in the template are filled in.
 */
function sendGatewayError(res: ServerResponse, api: LocalApi, type: GatewayError, requestId: string): void {
  const fallback = GATEWAY_ERRORS[type];
  const custom = api.gatewayResponses[type] ?? api.gatewayResponses[fallback.family];
  const status = custom?.statusCode ?? fallback.status;
  const body =
    custom?.template === undefined
      ? JSON.stringify({ message: fallback.message })
      : custom.template
          .replaceAll('$context.error.messageString', JSON.stringify(fallback.message))
          .replaceAll('$context.error.message', fallback.message)
          .replaceAll('$context.error.responseType', type)
          .replaceAll('$context.requestId', requestId);
  const customHeaders = Object.fromEntries(
    Object.entries(custom?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  res.writeHead(status, {
    'content-type': 'application/json',
    ...customHeaders,
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': type,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function isBinary(contentType: string | undefined, binaryTypes: readonly string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return binaryTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    return p === '*/*' || p === type || (p.endsWith('/*') && type.startsWith(p.slice(0, -1)));
  });
}

function match(routes: readonly LocalRoute[], method: string, path: string) {
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const parameters = Object.fromEntries(
      route.parameterNames.map((name, i) => [name, decodeURIComponent(m[i + 1] ?? '')]),
    );
    return { route, parameters };
  }
  return undefined;
}

/**
 * The REST API (v1) emulation: the template's routes, Lambda proxy integrations with the event API Gateway
 * sends, binary media types (base64 bodies), API keys on key-required methods, the 10 MB and 29 s limits, and
 * API Gateway's own error answers (403 for unknown routes and bad keys, 502 for a failed function, 504 on
 * timeout), so clients see what they will see on AWS.
 */
export function apiRequestHandler(
  options: ApiServerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { api, runtime, keys } = options;
  const keyByValue = new Map(keys.map((key) => [key.value, key]));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const baseHeaders = { 'x-amzn-requestid': requestId };
    const url = requestUrl(req);
    const method = (req.method ?? 'GET').toUpperCase();
    const found = url && match(api.routes, method, url.pathname);
    if (!url || !found) {
      sendGatewayError(res, api, 'MISSING_AUTHENTICATION_TOKEN', requestId);
      return;
    }
    const { route, parameters } = found;
    const headerValue = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    let apiKey: ApiKey | undefined;
    if (route.apiKeyRequired) {
      apiKey = keyByValue.get(headerValue('x-api-key') ?? '');
      if (!apiKey) {
        sendGatewayError(res, api, 'INVALID_API_KEY', requestId);
        return;
      }
    }
    if (route.mock) {
      res.writeHead(route.mock.statusCode, { ...baseHeaders, ...route.mock.headers });
      res.end();
      return;
    }

    let body: Buffer;
    try {
      body = await readBody(req, API_PAYLOAD_LIMIT);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendGatewayError(res, api, 'REQUEST_TOO_LARGE', requestId);
        return;
      }
      throw error;
    }
    const headers: Record<string, string> = {};
    for (const name of Object.keys(req.headers)) headers[name] = headerValue(name) ?? '';
    headers['x-forwarded-proto'] = 'http';
    const event = proxyEvent({
      method,
      resource: route.resource,
      path: url.pathname,
      pathParameters: route.parameterNames.length > 0 ? parameters : null,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: body.length > 0 ? body : null,
      binary: isBinary(headers['content-type'], api.binaryMediaTypes),
      stage: api.stage,
      basePath: '',
      apiKeyId: apiKey?.id ?? null,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    });
    event.requestContext.requestId = requestId;

    let timer: NodeJS.Timeout | undefined;
    try {
      const invocation = await Promise.race([
        runtime.invoke(route.functionName ?? '', event),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? API_TIMEOUT_MS);
        }),
      ]);
      if (invocation === 'timeout') {
        sendGatewayError(res, api, 'INTEGRATION_TIMEOUT', requestId);
        return;
      }
      const result = invocation.payload as Partial<APIGatewayProxyResult> | null;
      if (invocation.functionError) {
        options.log(`api ${method} ${url.pathname}: the function failed (${invocation.error?.errorType})`);
        sendGatewayError(res, api, 'INTEGRATION_FAILURE', requestId);
        return;
      }
      if (!result || typeof result.statusCode !== 'number') {
        options.log(`api ${method} ${url.pathname}: the function returned a malformed proxy response`);
        sendGatewayError(res, api, 'API_CONFIGURATION_ERROR', requestId);
        return;
      }
      const responseHeaders: Record<string, string | string[]> = { ...baseHeaders };
      for (const [name, value] of Object.entries(result.headers ?? {}))
        responseHeaders[name.toLowerCase()] = String(value);
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
        responseHeaders[name.toLowerCase()] = values.map(String);
      }
      const payload = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
      responseHeaders['content-length'] = String(payload.length);
      res.writeHead(result.statusCode, responseHeaders);
      res.end(payload);
    } catch (error) {
      options.log(`api ${method} ${url.pathname}: ${(error as Error).message}`);
      if (!res.headersSent) sendGatewayError(res, api, 'INTEGRATION_FAILURE', requestId);
    } finally {
      clearTimeout(timer);
    }
  };
  return (req, res) => {
    handle(req, res).catch((error: Error) => {
      options.log(`api: ${error.message}`);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
      else res.end();
    });
  };
}
