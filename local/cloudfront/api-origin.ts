import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '../http-util.ts';
import type { LocalCacheBehavior } from '../template/stack-model.ts';

/**
 * Headers that describe one connection, not the request or response (RFC 9110 §7.6.1), and so never cross
 * the proxy, plus `Expect`, which CloudFront removes from what it sends a custom origin ("HTTP request
 * headers and CloudFront behavior", RequestAndResponseBehaviorCustomOrigin.html) because it answers
 * `100-continue` to the viewer itself. Forwarding `Expect` made the API answer a too-large body before the
 * proxy had sent it, and the proxy's write then failed (EPIPE) and turned the API's 413 into a 502.
 * `Transfer-Encoding` is the exception: CloudFront forwards it (same table), and Node sets it on the origin
 * request itself when it streams a body of unknown length.
 */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS.filter((name) => name !== 'transfer-encoding'), 'expect']);

/** `headers` without hop-by-hop ones, including those the `Connection` header names. */
function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = String(headers.connection ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name) && !listed.includes(name)),
  );
}

/**
 * Forwards a viewer request to the API origin (the local API server) as it came, streaming both ways, and
 * adds the behaviour's response headers policy; API responses are not cached (the API behaviour's policy
 * caches nothing). `target` is the request's URL on the API's origin (see `requestUrl`). The viewer's `Host`
 * is replaced by the origin's, as CloudFront does for a custom origin unless told to forward it, and the
 * origin's custom headers (the API's origin secret) are added over any the viewer sent with those names,
 * as CloudFront does (add-origin-custom-headers.html). Once the
 * origin has answered, a failure to send it the rest of the body (it answered early, e.g. 413, and closed)
 * no longer matters: its answer is relayed as it is.
 */
export function proxyToApi(
  req: IncomingMessage,
  res: ServerResponse,
  behavior: LocalCacheBehavior,
  target: URL,
  log: (line: string) => void,
): void {
  const { host: _host, ...viewerHeaders } = endToEnd(req.headers);
  const headers = {
    ...viewerHeaders,
    ...(behavior.origin.kind === 'api' ? (behavior.origin.customHeaders ?? {}) : {}),
  };
  let answered = false;
  const upstream = request(target, { method: req.method, headers }, (reply) => {
    answered = true;
    res.writeHead(reply.statusCode ?? 502, {
      ...endToEnd(reply.headers),
      'x-cache': 'Miss from cloudfront',
      ...behavior.headers,
    });
    reply.pipe(res);
  });
  upstream.on('error', (error) => {
    req.unpipe(upstream);
    req.resume();
    if (answered) return;
    log(`cdn: API origin error: ${error.message}`);
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('Bad Gateway');
  });
  req.pipe(upstream);
}
