import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { requestDelete } from '#shared/deletion.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { header } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { createLogger } from '#shared/logger.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['purgeQueueUrl']);
const logger = createLogger('delete');
const deps = { config, sqs: createSqsClient(config), images: imageRepository(config), logger };

/**
 * `DELETE /v1/images/{id}`: authorises, marks the image `deleting` and queues its purge. The removal itself
 * is the `purge` function's, so this one loads neither S3 nor CloudFront and answers a cold request sooner.
 */
export const handler = httpHandler(logger, config, async (event) => {
  const id = event.pathParameters?.id ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header(event, 'authorization') ?? '')?.[1];
  await requestDelete(deps, id, { deleteToken: bearer, apiKey: header(event, 'x-api-key') });
  return json(202, { id, status: 'deleting' });
});
