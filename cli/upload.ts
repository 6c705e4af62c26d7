/**
 * `pictura upload <files…>`: each file through a presigned POST (README "API (v1)"): `POST /v1/images` with
 * `{contentType, contentLength, filename}` → 201 with the form → the form posted to S3 with the file,
 * streamed so the bar shows bytes sent. With `--wait`, polls `GET /v1/images/{id}` until the image is
 * `ready`, `rejected` or `failed`.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, type ImageDocument, postPresignedForm } from './client.ts';
import { CliError, EXIT, type ExitCode } from './errors.ts';
import { checkFiles, fileBlob, type LocalFile } from './files.ts';
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
   * `failed`) or `timeout`; `error` when the API or storage refused the file.
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

/** Polls until the image settles or `timeoutS` passes (then status `timeout`). */
async function waitForImage(client: ApiClient, id: string, timeoutS: number): Promise<ImageDocument> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const image = await client.getImage(id);
    if (SETTLED.has(image.status)) return image;
    if (Date.now() > deadline) return { ...image, status: 'timeout' };
    await sleep(POLL_MS);
  }
}

/** The bar's state for a settled image. */
function settledState(image: ImageDocument): string {
  const code = image.rejection?.code ?? image.failure?.code;
  return code ? `${image.status}: ${code}` : image.status;
}

/** Uploads one file (and waits for it); per-file refusals become its result, fatal errors are thrown. */
async function uploadOne(
  client: ApiClient,
  file: LocalFile,
  index: number,
  options: UploadOptions,
  progress: Progress,
): Promise<FileResult> {
  const result: FileResult = {
    file: file.path,
    bytes: file.bytes,
    contentType: file.contentType,
    status: 'error',
  };
  try {
    progress.state(index, 'uploading');
    const ticket = await client.createUpload({
      contentType: file.contentType,
      contentLength: file.bytes,
      filename: file.filename,
    });
    Object.assign(result, { id: ticket.id, deleteToken: ticket.deleteToken, links: ticket.links });
    await postPresignedForm(ticket.upload, await fileBlob(file), file.filename, (sent) =>
      progress.bytes(index, sent),
    );
    progress.bytes(index, file.bytes);
    result.status = 'uploaded';
    if (!options.wait) return result;
    progress.state(index, 'processing');
    result.image = await waitForImage(client, ticket.id, options.timeout);
    result.status = result.image.status;
    progress.state(index, settledState(result.image));
    return result;
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.someFailed) throw error;
    result.error = { code: error.code, message: error.message };
    progress.state(index, `error${error.code ? `: ${error.code}` : ''}`);
    return result;
  }
}

/**
 * Runs `work` over `items`, at most `concurrency` at a time. The first error thrown (authentication,
 * unreachable) stops new work and is rethrown once what is in flight has finished.
 */
async function pool<T, R>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  let fatal: unknown;
  const worker = async () => {
    while (fatal === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (error) {
        fatal ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (fatal !== undefined) throw fatal;
  return results;
}

/** One line per file for people. */
function describe(result: FileResult): string {
  const where = result.id ? ` ${result.id}` : '';
  if (result.error) return `✗ ${result.file}${where}: ${result.error.message}`;
  const image = result.image;
  if (image?.status === 'ready') {
    const o = image.original;
    const size = o?.width ? ` ${o.width}×${o.height} ${o.contentType},` : '';
    return `✓ ${result.file}${where} ready:${size} ${image.variants?.length ?? 0} variants`;
  }
  if (image)
    return `✗ ${result.file}${where} ${settledState(image)}${image.rejection ? ` (${image.rejection.detail})` : ''}`;
  return `✓ ${result.file}${where} uploaded (${result.links?.self ?? ''})`;
}

/** The exit code for a finished run: 1 when any file was refused, rejected, failed or timed out. */
export function uploadExitCode(results: FileResult[]): ExitCode {
  return results.every((r) => r.status === 'uploaded' || r.status === 'ready') ? EXIT.ok : EXIT.someFailed;
}

/** `pictura upload`: checks every file, uploads them, prints the results; returns the exit code. */
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
  let results: FileResult[];
  try {
    results = await pool(files, options.concurrency, (file, index) =>
      uploadOne(client, file, index, options, progress),
    );
  } finally {
    progress.stop();
  }
  if (options.json) {
    const count = (status: string) => results.filter((r) => r.status === status).length;
    const summary = Object.fromEntries(
      ['uploaded', 'ready', 'rejected', 'failed', 'timeout', 'error'].map((s) => [s, count(s)]),
    );
    process.stdout.write(`${JSON.stringify({ files: results, summary }, null, 2)}\n`);
  } else {
    for (const result of results) process.stdout.write(`${describe(result)}\n`);
  }
  return uploadExitCode(results);
}
