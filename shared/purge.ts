import { createHash } from 'node:crypto';
import { type CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { PermanentError } from './errors.ts';
import { originalKey, variantPrefix } from './keys.ts';
import type { Logger } from './logger.ts';
import { type ImageRecord, imageDocumentPath, processingFailure } from './model.ts';
import { elapsed, tagUploadRequest } from './observability/image-log.ts';
import { imagePurged } from './observability/metrics.ts';
import type { ImageRepository } from './repository.ts';
import { deleteKeys, listKeys } from './storage.ts';

/** What the purge needs. */
export interface PurgeDeps {
  config: Pick<Config, 'bucketName' | 'cdnDistributionId'>;
  s3: S3Client;
  cloudfront: CloudFrontClient;
  images: ImageRepository;
  logger: Logger;
}

/** What a purge did: `purged` the image, or nothing (`duplicate`: an earlier purge already finished). */
export type PurgeOutcome = 'purged' | 'duplicate';

/**
 * Removes everything an image left: its variants, its original, the CDN's cached copies, and finally its
 * record. Refuses to touch an image that is not being deleted (`PermanentError` `PURGE_NOT_ALLOWED`).
 *
 * Idempotent: with no record left it does nothing and answers `duplicate`. The record is removed last, so
 * its absence means an earlier purge of this image completed (objects, CDN invalidation, record); a second
 * one would only list an empty prefix, send a second invalidation (its paths differ, so CloudFront would
 * not dedupe it by caller reference) and count a second `PurgeTime`. Bytes that land after the purge are
 * not its business: ingest removes an original with no record as an orphan's, and a render that lost the
 * race removes its own variants (shared/rendering.ts, `deleted-meanwhile`). Such duplicates are normal:
 * SQS delivers at least once, and a repeated `DELETE` re-queues the purge (shared/deletion.ts).
 */
export async function purgeImage(deps: PurgeDeps, id: string): Promise<PurgeOutcome> {
  const started = performance.now();
  const record = await deps.images.get(id);
  if (!record) {
    deps.logger.info('purge skipped: image already purged', { id, outcome: 'duplicate' });
    return 'duplicate';
  }
  tagUploadRequest(deps.logger, record);
  if (record.status !== 'deleting') {
    throw new PermanentError('PURGE_NOT_ALLOWED', `image ${id} is ${record.status}, not deleting`);
  }
  await removeEverything(deps, record);
  imagePurged(elapsed(started));
  return 'purged';
}

/** Deletes the image's objects, invalidates their CDN paths, then removes the record. */
async function removeEverything(deps: PurgeDeps, record: ImageRecord): Promise<void> {
  const { config, s3 } = deps;
  const { id } = record;
  const variants = await listKeys(s3, config.bucketName, variantPrefix(id));
  const keys = [...variants, originalKey(id)];
  await deleteKeys(s3, config.bucketName, keys);
  // Exact paths, not `/variants/{id}/*`: CloudFront allows only 15 wildcard paths in progress per
  // distribution, which a bulk delete (ten images a batch, two batches at once) would exceed, and then
  // deleted images would stay cached for a year. The record's list still names what an earlier attempt
  // already removed from the bucket.
  //
  // The image's document too: the CDN keeps `GET /v1/images/{id}` for a few seconds (infra/constructs/
  // cdn.ts, API_READ_TTL), under one cache entry per path (no key or query string in its cache key).
  const paths = [
    imageDocumentPath(id),
    ...new Set([...(record.variants ?? []).map((v) => v.key), ...variants].map((key) => `/${key}`)),
  ];
  if (config.cdnDistributionId) {
    await deps.cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: config.cdnDistributionId,
        InvalidationBatch: {
          // Derived from the paths: a redelivered purge reuses the first invalidation instead of paying
          // again, and a different set of paths never collides with an earlier reference.
          CallerReference: `purge-${id}-${createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16)}`,
          Paths: { Quantity: paths.length, Items: paths },
        },
      }),
    );
  }
  await deps.images.remove(id);
  deps.logger.info('image purged', { id, objects: keys.length });
}

/**
 * Records that the purge gave up on an image (its job failed on its last receive and goes to the purge
 * DLQ): the image stays `deleting` (it reads as 404 either way) with a `failure` saying so, for operators
 * and the sweeper.
 */
export async function recordPurgeFailed(
  deps: Pick<PurgeDeps, 'images' | 'logger'>,
  id: string,
  now = new Date(),
): Promise<void> {
  const recorded = await deps.images.recordPurgeFailure(id, processingFailure('purge', now));
  deps.logger.warn('purge gave up', { id, recorded });
}
