import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ApiKey } from './api-keys.ts';
import { BodyTooLargeError, readBody, sendJson } from './http-util.ts';
import { proxyEvent } from './lambda-events.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';
import type { LocalApi, LocalRoute } from './stack-model.ts';

/** API Gateway REST API limits: 10 MB payloads, 29 s integration timeout. */
export const API_PAYLOAD_LIMIT = 10 * 1024 * 1024;
export const API_TIMEOUT_MS = 29_000;

export interface ApiServerOptions {
  api: LocalApi;
  runtime: FunctionRuntime;
  keys: ApiKey[];
  log: (line: string) => void;
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const found = match(api.routes, method, url.pathname);
    if (!found) {
      sendJson(
        res,
        403,
        { message: 'Missing Authentication Token' },
        { ...baseHeaders, 'x-amzn-errortype': 'MissingAuthenticationTokenException' },
      );
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
        sendJson(
          res,
          403,
          { message: 'Forbidden' },
          { ...baseHeaders, 'x-amzn-errortype': 'ForbiddenException' },
        );
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
        sendJson(res, 413, { message: 'Request Entity Too Large' }, baseHeaders);
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
          timer = setTimeout(() => resolve('timeout'), API_TIMEOUT_MS);
        }),
      ]);
      if (invocation === 'timeout') {
        sendJson(res, 504, { message: 'Endpoint request timed out' }, baseHeaders);
        return;
      }
      const result = invocation.payload as Partial<APIGatewayProxyResult> | null;
      if (invocation.functionError || !result || typeof result.statusCode !== 'number') {
        options.log(`api ${method} ${url.pathname}: function failed or returned a malformed proxy response`);
        sendJson(res, 502, { message: 'Internal server error' }, baseHeaders);
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
      if (!res.headersSent) sendJson(res, 502, { message: 'Internal server error' }, baseHeaders);
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
