import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { ImageRejectedError } from './errors.ts';
import { renderVariants } from './image/render.ts';
import { originalKey, variantKey } from './keys.ts';
import type { Logger } from './logger.ts';
import type { VariantRecord } from './model.ts';
import type { RenderJob } from './queue/messages.ts';
import type { ImageRepository } from './repository.ts';
import { deleteKeys, deleteObject, IMMUTABLE_CACHE_CONTROL, readObject, writeObject } from './storage.ts';

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
  const record = await images.get(id);
  if (!record || record.status === 'deleting') return 'deleted-meanwhile';
  if (record.status === 'ready' || record.status === 'rejected') return 'duplicate';
  if (record.status !== 'processing') {
    // The job overtook its own metadata write; a retry after the visibility timeout will find it.
    throw new Error(`image ${id} is ${record.status}, not processing; retrying later`);
  }

  const read = await readObject(s3, config.bucketName, originalKey(id), config.limits.maxUploadBytes);
  if (!read.found || 'tooLarge' in read) {
    const now = await images.get(id);
    if (!now || now.status === 'deleting') return 'deleted-meanwhile';
    throw new Error(
      `original of image ${id} is ${read.found ? 'over the size limit' : 'missing'} while processing`,
    );
  }

  let variants: VariantRecord[];
  try {
    const rendered = await renderVariants(read.body, config.variants, {
      maxInputPixels: config.limits.maxInputPixels,
    });
    variants = await Promise.all(
      rendered.map(async (variant) => {
        const key = variantKey(id, variant.name, variant.extension);
        await writeObject(
          s3,
          config.bucketName,
          key,
          variant.body,
          variant.contentType,
          IMMUTABLE_CACHE_CONTROL,
        );
        return {
          name: variant.name,
          key,
          width: variant.width,
          height: variant.height,
          format: variant.format,
          contentType: variant.contentType,
          bytes: variant.bytes,
        };
      }),
    );
  } catch (error) {
    if (!(error instanceof ImageRejectedError)) throw error;
    await images.reject(id, { code: error.code, detail: error.message });
    await deleteObject(s3, config.bucketName, originalKey(id));
    logger.info('original rejected while rendering', { id, code: error.code });
    return 'rejected';
  }

  const result = await images.markReady(id, variants);
  if (result.applied) {
    logger.info('image ready', { id, variants: variants.map((v) => v.name) });
    return 'ready';
  }
  if (result.current?.status === 'ready') return 'duplicate';
  await deleteKeys(
    s3,
    config.bucketName,
    variants.map((variant) => variant.key),
  );
  logger.info('image deleted while rendering; removed the variants just written', { id });
  return 'deleted-meanwhile';
}
