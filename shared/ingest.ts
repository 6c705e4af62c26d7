import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './config.ts';
import { ImageRejectedError, MalformedMessageError } from './errors.ts';
import { inspectImage } from './image/inspect.ts';
import { imageIdFromOriginalKey } from './keys.ts';
import type { Logger } from './logger.ts';
import { type ImageMetadata, type ImageRecord, ORIGINAL_REPLACED } from './model.ts';
import { type StepOutcome, tagUploadRequest } from './observability/image-log.ts';
import { bytesIn, imageRejected } from './observability/metrics.ts';
import type { ObjectCreated } from './queue/messages.ts';
import { renderJob } from './queue/messages.ts';
import type { ImageRepository } from './repository.ts';
import { deleteObject, readObject } from './storage.ts';

/** What ingest needs. */
export interface IngestDeps {
  config: Pick<Config, 'bucketName' | 'limits' | 'renderQueueUrl'> & { renderQueueUrl: string };
  s3: S3Client;
  sqs: SQSClient;
  images: ImageRepository;
  logger: Logger;
}

/** What happened to one uploaded original. */
export type IngestOutcome =
  | 'processing'
  | 'rejected'
  | 'duplicate'
  | 'orphan-removed'
  | 'replacement-removed'
  | 'ignored'
  | 'gone';

/**
 * Handles one `ObjectCreated` for an original: measures it from its bytes, records the metadata and queues
 * the render — or rejects it, records why and removes the original. Safe to run any number of times for the
 * same event: every step is a conditional transition or an idempotent write. An original already measured
 * (same size and SHA-256 as the record's) is not inspected again: the record's measurements stand.
 *
 * The first original measured is the image. A presigned POST stays valid until it expires, so other bytes
 * can land on the same key later; they never replace it in the record (see {@link refuseReplacement}), so
 * that every variant ever written for an image comes from the one original its record describes.
 */
export async function ingestOriginal(deps: IngestDeps, object: ObjectCreated): Promise<IngestOutcome> {
  const { config, s3, images, logger } = deps;
  if (object.bucket !== config.bucketName) {
    throw new MalformedMessageError(
      `event is for bucket "${object.bucket}", this pipeline owns "${config.bucketName}"`,
    );
  }
  const id = imageIdFromOriginalKey(object.key);
  if (!id) {
    logger.warn('object is not an original this service created; leaving it alone', { key: object.key });
    return 'ignored';
  }
  const record = await images.get(id);
  tagUploadRequest(logger, record);
  if (!record) {
    // Bytes nobody asked for (a presigned form reused after a delete, or a record that expired): remove them,
    // since an original nobody can see or delete would only cost money and may carry GPS.
    logger.warn('original has no image record; removing it', { id });
    await deleteObject(s3, config.bucketName, object.key);
    return 'orphan-removed';
  }
  if (record.status === 'rejected' || record.status === 'deleting') {
    // A rejected image's original must not survive a delete that failed on the first attempt, and bytes
    // that land while an image is being deleted (a presigned form used late) may arrive after the purge.
    await deleteObject(s3, config.bucketName, object.key);
    logger.info('original already handled', { id, status: record.status });
    return 'duplicate';
  }

  const limit = uploadLimit(config, record.declared?.contentLength);
  const read = await readObject(s3, config.bucketName, object.key, limit);
  if (!read.found) {
    logger.warn('original is gone before ingest; nothing to do', { id });
    return 'gone';
  }
  if (record.original) return seenAgain(deps, { ...record, original: record.original }, object.key, read);
  return measureAndRecord(deps, record, object.key, read, limit);
}

/**
 * The most bytes an original may have: the upload was accepted for its declared length, which a presigned
 * POST's policy pins; but only S3 enforces policies, so bytes over it (an emulator, a store that does not
 * check) are refused here too.
 */
function uploadLimit(config: IngestDeps['config'], declared: number | undefined): number {
  const max = config.limits.maxUploadBytes;
  return declared !== undefined && Number.isSafeInteger(declared) && declared > 0
    ? Math.min(max, declared)
    : max;
}

type FoundObject = Exclude<Awaited<ReturnType<typeof readObject>>, { found: false }>;

/**
 * An original measured before (processing, failed or ready): a redelivered event or the same form posted
 * again with the same file, or a replacement. The same size and SHA-256 are the same original: its recorded
 * measurements stand, and nothing is inspected (decoded) or counted again.
 */
async function seenAgain(
  deps: IngestDeps,
  record: ImageRecord & { original: NonNullable<ImageRecord['original']> },
  key: string,
  read: FoundObject,
): Promise<IngestOutcome> {
  const { id, original } = record;
  const same =
    !('tooLarge' in read) && read.body.length === original.bytes && sha256Of(read.body) === original.sha256;
  if (!same) return refuseReplacement(deps, id, key);
  if (record.status === 'ready') {
    deps.logger.info('original already handled', { id, status: record.status });
    return 'duplicate';
  }
  return resume(deps, id, {
    original,
    placeholder: record.placeholder ?? '',
    dominantColor: record.dominantColor ?? '',
    exif: record.exif ?? {},
  });
}

/** A first original: inspected, then its metadata recorded and the render queued, or the image rejected. */
async function measureAndRecord(
  deps: IngestDeps,
  record: ImageRecord,
  key: string,
  read: FoundObject,
  limit: number,
): Promise<IngestOutcome> {
  const { id } = record;
  const size = 'tooLarge' in read ? read.bytes : read.body.length;
  let metadata: ImageMetadata;
  try {
    metadata = await measure(deps.config, read, limit);
  } catch (error) {
    if (!(error instanceof ImageRejectedError)) throw error;
    return reject(deps, id, key, error, size);
  }
  const result = await deps.images.recordMetadata(id, metadata);
  if (!result.applied) {
    // Another ingest measured other bytes first (a form posted twice, this event the older one).
    const measured = result.current?.original?.sha256;
    if (measured !== undefined && measured !== metadata.original.sha256) {
      return refuseReplacement(deps, id, key);
    }
    deps.logger.info('image moved on while it was inspected', { id, status: result.current?.status });
    return 'duplicate';
  }
  await sendRender(deps, id, record.uploadRequestId);
  ingested(deps.logger, id, metadata.original);
  return 'processing';
}

/** The original's metadata, from its bytes; `ImageRejectedError` when it is no acceptable image. */
async function measure(
  config: IngestDeps['config'],
  read: FoundObject,
  limit: number,
): Promise<ImageMetadata> {
  if ('tooLarge' in read) {
    throw new ImageRejectedError(
      'FILE_TOO_LARGE',
      limit < config.limits.maxUploadBytes
        ? `the file is ${read.bytes} bytes; its upload was declared as ${limit}`
        : `the file is ${read.bytes} bytes; the limit is ${limit}`,
    );
  }
  const inspection = await inspectImage(read.body, {
    maxBytes: config.limits.maxUploadBytes,
    maxInputPixels: config.limits.maxInputPixels,
  });
  const { contentType, bytes, width, height, sha256 } = inspection;
  return {
    original: { contentType, bytes, width, height, sha256 },
    placeholder: inspection.placeholder,
    dominantColor: inspection.dominantColor,
    exif: { ...inspection.exif, orientation: inspection.orientation },
  };
}

/** An original measured and its render queued: `BytesIn` and the log line. */
function ingested(logger: Logger, id: string, original: ImageMetadata['original']): void {
  bytesIn(original.bytes);
  logger.info('original ingested', { id, contentType: original.contentType, bytes: original.bytes });
}

/**
 * The step lines of one ingest (shared/observability/image-log.ts): `rejected` for a file that is no
 * acceptable image, else `ingest`, with the outcome when it was not the normal `processing`.
 */
export function ingestSteps(outcome: IngestOutcome): StepOutcome {
  if (outcome === 'rejected') return { steps: ['rejected'], fields: { stage: 'ingest' } };
  return { steps: ['ingest'], ...(outcome === 'processing' ? {} : { fields: { outcome } }) };
}

async function sendRender(deps: IngestDeps, id: string, uploadRequestId?: string): Promise<void> {
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.config.renderQueueUrl,
      MessageBody: JSON.stringify(renderJob(id, uploadRequestId)),
    }),
  );
}

/**
 * The measured original seen again while the image is `processing` or `failed`: the recorded metadata is
 * written again (`processing → processing`, or `failed → processing` for a redriven message) and the
 * render job re-sent, since the first send may have been lost after the record was written.
 */
async function resume(deps: IngestDeps, id: string, metadata: ImageMetadata): Promise<IngestOutcome> {
  const result = await deps.images.recordMetadata(id, metadata);
  if (!result.applied) {
    deps.logger.info('image moved on meanwhile', { id, status: result.current?.status });
    return 'duplicate';
  }
  await sendRender(deps, id, result.record.uploadRequestId);
  deps.logger.info('original seen again; its measurements stand, render re-queued', { id });
  return 'processing';
}

async function reject(
  deps: IngestDeps,
  id: string,
  key: string,
  error: ImageRejectedError,
  bytes: number,
): Promise<IngestOutcome> {
  // Record first, then delete: if the delete fails, the retry finds the record rejected and removes it.
  const result = await deps.images.reject(id, { code: error.code, detail: error.message });
  if (result.applied) rejectedAtIngest(error.code, bytes);
  // Not when the image moved on to ready meanwhile (a duplicate event processed the same original).
  if (result.applied || result.current?.status !== 'ready')
    await deleteObject(deps.s3, deps.config.bucketName, key);
  deps.logger.info('original rejected', {
    id,
    code: error.code,
    detail: error.message,
    applied: result.applied,
  });
  return 'rejected';
}

/**
 * An original rejected at ingest, counted once (when this ingest recorded the rejection):
 * `ImagesRejected{code}`, and `BytesIn` too, since its bytes came in and were read like any other's.
 */
function rejectedAtIngest(code: string, bytes: number): void {
  imageRejected(code);
  bytesIn(bytes);
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Bytes other than the measured original reached its key, through a presigned form used again before it
 * expired. Before the image is ready, it is rejected (`ORIGINAL_REPLACED`): which file was meant is
 * anybody's guess, and a render in flight removes what it wrote when it finds the image rejected. Once it
 * is ready, its variants stay as they are and only the replacement goes. Either way the unmeasured bytes
 * are removed: nothing checked their size, type or location data.
 */
async function refuseReplacement(deps: IngestDeps, id: string, key: string): Promise<IngestOutcome> {
  const result = await deps.images.reject(id, ORIGINAL_REPLACED);
  if (result.applied) imageRejected(ORIGINAL_REPLACED.code);
  const measured = result.applied ? undefined : result.current?.original?.sha256;
  if (measured !== undefined) {
    // Ready (or still processing) with the other file: the key may hold that very file again by now
    // (this event was the older one), and the image's own original must stay.
    const now = await readObject(deps.s3, deps.config.bucketName, key, deps.config.limits.maxUploadBytes);
    if (now.found && !('tooLarge' in now) && sha256Of(now.body) === measured) {
      deps.logger.info('an older original arrived after the image moved on; nothing to do', { id });
      return 'duplicate';
    }
  }
  await deleteObject(deps.s3, deps.config.bucketName, key);
  deps.logger.warn('original replaced through its upload form; the replacement is removed', {
    id,
    rejected: result.applied,
    status: result.applied ? 'rejected' : result.current?.status,
  });
  return result.applied ? 'rejected' : 'replacement-removed';
}
