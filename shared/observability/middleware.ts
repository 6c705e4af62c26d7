import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';
import { metrics } from './metrics.ts';
import { tracer } from './tracer.ts';

/**
 * The observability middlewares every function puts first (`middy(handler).use(observability())`), so
 * that they wrap everything else, error handling included:
 * - `captureLambdaHandler`: the `## handler` subsegment with `ColdStart` and `Service` annotations; never
 *   the response as metadata (an upload's answer carries its one-time delete token).
 * - `logMetrics`: flushes the buffered metrics once per invocation, on success and on error, and writes
 *   Powertools' `ColdStart` metric (dimensions `service`, `function_name`) on a cold start.
 */
export function observability(): middy.MiddlewareObj[] {
  return [
    captureLambdaHandler(tracer, { captureResponse: false }),
    logMetrics(metrics, { captureColdStartMetric: true }),
  ];
}
