import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { toProblem } from '../errors.ts';

/**
 * Turns the response that `@middy/http-error-handler` produced into RFC 9457 problem+json. Registered
 * before the error handler, so its `onError` runs after it: the error handler has already decided what may
 * be exposed (< 500) and replaced everything else with a generic 500, and this middleware only shapes it.
 */
export function problemDetails(): MiddlewareObj<unknown, APIGatewayProxyResult> {
  return {
    onError: (request) => {
      const problem = toProblem(request.error);
      request.response = {
        ...request.response,
        statusCode: problem.status,
        headers: {
          ...request.response?.headers,
          'Content-Type': 'application/problem+json',
          'Cache-Control': 'no-store',
        },
        body: JSON.stringify(problem),
      };
    },
  };
}
