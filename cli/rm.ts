/**
 * `pictura rm <ids…>`: deletes images with the uploader's key (`DELETE /v1/images/{id}` → 202, the purge
 * runs after). An id that is unknown or another key's (404) fails that id (exit 1); a refused key stops
 * (exit 3).
 */

import type { ApiClient } from './client.ts';
import { CliError, EXIT, type ExitCode, errorJson, printable, printJson } from './errors.ts';

interface RmResult {
  id: string;
  status: string;
  error?: { code?: string | undefined; message: string };
}

/** Prints the results: one JSON document (with the fatal error, if any), or a line per id. */
function report(results: RmResult[], fatal: CliError | undefined, json: boolean): void {
  if (json) {
    printJson({ results, ...errorJson(fatal) });
    return;
  }
  for (const r of results)
    if (r.error) process.stderr.write(`✗ ${printable(r.id)}: ${r.error.message}\n`);
    else process.stdout.write(`${r.id} ${r.status}\n`);
}

/**
 * Deletes each id in turn; returns 1 when any was refused (404). A fatal error (a refused key, exit 3; an
 * unreachable or unexpected endpoint) stops the run: the ids already deleted are reported, then it is thrown.
 */
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
      if (!(error instanceof CliError) || error.exitCode !== EXIT.someFailed) {
        if (results.length > 0) report(results, error as CliError, options.json);
        throw error;
      }
      results.push({ id, status: 'error', error: { code: error.code, message: error.message } });
    }
  }
  report(results, undefined, options.json);
  return results.some((r) => r.error) ? EXIT.someFailed : EXIT.ok;
}
