import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ForbiddenError } from '../errors.ts';
import { hashSecret, secretMatches } from '../ids.ts';

/**
 * The header CloudFront adds to every request it sends the API origin (an origin custom header, set in
 * infra/constructs/cdn.ts as `ORIGIN_SECRET_HEADER`). CloudFront overwrites a viewer's header of the same
 * name, so a viewer cannot supply it through the CDN.
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
 */
export const ORIGIN_SECRET_HEADER = 'x-origin-verify';

/**
 * Whether the check is on for this expected value. Off when there is none (LocalStack: no CloudFront),
 * and off when the value is still a CloudFormation dynamic reference (`{{resolve:secretsmanager:…}}`):
 * CloudFormation always resolves it on AWS (or fails the deploy), so an unresolved one means the template
 * runs without CloudFormation, in the local cloud, whose API port is meant to be called directly.
 */
export function originCheckEnabled(expected: string | undefined): expected is string {
  return expected !== undefined && expected !== '' && !expected.startsWith('{{resolve:');
}

/**
 * Whether `presented` equals `expected`, in time that does not depend on where they differ (both are
 * hashed first, so their lengths leak nothing either).
 */
export function originSecretMatches(presented: string | undefined, expected: string): boolean {
  return presented !== undefined && secretMatches(presented, hashSecret(expected));
}

/** The header's value, whatever its case (this middleware runs before the header normalizer). */
function presentedSecret(event: APIGatewayProxyEvent): string | undefined {
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (name.toLowerCase() === ORIGIN_SECRET_HEADER && typeof value === 'string') return value;
  }
  return undefined;
}

/** Removes the header from the event, so that no later code can log or echo the secret. */
function forgetSecret(event: APIGatewayProxyEvent): void {
  for (const headers of [event.headers, event.multiValueHeaders]) {
    if (!headers) continue;
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === ORIGIN_SECRET_HEADER) delete headers[name];
    }
  }
}

/**
 * Refuses, with 403 `ORIGIN_NOT_ALLOWED`, an API request that did not come through the CDN: one without
 * the origin secret CloudFront adds ({@link ORIGIN_SECRET_HEADER}). First in the middleware chain, so a
 * direct call to execute-api does no work; the error goes through the chain's error handling like any
 * other (problem+json, CORS headers). `expected` is the configuration's `cdnOriginSecret`
 * (`CDN_ORIGIN_SECRET`, set by infra/constructs/functions.ts on AWS); see {@link originCheckEnabled} for
 * when the check is off.
 */
export function originVerify(expected: string | undefined): MiddlewareObj<APIGatewayProxyEvent> {
  // Hashed once at init: the expected secret is fixed for the life of the function.
  const expectedHash = originCheckEnabled(expected) ? hashSecret(expected) : undefined;
  return {
    before: (request) => {
      if (expectedHash === undefined) return;
      const presented = presentedSecret(request.event);
      const matches = presented !== undefined && secretMatches(presented, expectedHash);
      forgetSecret(request.event);
      if (!matches) {
        throw new ForbiddenError('ORIGIN_NOT_ALLOWED', 'This API is served through its CDN only.');
      }
    },
  };
}
