/** `pictura ls`: the key's images, newest first (`GET /v1/images?limit&cursor`), one page or `--all`. */

import type { ApiClient, ImageDocument } from './client.ts';
import { EXIT, type ExitCode } from './errors.ts';
import { formatBytes } from './progress.ts';

export interface LsOptions {
  limit: number;
  cursor?: string | undefined;
  all: boolean;
  json: boolean;
}

/** One image as a line: id, status, type, dimensions, size, creation time. */
export function imageLine(image: ImageDocument): string {
  const o = image.original;
  const dims = o?.width ? `${o.width}×${o.height}` : '-';
  return [
    image.id,
    image.status.padEnd(14),
    (o?.contentType ?? '-').padEnd(10),
    dims.padEnd(11),
    (o?.bytes !== undefined ? formatBytes(o.bytes) : '-').padEnd(8),
    image.createdAt ?? '',
  ].join('  ');
}

/**
 * Prints one page of `GET /v1/images` (or every page with `all`, following `nextCursor`): a line per image,
 * or `{items, nextCursor}` with `json`. The API's errors are thrown as CliErrors (401/403 → exit 3).
 */
export async function lsCommand(client: ApiClient, options: LsOptions): Promise<ExitCode> {
  const items: ImageDocument[] = [];
  let cursor = options.cursor;
  let nextCursor: string | null = null;
  do {
    const page = await client.listImages({ limit: options.limit, cursor });
    items.push(...page.items);
    nextCursor = page.nextCursor;
    cursor = nextCursor ?? undefined;
  } while (options.all && nextCursor);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ items, nextCursor }, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const image of items) process.stdout.write(`${imageLine(image)}\n`);
  if (items.length === 0) process.stderr.write('no images\n');
  if (nextCursor) process.stderr.write(`more: pictura ls --cursor ${nextCursor}  (or --all)\n`);
  return EXIT.ok;
}
