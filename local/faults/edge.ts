/**
 * The fault proxy on the AWS endpoint: recognises the service and operation of each call, and for the chosen
 * fraction answers it with the service's own throttling or server error, or forwards it late.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http-util.ts';
import type { EdgeService } from './config.ts';
import type { FaultInjector } from './injector.ts';
import { type WireProtocol, writeFault } from './wire.ts';

/**
 * The access key id the local cloud's own clients sign with (provisioning, S3 notification delivery, the SQS
 * pollers, the CDN's origin reads, move tasks). Calls signed with it are never faulted: on AWS these are
 * AWS's own services, whose failures the dedicated delivery faults model instead (notifications delayed,
 * duplicated or reordered; messages delivered twice; invocations crashing).
 */
export const LOCAL_CLOUD_ACCESS_KEY_ID = 'pictura-local-cloud';

/** The service, operation and protocol of one call. */
export interface EdgeCall {
  service: EdgeService;
  operation: string;
  protocol: WireProtocol;
}

/** Forwards the request to the emulators; `body` when the interceptor had to read it already. */
export type Forward = (body?: Buffer) => void;

/** The signing access key id: SigV4 `Authorization` header or a presigned URL's `X-Amz-Credential`. */
export function accessKeyId(req: IncomingMessage): string | undefined {
  const header = String(req.headers.authorization ?? '');
  const fromHeader = /Credential=([^/,\s]+)\//.exec(header)?.[1];
  if (fromHeader) return fromHeader;
  const query = (req.url ?? '').split('?')[1] ?? '';
  const credential = new URLSearchParams(query).get('X-Amz-Credential');
  return credential?.split('/')[0] || undefined;
}

/** Whether the request may be an SQS query-protocol call (`Action=` in a form body or the query string). */
function maybeSqsQuery(req: IncomingMessage): boolean {
  if (req.headers['x-amz-target']) return false;
  const type = String(req.headers['content-type'] ?? '');
  if (req.method === 'POST' && type.startsWith('application/x-www-form-urlencoded')) return true;
  return /[?&]Action=/.test(req.url ?? '');
}

/**
 * The S3 operation of a path-style request (the addressing clients of a custom endpoint use); `Other` for
 * anything the list in config.ts `S3_OPERATIONS` does not name.
 */
export function s3Operation(method: string, rawUrl: string, headers: IncomingMessage['headers']): string {
  const [path = '/', query = ''] = rawUrl.split('?');
  const params = new URLSearchParams(query);
  const [, bucket = '', ...rest] = path.split('/');
  const hasKey = rest.join('/') !== '';
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Other';
  if (!hasKey) {
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'PUT' && query === '') return 'CreateBucket';
    if (method === 'GET') return params.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    if (method === 'POST' && params.has('delete')) return 'DeleteObjects';
    if (method === 'POST' && String(headers['content-type'] ?? '').startsWith('multipart/form-data'))
      return 'PostObject';
    return 'Other';
  }
  switch (method) {
    case 'GET':
      return 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (params.has('partNumber') && params.has('uploadId')) return 'UploadPart';
      return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST':
      if (params.has('uploads')) return 'CreateMultipartUpload';
      if (params.has('uploadId')) return 'CompleteMultipartUpload';
      return 'Other';
    case 'DELETE':
      return params.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    default:
      return 'Other';
  }
}

/** Service, operation and protocol of a call whose headers name them (everything but SQS query calls). */
export function classifyCall(req: IncomingMessage): EdgeCall {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (target.startsWith('DynamoDB_'))
    return { service: 'dynamodb', operation: target.split('.')[1] ?? '', protocol: 'dynamodb' };
  if (target.startsWith('AmazonSQS.'))
    return { service: 'sqs', operation: target.slice('AmazonSQS.'.length), protocol: 'sqs-json' };
  return {
    service: 's3',
    operation: s3Operation(req.method ?? 'GET', req.url ?? '/', req.headers),
    protocol: 's3',
  };
}

/** SQS query requests are small (a message is at most 1 MiB); a larger form is forwarded unread. */
const MAX_QUERY_BODY = 2 * 1024 * 1024;

/**
 * The interceptor the endpoint runs before forwarding a call to the emulators. Calls signed by the local
 * cloud itself go straight through; SQS query-protocol bodies are read (the operation is in them) and
 * handed on with `forward(body)`.
 */
export function faultInterceptor(injector: FaultInjector) {
  return (req: IncomingMessage, res: ServerResponse, forward: Forward): void => {
    const sqsQuery = maybeSqsQuery(req);
    if (
      accessKeyId(req) === LOCAL_CLOUD_ACCESS_KEY_ID ||
      (Number(req.headers['content-length'] ?? 0) > MAX_QUERY_BODY && sqsQuery)
    ) {
      forward();
      return;
    }
    if (!sqsQuery) {
      apply(injector, classifyCall(req), req, res, forward);
      return;
    }
    // Only SQS query forms are read here, their declared length checked above; a larger body drops the call.
    readBody(req, MAX_QUERY_BODY).then(
      (body) => {
        const params = new URLSearchParams(
          req.method === 'POST' ? body.toString('utf8') : (req.url ?? '').split('?')[1],
        );
        const call: EdgeCall = {
          service: 'sqs',
          operation: params.get('Action') ?? 'Other',
          protocol: 'sqs-query',
        };
        apply(injector, call, req, res, () => forward(body));
      },
      () => res.destroy(),
    );
  };
}

function apply(
  injector: FaultInjector,
  call: EdgeCall,
  req: IncomingMessage,
  res: ServerResponse,
  forward: () => void,
): void {
  const fault = injector.edgeFault(call.service, call.operation);
  if (!fault) {
    forward();
    return;
  }
  if (fault.kind === 'delay') {
    const timer = setTimeout(forward, fault.delayMs);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  // The body is not needed: drain it so the connection can be reused.
  req.resume();
  writeFault(res, fault.kind, call.protocol, req.method ?? 'GET');
}

/** `GET /_pictura/faults`: what was injected so far, as JSON (see `FaultInjector.snapshot`). */
export function faultsStatusRoute(injector: FaultInjector | undefined) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!(req.url ?? '').startsWith('/_pictura/faults')) return false;
    req.resume();
    if (req.method !== 'GET') {
      sendJson(res, 405, { message: 'GET only' }, { allow: 'GET' });
      return true;
    }
    sendJson(res, 200, injector?.snapshot() ?? { enabled: false }, { 'cache-control': 'no-store' });
    return true;
  };
}
