import { MalformedMessageError } from '../errors.ts';
import { isImageId } from '../ids.ts';

/** One object-created notification, decoded from the S3 event JSON that S3 delivers to SQS. */
export interface ObjectCreated {
  bucket: string;
  /** The object key, URL-decoded (S3 encodes keys in notifications, with `+` for spaces). */
  key: string;
  size: number;
}

/** A job on the `render` queue. */
export interface RenderJob {
  type: 'render';
  v: 1;
  id: string;
  /** The image's `uploadRequestId`, for its log lines (a purge may run after the record is gone). */
  uploadRequestId?: string;
}

/** A job on the `purge` queue. */
export interface PurgeJob {
  type: 'purge';
  v: 1;
  id: string;
  /** As on {@link RenderJob}. */
  uploadRequestId?: string;
}

/** An API Gateway request id (a UUID); anything else in a job is ignored, it only ever reaches a log line. */
const REQUEST_ID = /^[A-Za-z0-9-]{1,64}$/;

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new MalformedMessageError('message body is not JSON', { cause });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Most records one notification message may carry. S3 sends one record per event ("Each notification is
 * delivered as a JSON object … Records", one per object operation:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html); more than a
 * handful is a forged or foreign message, and every record costs a read of an original.
 */
export const MAX_RECORDS_PER_MESSAGE = 10;

/**
 * Reads an S3 event notification from an SQS message body. The `s3:TestEvent` S3 sends when notifications
 * are configured yields no records; anything that is not an S3 event, or one with more than
 * {@link MAX_RECORDS_PER_MESSAGE} records, is a {@link MalformedMessageError} (the consumer parks it whole:
 * none of a forged message's records is worth a read). Records repeating a bucket and key already in the
 * message are dropped, so one message reads each original at most once.
 */
export function parseS3Notification(body: string): ObjectCreated[] {
  const event = parseJson(body);
  if (isObject(event) && event.Event === 's3:TestEvent') return [];
  if (!isObject(event) || !Array.isArray(event.Records)) {
    throw new MalformedMessageError('not an S3 event notification: no Records array');
  }
  if (event.Records.length > MAX_RECORDS_PER_MESSAGE) {
    throw new MalformedMessageError(
      `${event.Records.length} records in one S3 event notification; S3 sends one, this consumer reads at most ${MAX_RECORDS_PER_MESSAGE}`,
    );
  }
  const seen = new Set<string>();
  return parseRecords(event.Records).filter((object) => {
    const identity = JSON.stringify([object.bucket, object.key]);
    if (seen.has(identity)) return false;
    seen.add(identity);
    return true;
  });
}

function parseRecords(records: unknown[]): ObjectCreated[] {
  return records.flatMap((record: unknown, index): ObjectCreated[] => {
    const s3 = isObject(record) && isObject(record.s3) ? record.s3 : undefined;
    const bucket = s3 && isObject(s3.bucket) ? s3.bucket.name : undefined;
    const object = s3 && isObject(s3.object) ? s3.object : undefined;
    if (typeof bucket !== 'string' || !object || typeof object.key !== 'string') {
      throw new MalformedMessageError(`Records[${index}] has no s3.bucket.name or s3.object.key`);
    }
    const eventName = isObject(record) ? record.eventName : undefined;
    // Only creations start the pipeline; a misconfigured notification must not make deletes look like uploads.
    if (typeof eventName === 'string' && !eventName.startsWith('ObjectCreated:')) return [];
    let key: string;
    try {
      key = decodeURIComponent(object.key.replaceAll('+', ' '));
    } catch (cause) {
      throw new MalformedMessageError(`Records[${index}].s3.object.key is not URL-encoded`, { cause });
    }
    const size = typeof object.size === 'number' && object.size >= 0 ? object.size : Number.NaN;
    return [{ bucket, key, size }];
  });
}

function parseJob<T extends 'render' | 'purge'>(
  body: string,
  type: T,
): { type: T; v: 1; id: string; uploadRequestId?: string } {
  const job = parseJson(body);
  if (!isObject(job) || job.type !== type || job.v !== 1 || !isImageId(job.id)) {
    throw new MalformedMessageError(`not a ${type} job: expected {"type":"${type}","v":1,"id":"<image id>"}`);
  }
  const { uploadRequestId } = job;
  const known = typeof uploadRequestId === 'string' && REQUEST_ID.test(uploadRequestId);
  return { type, v: 1, id: job.id, ...(known ? { uploadRequestId } : {}) };
}

/** Parses and validates a render job. */
export function parseRenderJob(body: string): RenderJob {
  return parseJob(body, 'render');
}

/** Parses and validates a purge job. */
export function parsePurgeJob(body: string): PurgeJob {
  return parseJob(body, 'purge');
}

/** The message body of a render job for `id` (with the image's upload request id where known). */
export function renderJob(id: string, uploadRequestId?: string): RenderJob {
  return { type: 'render', v: 1, id, ...(uploadRequestId ? { uploadRequestId } : {}) };
}

/** The message body of a purge job for `id` (with the image's upload request id where known). */
export function purgeJob(id: string, uploadRequestId?: string): PurgeJob {
  return { type: 'purge', v: 1, id, ...(uploadRequestId ? { uploadRequestId } : {}) };
}
