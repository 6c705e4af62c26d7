import middy from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { type DeleteCredentials, requestDelete } from '#shared/deletion.ts';
import { NotFoundError } from '#shared/errors.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { header, requireKeyHolder } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { isImageId } from '#shared/ids.ts';
import { createLogger } from '#shared/logger.ts';
import { apiStep } from '#shared/observability/image-log.ts';
import { observability } from '#shared/observability/middleware.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['purgeQueueUrl']);
const logger = createLogger('delete');
const deps = { config, sqs: createSqsClient(config), images: imageRepository(config), logger };

/**
 * The credential each delete route takes: the key route's validated key (API Gateway checked it; 401
 * `API_KEY_REQUIRED` is defence in depth), or the token route's `Authorization: Bearer <deleteToken>`.
 */
function credentialsOf(event: APIGatewayProxyEvent): DeleteCredentials {
  const sourceIp = event.requestContext?.identity?.sourceIp ?? undefined;
  switch (event.resource) {
    case '/v1/images/{id}': {
      const { ownerId, apiKey } = requireKeyHolder(event);
      return { method: 'key', ownerId, apiKey, sourceIp };
    }
    case '/v1/images/{id}/token': {
      const deleteToken = /^Bearer\s+(\S+)$/i.exec(header(event, 'authorization') ?? '')?.[1];
      return { method: 'token', deleteToken, sourceIp };
    }
    default:
      throw new NotFoundError('ROUTE_NOT_FOUND', `no route for ${event.httpMethod} ${event.resource}`);
  }
}

/**
 * `DELETE /v1/images/{id}` (the uploader's API key) and `DELETE /v1/images/{id}/token` (the delete token):
 * authorises, marks the image `deleting` and queues its purge. The removal itself is the `purge` function's,
 * so this one loads neither S3 nor CloudFront and answers a cold request sooner. Every line about a
 * well-formed id carries it as `imageId` (refusals too); the image's `uploadRequestId` once its record is read.
 */
const route = httpHandler(logger, config, async (event) => {
  const started = performance.now();
  const id = event.pathParameters?.id ?? '';
  if (isImageId(id)) logger.appendKeys({ imageId: id });
  await requestDelete(deps, id, credentialsOf(event));
  apiStep(logger, 'delete', { imageId: id }, started);
  return json(202, { id, status: 'deleting' });
});

/** Tracing and metrics wrap the HTTP stack (shared/observability/middleware.ts). */
export const handler = middy(route).use(observability());
