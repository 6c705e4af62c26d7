import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './config.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from './errors.ts';
import { isImageId, secretMatches } from './ids.ts';
import type { Logger } from './logger.ts';
import type { ImageRecord } from './model.ts';
import { purgeJob } from './queue/messages.ts';
import type { ImageRepository } from './repository.ts';

/** Credentials a delete request may carry. */
export interface DeleteCredentials {
  /** `Authorization: Bearer <deleteToken>`. */
  deleteToken?: string | undefined;
  /** `x-api-key`, compared with the uploader's key hash. */
  apiKey?: string | undefined;
}

/** What accepting a delete needs (no S3, no CDN: the purge does that work). */
export interface DeleteDeps {
  config: Pick<Config, 'purgeQueueUrl'> & { purgeQueueUrl: string };
  sqs: SQSClient;
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
