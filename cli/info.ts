/** `pictura info <id>`: one image (`GET /v1/images/{id}`, the public document). */

import type { ApiClient, ImageDocument } from './client.ts';
import { EXIT, type ExitCode, printable, printJson } from './errors.ts';
import { formatBytes } from './progress.ts';

/** The document for people: status, original, variants with their URLs, rejection or failure. */
function describe(image: ImageDocument): string {
  const lines = [`id          ${image.id}`, `status      ${image.status}`];
  if (image.createdAt) lines.push(`created     ${image.createdAt}`);
  const o = image.original;
  if (o) {
    const dims = o.width ? ` ${o.width}×${o.height}` : '';
    lines.push(`original    ${o.contentType}${dims}, ${formatBytes(o.bytes)}`);
  }
  for (const v of image.variants ?? [])
    lines.push(
      `${`variant`.padEnd(12)}${v.name.padEnd(8)} ${v.width}×${v.height} ${v.format} ${formatBytes(v.bytes)}  ${v.url}`,
    );
  const problem = image.rejection ?? image.failure;
  if (problem) lines.push(`${image.status.padEnd(12)}${problem.code ?? ''}: ${problem.detail ?? ''}`);
  // The server's text (details, URLs) escaped: each field stays on its line.
  return `${lines.map(printable).join('\n')}\n`;
}

/**
 * Prints `GET /v1/images/{id}` for people, or the document itself with `json`. An unknown id is the API's
 * 404 `IMAGE_NOT_FOUND`, thrown as a CliError with exit code 1.
 */
export async function infoCommand(
  client: ApiClient,
  id: string,
  options: { json: boolean },
): Promise<ExitCode> {
  const image = await client.getImage(id);
  if (options.json) printJson(image);
  else process.stdout.write(describe(image));
  return EXIT.ok;
}
