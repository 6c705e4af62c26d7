import { type CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { PermanentError } from './errors.ts';
import { originalKey, variantPrefix } from './keys.ts';
import type { Logger } from './logger.ts';
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

/**
 * Removes everything an image left: its variants, its original, the CDN's cached copies, and finally its
 * record. Idempotent; refuses to touch an image that is not being deleted.
 */
export async function purgeImage(deps: PurgeDeps, id: string): Promise<void> {
  const { config, s3 } = deps;
  const record = await deps.images.get(id);
  if (record && record.status !== 'deleting') {
    throw new PermanentError('PURGE_NOT_ALLOWED', `image ${id} is ${record.status}, not deleting`);
  }
  const keys = [...(await listKeys(s3, config.bucketName, variantPrefix(id))), originalKey(id)];
  await deleteKeys(s3, config.bucketName, keys);
  if (config.cdnDistributionId) {
    await deps.cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: config.cdnDistributionId,
        InvalidationBatch: {
          // The same reference makes a redelivered purge reuse the first invalidation instead of paying again.
          CallerReference: `purge-${id}`,
          Paths: { Quantity: 1, Items: [`/${variantPrefix(id)}*`] },
        },
      }),
    );
  }
  await deps.images.remove(id);
  deps.logger.info('image purged', { id, objects: keys.length });
}
