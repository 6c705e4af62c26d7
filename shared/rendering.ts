import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { ImageRejectedError } from './errors.ts';
import { renderVariants, type TimedVariant } from './image/render.ts';
import { originalKey, variantKey, variantPrefix } from './keys.ts';
import type { Logger } from './logger.ts';
import { type ImageRecord, ORIGINAL_REPLACED, type VariantRecord } from './model.ts';
import { elapsed, type StepOutcome, tagUploadRequest } from './observability/image-log.ts';
import {
  bytesOut,
  imageReady,
  imageRejected,
  imageRendered,
  variantRendered,
} from './observability/metrics.ts';
import type { RenderJob } from './queue/messages.ts';
import type { ImageRepository, TransitionResult } from './repository.ts';
import {
  deleteKeys,
  deleteObject,
  IMMUTABLE_CACHE_CONTROL,
  listKeys,
  readObject,
  writeObject,
} from './storage.ts';

/** What rendering needs. */
export interface RenderDeps {
  config: Pick<Config, 'bucketName' | 'limits' | 'variants'>;
  s3: S3Client;
  images: ImageRepository;
  logger: Logger;
}

/** What happened to one render job. */
export type RenderOutcome = 'ready' | 'rejected' | 'duplicate' | 'deleted-meanwhile';

/**
 * Renders every variant of an image from one decode of its original, stores them, and marks the image
 * `ready`. If the image was deleted while rendering, the variants just written are removed again: the
 * purge may already have listed the prefix, so nobody else would.
 */
export async function renderImage(deps: RenderDeps, job: RenderJob): Promise<RenderOutcome> {
  const { config, s3, images, logger } = deps;
  const { id } = job;
  let record = await images.get(id);
  tagUploadRequest(logger, record);
  if (record?.status === 'failed') {
    // A redriven job: the image is `processing` again while it renders (failed → processing → ready).
    const resumed = await images.resumeProcessing(id);
    record = resumed.applied ? resumed.record : resumed.current;
    logger.info('render resumed after a failure', { id, applied: resumed.applied, status: record?.status });
  }
  if (!record || record.status === 'deleting') return removeLeftovers(deps, id);
  if (record.status === 'ready') return 'duplicate';
  if (record.status === 'rejected') {
    // A rejection whose original removal failed is finished here, as ingest does, and so is what an
    // earlier attempt of this job wrote before it died: a rejected image has no variants to keep.
    await deleteObject(s3, config.bucketName, originalKey(id));
    await removeLeftovers(deps, id);
    return 'duplicate';
  }
  if (record.status !== 'processing') {
    // The job overtook its own metadata write; a retry after the visibility timeout will find it.
    throw new Error(`image ${id} is ${record.status}, not processing; retrying later`);
  }
  return renderOriginal(deps, record);
}

/** Reads a `processing` image's original, checks it is the measured one, renders and stores its variants. */
async function renderOriginal(deps: RenderDeps, record: ImageRecord): Promise<RenderOutcome> {
  const { config, s3, images } = deps;
  const { id } = record;
  const read = await readObject(s3, config.bucketName, originalKey(id), config.limits.maxUploadBytes);
  if (!read.found || 'tooLarge' in read) {
    const now = await images.get(id);
    if (!now || now.status === 'deleting') return removeLeftovers(deps, id);
    throw new Error(
      `original of image ${id} is ${read.found ? 'over the size limit' : 'missing'} while processing`,
    );
  }
  // A presigned POST stays valid until it expires, so the original may have been replaced after ingest
  // measured it. Variants are only ever made from the bytes whose metadata the record holds; the image
  // is rejected as ingest rejects it when it sees the replacement's own event.
  const sha256 = createHash('sha256').update(read.body).digest('hex');
  if (record.original && sha256 !== record.original.sha256) {
    return refuse(deps, id, ORIGINAL_REPLACED, 'original replaced after ingest; rejected');
  }
  let variants: VariantRecord[];
  const renderStarted = performance.now();
  try {
    const rendered = await renderVariants(read.body, config.variants, {
      maxInputPixels: config.limits.maxInputPixels,
    });
    variants = await settleAll(rendered.map((variant) => storeVariant(deps, id, variant)));
  } catch (error) {
    if (!(error instanceof ImageRejectedError)) throw error;
    const failure = { code: error.code, detail: error.message };
    return refuse(deps, id, failure, 'original rejected while rendering');
  }
  imageRendered(elapsed(renderStarted));
  return markReady(deps, id, variants, sha256);
}

/** Writes one rendered variant (immutable caching); its `RenderTime` (encode + write) and `BytesOut`. */
async function storeVariant(deps: RenderDeps, id: string, variant: TimedVariant): Promise<VariantRecord> {
  const key = variantKey(id, variant.name, variant.extension);
  const writeStarted = performance.now();
  const { s3, config } = deps;
  await writeObject(s3, config.bucketName, key, variant.body, variant.contentType, IMMUTABLE_CACHE_CONTROL);
  variantStored(variant, performance.now() - writeStarted);
  const { name, width, height, format, contentType, bytes } = variant;
  return { name, key, width, height, format, contentType, bytes };
}

/** The metrics of one stored variant: `RenderTime{variant}` (encode + write, ms) and `BytesOut`. */
function variantStored(variant: TimedVariant, writeMs: number): void {
  variantRendered(variant.name, Math.round(variant.encodeMs + writeMs));
  bytesOut(variant.bytes);
}

/**
 * Rejects the image (`ImagesRejected{code}` when this job recorded it) and removes its original unless a
 * duplicate job made it ready meanwhile.
 */
async function refuse(
  deps: RenderDeps,
  id: string,
  failure: { code: string; detail: string },
  message: string,
): Promise<RenderOutcome> {
  const result = await deps.images.reject(id, failure);
  if (result.applied) imageRejected(failure.code);
  if (rejectionStands(result)) await deleteObject(deps.s3, deps.config.bucketName, originalKey(id));
  deps.logger.info(message, { id, code: failure.code, applied: result.applied });
  return 'rejected';
}

/** `processing → ready` with the variants (`ImagesReady`, `UploadToReady`); else whatever this job wrote goes. */
async function markReady(
  deps: RenderDeps,
  id: string,
  variants: VariantRecord[],
  sha256: string,
): Promise<RenderOutcome> {
  const result = await deps.images.markReady(id, variants, sha256);
  if (result.applied) {
    imageReady(result.record.createdAt, new Date());
    deps.logger.info('image ready', { id, variants: variants.map((v) => v.name) });
    return 'ready';
  }
  // Already ready: a duplicate job rendered the same original to the same keys.
  if (result.current?.status === 'ready') return 'duplicate';
  // Rejected (its upload form was used again meanwhile) or being deleted: what this job wrote must go.
  deps.logger.info('image rejected or deleted while rendering; removing the variants just written', {
    id,
    status: result.current?.status,
  });
  const outcome = await removeLeftovers(deps, id);
  return result.current?.status === 'rejected' ? 'rejected' : outcome;
}

/**
 * The step lines of one render job (shared/observability/image-log.ts): `render` then `ready` when the
 * image turned ready, `rejected` when it was refused, else `render` with its outcome.
 */
export function renderSteps(outcome: RenderOutcome): StepOutcome {
  if (outcome === 'ready') return { steps: ['render', 'ready'] };
  if (outcome === 'rejected') return { steps: ['rejected'], fields: { stage: 'render' } };
  return { steps: ['render'], fields: { outcome } };
}

/**
 * Whether the original may go after a rejection: the rejection was recorded, or the image is rejected or
 * being deleted anyway. Never when a duplicate job already made the image ready from a good original.
 */
function rejectionStands(result: TransitionResult): boolean {
  const status = result.applied ? 'rejected' : result.current?.status;
  return status === undefined || status === 'rejected' || status === 'deleting';
}

/**
 * Removes whatever variants exist for an image that is gone or going. The purge may have listed the prefix
 * before this render (or an earlier, failed attempt of it) wrote there, so nobody else would; listing the
 * prefix rather than trusting this attempt's own list also catches what a failed attempt left.
 */
async function removeLeftovers(deps: RenderDeps, id: string): Promise<RenderOutcome> {
  const keys = await listKeys(deps.s3, deps.config.bucketName, variantPrefix(id));
  if (keys.length > 0) await deleteKeys(deps.s3, deps.config.bucketName, keys);
  return 'deleted-meanwhile';
}

/**
 * Like `Promise.all`, but waits for every write to finish before failing: a retry must not race writes of
 * the failed attempt that are still in flight.
 */
async function settleAll<T>(work: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
