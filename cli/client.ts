/**
 * The CLI's HTTP client for the Pictura API (README "API (v1)"): every call goes through {@link ApiClient},
 * which turns answers and network failures into {@link CliError}s with the documented exit codes.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, EXIT, type ExitCode } from './errors.ts';

/** `POST /v1/images` (JSON) → 201: the image and the presigned POST for its original. */
export interface UploadTicket {
  id: string;
  status: string;
  deleteToken: string;
  upload: { url: string; method: 'POST'; fields: Record<string, string>; expiresAt: string };
  links: { self: string; delete?: string };
}

export interface VariantDocument {
  name: string;
  url: string;
  width: number;
  height: number;
  format: string;
  contentType: string;
  bytes: number;
}

/** The image document of `GET /v1/images/{id}` (DESIGN.md "HTTP API contract"). */
export interface ImageDocument {
  id: string;
  status: string;
  createdAt?: string;
  original?: { contentType: string; bytes: number; width?: number; height?: number };
  variants?: VariantDocument[];
  rejection?: { code: string; detail: string };
  failure?: { code?: string; detail?: string };
  [field: string]: unknown;
}

export interface ImagePage {
  items: ImageDocument[];
  nextCursor: string | null;
}

/** An RFC 9457 problem document, as far as the CLI reads it. */
interface Problem {
  status?: number;
  title?: string;
  detail?: string;
  code?: string;
}

/** Requests to the API give up after this long (a presigned upload to S3 has no such limit). */
const API_TIMEOUT_MS = 30_000;
/** Network error codes (Node's and undici's) that mean the endpoint could not be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * A failed `fetch` as a {@link CliError} with exit code 4: a refused connection, a name that does not
 * resolve, a timeout. The cause's code is kept in the message, since that is what a user searches for.
 */
export function networkError(error: unknown, url: URL): CliError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const name = (error as Error).name;
  // The Fetch standard's "bad ports" (SMTP, SSH…) are refused before any connection: a wrong URL.
  if (cause?.message === 'bad port')
    return new CliError(
      `${url.origin}: port ${url.port} is one fetch never connects to; check the URL`,
      EXIT.usage,
    );
  const why =
    name === 'TimeoutError' || name === 'AbortError'
      ? `no answer within ${API_TIMEOUT_MS / 1000} s`
      : cause?.code && UNREACHABLE.has(cause.code)
        ? `${cause.message ?? 'network error'} (${cause.code})`
        : (cause?.message ?? (error as Error).message);
  return new CliError(`cannot reach ${url.origin}: ${why}`, EXIT.unreachable);
}

/** Attempts of one API call, the first included. */
const MAX_ATTEMPTS = 4;

/**
 * How long to wait before trying a refused call again, or `undefined` not to: 429 (API Gateway's throttling
 * or quota, answered before the function runs, so even a POST did nothing) and 503 (a dependency down, the
 * local cloud starting) after `Retry-After` (at most 5 s) or an exponential backoff; 502/504 only for a GET,
 * which is safe to repeat.
 */
function retryDelay(method: string, response: Response, attempt: number): number | undefined {
  const retriable =
    response.status === 429 || response.status === 503 || (method === 'GET' && response.status >= 502);
  if (!retriable || attempt >= MAX_ATTEMPTS) return undefined;
  const after = Number(response.headers.get('retry-after'));
  return Number.isFinite(after) && after > 0 ? Math.min(after, 5) * 1000 : 200 * 2 ** attempt;
}

/** The exit code for an API error status: 401/403 authentication, anything else a failed item. */
function exitCodeFor(status: number): ExitCode {
  return status === 401 || status === 403 ? EXIT.auth : EXIT.someFailed;
}

/** Parses a body as JSON, or `undefined` (an HTML or plain-text error page, an empty body). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The one-line message for an error answer: the problem's `code` and `detail` when the API sent them. */
function problemMessage(status: number, text: string): { message: string; code?: string } {
  const problem = parseJson(text) as Problem | undefined;
  if (problem && typeof problem === 'object' && (problem.code || problem.detail)) {
    const detail = problem.detail ?? problem.title ?? '';
    return { message: `${problem.code ?? `HTTP ${status}`}: ${detail} (HTTP ${status})`, code: problem.code };
  }
  const snippet = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
  return { message: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` };
}

export class ApiClient {
  readonly #base: URL;
  readonly #apiKey: string | undefined;
  readonly #keyHint: string | undefined;

  /**
   * @param base the API's base URL (`http://localhost:3000`, or the stack's `ApiUrl` with its stage).
   * @param keyHint appended to authentication errors (how to get a key for this endpoint).
   */
  constructor(base: URL, apiKey: string | undefined, keyHint?: string) {
    this.#base = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.#apiKey = apiKey;
    this.#keyHint = keyHint;
  }

  get base(): URL {
    return this.#base;
  }

  /** One API call; JSON in, JSON out; errors as {@link CliError} (status → exit code, see errors.ts). */
  async #call<T>(method: string, path: string, options: { json?: unknown; key?: boolean } = {}): Promise<T> {
    const url = new URL(path, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.key && this.#apiKey) headers['x-api-key'] = this.#apiKey;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const body = options.json === undefined ? null : JSON.stringify(options.json);
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(API_TIMEOUT_MS),
          redirect: 'error',
        });
        text = await response.text();
      } catch (error) {
        throw networkError(error, url);
      }
      if (response.ok) return parseJson(text) as T;
      const delay = retryDelay(method, response, attempt);
      if (delay !== undefined) {
        await sleep(delay);
        continue;
      }
      const { message, code } = problemMessage(response.status, text);
      const exitCode = exitCodeFor(response.status);
      const hint = exitCode === EXIT.auth ? this.#authHint() : '';
      throw new CliError(`${method} ${url.pathname}: ${message}${hint}`, exitCode, code);
    }
  }

  #authHint(): string {
    if (!this.#apiKey)
      return `; no API key given: pass --api-key or set PICTURA_API_KEY${this.#keyHint ?? ''}`;
    return this.#keyHint ?? '';
  }

  /** `POST /v1/images` with JSON: creates the image record and returns its presigned POST (201). */
  createUpload(request: {
    contentType: string;
    contentLength: number;
    filename: string;
  }): Promise<UploadTicket> {
    return this.#call('POST', 'v1/images', { json: request, key: true });
  }

  /** `GET /v1/images/{id}` (public; 404 → exit code 1). */
  getImage(id: string): Promise<ImageDocument> {
    return this.#call('GET', `v1/images/${encodeURIComponent(id)}`);
  }

  /** `GET /v1/images?limit&cursor`: one page of the key's images, newest first. */
  listImages(query: { limit?: number; cursor?: string }): Promise<ImagePage> {
    const search = new URLSearchParams();
    if (query.limit !== undefined) search.set('limit', String(query.limit));
    if (query.cursor) search.set('cursor', query.cursor);
    const qs = search.size > 0 ? `?${search}` : '';
    return this.#call('GET', `v1/images${qs}`, { key: true });
  }

  /** `DELETE /v1/images/{id}` with the uploader's key (202 `{id, status: "deleting"}`). */
  deleteImage(id: string): Promise<{ id: string; status: string }> {
    return this.#call('DELETE', `v1/images/${encodeURIComponent(id)}`, { key: true });
  }
}

/** Escapes a name for a multipart `Content-Disposition` as the HTML standard's form encoding does. */
function quoteName(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * The multipart/form-data body (RFC 7578) of a presigned POST: the policy's `fields` first, then the file
 * last, as S3 requires ("the file … must be the last field in the form", Amazon S3 API Reference, POST
 * Object). Built as a Blob over the file's own Blob, so its size is known (S3 wants `Content-Length`) and
 * the file is read from disk only as it is sent.
 */
export function presignedPostBody(
  fields: Record<string, string>,
  file: Blob,
  filename: string,
): { body: Blob; contentType: string; headBytes: number } {
  const boundary = `----pictura-${randomUUID()}`;
  let head = '';
  for (const [name, value] of Object.entries(fields))
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`;
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(filename)}"\r\n` +
    `Content-Type: ${fields['Content-Type'] ?? 'application/octet-stream'}\r\n\r\n`;
  const headBytes = Buffer.byteLength(head);
  const body = new Blob([head, file, `\r\n--${boundary}--\r\n`]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, headBytes };
}

/** S3's XML error (`<Error><Code>…</Code><Message>…</Message>`) in one line. */
function s3ErrorMessage(status: number, text: string): { message: string; code?: string } {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const detail = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return code ? { message: `${code}: ${detail ?? ''} (HTTP ${status})`, code } : problemMessage(status, text);
}

/**
 * Posts `file` with a presigned POST (`upload` of a 201 from `POST /v1/images`), streaming the body and
 * calling `onProgress` with the file's bytes sent so far. S3's refusal (an expired policy, a size outside
 * the policy's range) is this file's failure (exit code 1), not an authentication error: the API key is
 * not involved in this request.
 */
export async function postPresignedForm(
  upload: UploadTicket['upload'],
  file: Blob,
  filename: string,
  onProgress: (bytes: number) => void,
): Promise<void> {
  const url = new URL(upload.url);
  const { body, contentType, headBytes } = presignedPostBody(upload.fields, file, filename);
  let pulled = 0;
  const counted = body.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pulled += chunk.byteLength;
        onProgress(Math.min(Math.max(pulled - headBytes, 0), file.size));
        controller.enqueue(chunk);
      },
    }),
  );
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'content-length': String(body.size) },
      body: counted,
      duplex: 'half',
      redirect: 'error',
    } as RequestInit);
    text = await response.text();
  } catch (error) {
    throw networkError(error, url);
  }
  if (!response.ok) {
    const { message, code } = s3ErrorMessage(response.status, text);
    throw new CliError(`upload to storage refused: ${message}`, EXIT.someFailed, code);
  }
}
