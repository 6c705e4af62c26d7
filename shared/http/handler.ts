import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Logger } from '../logger.ts';
import { problemDetails } from './problem-details.ts';

/** A route's business logic: an API Gateway proxy event in, a proxy result out; errors are thrown. */
export type HttpRoute = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Wraps a route in the project's HTTP middleware stack: Powertools context in the logs, lower-cased headers,
 * and errors rendered as problem+json (< 500 exposed, everything else hidden behind a generic 500 and logged).
 */
export function httpHandler(logger: Logger, route: HttpRoute) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(problemDetails())
    .use(
      httpErrorHandler({
        logger: (error: unknown) => {
          const status = (error as { statusCode?: number }).statusCode;
          if (status !== undefined && status < 500) logger.info('request refused', { error: error as Error });
          else logger.error('request failed', error as Error);
        },
      }),
    )
    .handler(route);
}
