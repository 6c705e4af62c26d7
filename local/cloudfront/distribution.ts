import type { IncomingMessage, ServerResponse } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { requestUrl } from '../http-util.ts';
import type { LocalDistribution } from '../template/stack-model.ts';
import { proxyToApi } from './api-origin.ts';
import { EdgeCache } from './edge-cache.ts';
import { invalidationRoute } from './invalidation.ts';
import { pathPatternMatches } from './path-pattern.ts';
import { serveObject } from './s3-origin.ts';
import { sendWafBlocked, viewerIp, WafRateLimiter } from './waf.ts';

export { pathPatternMatches };

export interface CdnOptions {
  distribution: LocalDistribution;
  s3: S3Client;
  /** Where `/v1/*`-style behaviours with the API as origin are sent (the local API server). */
  apiUrl: string;
  log: (line: string) => void;
}

export interface Cdn {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The CloudFront API's CreateInvalidation, for the AWS endpoint. */
  invalidationRoute: EdgeRoute;
}

function answer(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
}

/** The viewer path percent-decoded, or `undefined` for a malformed encoding (`%`, `%zz`, bad UTF-8). */
function decodedPath(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/**
 * The CloudFront emulation, in parts: behaviours chosen by path pattern in template order (path-pattern.ts),
 * the web ACL's per-IP rate rules (waf.ts, 403), objects served from the bucket through an edge cache (s3-origin.ts, edge-cache.ts), API behaviours proxied
 * to the local API (api-origin.ts), and CreateInvalidation on the AWS endpoint (invalidation.ts). A request
 * target that is not a path, or a malformed percent-encoding, is answered 400 as CloudFront answers a request
 * it cannot parse.
 */
export function createCdn(options: CdnOptions): Cdn {
  const { distribution, s3, log } = options;
  const cache = new EdgeCache();
  const waf = distribution.webAcl && new WafRateLimiter(distribution.webAcl);

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    // On the API's origin, so that /v1/* goes there as it is, and only there (see requestUrl).
    const url = requestUrl(req, options.apiUrl);
    // CloudFront serves the default root object for a request for `/` (and only for `/`, not for
    // subfolders).
    // See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DefaultRootObject.html
    if (url && url.pathname === '/' && distribution.defaultRootObject)
      url.pathname = `/${distribution.defaultRootObject}`;
    const viewerPath = url && decodedPath(url.pathname);
    if (!url || viewerPath === undefined) return answer(res, 400, 'Bad Request');
    const ip = viewerIp(req);
    const blockedBy = waf?.check(ip, {
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
    });
    if (blockedBy) {
      log(`cdn: ${ip} blocked by the web ACL's rule ${blockedBy}`);
      return sendWafBlocked(res);
    }
    const behavior = distribution.behaviors.find((b) => pathPatternMatches(b.pathPattern, url.pathname));
    if (!behavior) return void res.writeHead(404).end();
    if (behavior.origin.kind === 'api') return proxyToApi(req, res, behavior, url, log);
    serveObject({ distribution, s3, cache }, req, res, viewerPath, behavior).catch((error: Error) => {
      log(`cdn: ${error.message}`);
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('Bad Gateway');
    });
  };

  return { handler, invalidationRoute: invalidationRoute({ distributionId: distribution.id, cache, log }) };
}
