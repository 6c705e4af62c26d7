import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Logger } from '../logger.ts';
import { bodyLimit, securityHeaders } from './guards.ts';
import { originVerify } from './origin-verify.ts';
import { problemDetails } from './problem-details.ts';

/** Characters of a refusal's detail that reach the log. */
const LOGGED_DETAIL_CHARS = 300;

/**
 * What a refused (4xx) request logs: status, code and a bounded detail, never the stack or the cause. A
 * refusal is the client's doing; logging its input in full would let a client multiply log volume.
 */
function refusal(error: unknown): Record<string, unknown> {
  const { statusCode, code, message } = error as { statusCode?: number; code?: unknown; message?: unknown };
  return {
    status: statusCode,
    code: typeof code === 'string' ? code.slice(0, 64) : undefined,
    detail: typeof message === 'string' ? message.slice(0, LOGGED_DETAIL_CHARS) : undefined,
  };
}

/** A route's business logic: an API Gateway proxy event in, a proxy result out; errors are thrown. */
export type HttpRoute = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** What the HTTP stack needs from the function's configuration. */
export interface HttpOptions {
  /** `Access-Control-Allow-Origin` for every response, errors included. */
  corsAllowOrigin: string;
  /** The CDN's origin secret; requests without it are refused with 403 (absent: no check). */
  cdnOriginSecret?: string | undefined;
}

/**
 * Wraps a route in the project's HTTP middleware stack: the CDN origin check (on AWS, origin-verify.ts),
 * Powertools context in the logs, lower-cased headers,
 * CORS headers on every response, and errors rendered as problem+json (< 500 exposed, everything else hidden
 * behind a generic 500 and logged), bodies other than images capped before any route reads them, and
 * `nosniff`/`no-store` on every response. API Gateway answers preflights; the responses must carry CORS.
 */
export function httpHandler(logger: Logger, options: HttpOptions, route: HttpRoute) {
  return (
    middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
      // First: a request that bypassed the CDN is refused before any work (origin-verify.ts).
      .use(originVerify(options.cdnOriginSecret))
      .use(injectLambdaContext(logger, { resetKeys: true }))
      // after/onError run in reverse order of use: the security headers go on last, over every response.
      .use(securityHeaders())
      .use(httpHeaderNormalizer())
      // onError runs in reverse order of use: the error handler first, then problem details, then CORS.
      .use(
        httpCors({
          origin: options.corsAllowOrigin,
          exposeHeaders: 'Location',
          disableBeforePreflightResponse: true,
        }),
      )
      .use(problemDetails())
      .use(
        httpErrorHandler({
          logger: (error: unknown) => {
            const status = (error as { statusCode?: number }).statusCode;
            if (status !== undefined && status < 500) logger.info('request refused', refusal(error));
            else logger.error('request failed', error as Error);
          },
        }),
      )
      .use(bodyLimit())
      .handler(route)
  );
}
