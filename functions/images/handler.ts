import { createS3Client } from '#shared/clients/s3.ts';
import { loadConfig } from '#shared/config.ts';
import { NotFoundError } from '#shared/errors.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { apiBaseUrl, requireKeyHolder } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { createLogger } from '#shared/logger.ts';
import { checkHealth, getImage, listImages } from '#shared/queries.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['cdnBaseUrl']);
const deps = {
  config,
  s3: createS3Client(config),
  images: imageRepository(config),
};
const logger = createLogger('images');

/** The read side: `GET /v1/images/{id}` (public), `GET /v1/images` (the caller's), `GET /v1/health`. */
export const handler = httpHandler(logger, config, async (event) => {
  const route = `${event.httpMethod} ${event.resource}`;
  switch (route) {
    case 'GET /v1/images/{id}':
      return json(200, await getImage(deps, event.pathParameters?.id ?? '', apiBaseUrl(event)));
    case 'GET /v1/images': {
      const owner = requireKeyHolder(event);
      const query = event.queryStringParameters ?? {};
      return json(200, await listImages(deps, owner.ownerId, query, apiBaseUrl(event)));
    }
    case 'GET /v1/health': {
      const health = await checkHealth(deps);
      return json(health.status === 'ok' ? 200 : 503, health);
    }
    default:
      throw new NotFoundError('ROUTE_NOT_FOUND', `no route for ${route}`);
  }
});
