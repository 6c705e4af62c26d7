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

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, and the older Keep-Alive, Proxy-Connection): they describe one
 * connection, so a gateway or proxy never passes them on. Headers named in `Connection` are hop-by-hop too.
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/**
 * A refusal by an emulated AWS API: the HTTP status and the error type its protocol names (`x-amzn-ErrorType`,
 * `__type` or a query-protocol code), with the message. Each service's router turns it into its wire format.
 */
export class AwsApiError extends Error {
  readonly status: number;
  readonly errorType: string;
  constructor(status: number, errorType: string, message: string) {
    super(message);
    this.status = status;
    this.errorType = errorType;
  }
}

/** Thrown when a request body is over the limit; the server answers 413. */
export class BodyTooLargeError extends Error {}

/** How much of a refused body is read and dropped, at most, before the connection is closed (see below). */
const LINGER_BYTES = 16 * 1024 * 1024;
const LINGER_MS = 5_000;
const lingering = new WeakSet<IncomingMessage>();

/**
 * Reads and drops the rest of a request whose answer (a 413) has been or is being sent, then lets the
 * connection go: closing at once would reset it while the client is still sending, and the client would
 * lose the answer to a broken pipe (a proxy such as the local CDN then reported 502 instead of the API's
 * 413). This is the "lingering close" of HTTP servers (RFC 9112 §9.6), bounded in bytes and time so that a
 * client cannot make the server read forever.
 */
export function lingerThenClose(req: IncomingMessage): void {
  if (lingering.has(req)) return;
  lingering.add(req);
  let drained = 0;
  const close = () => req.socket.destroy();
  const timer = setTimeout(close, LINGER_MS).unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) close();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Reads a request body up to `limit` bytes. A larger one (declared or sent) is refused with
 * {@link BodyTooLargeError} without buffering the rest, which is drained with {@link lingerThenClose} so the
 * caller's 413 reaches the client.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    lingerThenClose(req);
    return Promise.reject(new BodyTooLargeError(`content length ${declared} exceeds ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData).off('end', onEnd);
      lingerThenClose(req);
      reject(new BodyTooLargeError(`content length exceeds ${limit} bytes`));
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/**
 * Escapes text for XML and HTML content and attribute values (`&`, `<`, `>`, `"`, `'` as numeric character
 * references, which both languages read): the text comes from requests and log lines.
 */
export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
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
