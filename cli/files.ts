/**
 * The files an upload names: checked before anything is sent (a missing, empty or unreadable file or a
 * folder is a usage error, exit 2, and nothing is uploaded), and given the content type to declare. Files
 * are opened again at upload time, a few at once.
 */

import { open, stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { ACCEPTED_CONTENT_TYPES, SNIFF_BYTES, sniffImageFormat } from '#shared/image/sniff.ts';
import { CliError, EXIT, printable } from './errors.ts';
import { pool } from './pool.ts';

export interface LocalFile {
  /** As the user wrote it (messages and `--json` name files this way). */
  path: string;
  filename: string;
  bytes: number;
  contentType: string;
}

/** Extensions the API's accepted types are commonly saved under. */
const BY_EXTENSION: Record<string, string> = {
  '.jpg': ACCEPTED_CONTENT_TYPES.jpeg,
  '.jpeg': ACCEPTED_CONTENT_TYPES.jpeg,
  '.jfif': ACCEPTED_CONTENT_TYPES.jpeg,
  '.png': ACCEPTED_CONTENT_TYPES.png,
  '.webp': ACCEPTED_CONTENT_TYPES.webp,
  '.gif': ACCEPTED_CONTENT_TYPES.gif,
  '.avif': ACCEPTED_CONTENT_TYPES.avif,
  '.tif': ACCEPTED_CONTENT_TYPES.tiff,
  '.tiff': ACCEPTED_CONTENT_TYPES.tiff,
};

/**
 * The content type to declare: the format the first bytes show (the same sniffer the service uses), else
 * the extension's, else `application/octet-stream`, which the API refuses (415). The service sniffs again
 * and decides; the CLI never refuses a file the service might accept.
 */
async function contentTypeOf(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    const format = sniffImageFormat(head.subarray(0, bytesRead));
    if (format) return ACCEPTED_CONTENT_TYPES[format];
  } finally {
    await handle.close();
  }
  return BY_EXTENSION[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Checks one path: a readable regular file, or a usage error naming it. */
async function checkFile(path: string): Promise<LocalFile> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new CliError(`${printable(path)}: ${why}`, EXIT.usage);
  }
  if (info.isDirectory())
    throw new CliError(`${printable(path)}: is a directory (name the files in it)`, EXIT.usage);
  if (!info.isFile()) throw new CliError(`${printable(path)}: not a regular file`, EXIT.usage);
  // Caught here, before the API creates a record the upload could never fill (S3 would refuse 0 bytes).
  if (info.size === 0) throw new CliError(`${printable(path)}: file is empty`, EXIT.usage);
  try {
    return { path, filename: basename(path), bytes: info.size, contentType: await contentTypeOf(path) };
  } catch (error) {
    throw new CliError(
      `${printable(path)}: cannot read (${(error as NodeJS.ErrnoException).code})`,
      EXIT.usage,
    );
  }
}

/** Files checked at once: each check opens its file for a moment, and `ulimit -n` is often 1024. */
export const CHECK_CONCURRENCY = 16;

/**
 * Every path checked (all of them, before any upload), at most {@link CHECK_CONCURRENCY} open at a time;
 * the first bad one, in the order given, is the error.
 */
export async function checkFiles(paths: string[]): Promise<LocalFile[]> {
  const results: PromiseSettledResult<LocalFile>[] = new Array(paths.length);
  // The work never throws (each check's outcome is kept), so the pool checks every path.
  await pool(paths, CHECK_CONCURRENCY, async (path, index) => {
    results[index] = await checkFile(path).then(
      (value) => ({ status: 'fulfilled', value }) as const,
      (reason: unknown) => ({ status: 'rejected', reason }) as const,
    );
  });
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<LocalFile>).value);
}
