import { loadConfig } from '#shared/config.ts';
import { NotFoundError } from '#shared/errors.ts';
import type { HealthDeps } from '#shared/health.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { apiBaseUrl, requireKeyHolder } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { createLogger } from '#shared/logger.ts';
import { getImage, listImages } from '#shared/queries.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['cdnBaseUrl']);
const deps = { config, images: imageRepository(config) };
const logger = createLogger('images');

let health: Promise<{ check: typeof import('#shared/health.ts').checkHealth; deps: HealthDeps }> | undefined;
// Only the health check touches S3 (its bucket probe). The reads, which clients wait on, never do, so the
// S3 client is loaded with the first health check instead of at every cold start.
const loadHealth = () => {
  health ??= Promise.all([import('#shared/health.ts'), import('#shared/clients/s3.ts')]).then(
    ([module, clients]) => ({
      check: module.checkHealth,
      deps: { ...deps, s3: clients.createS3Client(config) },
    }),
  );
  return health;
};

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
      const { check, deps: healthDeps } = await loadHealth();
      const result = await check(healthDeps);
      return json(result.status === 'ok' ? 200 : 503, result);
    }
    default:
      throw new NotFoundError('ROUTE_NOT_FOUND', `no route for ${route}`);
  }
});
