/**
 * The CLI's HTTP client for the Pictura API (README "API (v1)"): every call goes through {@link ApiClient},
 * which turns answers and network failures into {@link CliError}s with the documented exit codes.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod/mini';
import {
  DeleteAccepted,
  ImageDocument as ImageDocumentSchema,
  ImageList,
  PresignedUpload,
  UploadAccepted,
} from '#shared/api/schemas.ts';
import { CliError, EXIT, type ExitCode, printable } from './errors.ts';

/**
 * The answers the CLI reads, checked against the API's own response schemas (shared/api/schemas.ts, the
 * ones the OpenAPI document is generated from): an endpoint that is not the Pictura API (an ordinary web
 * server, a proxy's page, `null`) is one clear line, never a stack trace or `id undefined`.
 */
const Answers = {
  /** The JSON `POST /v1/images` the CLI sends always answers 201 with the presigned form. */
  upload: z.extend(UploadAccepted, { upload: PresignedUpload }),
  image: ImageDocumentSchema,
  page: ImageList,
  deleted: DeleteAccepted,
};

/** `POST /v1/images` (JSON) → 201: the image and the presigned POST for its original. */
export type UploadTicket = z.infer<typeof Answers.upload>;
/** The image document of `GET /v1/images/{id}` (DESIGN.md "HTTP API contract"). */
export type ImageDocument = z.infer<typeof ImageDocumentSchema>;
export type ImagePage = z.infer<typeof ImageList>;

/** An RFC 9457 problem document, as far as the CLI reads it. */
interface Problem {
  status?: number;
  title?: string;
  detail?: string;
  code?: string;
}

/** Requests to the API give up after this long, answer included. */
const API_TIMEOUT_MS = 30_000;
/** A presigned POST gives up when no byte went out and no answer came for this long (connect included). */
export const UPLOAD_IDLE_MS = 30_000;
/** Answers larger than this are not the API's (its largest, a page of 100 images, is ~100 KB). */
export const MAX_ANSWER_BYTES = 1024 * 1024;
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
 * resolve, a timeout. The cause's code is kept in the message, since that is what a user searches for;
 * `from` says where the URL came from when the user did not type it (a stale discovery file, a stack).
 */
export function networkError(error: unknown, url: URL, from?: string): CliError {
  if (error instanceof CliError) return error;
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
      ? `timed out: no answer within ${API_TIMEOUT_MS / 1000} s`
      : cause?.code && UNREACHABLE.has(cause.code)
        ? `${cause.message ?? 'network error'} (${cause.code})`
        : (cause?.message ?? (error as Error).message);
  const where = from ? ` (endpoint from ${from})` : '';
  return new CliError(`cannot reach ${url.origin}${where}: ${printable(why)}`, EXIT.unreachable);
}

/** An answer that is not the Pictura API's (exit 5). */
export function badAnswer(url: URL, why: string): CliError {
  return new CliError(`unexpected answer from ${url.origin}: ${printable(why)}`, EXIT.badAnswer);
}

/**
 * The body as text, refused past `limit` bytes (a hostile or broken server can send an endless body; the
 * CLI must not hold it all). Throws {@link badAnswer}.
 */
export async function readCapped(response: Response, url: URL, limit = MAX_ANSWER_BYTES): Promise<string> {
  const tooLarge = () => badAnswer(url, `HTTP ${response.status} body larger than ${limit} bytes`);
  if (Number(response.headers.get('content-length')) > limit) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Retries of one API call stop once their waits would pass this (a big batch rides out throttling). */
export const RETRY_BUDGET_MS = 30_000;
/** Attempts of one API call, the first included. */
const MAX_ATTEMPTS = 10;

/** `Retry-After` (RFC 9110 §10.2.3: seconds or an HTTP date) in milliseconds, or `undefined`. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before trying a refused call again, or `undefined` not to: 429 (API Gateway's throttling
 * or quota, answered before the function runs, so even a POST did nothing) and 503 (a dependency down, the
 * local cloud starting); 502/504 only for a GET, which is safe to repeat. The wait is the larger of
 * `Retry-After` and an exponential backoff with jitter (250 ms × 2^attempt, at most 8 s, 50-100% of it, so
 * 32 uploads throttled together do not come back together), until the waits would pass `budgetMs`.
 */
export function retryDelay(
  method: string,
  response: Pick<Response, 'status' | 'headers'>,
  attempt: number,
  waitedMs: number,
  budgetMs = RETRY_BUDGET_MS,
): number | undefined {
  const retriable =
    response.status === 429 || response.status === 503 || (method === 'GET' && response.status >= 502);
  if (!retriable || attempt >= MAX_ATTEMPTS) return undefined;
  const backoff = Math.min(8000, 250 * 2 ** attempt);
  const jittered = backoff / 2 + Math.random() * (backoff / 2);
  const delay = Math.max(retryAfterMs(response.headers.get('retry-after')) ?? 0, jittered);
  return waitedMs + delay > budgetMs ? undefined : delay;
}

/** Problem codes that refuse a value the user typed (`--cursor`, `--limit`): a usage error. */
const USAGE_CODES = new Set(['INVALID_CURSOR', 'INVALID_LIMIT']);

/** The exit code for an API error: 401/403 authentication, a refused user value usage, else a failed item. */
function exitCodeFor(status: number, code: string | undefined): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  return status === 400 && code && USAGE_CODES.has(code) ? EXIT.usage : EXIT.someFailed;
}

/** Parses a body as JSON, or `undefined` (an HTML or plain-text error page, an empty body). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The one-line message for an error answer: the problem's `code` and `detail` when the API sent them,
 * else the status and what kind of body came (an HTML page is never printed).
 */
function problemMessage(
  response: Response,
  text: string,
): { message: string; code?: string; problem: boolean } {
  const { status } = response;
  const problem = parseJson(text) as Problem | undefined;
  if (problem && typeof problem === 'object' && (typeof problem.code === 'string' || problem.detail)) {
    const code = typeof problem.code === 'string' ? printable(problem.code.slice(0, 100)) : undefined;
    const detail = printable(String(problem.detail ?? problem.title ?? '').slice(0, 500));
    const message = `${code ?? `HTTP ${status}`}: ${detail} (HTTP ${status})`;
    return { message, problem: true, ...(code ? { code } : {}) };
  }
  const status_ = `HTTP ${status}${response.statusText ? ` ${printable(response.statusText)}` : ''}`;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim();
  if (type === 'text/plain' && text.trim()) {
    const line = printable(text.trim().split('\n')[0]?.slice(0, 200) ?? '');
    return { message: `${status_}: ${line}`, problem: false };
  }
  const message = text.trim() ? `${status_} (a ${type || 'untyped'} body, not a problem document)` : status_;
  return { message, problem: false };
}

/** A schema's first complaint as one line: `items.0.status: Invalid option…`. */
function firstIssue(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : 'the document';
  return `${path}: ${issue?.message ?? 'invalid'}`;
}

/** Where the client sends calls, and what its messages add. */
export interface ClientOptions {
  /** Appended to authentication errors: how to get a key for this endpoint. */
  keyHint?: string | undefined;
  /** Where the endpoint came from, when the user did not type it (said when it cannot be reached). */
  from?: string | undefined;
  /** Retries of one call stop once their waits would pass this (tests shorten it). */
  retryBudgetMs?: number;
}

export class ApiClient {
  readonly #base: URL;
  readonly #apiKey: string | undefined;
  readonly #options: ClientOptions;

  /** @param base the API's base URL (`http://localhost:3000`, or the stack's `ApiUrl` with its stage). */
  constructor(base: URL, apiKey: string | undefined, options: ClientOptions = {}) {
    this.#base = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.#apiKey = apiKey;
    this.#options = options;
  }

  get base(): URL {
    return this.#base;
  }

  /**
   * One API call; JSON in, the answer checked against `schema` out; errors as {@link CliError} (status →
   * exit code, see errors.ts). The document is returned as sent, so `--json` shows fields the schema omits.
   */
  async #call<T>(
    method: string,
    path: string,
    schema: z.ZodMiniType<T>,
    options: { json?: unknown; key?: boolean } = {},
  ): Promise<T> {
    const url = new URL(path, this.#base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.key && this.#apiKey) headers['x-api-key'] = this.#apiKey;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const body = options.json === undefined ? null : JSON.stringify(options.json);
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        const signal = AbortSignal.timeout(API_TIMEOUT_MS);
        response = await fetch(url, { method, headers, body, signal, redirect: 'manual' });
        text = await readCapped(response, url);
      } catch (error) {
        throw networkError(error, url, this.#options.from);
      }
      if (response.ok) return this.#checked(url, response, text, schema);
      if (response.status >= 300 && response.status < 400) throw this.#redirect(url, response);
      const delay = retryDelay(method, response, attempt, waited, this.#options.retryBudgetMs);
      if (delay !== undefined) {
        waited += delay;
        await sleep(delay);
        continue;
      }
      throw this.#refused(method, url, response, text);
    }
  }

  /** An error answer as its one line and exit code (errors.ts). */
  #refused(method: string, url: URL, response: Response, text: string): CliError {
    const { message, code, problem } = problemMessage(response, text);
    // Every error the API sends is a problem document (its gateway responses too); a page from a web
    // server, a CDN or a proxy is another server's answer, except a refusal of the key (401/403).
    if (!problem && response.status !== 401 && response.status !== 403)
      return badAnswer(url, `${method} ${url.pathname}: ${message}`);
    const exitCode = exitCodeFor(response.status, code);
    const hint = exitCode === EXIT.auth ? this.#authHint() : '';
    return new CliError(`${method} ${url.pathname}: ${message}${hint}`, exitCode, code);
  }

  /** A 2xx answer's JSON, checked against the API's schema (exit 5 when it is not the API's). */
  #checked<T>(url: URL, response: Response, text: string, schema: z.ZodMiniType<T>): T {
    const type = (response.headers.get('content-type') ?? 'no content type').split(';')[0];
    const json = parseJson(text);
    if (json === undefined)
      throw badAnswer(
        url,
        `HTTP ${response.status} with a ${type} body that is not JSON; is it the API's URL?`,
      );
    const checked = schema.safeParse(json);
    if (!checked.success)
      throw badAnswer(url, `not a Pictura API answer (${url.pathname}: ${firstIssue(checked.error)})`);
    return json as T;
  }

  /** A 3xx: the server answered, elsewhere. Never followed: the key would go with it. */
  #redirect(url: URL, response: Response): CliError {
    const location = response.headers.get('location');
    const to = location ? ` to ${location.slice(0, 300)}` : '';
    return badAnswer(
      url,
      `HTTP ${response.status} redirect${to} (not followed; give that URL as --endpoint if it is the API)`,
    );
  }

  #authHint(): string {
    if (!this.#apiKey)
      return `; no API key given: pass --api-key or set PICTURA_API_KEY${this.#options.keyHint ?? ''}`;
    return this.#options.keyHint ?? '';
  }

  /** `POST /v1/images` with JSON: creates the image record and returns its presigned POST (201). */
  createUpload(request: {
    contentType: string;
    contentLength: number;
    filename: string;
  }): Promise<UploadTicket> {
    return this.#call('POST', 'v1/images', Answers.upload, { json: request, key: true });
  }

  /** `GET /v1/images/{id}` (public; 404 → exit code 1). */
  getImage(id: string): Promise<ImageDocument> {
    return this.#call('GET', `v1/images/${encodeURIComponent(id)}`, Answers.image);
  }

  /** `GET /v1/images?limit&cursor`: one page of the key's images, newest first. */
  listImages(query: { limit?: number; cursor?: string | undefined }): Promise<ImagePage> {
    const search = new URLSearchParams();
    if (query.limit !== undefined) search.set('limit', String(query.limit));
    if (query.cursor) search.set('cursor', query.cursor);
    const qs = search.size > 0 ? `?${search}` : '';
    return this.#call('GET', `v1/images${qs}`, Answers.page, { key: true });
  }

  /** `DELETE /v1/images/{id}` with the uploader's key (202 `{id, status: "deleting"}`). */
  deleteImage(id: string): Promise<{ id: string; status: string }> {
    return this.#call('DELETE', `v1/images/${encodeURIComponent(id)}`, Answers.deleted, { key: true });
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

/**
 * `blob`'s stream, calling `onChunk` with each chunk's size as fetch takes it; `readFailed()` tells a file
 * changed or removed since it was opened (the blob cannot be read) from a network failure.
 */
function watchedStream(blob: Blob, onChunk: (bytes: number) => void) {
  let failed = false;
  const reader = blob.stream().getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        failed = true;
        controller.error(error);
        return;
      }
      if (chunk.done) return controller.close();
      onChunk(chunk.value.byteLength);
      controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { body, readFailed: () => failed };
}

/** S3's XML error (`<Error><Code>…</Code><Message>…</Message>`) in one line. */
function s3ErrorMessage(response: Response, text: string): { message: string; code?: string | undefined } {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const detail = /<Message>([^<]{0,500})<\/Message>/.exec(text)?.[1];
  return code
    ? { message: printable(`${code}: ${detail ?? ''} (HTTP ${response.status})`), code: printable(code) }
    : problemMessage(response, text);
}

/**
 * Posts `file` with a presigned POST (`upload` of a 201 from `POST /v1/images`), streaming the body and
 * calling `onProgress` with the file's bytes sent so far. S3's refusal (an expired policy, a size outside
 * the policy's range) is this file's failure (exit code 1), not an authentication error: the API key is
 * not involved in this request. When nothing moves for `idleMs` (no connection, no byte taken, no answer)
 * it gives up: "timed out", exit 4.
 */
export async function postPresignedForm(
  upload: UploadTicket['upload'],
  file: Blob,
  filename: string,
  onProgress: (bytes: number) => void,
  idleMs = UPLOAD_IDLE_MS,
): Promise<void> {
  const url = new URL(upload.url);
  const { body, contentType, headBytes } = presignedPostBody(upload.fields, file, filename);
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  let pulled = 0;
  const stream = watchedStream(body, (bytes) => {
    touch();
    pulled += bytes;
    onProgress(Math.min(Math.max(pulled - headBytes, 0), file.size));
  });
  let response: Response;
  let text: string;
  try {
    touch();
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'content-length': String(body.size) },
      body: stream.body,
      duplex: 'half',
      redirect: 'manual',
      signal: idle.signal,
    } as RequestInit);
    touch();
    text = await readCapped(response, url);
  } catch (error) {
    if (stream.readFailed())
      throw new CliError(
        `${printable(filename)}: the file changed or was removed while it was sent`,
        EXIT.someFailed,
      );
    if (idle.signal.aborted)
      throw new CliError(
        `upload to ${url.origin} timed out: nothing sent or answered for ${idleMs / 1000} s`,
        EXIT.unreachable,
      );
    throw networkError(error, url);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const { message, code } = s3ErrorMessage(response, text);
    throw new CliError(`upload to storage refused: ${message}`, EXIT.someFailed, code);
  }
}
