import type { APIGatewayProxyEvent } from 'aws-lambda';
import { UnauthorizedError } from '../errors.ts';

/** A header value (headers are lower-cased by the middleware stack). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const value = event.headers?.[name.toLowerCase()];
  return value === undefined || value === null ? undefined : value;
}

/** Who is calling with an API key: API Gateway's key id (the owner) and the key itself. */
export interface KeyHolder {
  ownerId: string;
  apiKey: string;
}

/**
 * The API-key caller, or `undefined`. On routes that require a key, API Gateway has validated it and put its
 * id in `requestContext.identity.apiKeyId`; on others only the raw header is there.
 */
export function keyHolder(event: APIGatewayProxyEvent): KeyHolder | undefined {
  const ownerId = event.requestContext?.identity?.apiKeyId ?? undefined;
  const apiKey = header(event, 'x-api-key');
  return ownerId && apiKey ? { ownerId, apiKey } : undefined;
}

/** Like {@link keyHolder} but a 401 when there is no key (defence in depth behind API Gateway's own check). */
export function requireKeyHolder(event: APIGatewayProxyEvent): KeyHolder {
  const holder = keyHolder(event);
  if (!holder) throw new UnauthorizedError('API_KEY_REQUIRED', 'This route needs an API key in x-api-key');
  return holder;
}

/**
 * The API's base URL for links (`links.self`, `Location`): `publicUrl` when the deployment configures one,
 * else the domain and stage API Gateway itself reports (`requestContext.domainName`, and the stage prefix of
 * `requestContext.path`). Never the `Host` header or other client-sent values: a forged `Host` must not turn
 * into a link the API hands out (issue 12, host reflection). `X-Forwarded-Proto` is read only as `http` or
 * `https` (API Gateway sets it; the local API serves plain http).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 */
export function apiBaseUrl(event: APIGatewayProxyEvent, publicUrl?: string): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  const domain = event.requestContext?.domainName;
  const host = domain && /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(domain) ? domain : 'localhost';
  const proto = header(event, 'x-forwarded-proto') === 'http' ? 'http' : 'https';
  const fullPath = event.requestContext?.path ?? event.path;
  const stagePrefix = fullPath.endsWith(event.path)
    ? fullPath.slice(0, fullPath.length - event.path.length)
    : '';
  // The prefix is `/{stage}` on the execute-api domain, a base path mapping behind a custom domain, or empty:
  // all API Gateway's own routing, kept only when it is plain path segments.
  const prefix = /^(\/[A-Za-z0-9._~-]+)*$/.test(stagePrefix) ? stagePrefix : '';
  return `${proto}://${host}${prefix}`;
}
