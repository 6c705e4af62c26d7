import middy from '@middy/core';
import { loadConfig } from '#shared/config.ts';
import { NotFoundError } from '#shared/errors.ts';
import type { HealthDeps } from '#shared/health.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { apiBaseUrl, requireKeyHolder } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { isImageId } from '#shared/ids.ts';
import { createLogger } from '#shared/logger.ts';
import { observability } from '#shared/observability/middleware.ts';
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

/**
 * A ready image's public document may sit in the CDN's cache (and the browser's) this long: short, so a
 * delete is visible within seconds even where an invalidation lags. Everything else is `no-store`.
 */
export const READY_CACHE_CONTROL = 'public, max-age=10';

/**
 * The OpenAPI document (docs/openapi.json, `npm run openapi`) changes only with a deploy: five minutes in the
 * CDN and browsers. It is imported when first asked for, so other cold starts do not parse it.
 */
export const OPENAPI_CACHE_CONTROL = 'public, max-age=300';

const base = (event: Parameters<typeof apiBaseUrl>[0]) => apiBaseUrl(event, config.apiPublicUrl);

/**
 * The read side: `GET /v1/images/{id}` (public), `GET /v1/images` (the caller's), `GET /v1/health`,
 * `GET /v1/openapi.json`.
 */
const routes = httpHandler(logger, config, async (event) => {
  const route = `${event.httpMethod} ${event.resource}`;
  switch (route) {
    case 'GET /v1/images/{id}': {
      const id = event.pathParameters?.id ?? '';
      // Every line about the image names it, its 404 ("request refused") too; a malformed id names none.
      if (isImageId(id)) logger.appendKeys({ imageId: id });
      const document = await getImage(deps, id, base(event));
      // Only a ready image's document stops changing (until its delete, which purges the CDN's copy).
      const cache = document.status === 'ready' ? READY_CACHE_CONTROL : 'no-store';
      return json(200, document, { 'Cache-Control': cache });
    }
    case 'GET /v1/images': {
      const owner = requireKeyHolder(event);
      const query = event.queryStringParameters ?? {};
      return json(200, await listImages(deps, owner.ownerId, query, base(event)));
    }
    case 'GET /v1/health': {
      const { check, deps: healthDeps } = await loadHealth();
      const result = await check(healthDeps);
      return json(result.status === 'ok' ? 200 : 503, result);
    }
    case 'GET /v1/openapi.json':
      return json(200, (await import('../../docs/openapi.json', { with: { type: 'json' } })).default, {
        'Cache-Control': OPENAPI_CACHE_CONTROL,
      });
    default:
      throw new NotFoundError('ROUTE_NOT_FOUND', `no route for ${route}`);
  }
});

/** Tracing and metrics wrap the HTTP stack (shared/observability/middleware.ts). */
export const handler = middy(routes).use(observability());
