import { type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';

/** An HTTP answer as it came: status, headers as Node parsed them, body as text. */
export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequestOptions {
  method?: string;
  /**
   * The request target sent as is, where `fetch` and the URL parser would normalise it (dot segments,
   * percent-encoding): for hostile-input tests.
   */
  path?: string;
  /**
   * Headers; a flat list (`['Host', 'h', 'X-A', '1', 'x-a', '2']`) is sent as is, repeats and spelling kept,
   * and without a Host header unless it names one.
   */
  headers?: OutgoingHttpHeaders | string[];
  body?: string | Buffer;
  /** The request fails after this long without an answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * Sends one HTTP/1.1 request with node:http, so a test controls what `fetch` would not let it (raw header
 * lists, raw targets, forbidden headers), and reads the whole answer. Rejects on a network error or timeout;
 * any status resolves.
 */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawReply> {
  const { method = 'GET', path, headers, body, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ...(path === undefined ? {} : { path }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
