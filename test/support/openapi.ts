import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is untyped JSON.
type Json = any;

/** The committed OpenAPI document (docs/openapi.json), the one the API serves. */
export const OPENAPI_DOCUMENT: Json = JSON.parse(readFileSync(`${REPO_ROOT}docs/openapi.json`, 'utf8'));

// JSON Schema 2020-12 is OpenAPI 3.1's dialect. `strict: false`: a response schema is compiled with the
// document's `components` beside it (an unknown keyword to ajv), so that its `#/components/schemas/…`
// references resolve as they do in the document.
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const compiled = new Map<string, ValidateFunction>();

/** The validator of one documented response body, compiled once. */
function validatorFor(method: string, pathTemplate: string, status: number, mediaType: string) {
  const key = `${method} ${pathTemplate} ${status} ${mediaType}`;
  let validate = compiled.get(key);
  if (!validate) {
    const operation = OPENAPI_DOCUMENT.paths?.[pathTemplate]?.[method.toLowerCase()];
    expect(operation, `${method} ${pathTemplate} is not in docs/openapi.json`).toBeDefined();
    const response = operation.responses?.[String(status)];
    expect(response, `${method} ${pathTemplate} does not document status ${status}`).toBeDefined();
    const schema = response.content?.[mediaType]?.schema;
    expect(schema, `${method} ${pathTemplate} ${status} documents no ${mediaType} body`).toBeDefined();
    validate = ajv.compile({ ...schema, components: OPENAPI_DOCUMENT.components });
    compiled.set(key, validate);
  }
  return validate;
}

/**
 * Asserts that a live answer of the API is one docs/openapi.json describes: the route (`pathTemplate` as
 * written in the document, e.g. `/v1/images/{id}`), the status, the media type (from `Content-Type`, without
 * parameters) and the body against the schema of that response (JSON Schema 2020-12, ajv). A problem's
 * `code` must be one of those the document lists for that route and status.
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
  const validate = validatorFor(method, pathTemplate, response.status, mediaType);
  const valid = validate(response.body);
  expect(
    valid,
    `${method} ${pathTemplate} ${response.status} does not match docs/openapi.json: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body).slice(0, 600)}`,
  ).toBe(true);
}
