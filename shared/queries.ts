import { BadRequestError, NotFoundError } from './errors.ts';
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

/** Parses `limit` (1–100, default 20). */
export function parseLimit(value: string | undefined): number {
  if (value === undefined) return 20;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > 100) {
    throw new BadRequestError('INVALID_LIMIT', 'limit must be an integer from 1 to 100');
  }
  return limit;
}

/** One page of the caller's images, newest first, in the owner's view (the route is key-required). */
export async function listImages(
  deps: QueryDeps,
  ownerId: string,
  query: { limit?: string | undefined; cursor?: string | undefined },
  apiBaseUrl: string,
): Promise<{ items: ImageDocument[]; nextCursor: string | null }> {
  const page = await deps.images.listByOwner(ownerId, {
    limit: parseLimit(query.limit),
    cursor: query.cursor,
  });
  return {
    items: page.items.map((record) => toImageDocument(record, deps.config.cdnBaseUrl, apiBaseUrl, 'owner')),
    nextCursor: page.nextCursor ?? null,
  };
}
