import { LIMIT, ListQuery } from './api/requests.ts';
import { NotFoundError } from './errors.ts';
import { parseOrThrow } from './http/validation.ts';
import { isImageId } from './ids.ts';
import { type ImageDocument, toImageDocument } from './model.ts';
import type { ImageRepository } from './repository.ts';

export interface QueryDeps {
  config: { cdnBaseUrl: string };
  images: ImageRepository;
}

/**
 * One image, as the public document (anonymous view, whoever asks: the route is public and its ready answers
 * are cached at the CDN, so it must not vary by caller). Unknown, malformed and deleting ids are all the
 * same 404; the id is echoed only when it is a well-formed one.
 */
export async function getImage(deps: QueryDeps, id: string, apiBaseUrl: string): Promise<ImageDocument> {
  const record = isImageId(id) ? await deps.images.get(id) : undefined;
  if (!record || record.status === 'deleting') {
    throw new NotFoundError('IMAGE_NOT_FOUND', isImageId(id) ? `no image ${id}` : 'no such image');
  }
  return toImageDocument(record, deps.config.cdnBaseUrl, apiBaseUrl, 'public');
}

/** Codes and details of a bad `GET /v1/images` query (400). */
const LIST_QUERY_PROBLEM = {
  code: { limit: 'INVALID_LIMIT', cursor: 'INVALID_CURSOR' },
  fallback: 'the query string is not one this route reads',
  details: {
    limit: `limit must be an integer from ${LIMIT.min} to ${LIMIT.max}`,
    cursor: 'cursor is not one this API returned',
  },
} as const;

/**
 * Parses the listing's query parameters with the API's `ListQuery` schema (shared/api/schemas.ts): `limit`
 * 1–100 (default 20), else 400 `INVALID_LIMIT`; `cursor` of the shape this API hands out, else 400
 * `INVALID_CURSOR` (the repository then checks it is a key of the caller's listing).
 */
export function parseListQuery(query: { limit?: string | undefined; cursor?: string | undefined }): {
  limit: number;
  cursor: string | undefined;
} {
  const { limit, cursor } = parseOrThrow(
    ListQuery,
    { limit: query.limit, cursor: query.cursor },
    LIST_QUERY_PROBLEM,
  );
  return { limit: limit ?? LIMIT.default, cursor };
}

/** One page of the caller's images, newest first, in the owner's view (the route is key-required). */
export async function listImages(
  deps: QueryDeps,
  ownerId: string,
  query: { limit?: string | undefined; cursor?: string | undefined },
  apiBaseUrl: string,
): Promise<{ items: ImageDocument[]; nextCursor: string | null }> {
  const page = await deps.images.listByOwner(ownerId, parseListQuery(query));
  return {
    items: page.items.map((record) => toImageDocument(record, deps.config.cdnBaseUrl, apiBaseUrl, 'owner')),
    nextCursor: page.nextCursor ?? null,
  };
}
