import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './config.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from './errors.ts';
import { isImageId, secretMatches } from './ids.ts';
import type { Logger } from './logger.ts';
import type { ImageRecord } from './model.ts';
import { tagUploadRequest } from './observability/image-log.ts';
import { purgeJob } from './queue/messages.ts';
import type { ImageRepository } from './repository.ts';

/**
 * The credential of a delete, one per route:
 * - `key`: `DELETE /v1/images/{id}` requires an API key, so API Gateway has validated it (enabled, in a usage
 *   plan) and names it in `requestContext.identity.apiKeyId` (`ownerId`); the image must be that key's.
 * - `token`: `DELETE /v1/images/{id}/token` with `Authorization: Bearer <deleteToken>` (no key).
 */
export type DeleteCredentials = (
  | { method: 'key'; ownerId: string; apiKey: string }
  | { method: 'token'; deleteToken: string | undefined }
) & {
  /** `requestContext.identity.sourceIp`, for the trail (never used to authorise). */
  sourceIp?: string | undefined;
};

/** What accepting a delete needs (no S3, no CDN: the purge does that work). */
export interface DeleteDeps {
  config: Pick<Config, 'purgeQueueUrl'> & { purgeQueueUrl: string };
  sqs: SQSClient;
  images: ImageRepository;
  logger: Logger;
}

const notFound = (id: string) => new NotFoundError('IMAGE_NOT_FOUND', `no image ${id}`);

function authorise(record: ImageRecord, credentials: DeleteCredentials): void {
  if (credentials.method === 'key') {
    // Both checks always run: the key id API Gateway validated, and the key's hash in constant time.
    const idOk = record.ownerId === credentials.ownerId;
    const keyOk = secretMatches(credentials.apiKey, record.ownerKeyHash);
    // Someone else's key learns nothing, not even that the image exists.
    if (idOk && keyOk) return;
    throw notFound(record.id);
  }
  if (!credentials.deleteToken) {
    throw new UnauthorizedError(
      'AUTHENTICATION_REQUIRED',
      'send the delete token as "Authorization: Bearer <token>" (or DELETE /v1/images/{id} with the uploader\'s x-api-key)',
    );
  }
  if (secretMatches(credentials.deleteToken, record.deleteTokenHash)) return;
  throw new ForbiddenError('INVALID_DELETE_TOKEN', 'the delete token does not match this image');
}

/**
 * Accepts a delete: the image turns `deleting` (it reads as 404 from then on) and a purge job is queued.
 * Repeating the request while the purge is pending re-queues it, so a lost message cannot strand an image.
 * Errors (RFC 9457 problems): 404 `IMAGE_NOT_FOUND` (unknown, malformed, or another key's image); on the token
 * route 401 `AUTHENTICATION_REQUIRED` (no bearer token) and 403 `INVALID_DELETE_TOKEN`.
 */
export async function requestDelete(
  deps: DeleteDeps,
  id: string,
  credentials: DeleteCredentials,
): Promise<void> {
  if (!isImageId(id)) throw notFound(id);
  const record = await deps.images.get(id);
  if (!record) throw notFound(id);
  tagUploadRequest(deps.logger, record);
  authorise(record, credentials);
  if (record.status !== 'deleting') {
    const result = await deps.images.markDeleting(id);
    if (!result.applied && result.current?.status !== 'deleting') throw notFound(id);
  }
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.config.purgeQueueUrl,
      MessageBody: JSON.stringify(purgeJob(id, record.uploadRequestId)),
    }),
  );
  deps.logger.info('delete accepted', {
    id,
    authMethod: credentials.method,
    ...(credentials.method === 'key' ? { apiKeyId: credentials.ownerId } : {}),
    sourceIp: credentials.sourceIp,
  });
}
