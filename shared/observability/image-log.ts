import type { Logger } from '../logger.ts';
import { traceImage } from './tracer.ts';

/**
 * What a function did to one image, as the `step` log line names it. `ready` follows `render` in the
 * same invocation; `rejected` replaces the stage's own step; `failed` is a stage giving up on its last
 * receive (the message goes to the DLQ).
 */
export type Step = 'upload' | 'ingest' | 'render' | 'ready' | 'delete' | 'purge' | 'rejected' | 'failed';

/** The log keys that tie a line to one image and to the API request that created it. */
export const IMAGE_LOG_KEYS = ['imageId', 'uploadRequestId'] as const;

/**
 * Adds the image's `uploadRequestId` (the API Gateway request id stored on its record at creation) to every
 * log line that follows in this invocation, once the record has been read. Records created before it was
 * stored have none, and the key is then left out.
 */
export function tagUploadRequest(logger: Logger, record: { uploadRequestId?: string } | undefined): void {
  if (record?.uploadRequestId) logger.appendKeys({ uploadRequestId: record.uploadRequestId });
}

/** How one image's work ended, for its step line. */
export interface StepOutcome {
  /** The step lines to write, in order (usually one; `render` then `ready` when an image turns ready). */
  steps: readonly Step[];
  /** Anything else worth a field on the line (`outcome: "duplicate"`, …). */
  fields?: Record<string, unknown>;
}

export interface ImageWork<T> {
  logger: Logger;
  imageId: string;
  /** The image's upload request id where the message carries it (see {@link tagUploadRequest} otherwise). */
  uploadRequestId?: string | undefined;
  /** The message's `ApproximateReceiveCount` (1 for an API request). */
  attempt: number;
  /** Maps what `work` returned to its step lines. */
  outcome: (result: T) => StepOutcome;
  /** The step written when `work` throws (it is retried, or gives up on its last receive). */
  errorStep: Step;
}

/**
 * Runs one image's work so that it can be followed across functions: every log line written meanwhile
 * carries `imageId` (and `uploadRequestId` once {@link tagUploadRequest} has read it from the record), the
 * trace gets an `imageId` annotation, and when the work is done exactly one `step` line per step says what
 * happened, how long it took (`durationMs`) and on which delivery (`attempt`). `npm run trace -- <id>`
 * rebuilds an image's timeline from these lines.
 *
 * The keys are removed when the work succeeds. When it throws they stay, so that the consumer's own lines
 * about the failure (its backoff, the `failed` step of a last receive) still name the image; the consumer
 * clears them before its next record ({@link clearImageKeys}), and the invocation's end clears everything.
 */
export async function forImage<T>(options: ImageWork<T>, work: () => Promise<T>): Promise<T> {
  const { logger, imageId, attempt } = options;
  const started = performance.now();
  clearImageKeys(logger);
  logger.appendKeys({ imageId });
  if (options.uploadRequestId) logger.appendKeys({ uploadRequestId: options.uploadRequestId });
  let result: T;
  try {
    result = await traceImage(imageId, work);
  } catch (error) {
    logStep(logger, options.errorStep, { durationMs: elapsed(started), attempt, outcome: 'error' });
    throw error;
  }
  const { steps, fields } = options.outcome(result);
  const durationMs = elapsed(started);
  steps.forEach((step, index) => {
    logStep(logger, step, { durationMs: index === 0 ? durationMs : 0, attempt, ...fields });
  });
  clearImageKeys(logger);
  return result;
}

/**
 * A stage giving up on one image on its message's last receive (the consumer's `onLastReceive`): runs
 * `mark` (the image turns `failed`), then writes the `failed` step line. The keys of the attempt that just
 * failed are still on the logger (see {@link forImage}); only `imageId` is set again, for a message that
 * names several images.
 */
export async function gaveUp(
  logger: Logger,
  imageId: string,
  attempt: number,
  mark: () => Promise<void>,
): Promise<void> {
  logger.appendKeys({ imageId });
  await traceImage(imageId, mark);
  logStep(logger, 'failed', { durationMs: 0, attempt });
}

/** Removes the image keys, so that lines about the next record of a batch do not name this image. */
export function clearImageKeys(logger: Logger): void {
  logger.removeKeys([...IMAGE_LOG_KEYS]);
}

/**
 * An API function's step for one image: `imageId` (and `uploadRequestId` where known) go on this and every
 * later line of the invocation (the logger's keys are reset when it ends), then the `step` line with the
 * time since `started` (a `performance.now()` taken when the route began). `attempt` is 1: API Gateway does
 * not retry a Lambda proxy integration.
 */
export function apiStep(
  logger: Logger,
  step: Step,
  keys: { imageId: string; uploadRequestId?: string | undefined },
  started: number,
): void {
  logger.appendKeys({ imageId: keys.imageId });
  if (keys.uploadRequestId) logger.appendKeys({ uploadRequestId: keys.uploadRequestId });
  logStep(logger, step, { durationMs: elapsed(started), attempt: 1 });
}

/** Writes one `step` line (shape: the observability contract in the README). */
export function logStep(
  logger: Logger,
  step: Step,
  fields: { durationMs: number; attempt: number } & Record<string, unknown>,
): void {
  logger.info('step', { step, ...fields });
}

/** Milliseconds since `start` (a `performance.now()`), to a tenth. */
export function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** The delivery count of an SQS record: 1 on its first receive. */
export function attemptOf(record: { attributes?: { ApproximateReceiveCount?: string } }): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isSafeInteger(count) && count > 0 ? count : 1;
}
