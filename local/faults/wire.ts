/**
 * Injected errors in each service's own wire format, so that an SDK classifies them exactly as it would the
 * real answers (throttling or transient, hence retried with backoff): tested in test/unit/local/faults.test.ts
 * against `@smithy/core/retry`'s classification.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { EdgeKind } from './config.ts';

/** How the caller speaks to the service, which decides the error's shape. */
export type WireProtocol = 's3' | 'dynamodb' | 'sqs-json' | 'sqs-query';

interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  /** `Sender` (the client's fault, 4xx) or `Receiver` (the service's, 5xx), as SQS reports it. */
  fault: 'Sender' | 'Receiver';
  /** The JSON `__type` namespace DynamoDB uses for this code. */
  namespace?: string;
}

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

/**
 * The answers, with the status codes and messages AWS documents:
 * - S3: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
 *   (`SlowDown` 503 "Please reduce your request rate.", `InternalError` 500).
 * - DynamoDB: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
 *   (`ProvisionedThroughputExceededException` and `ThrottlingException` 400, `InternalServerError` 500;
 *   JSON 1.0 body `{"__type": "com.amazonaws.dynamodb.v20120810#…", "message": …}`; ThrottlingException is a
 *   common error, namespaced `com.amazon.coral.availability`).
 * - SQS: `RequestThrottled` (the SDK's model: awsQueryError code `RequestThrottled`, HTTP 403,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html#API_SendMessage_Errors),
 *   and the common errors `ThrottlingException` 400 and `InternalFailure` 500
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
 */
const ANSWERS: Record<Exclude<EdgeKind, 'delay'>, Record<string, ErrorAnswer>> = {
  SlowDown: {
    s3: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.', fault: 'Receiver' },
  },
  InternalError: {
    s3: {
      status: 500,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
      fault: 'Receiver',
    },
    sqs: {
      status: 500,
      code: 'InternalFailure',
      message: 'The request processing has failed because of an unknown error, exception or failure.',
      fault: 'Receiver',
    },
  },
  ProvisionedThroughputExceededException: {
    dynamodb: {
      status: 400,
      code: 'ProvisionedThroughputExceededException',
      message:
        'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      fault: 'Sender',
      namespace: DYNAMODB,
    },
  },
  ThrottlingException: {
    dynamodb: {
      status: 400,
      code: 'ThrottlingException',
      message: 'Rate of requests exceeds the allowed throughput.',
      fault: 'Sender',
      namespace: 'com.amazon.coral.availability',
    },
    sqs: {
      status: 400,
      code: 'ThrottlingException',
      message: 'Rate exceeded',
      fault: 'Sender',
    },
  },
  InternalServerError: {
    dynamodb: {
      status: 500,
      code: 'InternalServerError',
      message: 'Internal server error',
      fault: 'Receiver',
      namespace: DYNAMODB,
    },
  },
  RequestThrottled: {
    sqs: {
      status: 403,
      code: 'RequestThrottled',
      message: 'Request is throttled.',
      fault: 'Sender',
    },
  },
};

/** Writes the injected error for `kind` to `res` in the caller's protocol. `HEAD` answers carry no body. */
export function writeFault(
  res: ServerResponse,
  kind: Exclude<EdgeKind, 'delay'>,
  protocol: WireProtocol,
  method: string,
): void {
  const service = protocol.startsWith('sqs') ? 'sqs' : protocol;
  const answer = ANSWERS[kind][service];
  if (!answer) throw new Error(`no ${kind} answer for ${service}`);
  const requestId = randomUUID();
  const { body, headers } = errorBody(answer, protocol, requestId);
  // Retry-After is not sent: AWS does not send it on these, and the SDK would otherwise wait what it says.
  res.writeHead(answer.status, { ...headers, 'x-amzn-requestid': requestId, 'x-amz-request-id': requestId });
  res.end(method === 'HEAD' ? undefined : body);
}

function errorBody(
  answer: ErrorAnswer,
  protocol: WireProtocol,
  requestId: string,
): { body: string; headers: Record<string, string> } {
  switch (protocol) {
    case 's3':
      return {
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${answer.code}</Code><Message>${answer.message}</Message><RequestId>${requestId}</RequestId><HostId>pictura-local-faults</HostId></Error>`,
      };
    case 'dynamodb':
      return {
        headers: { 'content-type': 'application/x-amz-json-1.0' },
        body: JSON.stringify({ __type: `${answer.namespace}#${answer.code}`, message: answer.message }),
      };
    case 'sqs-json':
      // The JSON protocol names the error in `__type`; AWS also sends the query code in x-amzn-query-error,
      // which SDKs with the awsQueryCompatible trait (SQS) read first.
      return {
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-query-error': `${answer.code};${answer.fault}`,
        },
        body: JSON.stringify({ __type: `com.amazonaws.sqs#${answer.code}`, message: answer.message }),
      };
    case 'sqs-query':
      return {
        headers: { 'content-type': 'text/xml' },
        body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>${answer.fault}</Type><Code>${answer.code}</Code><Message>${answer.message}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
  }
}
