import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { lingerThenClose } from '../http-util.ts';
import type { LocalApi } from '../template/stack-model.ts';

/** The ids API Gateway gives every request: `x-amzn-RequestId` and `x-amz-apigw-id` (the extended request id). */
export interface RequestIds {
  requestId: string;
  extendedRequestId: string;
}

/** New ids for a request. The extended id has AWS's shape: 16 base64 characters, e.g. `FiV9AHvHoAMFtsg=`. */
export function newRequestIds(): RequestIds {
  return { requestId: randomUUID(), extendedRequestId: randomBytes(11).toString('base64') };
}

/**
 * API Gateway's own error answers, by gateway response type: default status and message, the family
 * (DEFAULT_4XX/5XX) a missing customisation falls back to, and the exception name AWS sends in
 * `x-amzn-ErrorType`. Statuses and types:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html;
 * exception names as recorded on AWS in LocalStack's
 * tests/aws/services/apigateway/test_apigateway_integrations.snapshot.json (`InternalServerErrorException`)
 * and its execute-api gateway_response.py (`MissingAuthenticationTokenException`, `ForbiddenException`).
 */
export const GATEWAY_ERRORS = {
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    message: 'Missing Authentication Token',
    family: 'DEFAULT_4XX',
    errorType: 'MissingAuthenticationTokenException',
  },
  INVALID_API_KEY: {
    status: 403,
    message: 'Forbidden',
    family: 'DEFAULT_4XX',
    errorType: 'ForbiddenException',
  },
  // Messages as API Gateway words them ("Too Many Requests", "Limit Exceeded":
  // https://repost.aws/knowledge-center/api-gateway-429-limit); exception names from LocalStack's
  // localstack/services/apigateway/next_gen/execute_api/gateway_response.py.
  THROTTLED: {
    status: 429,
    message: 'Too Many Requests',
    family: 'DEFAULT_4XX',
    errorType: 'TooManyRequestsException',
  },
  QUOTA_EXCEEDED: {
    status: 429,
    message: 'Limit Exceeded',
    family: 'DEFAULT_4XX',
    errorType: 'LimitExceededException',
  },
  INTEGRATION_FAILURE: {
    status: 502,
    message: 'Internal server error',
    family: 'DEFAULT_5XX',
    errorType: 'InternalServerErrorException',
  },
  API_CONFIGURATION_ERROR: {
    status: 502,
    message: 'Internal server error',
    family: 'DEFAULT_5XX',
    errorType: 'InternalServerErrorException',
  },
  INTEGRATION_TIMEOUT: {
    status: 504,
    message: 'Endpoint request timed out',
    family: 'DEFAULT_5XX',
    errorType: 'InternalServerErrorException',
  },
} as const;
export type GatewayError = keyof typeof GATEWAY_ERRORS;

function idHeaders(ids: RequestIds): Record<string, string> {
  return { 'x-amzn-RequestId': ids.requestId, 'x-amz-apigw-id': ids.extendedRequestId };
}

/** Fills the `$context` variables a gateway response template may use. */
function renderTemplate(template: string, type: GatewayError, ids: RequestIds): string {
  const { message } = GATEWAY_ERRORS[type];
  return template
    .replaceAll('$context.error.messageString', JSON.stringify(message))
    .replaceAll('$context.error.message', message)
    .replaceAll('$context.error.responseType', type)
    .replaceAll('$context.extendedRequestId', ids.extendedRequestId)
    .replaceAll('$context.requestId', ids.requestId);
}

/**
 * Answers with a gateway error, shaped by the template's GatewayResponse for its type (or its family's
 * DEFAULT_4XX/5XX) as API Gateway does; without one, API Gateway's default `{"message": …}` body.
 * `x-amzn-ErrorType` carries AWS's exception name whatever the customisation.
 */
export function sendGatewayError(
  res: ServerResponse,
  api: LocalApi,
  type: GatewayError,
  ids: RequestIds,
): void {
  const fallback = GATEWAY_ERRORS[type];
  const custom = api.gatewayResponses[type] ?? api.gatewayResponses[fallback.family];
  const status = custom?.statusCode ?? fallback.status;
  const body =
    custom?.template === undefined
      ? JSON.stringify({ message: fallback.message })
      : renderTemplate(custom.template, type, ids);
  const customHeaders = Object.fromEntries(
    Object.entries(custom?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  res.writeHead(status, {
    'content-type': 'application/json',
    ...customHeaders,
    ...idHeaders(ids),
    'x-amzn-ErrorType': fallback.errorType,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/**
 * A request body over API Gateway's 10 MB payload quota
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
 * AWS refuses it at its front door, before routing, with a plain-text 413 that no gateway response
 * customises: status, content type and body as captured on AWS in
 * https://github.com/koki-develop/lgtm-generator/issues/10 (customising REQUEST_TOO_LARGE did not change it).
 */
export function sendContentLengthExceeded(res: ServerResponse, limit: number): void {
  const body = `HTTP content length exceeded ${limit} bytes.`;
  res.writeHead(413, {
    'content-type': 'text; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
  // The rest of the body is dropped, not buffered; closing at once would lose this answer to a reset.
  lingerThenClose(res.req);
}

/**
 * A proxy event over Lambda's 6 MB synchronous invocation payload quota
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): Lambda refuses the Invoke
 * (RequestEntityTooLargeException) and the function never runs. API Gateway answers the client 413 with
 * `x-amzn-ErrorType: BadRequestException` and this exact body, as captured on AWS in
 * https://github.com/koki-develop/lgtm-generator/issues/10 (its spacing shows it is not rendered from a
 * gateway response template).
 */
export function sendRequestTooLong(res: ServerResponse, ids: RequestIds): void {
  const body = '{"message": "Request Too Long"}';
  res.writeHead(413, {
    'content-type': 'application/json',
    ...idHeaders(ids),
    'x-amzn-ErrorType': 'BadRequestException',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** API Gateway's answer when it fails itself (500, as AWS documents for a refused Lambda invocation). */
export function sendInternalFailure(res: ServerResponse, ids: RequestIds): void {
  const body = JSON.stringify({ message: 'Internal server error' });
  res.writeHead(500, {
    'content-type': 'application/json',
    ...idHeaders(ids),
    'x-amzn-ErrorType': 'InternalServerErrorException',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/** Headers API Gateway adds to every answer it relays from an integration. */
export function relayHeaders(ids: RequestIds): Record<string, string> {
  return idHeaders(ids);
}
