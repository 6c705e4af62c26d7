/**
 * `pictura rm <ids…>`: deletes images with the uploader's key (`DELETE /v1/images/{id}` → 202, the purge
 * runs after). An id that is unknown or another key's (404) fails that id (exit 1); a refused key stops
 * (exit 3).
 */

import type { ApiClient } from './client.ts';
import { CliError, EXIT, type ExitCode, printable } from './errors.ts';

interface RmResult {
  id: string;
  status: string;
  error?: { code?: string | undefined; message: string };
}

/** Deletes each id in turn; returns 1 when any was refused (404), throws on a refused key (exit 3). */
export async function rmCommand(
  client: ApiClient,
  ids: string[],
  options: { json: boolean },
): Promise<ExitCode> {
  const results: RmResult[] = [];
  for (const id of ids) {
    try {
      const answer = await client.deleteImage(id);
      results.push({ id, status: answer.status });
    } catch (error) {
      if (!(error instanceof CliError) || error.exitCode !== EXIT.someFailed) throw error;
      results.push({ id, status: 'error', error: { code: error.code, message: error.message } });
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ results }, null, 2)}\n`);
  else
    for (const r of results)
      if (r.error) process.stderr.write(`✗ ${printable(r.id)}: ${r.error.message}\n`);
      else process.stdout.write(`${r.id} ${r.status}\n`);
  return results.some((r) => r.error) ? EXIT.someFailed : EXIT.ok;
}
