/**
 * Writes the OpenAPI 3.1 document (shared/api/openapi.ts, from the request schemas) to docs/openapi.json,
 * which the images function serves at `GET /v1/openapi.json`.
 *
 *   npm run openapi
 *
 * test/unit/openapi.test.ts fails when the committed file differs from what this writes.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '#shared/api/openapi.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OPENAPI_PATH = `${ROOT}docs/openapi.json`;

const { version } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
writeFileSync(OPENAPI_PATH, `${JSON.stringify(buildOpenApiDocument(version), null, 2)}\n`);
// In the repository's JSON style, so that `npm run lint` (biome) passes on the written file as it is.
execFileSync(
  process.execPath,
  [`${ROOT}node_modules/@biomejs/biome/bin/biome`, 'format', '--write', OPENAPI_PATH],
  {
    stdio: 'ignore',
  },
);
console.log(`wrote ${OPENAPI_PATH}`);
