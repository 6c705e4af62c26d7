import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { PayloadTooLargeError } from '../errors.ts';
import { header } from './request.ts';

/** Largest JSON (or any non-image) request body the functions read: 16 KiB (issue 12, amplification). */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/** Bytes of the event's body as delivered (base64 decoded length computed, not decoded). */
export function bodyLength(event: APIGatewayProxyEvent): number {
  const body = event.body ?? '';
  if (!event.isBase64Encoded) return Buffer.byteLength(body, 'utf8');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/**
 * Refuses, before any route parses it, a body over {@link MAX_JSON_BODY_BYTES} unless it is an `image/*`
 * upload (whose limit is the upload route's own): 413 `BODY_TOO_LARGE`. API Gateway's own cap is 10 MB and
 * Lambda's 6 MB; a JSON document of this API is a few hundred bytes.
 */
export function bodyLimit(maxBytes = MAX_JSON_BODY_BYTES): MiddlewareObj<APIGatewayProxyEvent> {
  return {
    before: (request) => {
      const event = request.event;
      const type = header(event, 'content-type') ?? '';
      if (/^image\//i.test(type)) return;
      const length = bodyLength(event);
      if (length > maxBytes) {
        throw new PayloadTooLargeError(
          'BODY_TOO_LARGE',
          `the request body is ${length} bytes; this API reads JSON bodies of at most ${maxBytes}`,
        );
      }
    },
  };
}

/**
 * Headers every function response carries, errors included: `X-Content-Type-Options: nosniff`, and
 * `Cache-Control: no-store` unless the route chose a cache policy (only a ready image's document does).
 */
export function securityHeaders(): MiddlewareObj<unknown, APIGatewayProxyResult> {
  const apply = (request: { response?: APIGatewayProxyResult | null | undefined }) => {
    const response = request.response;
    if (!response) return;
    const headers = { ...response.headers };
    const cacheControl = Object.keys(headers).find((name) => name.toLowerCase() === 'cache-control');
    if (cacheControl === undefined) headers['Cache-Control'] = 'no-store';
    headers['X-Content-Type-Options'] = 'nosniff';
    request.response = { ...response, headers };
  };
  return { after: apply, onError: apply };
}
