import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The request's target as a URL on `origin`. The target is appended to the origin, never resolved against
 * it: resolving would let a scheme-relative target (`//other-host/v1/x`) replace the host, turning a
 * proxy into an open one, and `//` alone would throw. Anything but an origin-form target (`/…`), such as
 * an absolute URL sent as to a forward proxy or `*`, gives `undefined`: callers refuse it.
 */
export function requestUrl(req: IncomingMessage, origin = 'http://localhost'): URL | undefined {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`${new URL(origin).origin}${target}`);
  } catch {
    return undefined;
  }
}

/** Thrown when a request body is over the limit; the server answers 413. */
export class BodyTooLargeError extends Error {}

/** Reads a request body up to `limit` bytes, refusing (without buffering the rest) anything larger. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLargeError(`content length ${declared} exceeds ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLargeError(`content length exceeds ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Sends a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server that is listening before its real handler is ready (see `startingHandler`). */
export interface GatedHandler {
  handler: RequestHandler;
  /** Switches every later request to `ready`. */
  open(ready: RequestHandler): void;
}

/**
 * A handler that answers 503 with `Retry-After: 1` until `open` is called, then hands every request to the
 * real handler. The local cloud must listen before it knows everything (its ports go into the functions'
 * environment and the template's URLs); without this, a request arriving during start-up was accepted and
 * never answered.
 */
export function startingHandler(what: string): GatedHandler {
  let ready: RequestHandler | undefined;
  return {
    handler(req, res) {
      if (ready) return ready(req, res);
      req.resume();
      const text = JSON.stringify({ message: `the local cloud is starting; the ${what} is not ready yet` });
      res.writeHead(503, {
        'content-type': 'application/json',
        'retry-after': '1',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    },
    open(handler) {
      ready = handler;
    },
  };
}
