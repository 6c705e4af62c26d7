/**
 * `pictura upload <files…>`: each file through a presigned POST (README "API (v1)"): `POST /v1/images` with
 * `{contentType, contentLength, filename}` → 201 with the form → the form posted to S3 with the file,
 * streamed so the bar shows bytes sent. With `--wait`, polls `GET /v1/images/{id}` until the image is
 * `ready`, `rejected` or `failed`.
 */

import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, type ImageDocument, postPresignedForm } from './client.ts';
import { CliError, EXIT, type ExitCode, errorJson, printable, printJson } from './errors.ts';
import { checkFiles, type LocalFile } from './files.ts';
import { pool } from './pool.ts';
import { createProgress, type Progress } from './progress.ts';

export interface UploadOptions {
  concurrency: number;
  wait: boolean;
  /** Seconds `--wait` waits for each image before calling it failed. */
  timeout: number;
  json: boolean;
}

/** One file's outcome, as `--json` prints it. */
export interface FileResult {
  file: string;
  bytes: number;
  contentType: string;
  /**
   * `uploaded` (sent; processing goes on), with `--wait` the image's final status (`ready`, `rejected`,
   * `failed`) or `timeout`; `error` when the API or storage refused the file; `not_sent` when a fatal error
   * (a refused key, an unreachable endpoint) stopped the run before this file was started.
   */
  status: string;
  id?: string;
  /** The one-time delete token (`DELETE /v1/images/{id}/token`): shown once, keep it to delete without the key. */
  deleteToken?: string;
  links?: Record<string, string>;
  image?: ImageDocument;
  error?: { code?: string | undefined; message: string };
}

const SETTLED = new Set(['ready', 'rejected', 'failed']);
const POLL_MS = 300;

/** Polls until the image settles or `timeoutS` passes (then `timedOut`, with the last document). */
async function waitForImage(
  client: ApiClient,
  id: string,
  timeoutS: number,
): Promise<{ image: ImageDocument; timedOut: boolean }> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const image = await client.getImage(id);
    if (SETTLED.has(image.status)) return { image, timedOut: false };
    if (Date.now() > deadline) return { image, timedOut: true };
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now()) + 1));
  }
}

/** The bar's state for a settled image. */
function settledState(image: ImageDocument): string {
  const code = image.rejection?.code ?? image.failure?.code;
  return code ? `${image.status}: ${code}` : image.status;
}

/** The file's bytes, opened now (not at the check: 1500 files are never open at once). */
async function openFile(file: LocalFile): Promise<Blob> {
  let blob: Blob;
  try {
    await stat(file.path); // for the reason: openAsBlob says only ERR_INVALID_ARG_VALUE
    blob = await openAsBlob(file.path); // read from disk as it is sent, not loaded into memory
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file (removed since the check)' : `cannot read (${code})`;
    throw new CliError(`${file.path}: ${why}`, EXIT.someFailed);
  }
  if (blob.size === 0)
    throw new CliError(`${file.path}: file is empty (emptied since the check)`, EXIT.someFailed);
  return blob;
}

/**
 * Uploads one file (and waits for it), recording what happened in `result` as it goes, so that the id and
 * delete token of an accepted file are kept whatever happens next. A per-file refusal (exit 1) is the
 * file's error; a fatal one (authentication, unreachable, unexpected answer) is recorded, then thrown.
 */
async function uploadOne(
  client: ApiClient,
  file: LocalFile,
  result: FileResult,
  index: number,
  options: UploadOptions,
  progress: Progress,
): Promise<void> {
  try {
    progress.state(index, 'uploading');
    result.status = 'error';
    const blob = await openFile(file);
    result.bytes = blob.size;
    const ticket = await client.createUpload({
      contentType: file.contentType,
      contentLength: blob.size,
      filename: file.filename,
    });
    Object.assign(result, { id: ticket.id, deleteToken: ticket.deleteToken, links: ticket.links });
    await postPresignedForm(ticket.upload, blob, file.filename, (sent) => progress.bytes(index, sent));
    progress.bytes(index, blob.size);
    progress.state(index, 'uploaded');
    result.status = 'uploaded';
    if (!options.wait) return;
    progress.state(index, 'processing');
    const { image, timedOut } = await waitForImage(client, ticket.id, options.timeout);
    result.image = image;
    result.status = timedOut ? 'timeout' : image.status;
    progress.state(index, timedOut ? 'timeout' : settledState(image));
  } catch (error) {
    const failure = error instanceof CliError ? error : new CliError(String(error), EXIT.someFailed);
    result.error = { code: failure.code, message: failure.message };
    progress.state(index, `error${failure.code ? `: ${failure.code}` : ''}`);
    if (failure.exitCode !== EXIT.someFailed) throw failure;
  }
}

/** One line per file for people (names and server text escaped: one line each, whatever they hold). */
function describe(result: FileResult): string {
  const where = result.id ? ` ${result.id}` : '';
  const file = printable(result.file);
  const token = result.deleteToken ? ` (delete token ${result.deleteToken})` : '';
  if (result.error) return `✗ ${file}${where}: ${result.error.message}${result.id ? token : ''}`;
  if (result.status === 'not_sent') return `- ${file}: not sent`;
  const image = result.image;
  if (result.status === 'timeout') return `✗ ${file}${where} still ${image?.status} after --timeout`;
  if (image?.status === 'ready') {
    const o = image.original;
    const size = o?.width ? ` ${o.width}×${o.height} ${o.contentType},` : '';
    return `✓ ${file}${where} ready:${size} ${image.variants.length} variants`;
  }
  if (image)
    return `✗ ${file}${where} ${settledState(image)}${image.rejection ? ` (${printable(image.rejection.detail)})` : ''}`;
  return `✓ ${file}${where} uploaded (${result.links?.self ?? ''})`;
}

/** The exit code for a finished run: 1 when any file was refused, rejected, failed or timed out. */
export function uploadExitCode(results: FileResult[]): ExitCode {
  return results.every((r) => r.status === 'uploaded' || r.status === 'ready') ? EXIT.ok : EXIT.someFailed;
}

/** Prints the results: one JSON document (with the fatal error, if any), or a line per file. */
function report(results: FileResult[], fatal: CliError | undefined, json: boolean): void {
  if (json) {
    const count = (status: string) => results.filter((r) => r.status === status).length;
    const summary = Object.fromEntries(
      ['uploaded', 'ready', 'rejected', 'failed', 'timeout', 'error', 'not_sent'].map((s) => [s, count(s)]),
    );
    printJson({ files: results, summary, ...errorJson(fatal) });
    return;
  }
  for (const result of results)
    if (!fatal || result.status !== 'not_sent') process.stdout.write(`${describe(result)}\n`);
}

/**
 * `pictura upload`: checks every file, uploads them, prints the results; returns the exit code. A fatal
 * error part-way (a refused key, an unreachable endpoint) still reports every file first (what was
 * accepted, with its id and delete token), then is thrown for its one line and exit code.
 */
export async function uploadCommand(
  client: ApiClient,
  paths: string[],
  options: UploadOptions,
): Promise<ExitCode> {
  const files = await checkFiles(paths);
  const bars = !options.json && process.stderr.isTTY === true;
  const progress = createProgress(
    files.map((f) => ({ name: f.filename, bytes: f.bytes })),
    bars,
  );
  const results: FileResult[] = files.map((f) => ({
    file: f.path,
    bytes: f.bytes,
    contentType: f.contentType,
    status: 'not_sent',
  }));
  let fatal: unknown;
  try {
    fatal = await pool(files, options.concurrency, (file, index) =>
      uploadOne(client, file, results[index] as FileResult, index, options, progress),
    );
  } finally {
    progress.stop();
  }
  const message = (fatal as Error | undefined)?.message;
  const worthTelling = results.some((r) => r.id || (r.error && r.error.message !== message));
  // Nothing accepted or refused before the fatal error: its line says it all (--json prints nothing then).
  if (fatal !== undefined && !worthTelling) throw fatal;
  report(results, fatal as CliError | undefined, options.json);
  if (fatal !== undefined) throw fatal;
  return uploadExitCode(results);
}
