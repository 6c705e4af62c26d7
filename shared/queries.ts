import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { BadRequestError, NotFoundError } from './errors.ts';
import { isImageId } from './ids.ts';
import { type ImageDocument, toImageDocument } from './model.ts';
import type { ImageRepository } from './repository.ts';

export interface QueryDeps {
  config: Pick<Config, 'bucketName'> & { cdnBaseUrl: string };
  s3: S3Client;
  images: ImageRepository;
}

/** One image, as the public document. Unknown, malformed and deleting ids are all the same 404. */
export async function getImage(deps: QueryDeps, id: string, apiBaseUrl: string): Promise<ImageDocument> {
  const record = isImageId(id) ? await deps.images.get(id) : undefined;
  if (!record || record.status === 'deleting') throw new NotFoundError('IMAGE_NOT_FOUND', `no image ${id}`);
  return toImageDocument(record, deps.config.cdnBaseUrl, apiBaseUrl);
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

/** One page of the caller's images, newest first. */
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
    items: page.items.map((record) => toImageDocument(record, deps.config.cdnBaseUrl, apiBaseUrl)),
    nextCursor: page.nextCursor ?? null,
  };
}

/** Health of one dependency. */
export type CheckStatus = 'ok' | 'down';

/** The health report of `GET /v1/health`. */
export interface Health {
  status: 'ok' | 'degraded';
  checks: { table: CheckStatus; bucket: CheckStatus };
}

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckStatus> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return 'ok';
  } catch {
    return 'down';
  }
}

/** Probes the table and the bucket, each with a short timeout, in parallel. */
export async function checkHealth(deps: QueryDeps, timeoutMs = 2000): Promise<Health> {
  const [table, bucket] = await Promise.all([
    probe(() => deps.images.get('health-check-probe'), timeoutMs),
    probe(() => deps.s3.send(new HeadBucketCommand({ Bucket: deps.config.bucketName })), timeoutMs),
  ]);
  return { status: table === 'ok' && bucket === 'ok' ? 'ok' : 'degraded', checks: { table, bucket } };
}
