/** `pictura ls`: the key's images, newest first (`GET /v1/images?limit&cursor`), one page or `--all`. */

import { type ApiClient, badAnswer, type ImageDocument } from './client.ts';
import { EXIT, type ExitCode, printable, printJson } from './errors.ts';
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

/** `--all` stops after this many pages (100,000 images at --limit 100): a server can send cursors forever. */
export const MAX_PAGES = 1000;

/**
 * Prints one page of `GET /v1/images` (or every page with `all`, following `nextCursor`): a line per image,
 * or `{items, nextCursor}` with `json`. The API's errors are thrown as CliErrors (401/403 → exit 3, a bad
 * `--cursor` → exit 2); a cursor that comes back, or more than {@link MAX_PAGES} pages, is an unexpected
 * answer (exit 5) rather than a loop without end.
 */
export async function lsCommand(client: ApiClient, options: LsOptions): Promise<ExitCode> {
  const items: ImageDocument[] = [];
  // The cursor given counts as seen: a server that sends it back would loop.
  const seen = new Set<string>(options.cursor === undefined ? [] : [options.cursor]);
  let cursor = options.cursor;
  let nextCursor: string | null = null;
  for (let pages = 1; ; pages++) {
    const page = await client.listImages({ limit: options.limit, cursor });
    items.push(...page.items);
    nextCursor = page.nextCursor;
    if (!options.all || nextCursor === null) break;
    if (seen.has(nextCursor))
      throw badAnswer(client.base, `nextCursor repeats an earlier one after ${pages} pages (--all stopped)`);
    if (pages >= MAX_PAGES)
      throw badAnswer(client.base, `more than ${MAX_PAGES} pages (--all stopped); go on with --cursor`);
    seen.add(nextCursor);
    cursor = nextCursor;
  }
  if (options.json) {
    printJson({ items, nextCursor });
    return EXIT.ok;
  }
  for (const image of items) process.stdout.write(`${imageLine(image)}\n`);
  if (items.length === 0) process.stderr.write('no images\n');
  if (nextCursor) process.stderr.write(`more: pictura ls --cursor ${printable(nextCursor)}  (or --all)\n`);
  return EXIT.ok;
}
