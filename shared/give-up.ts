import type { Logger } from './logger.ts';
import { type FailureStage, processingFailure } from './model.ts';
import { tagUploadRequest } from './observability/image-log.ts';
import type { ImageRepository } from './repository.ts';

/**
 * Records that a stage gave up on an image (its message failed on its last receive and goes to that stage's
 * DLQ): an image still waiting for the stage turns `failed` with {@link processingFailure}; a ready, rejected
 * or deleting one is left as it is (the repository's conditional write). The ingest and render consumers'
 * `onLastReceive`; a redrive brings a failed image back.
 */
export async function markStageFailed(
  deps: { images: ImageRepository; logger: Logger },
  id: string,
  stage: Extract<FailureStage, 'ingest' | 'render'>,
  now = new Date(),
): Promise<void> {
  const result = await deps.images.markFailed(id, processingFailure(stage, now));
  tagUploadRequest(deps.logger, result.applied ? result.record : result.current);
  deps.logger.warn(`${stage} gave up; image marked failed`, {
    id,
    applied: result.applied,
    status: result.applied ? 'failed' : result.current?.status,
  });
}
