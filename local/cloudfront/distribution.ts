import { randomUUID } from 'node:crypto';
import { type IncomingMessage, request, type ServerResponse } from 'node:http';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { requestUrl } from '../http-util.ts';
import type { LocalCacheBehavior, LocalDistribution } from '../template/stack-model.ts';

interface CachedObject {
  body: Buffer;
  headers: Record<string, string>;
  etag: string;
  expires: number;
}

export interface CdnOptions {
  distribution: LocalDistribution;
  s3: S3Client;
  /** Where `/v1/*`-style behaviours with the API as origin are sent (the local API server). */
  apiUrl: string;
  log: (line: string) => void;
}

export interface Cdn {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Drops cached paths (`/variants/abc/*` or exact paths), as CreateInvalidation does. */
  invalidate(paths: readonly string[]): number;
  /** The CloudFront API's CreateInvalidation, for the AWS endpoint. */
  invalidationRoute: EdgeRoute;
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

/** Whether a CloudFront path pattern (`*` and `?` wildcards, case-sensitive) matches `path`. */
export function pathPatternMatches(pattern: string, path: string): boolean {
  const normalised = pattern.startsWith('/') || pattern === '*' ? pattern : `/${pattern}`;
  const regex = new RegExp(
    `^${normalised
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
  );
  return regex.test(path);
}

/**
 * CORS response headers per the behaviour's response headers policy, for a GET or HEAD with an `Origin`
 * (the behaviour allows no other method, so there are no preflights to answer).
 */
function corsHeaders(behavior: LocalCacheBehavior, req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  const cors = behavior.cors;
  if (!cors || !origin) return {};
  const allowed = cors.allowOrigins.includes('*')
    ? '*'
    : cors.allowOrigins.includes(origin)
      ? origin
      : undefined;
  if (!allowed) return {};
  return { 'access-control-allow-origin': allowed };
}

function ttlFor(behavior: LocalCacheBehavior, cacheControl: string | undefined): number {
  const maxAge = /max-age=(\d+)/.exec(cacheControl ?? '')?.[1];
  const seconds = maxAge === undefined ? behavior.defaultTtl : Number(maxAge);
  return Math.min(behavior.maxTtl, Math.max(behavior.minTtl, seconds));
}

/**
 * The CloudFront emulation: behaviours in template order, objects served from the bucket only under the
 * prefixes the distribution's bucket policy grants (never `originals/`), an edge cache that honours the cache
 * policy's TTLs and object `Cache-Control`, ETag and 304, `x-cache: Hit|Miss from cloudfront`, invalidations,
 * 404 for what is missing, the response headers policy, and API behaviours proxied to the local API.
 */
export function createCdn(options: CdnOptions): Cdn {
  const { distribution, s3 } = options;
  const cache = new Map<string, CachedObject>();

  const invalidate = (paths: readonly string[]): number => {
    let dropped = 0;
    for (const key of [...cache.keys()]) {
      if (paths.some((path) => pathPatternMatches(path, key))) {
        cache.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  };

  const serveObject = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    behavior: LocalCacheBehavior,
  ) => {
    const security = { ...behavior.headers, ...corsHeaders(behavior, req) };
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'text/plain', 'x-cache': 'Error from cloudfront', ...security });
      res.end('Not Found');
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // The variants behaviour allows GET and HEAD only; CloudFront answers anything else 403.
      res.writeHead(403, { 'content-type': 'text/plain', ...behavior.headers });
      res.end('This distribution is not configured to allow the HTTP request method that was used.');
      return;
    }
    const origin = behavior.origin.kind === 's3' ? behavior.origin : undefined;
    let viewerPath: string;
    try {
      viewerPath = decodeURIComponent(path);
    } catch {
      notFound();
      return;
    }
    const key = `${origin?.originPath.replace(/^\//, '') ?? ''}${viewerPath.replace(/^\//, '')}`;
    if (
      !origin ||
      !distribution.readablePrefixes.some((prefix) => key.startsWith(prefix)) ||
      key.includes('..')
    ) {
      notFound();
      return;
    }
    // Keyed on the decoded path: `/variants/%41…` and `/variants/A…` are one object and one invalidation.
    const cacheKey = viewerPath;
    let cached = cache.get(cacheKey);
    let hit = true;
    if (!cached || cached.expires <= Date.now()) {
      hit = false;
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: origin.bucket, Key: key }));
        const body = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
        const headers: Record<string, string> = {
          'content-type': object.ContentType ?? 'application/octet-stream',
          ...(object.CacheControl ? { 'cache-control': object.CacheControl } : {}),
          ...(object.LastModified ? { 'last-modified': object.LastModified.toUTCString() } : {}),
        };
        cached = {
          body,
          headers,
          etag: object.ETag ?? `"${randomUUID()}"`,
          expires: Date.now() + ttlFor(behavior, object.CacheControl) * 1000,
        };
        if (cached.expires > Date.now()) cache.set(cacheKey, cached);
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'NoSuchKey' || name === 'NotFound') {
          notFound();
          return;
        }
        throw error;
      }
    }
    const headers = {
      ...cached.headers,
      etag: cached.etag,
      'x-cache': `${hit ? 'Hit' : 'Miss'} from cloudfront`,
      ...security,
    };
    if (noneMatchFails(req.headers['if-none-match'], cached.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': String(cached.body.length) });
    res.end(req.method === 'HEAD' ? undefined : cached.body);
  };

  const proxyToApi = (
    req: IncomingMessage,
    res: ServerResponse,
    behavior: LocalCacheBehavior,
    target: URL,
  ) => {
    const { host: _host, ...headers } = req.headers;
    const upstream = request(target, { method: req.method, headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, {
        ...reply.headers,
        'x-cache': 'Miss from cloudfront',
        ...behavior.headers,
      });
      reply.pipe(res);
    });
    upstream.on('error', (error) => {
      options.log(`cdn: API origin error: ${error.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
    req.pipe(upstream);
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // On the API's origin, so that /v1/* goes there as it is, and only there (see requestUrl).
    const url = requestUrl(req, options.apiUrl);
    if (!url) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Bad Request');
      return;
    }
    const path = url.pathname;
    const behavior = distribution.behaviors.find((b) => pathPatternMatches(b.pathPattern, path));
    if (!behavior) {
      res.writeHead(404).end();
      return;
    }
    if (behavior.origin.kind === 'api') {
      proxyToApi(req, res, behavior, url);
      return;
    }
    serveObject(req, res, path, behavior).catch((error: Error) => {
      options.log(`cdn: ${error.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
  };

  const invalidationRoute: EdgeRoute = (req, res) => {
    const match = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation$/.exec(req.url ?? '');
    if (!match || req.method !== 'POST') return false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const xml = Buffer.concat(chunks).toString('utf8');
      if (match[1] !== distribution.id) {
        res.writeHead(404, { 'content-type': 'text/xml' });
        res.end(
          `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>NoSuchDistribution</Code><Message>The specified distribution does not exist.</Message></Error></ErrorResponse>`,
        );
        return;
      }
      const paths = [...xml.matchAll(/<Path>([^<]*)<\/Path>/g)].map((m) => m[1] ?? '');
      const reference = /<CallerReference>([^<]*)<\/CallerReference>/.exec(xml)?.[1] ?? '';
      const dropped = invalidate(paths);
      options.log(`cdn: invalidated ${paths.join(', ')} (${dropped} cached object(s))`);
      const id = `I${randomUUID().replaceAll('-', '').slice(0, 13).toUpperCase()}`;
      const items = paths.map((p) => `<Path>${p}</Path>`).join('');
      res.writeHead(201, {
        'content-type': 'text/xml',
        location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distribution.id}/invalidation/${id}`,
      });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>${id}</Id><Status>Completed</Status><CreateTime>${new Date().toISOString()}</CreateTime><InvalidationBatch><Paths><Quantity>${paths.length}</Quantity><Items>${items}</Items></Paths><CallerReference>${reference}</CallerReference></InvalidationBatch></Invalidation>`,
      );
    });
    return true;
  };

  return { handler, invalidate, invalidationRoute };
}
