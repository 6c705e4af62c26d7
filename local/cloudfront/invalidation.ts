import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { BodyTooLargeError, escapeMarkup, readBody } from '../http-util.ts';
import type { EdgeCache } from './edge-cache.ts';
import { type InvalidationPath, parseInvalidationPath } from './invalidation-paths.ts';

const XMLNS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';
const ROUTE = /^\/2020-05-31\/distribution\/([^/?]+)\/invalidation(?:\?.*)?$/;
/**
 * In progress at one time per distribution: 3,000 file paths and 15 wildcard paths (InvalidationLimits.html).
 * Local invalidations complete at once, so only one batch is ever in progress.
 */
const MAX_FILE_PATHS = 3000;
const MAX_WILDCARD_PATHS = 15;
/** Bodies past 16 MiB are refused unread (3,000 paths of 4,000 characters take 12 MB). */
const MAX_BODY = 16 * 1024 * 1024;

/**
 * CreateInvalidation's errors, with the status CloudFront's service model gives each
 * (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html#API_CreateInvalidation_Errors).
 */
const ERRORS = {
  NoSuchDistribution: [404, 'The specified distribution does not exist.'],
  MissingBody: [
    400,
    'This operation requires a body. Ensure that the body is present and the Content-Type header is set.',
  ],
  InconsistentQuantities: [400, "The value of Quantity and the size of Items don't match."],
  InvalidArgument: [400, 'Your request contains one or more invalid invalidation paths.'],
  BatchTooLarge: [413, 'Invalidation batch specified is too large.'],
  TooManyInvalidationsInProgress: [
    400,
    'You have exceeded the maximum number of allowable InProgress invalidation batch requests, or invalidation objects.',
  ],
} as const;
type InvalidationError = keyof typeof ERRORS;

function xmlUnescape(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,4});/gi, (whole, name: string) => {
    if (name[0] !== '#') return named[name] ?? whole;
    const code =
      name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Answers with CloudFront's error document (`ErrorResponse`, `Type` Sender). */
function sendError(res: ServerResponse, code: InvalidationError): void {
  const [status, message] = ERRORS[code];
  const requestId = randomUUID();
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
  res.end(
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}

/** The batch a CreateInvalidation body carries, or the error it earns. */
function parseBatch(xml: string): { paths: InvalidationPath[]; reference: string } | InvalidationError {
  if (xml.trim() === '') return 'MissingBody';
  // The body is XML the SDKs write; element contents hold no markup (it is escaped), so this reads it.
  const raw = [...xml.matchAll(/<Path>([^<]*)<\/Path>/g)].map((m) => xmlUnescape(m[1] ?? ''));
  const quantity = /<Quantity>\s*(\d{1,9})\s*<\/Quantity>/.exec(xml)?.[1];
  const reference = xmlUnescape(/<CallerReference>([^<]*)<\/CallerReference>/.exec(xml)?.[1] ?? '');
  if (quantity === undefined || Number(quantity) !== raw.length) return 'InconsistentQuantities';
  const parsed = raw.map(parseInvalidationPath);
  if (parsed.some((path) => path === undefined)) return 'InvalidArgument';
  const paths = parsed as InvalidationPath[];
  const wildcards = paths.filter((path) => path.wildcard).length;
  if (wildcards > MAX_WILDCARD_PATHS || paths.length - wildcards > MAX_FILE_PATHS)
    return 'TooManyInvalidationsInProgress';
  return { paths, reference };
}

/** The 201 answer: the invalidation, completed at once (the local edge drops entries synchronously). */
function sendCreated(res: ServerResponse, distributionId: string, batch: ReturnType<typeof parseBatch>) {
  if (typeof batch === 'string') return;
  const id = `I${randomUUID().replaceAll('-', '').slice(0, 13).toUpperCase()}`;
  const items = batch.paths.map((p) => `<Path>${escapeMarkup(p.raw)}</Path>`).join('');
  res.writeHead(201, {
    'content-type': 'text/xml',
    location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distributionId}/invalidation/${id}`,
  });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="${XMLNS}"><Id>${id}</Id><Status>Completed</Status>` +
      `<CreateTime>${new Date().toISOString()}</CreateTime><InvalidationBatch><Paths><Quantity>${batch.paths.length}</Quantity>` +
      `<Items>${items}</Items></Paths><CallerReference>${escapeMarkup(batch.reference)}</CallerReference></InvalidationBatch></Invalidation>`,
  );
}

async function createInvalidation(
  req: IncomingMessage,
  res: ServerResponse,
  distributionId: string,
  options: InvalidationRouteOptions,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, MAX_BODY);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    req.resume();
    return sendError(res, 'BatchTooLarge');
  }
  if (distributionId !== options.distributionId) return sendError(res, 'NoSuchDistribution');
  const batch = parseBatch(body.toString('utf8'));
  if (typeof batch === 'string') return sendError(res, batch);
  const dropped = options.cache.invalidate(batch.paths);
  options.log(`cdn: invalidated ${batch.paths.map((p) => p.raw).join(', ')} (${dropped} cached object(s))`);
  sendCreated(res, distributionId, batch);
}

export interface InvalidationRouteOptions {
  distributionId: string;
  cache: EdgeCache;
  log: (line: string) => void;
}

/**
 * The CloudFront API's CreateInvalidation (`POST /2020-05-31/distribution/{Id}/invalidation`) as a route of
 * the AWS endpoint: validates the batch as CloudFront does (see `parseInvalidationPath`), drops what it
 * covers from the edge cache and answers 201 with the invalidation, `Completed`.
 */
export function invalidationRoute(options: InvalidationRouteOptions): EdgeRoute {
  return (req, res) => {
    const match = ROUTE.exec(req.url ?? '');
    if (!match || req.method !== 'POST') return false;
    createInvalidation(req, res, match[1] ?? '', options).catch((error: Error) => {
      options.log(`cdn: invalidation failed: ${error.message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('Internal Error');
    });
    return true;
  };
}
