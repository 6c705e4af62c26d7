import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, expect } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is untyped JSON.
type Json = any;

/** The committed OpenAPI document (docs/openapi.json), the one the API serves. */
export const OPENAPI_DOCUMENT: Json = JSON.parse(readFileSync(`${REPO_ROOT}docs/openapi.json`, 'utf8'));

/**
 * Where the answers the integration tests saw are kept, one file per test file: sorted lines
 * `METHOD /path/{template} status media/type CODE` (`-` when the body carries no problem `code`).
 * test/unit/openapi.test.ts checks each against the route it was seen on, independently of the route table
 * the document is built from.
 */
export const OBSERVED_DIR = `${REPO_ROOT}test/support/openapi-observed/`;

/** Set to `update` to rewrite the observed files from this run instead of checking them. */
const UPDATE = process.env.PICTURA_OPENAPI_OBSERVED === 'update';

// JSON Schema 2020-12 is OpenAPI 3.1's dialect. `strict: false`: a response schema is compiled with the
// document's `components` beside it (an unknown keyword to ajv), so that its `#/components/schemas/…`
// references resolve as they do in the document.
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const compiled = new Map<string, ValidateFunction>();

/**
 * The `content` entry of a response for a media type, as OpenAPI 3.1 picks it: the exact key, else the
 * range of its type (`text/*`), else `*\/*`. A media type without a subtype (API Gateway's front-door
 * `text; charset=utf-8`) falls to its type's range.
 */
export function mediaTypeObject(content: Json, mediaType: string): Json {
  const type = mediaType.split('/')[0] ?? '';
  return content?.[mediaType] ?? content?.[`${type}/*`] ?? content?.['*/*'];
}

/** The documented response of a route and status, if any. */
function documentedResponse(document: Json, method: string, pathTemplate: string, status: number): Json {
  return document.paths?.[pathTemplate]?.[method.toLowerCase()]?.responses?.[String(status)];
}

/**
 * Observations (`METHOD /path status media/type CODE` lines) that `document` does not describe on the route
 * they were seen on: no such operation, no such status there, no such media type, or a problem `code` not
 * listed for that route and status.
 */
export function undocumentedObservations(document: Json, observations: Iterable<string>): string[] {
  const missing: string[] = [];
  for (const line of observations) {
    const [method = '', path = '', status = '', mediaType = '', code = '-'] = line.split(' ');
    const media = mediaTypeObject(
      documentedResponse(document, method, path, Number(status))?.content,
      mediaType,
    );
    const codes: string[] | undefined = media?.schema?.properties?.code?.enum;
    const documented = media !== undefined && (code === '-' || (codes ?? []).includes(code));
    if (!documented) missing.push(line);
  }
  return missing;
}

/** The validator of one documented response body, compiled once. */
function validatorFor(method: string, pathTemplate: string, status: number, mediaType: string) {
  const key = `${method} ${pathTemplate} ${status} ${mediaType}`;
  let validate = compiled.get(key);
  if (!validate) {
    const operation = OPENAPI_DOCUMENT.paths?.[pathTemplate]?.[method.toLowerCase()];
    expect(operation, `${method} ${pathTemplate} is not in docs/openapi.json`).toBeDefined();
    const response = operation.responses?.[String(status)];
    expect(response, `${method} ${pathTemplate} does not document status ${status}`).toBeDefined();
    const schema = mediaTypeObject(response.content, mediaType)?.schema;
    expect(schema, `${method} ${pathTemplate} ${status} documents no ${mediaType} body`).toBeDefined();
    validate = ajv.compile({ ...schema, components: OPENAPI_DOCUMENT.components });
    compiled.set(key, validate);
  }
  return validate;
}

/** What this test file's calls to {@link expectOpenApiResponse} saw, by test file name. */
const observed = new Map<string, Set<string>>();

function observe(line: string): void {
  const file = basename(expect.getState().testPath ?? 'unknown', '.test.ts');
  let lines = observed.get(file);
  if (!lines) {
    lines = new Set();
    observed.set(file, lines);
  }
  lines.add(line);
}

function observedFile(file: string): string {
  return `${OBSERVED_DIR}${file}.json`;
}

/** Every observation line kept in {@link OBSERVED_DIR}. */
export function readObservations(): string[] {
  if (!existsSync(OBSERVED_DIR)) return [];
  return readdirSync(OBSERVED_DIR)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => JSON.parse(readFileSync(`${OBSERVED_DIR}${name}`, 'utf8')) as string[]);
}

/** Of `lines` seen by test file `file`, those its committed observed file does not hold. */
export function unrecordedObservations(file: string, lines: Iterable<string>): string[] {
  const path = observedFile(file);
  const kept = new Set<string>(existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : []);
  return [...lines].filter((line) => !kept.has(line)).sort();
}

// After each test file that checked answers: every answer it saw must be in its committed observed file, so
// that the unit test checks it per route (a run may see fewer, e.g. with -t). With
// PICTURA_OPENAPI_OBSERVED=update the file is rewritten from this run instead.
afterAll(() => {
  for (const [file, lines] of observed) {
    if (UPDATE) {
      mkdirSync(OBSERVED_DIR, { recursive: true });
      writeFileSync(observedFile(file), `${JSON.stringify([...lines].sort(), null, 2)}\n`);
      continue;
    }
    expect(
      unrecordedObservations(file, lines),
      `answers missing from test/support/openapi-observed/${file}.json: run this test file with PICTURA_OPENAPI_OBSERVED=update and commit it`,
    ).toEqual([]);
  }
});

/**
 * Asserts that a live answer of the API is one docs/openapi.json describes: the route (`pathTemplate` as
 * written in the document, e.g. `/v1/images/{id}`), the status, the media type (from `Content-Type`, without
 * parameters, matched as OpenAPI does: exact, then `type/*`) and the body against the schema of that
 * response (JSON Schema 2020-12, ajv). A problem's `code` must be one of those the document lists for that
 * route and status. Each answer is also recorded (see {@link OBSERVED_DIR}).
 */
export function expectOpenApiResponse(
  method: string,
  pathTemplate: string,
  response: { status: number; headers: Headers | Record<string, string | undefined>; body: unknown },
): void {
  const contentType =
    response.headers instanceof Headers
      ? response.headers.get('content-type')
      : response.headers['content-type'];
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const code = (response.body as { code?: unknown } | null)?.code;
  observe(
    `${method.toUpperCase()} ${pathTemplate} ${response.status} ${mediaType} ${typeof code === 'string' && mediaType === 'application/problem+json' ? code : '-'}`,
  );
  const validate = validatorFor(method, pathTemplate, response.status, mediaType);
  const valid = validate(response.body);
  expect(
    valid,
    `${method} ${pathTemplate} ${response.status} does not match docs/openapi.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body).slice(0, 600)}`,
  ).toBe(true);
}
