import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeMarkup } from '../http-util.ts';
import type { LocalNames } from './local-names.ts';

/**
 * Refuses (421 Misdirected Request, RFC 9110 §15.5.20) a request whose `Host` is not a name of this machine:
 * a page that re-points its own DNS name at 127.0.0.1 (DNS rebinding) reaches the local cloud with its own
 * name in `Host`. Returns whether the request was refused (and answered).
 */
export function refuseForeignHost(names: LocalNames, req: IncomingMessage, res: ServerResponse): boolean {
  if (names.isLocalHostHeader(req.headers.host)) return false;
  const message =
    // The refused name is not quoted back: a response never reflects a Host it did not accept.
    'The local cloud refused this request: its Host header is not a name of this machine (use localhost, ' +
    '127.0.0.1, [::1] or the --host value). Requests under other names are refused to protect against DNS ' +
    'rebinding.\n';
  res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(message);
  return true;
}

/**
 * Why a request to the AWS endpoint comes from a page the local cloud did not serve, or `undefined`. Browsers
 * send `Origin` on every cross-origin request but top-level GETs, and `Sec-Fetch-Site` on all of them; AWS
 * clients (SDKs, CLI) send neither. A page served by the local CDN or API is one of the local cloud's own
 * origins and may call it (a presigned form POST to S3 from the CDN's page).
 */
export function crossSiteReason(names: LocalNames, req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !names.isOwnOrigin(origin))
    return `Origin '${origin.slice(0, 200)}' is not one of the local cloud's own origins`;
  if (req.headers['sec-fetch-site'] === 'cross-site') return 'Sec-Fetch-Site is cross-site';
  return undefined;
}

/**
 * Refuses a cross-site request to the AWS endpoint (a web page must not drive S3, SQS, DynamoDB or the Lambda
 * API on the user's machine), answering as the addressed service answers a call it does not authorise.
 * Returns whether the request was refused (and answered).
 */
export function refuseCrossSite(names: LocalNames, req: IncomingMessage, res: ServerResponse): boolean {
  const reason = crossSiteReason(names, req);
  if (reason === undefined) return false;
  const message = `Access denied by the local cloud: ${reason}. The AWS endpoint takes no calls from web pages on other sites.`;
  const denial = accessDenied(req, message);
  // Drain what the page sent without reading it, then answer.
  req.resume();
  res.writeHead(denial.status, { ...denial.headers, 'x-amzn-requestid': randomUUID(), connection: 'close' });
  res.end(denial.body);
  return true;
}

interface Denial {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The addressed service's answer to an unauthorised call:
 * - Lambda: 403 `AccessDeniedException` in `x-amzn-ErrorType`, JSON `{ Type, Message }`
 *   (https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html).
 * - DynamoDB: 400 `AccessDeniedException` (JSON 1.0 protocol `__type`)
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
 * - SQS: 403 `AccessDenied` (JSON or query protocol) (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html).
 * - CloudFront: 403 `AccessDenied` in an `ErrorResponse`
 *   (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html).
 * - S3: 403 `AccessDenied` in an `Error` document (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
 */
function accessDenied(req: IncomingMessage, message: string): Denial {
  const target = String(req.headers['x-amz-target'] ?? '');
  const path = req.url ?? '/';
  if (path.startsWith('/2015-03-31/'))
    return json(403, 'AccessDeniedException', { Type: 'User', Message: message }, 'application/json');
  if (target.startsWith('DynamoDB_'))
    return json(400, 'AccessDeniedException', {
      __type: 'com.amazonaws.dynamodb.v20120810#AccessDeniedException',
      message,
    });
  if (target.startsWith('AmazonSQS.'))
    return json(403, 'AccessDenied', { __type: 'com.amazonaws.sqs#AccessDenied', message });
  const escaped = escapeMarkup(message);
  const sender = `<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${escaped}</Message></Error>`;
  if (path.startsWith('/2020-05-31/'))
    return xml(
      `<ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">${sender}</ErrorResponse>`,
    );
  const sqsQuery = req.method === 'POST' && path === '/';
  if (sqsQuery || /^\/\d{12}\//.test(path) || /^sqs\./i.test(String(req.headers.host)))
    return xml(`<ErrorResponse>${sender}</ErrorResponse>`);
  return xml(`<Error><Code>AccessDenied</Code><Message>${escaped}</Message></Error>`);
}

function json(
  status: number,
  errorType: string,
  body: unknown,
  contentType = 'application/x-amz-json-1.0',
): Denial {
  return {
    status,
    headers: { 'content-type': contentType, 'x-amzn-errortype': errorType },
    body: JSON.stringify(body),
  };
}

function xml(body: string): Denial {
  return {
    status: 403,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  };
}
