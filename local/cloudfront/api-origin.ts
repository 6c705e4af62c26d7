import { type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { LocalCacheBehavior } from '../template/stack-model.ts';

/**
 * Forwards a viewer request to the API origin (the local API server) as it came, streaming both ways, and
 * adds the behaviour's response headers policy; API responses are not cached (the API behaviour's policy
 * caches nothing). `target` is the request's URL on the API's origin (see `requestUrl`). The viewer's `Host`
 * is replaced by the origin's, as CloudFront does for a custom origin unless told to forward it.
 */
export function proxyToApi(
  req: IncomingMessage,
  res: ServerResponse,
  behavior: LocalCacheBehavior,
  target: URL,
  log: (line: string) => void,
): void {
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
    log(`cdn: API origin error: ${error.message}`);
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('Bad Gateway');
  });
  req.pipe(upstream);
}
