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
 * The base URL the caller used to reach the API, so links work through the CDN, the API's own domain
 * (with its stage prefix) and the local cloud alike.
 */
export function apiBaseUrl(event: APIGatewayProxyEvent): string {
  const host = header(event, 'host') ?? event.requestContext?.domainName ?? 'localhost';
  const proto = header(event, 'x-forwarded-proto') ?? 'https';
  const fullPath = event.requestContext?.path ?? event.path;
  const stagePrefix = fullPath.endsWith(event.path)
    ? fullPath.slice(0, fullPath.length - event.path.length)
    : '';
  return `${proto}://${host}${stagePrefix}`;
}
