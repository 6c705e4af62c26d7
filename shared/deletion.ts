import { type CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './config.ts';
import { ForbiddenError, NotFoundError, PermanentError, UnauthorizedError } from './errors.ts';
import { isImageId, secretMatches } from './ids.ts';
import { originalKey, variantPrefix } from './keys.ts';
import type { Logger } from './logger.ts';
import type { ImageRecord } from './model.ts';
import { purgeJob } from './queue/messages.ts';
import type { ImageRepository } from './repository.ts';
import { deleteKeys, listKeys } from './storage.ts';

/** Credentials a delete request may carry. */
export interface DeleteCredentials {
  /** `Authorization: Bearer <deleteToken>`. */
  deleteToken?: string | undefined;
  /** `x-api-key`, compared with the uploader's key hash. */
  apiKey?: string | undefined;
}

export interface DeleteDeps {
  config: Pick<Config, 'bucketName' | 'cdnDistributionId'> & { purgeQueueUrl: string };
  s3: S3Client;
  sqs: SQSClient;
  cloudfront: CloudFrontClient;
  images: ImageRepository;
  logger: Logger;
}

const notFound = (id: string) => new NotFoundError('IMAGE_NOT_FOUND', `no image ${id}`);

function authorise(record: ImageRecord, credentials: DeleteCredentials): void {
  const { deleteToken, apiKey } = credentials;
  if (!deleteToken && !apiKey) {
    throw new UnauthorizedError(
      'AUTHENTICATION_REQUIRED',
      'send the delete token as "Authorization: Bearer <token>" or the uploader\'s x-api-key',
    );
  }
  // Both comparisons always run, in constant time, so timing tells nothing about which one failed.
  const tokenOk = deleteToken !== undefined && secretMatches(deleteToken, record.deleteTokenHash);
  const keyOk = apiKey !== undefined && secretMatches(apiKey, record.ownerKeyHash);
  if (tokenOk || keyOk) return;
  // Someone else's key learns nothing, not even that the image exists; a wrong token is told so.
  if (deleteToken)
    throw new ForbiddenError('INVALID_DELETE_TOKEN', 'the delete token does not match this image');
  throw notFound(record.id);
}

/**
 * Accepts a delete: the image turns `deleting` (it reads as 404 from then on) and a purge job is queued.
 * Repeating the request while the purge is pending re-queues it, so a lost message cannot strand an image.
 */
export async function requestDelete(
  deps: DeleteDeps,
  id: string,
  credentials: DeleteCredentials,
): Promise<void> {
  if (!isImageId(id)) throw notFound(id);
  const record = await deps.images.get(id);
  if (!record) throw notFound(id);
  authorise(record, credentials);
  if (record.status !== 'deleting') {
    const result = await deps.images.markDeleting(id);
    if (!result.applied && result.current?.status !== 'deleting') throw notFound(id);
  }
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.config.purgeQueueUrl,
      MessageBody: JSON.stringify(purgeJob(id)),
    }),
  );
  deps.logger.info('delete accepted', { id });
}

/**
 * Removes everything an image left: its variants, its original, the CDN's cached copies, and finally its
 * record. Idempotent; refuses to touch an image that is not being deleted.
 */
export async function purgeImage(deps: DeleteDeps, id: string): Promise<void> {
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
