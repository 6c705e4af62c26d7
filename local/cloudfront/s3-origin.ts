import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalCacheBehavior, LocalDistribution } from '../template/stack-model.ts';
import { type CachedObject, type EdgeCache, ttlFor } from './edge-cache.ts';

/** What serving from the bucket needs: the distribution (its readable prefixes), the bucket's client, the cache. */
export interface S3OriginContext {
  distribution: LocalDistribution;
  s3: S3Client;
  cache: EdgeCache;
}

/**
 * Whether `If-None-Match` names the representation's ETag, so that a GET is answered 304 (RFC 9110
 * §13.1.2): `*`, or any entry of the list, compared weakly (a `W/` prefix on either side is ignored).
 */
function noneMatchFails(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/**
 * CORS response headers per the behaviour's response headers policy, for a GET or HEAD with an `Origin`
 * (the behaviour allows no other method, so there are no preflights to answer).
 */
function corsHeaders(behavior: LocalCacheBehavior, req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  const cors = behavior.cors;
  if (!cors || !origin) return {};
  if (cors.allowOrigins.includes('*')) return { 'access-control-allow-origin': '*' };
  return cors.allowOrigins.includes(origin) ? { 'access-control-allow-origin': origin } : {};
}

/**
 * The bucket key a decoded viewer path reads, or `undefined` when the distribution may not read it: only
 * under the prefixes that bucket's policy grants it (never the images bucket's `originals/`; a grant on
 * the site bucket opens no other bucket), and never through `..`.
 */
function originKey(context: S3OriginContext, behavior: LocalCacheBehavior, viewerPath: string) {
  if (behavior.origin.kind !== 's3') return undefined;
  const { bucket } = behavior.origin;
  const key = `${behavior.origin.originPath.replace(/^\//, '')}${viewerPath.replace(/^\//, '')}`;
  const readable = context.distribution.readable.some(
    (grant) => grant.bucket === bucket && key.startsWith(grant.prefix),
  );
  return readable && !key.includes('..') ? { bucket, key } : undefined;
}

/** Fetches an object from the bucket for the edge, or `undefined` when there is none. */
async function fetchFromOrigin(
  context: S3OriginContext,
  behavior: LocalCacheBehavior,
  location: { bucket: string; key: string },
): Promise<CachedObject | undefined> {
  try {
    const object = await context.s3.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: location.key }),
    );
    const body = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    const headers: Record<string, string> = {
      'content-type': object.ContentType ?? 'application/octet-stream',
      ...(object.CacheControl ? { 'cache-control': object.CacheControl } : {}),
      ...(object.LastModified ? { 'last-modified': object.LastModified.toUTCString() } : {}),
    };
    const expires = Date.now() + ttlFor(behavior, object.CacheControl) * 1000;
    return { body, headers, etag: object.ETag ?? `"${randomUUID()}"`, expires };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw error;
  }
}

/**
 * Serves a GET or HEAD from the bucket through the edge cache: `x-cache: Hit|Miss from cloudfront`, ETag and
 * 304, 404 for what is missing or not readable, the response headers policy (security headers and CORS).
 * `viewerPath` is percent-decoded: `/variants/%41…` and `/variants/A…` are one object and one invalidation.
 */
export async function serveObject(
  context: S3OriginContext,
  req: IncomingMessage,
  res: ServerResponse,
  viewerPath: string,
  behavior: LocalCacheBehavior,
): Promise<void> {
  const policyHeaders = { ...behavior.headers, ...corsHeaders(behavior, req) };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    // The variants behaviour allows GET and HEAD only; CloudFront answers anything else 403.
    res.writeHead(403, { 'content-type': 'text/plain', ...behavior.headers });
    res.end('This distribution is not configured to allow the HTTP request method that was used.');
    return;
  }
  const notFound = () => {
    res.writeHead(404, {
      'content-type': 'text/plain',
      'x-cache': 'Error from cloudfront',
      ...policyHeaders,
    });
    res.end('Not Found');
  };
  const location = originKey(context, behavior, viewerPath);
  if (!location) return notFound();
  let cached = context.cache.get(viewerPath);
  const hit = cached !== undefined;
  if (!cached) {
    cached = await fetchFromOrigin(context, behavior, location);
    if (!cached) return notFound();
    context.cache.set(viewerPath, cached);
  }
  const headers = {
    ...cached.headers,
    etag: cached.etag,
    'x-cache': `${hit ? 'Hit' : 'Miss'} from cloudfront`,
    ...policyHeaders,
  };
  if (noneMatchFails(req.headers['if-none-match'], cached.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(cached.body.length) });
  res.end(req.method === 'HEAD' ? undefined : cached.body);
}
