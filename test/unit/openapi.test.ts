import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';
import { Api } from '#infra/constructs/api.ts';
import { GATEWAY_ERRORS } from '#local/apigateway/gateway-responses.ts';
import { buildOpenApiDocument, OPERATIONS } from '#shared/api/openapi.ts';
import { PROBLEM_CODES } from '#shared/api/schemas.ts';
import {
  OPENAPI_DOCUMENT,
  readObservations,
  undocumentedObservations,
  unrecordedObservations,
} from '#test/support/openapi.ts';

// biome-ignore lint/suspicious/noExplicitAny: OpenAPI documents and templates are untyped JSON.
type Json = any;

const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

describe('docs/openapi.json', () => {
  it('is what `npm run openapi` writes from the schemas (not stale)', () => {
    expect(OPENAPI_DOCUMENT, 'docs/openapi.json is stale: run `npm run openapi`').toEqual(
      buildOpenApiDocument(version),
    );
  });

  it("validates against the OpenAPI 3.1 schema (the OpenAPI Initiative's, through @seriousme/openapi-schema-validator)", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(OPENAPI_DOCUMENT));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('the validator refuses a broken document (so the check above can fail)', async () => {
    const broken = structuredClone(OPENAPI_DOCUMENT);
    broken.paths['/v1/images'].get.responses['200'] = { content: {} }; // a response needs a description
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });
});

// ---- routes: the API construct's methods against the document's operations ----

/** The API construct alone, with stand-in functions named after the real ones (no bundling). */
function apiTemplate(): Json {
  const stack = new Stack(new App(), 'OpenApiRoutes', {
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const api = new Api(stack, 'Api', { corsAllowOrigin: 'https://example.test' });
  const fn = (name: string) =>
    LambdaFunction.fromFunctionArn(
      stack,
      name,
      `arn:aws:lambda:eu-west-1:123456789012:function:pictura-${name}`,
    );
  api.addRoutes({ upload: fn('upload'), images: fn('images'), delete: fn('delete') });
  return Template.fromStack(stack).toJSON();
}

/** `METHOD /path` → the function behind it, from the template (CORS preflights, mock OPTIONS, left out). */
function templateRoutes(template: Json): Map<string, string> {
  const resources: Record<string, Json> = template.Resources;
  const pathOf = (ref: Json): string => {
    if (ref?.['Fn::GetAtt']) return ''; // the RestApi's root resource
    const resource = resources[ref.Ref];
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };
  const routes = new Map<string, string>();
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::ApiGateway::Method' || resource.Properties.HttpMethod === 'OPTIONS') continue;
    const uri = JSON.stringify(resource.Properties.Integration?.Uri ?? '');
    const fn = /function:pictura-(\w+)/.exec(uri)?.[1] ?? '?';
    routes.set(`${resource.Properties.HttpMethod} ${pathOf(resource.Properties.ResourceId)}`, fn);
  }
  return routes;
}

/** `METHOD /path` of every operation in a document. */
function documentRoutes(document: Json): Set<string> {
  const routes = new Set<string>();
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const method of Object.keys(item)) routes.add(`${method.toUpperCase()} ${path}`);
  }
  return routes;
}

/** Routes of the template that the document leaves out, and operations of the document that are no route. */
function routeDifferences(template: Json, document: Json) {
  const deployed = [...templateRoutes(template).keys()];
  const documented = documentRoutes(document);
  return {
    undocumented: deployed.filter((route) => !documented.has(route)),
    notDeployed: [...documented].filter((route) => !deployed.includes(route)),
  };
}

describe('routes', () => {
  const template = apiTemplate();

  it('every route of infra/constructs/api.ts is in the document, and nothing else', () => {
    expect(templateRoutes(template).size).toBeGreaterThanOrEqual(7);
    expect(routeDifferences(template, OPENAPI_DOCUMENT)).toEqual({ undocumented: [], notDeployed: [] });
  });

  it('a route missing from the document is reported (so the check above can fail)', () => {
    const document = structuredClone(OPENAPI_DOCUMENT);
    delete document.paths['/v1/health'];
    expect(routeDifferences(template, document).undocumented).toEqual(['GET /v1/health']);
  });

  it('serves the document at GET /v1/openapi.json, public (no API key), from the images function', () => {
    const method = Object.values<Json>(template.Resources).find(
      (r) =>
        r.Type === 'AWS::ApiGateway::Method' &&
        r.Properties.HttpMethod === 'GET' &&
        template.Resources[r.Properties.ResourceId.Ref]?.Properties.PathPart === 'openapi.json',
    );
    expect(method?.Properties.ApiKeyRequired ?? false).toBe(false);
    expect(templateRoutes(template).get('GET /v1/openapi.json')).toBe('images');
  });

  // ---- statuses and problem codes used in the code ----

  /** Status of each error class of shared/errors.ts. */
  const CLASS_STATUS: Record<string, number> = {
    BadRequestError: 400,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    PayloadTooLargeError: 413,
    UnsupportedMediaTypeError: 415,
  };

  function sources(dir: string): string[] {
    return readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(join(REPO_ROOT, dir, file), 'utf8'));
  }

  /** Every `new XxxError('CODE'` of the HTTP errors in shared/ and functions/, as `code status`. */
  function thrownProblems(): Set<string> {
    const found = new Set<string>(['INTERNAL_ERROR 500']); // toProblem's generic 500 (shared/errors.ts)
    const pattern = /new (\w+Error)\(\s*'([A-Z][A-Z0-9_]*)'/g;
    for (const text of [...sources('shared'), ...sources('functions')]) {
      for (const [, cls, code] of text.matchAll(pattern)) {
        const status = CLASS_STATUS[cls ?? ''];
        if (status !== undefined) found.add(`${code} ${status}`);
      }
      // Schema validation's codes (shared/http/validation.ts parseOrThrow: always a 400), given as
      // `code: 'CODE'` or `code: { field: 'CODE', … }` in its problem tables.
      for (const [, codes] of text.matchAll(/\bcode: (\{[^}]*\}|'[A-Z_]+'),\s*fallback:/g)) {
        for (const [code] of (codes ?? '').matchAll(/[A-Z][A-Z0-9_]{2,}/g)) found.add(`${code} 400`);
      }
    }
    return found;
  }

  /**
   * API Gateway's answers, as `code status`: the template's gateway responses (infra/constructs/api.ts),
   * and for each error the local emulator sends (local/apigateway/gateway-responses.ts) without its own
   * response, the DEFAULT_4XX/5XX fallback, whose code is the response type.
   */
  function gatewayProblems(): Set<string> {
    const found = new Set<string>();
    const byType = new Map<string, Json>();
    for (const resource of Object.values<Json>(template.Resources)) {
      if (resource.Type !== 'AWS::ApiGateway::GatewayResponse') continue;
      byType.set(resource.Properties.ResponseType, resource.Properties);
      const body = resource.Properties.ResponseTemplates['application/json'];
      const code = /"code":"([A-Z_]+)"/.exec(body)?.[1];
      if (code && resource.Properties.StatusCode) found.add(`${code} ${resource.Properties.StatusCode}`);
    }
    for (const [type, error] of Object.entries(GATEWAY_ERRORS)) {
      if (!byType.has(type)) found.add(`${type} ${error.status}`);
    }
    return found;
  }

  /** `code status` pairs the code can answer that no operation of `document` lists under that status. */
  function undocumentedProblems(document: Json, used: Set<string>): string[] {
    const documented = new Set<string>();
    for (const item of Object.values<Json>(document.paths)) {
      for (const operation of Object.values<Json>(item)) {
        for (const [status, response] of Object.entries<Json>(operation.responses)) {
          const codes: string[] =
            response.content?.['application/problem+json']?.schema?.properties?.code?.enum ?? [];
          for (const code of codes) documented.add(`${code} ${status}`);
        }
      }
    }
    // Answered for paths that are no route (API Gateway's unknown route; a function's unknown resource).
    const noRoute = new Set(['ROUTE_NOT_FOUND 404']);
    return [...used].filter((pair) => !documented.has(pair) && !noRoute.has(pair));
  }

  it('finds the problems the code answers (so the checks below have something to check)', () => {
    const used = [...thrownProblems(), ...gatewayProblems()];
    expect(used).toEqual(
      expect.arrayContaining([
        'INVALID_BODY 400',
        'FILE_TOO_LARGE 413',
        'UNSUPPORTED_MEDIA_TYPE 415',
        'INVALID_CURSOR 400',
        'INVALID_LIMIT 400',
        'ORIGIN_NOT_ALLOWED 403',
        'THROTTLED 429',
        'API_CONFIGURATION_ERROR 502',
      ]),
    );
  });

  it('every problem code used in shared/, functions/ and the gateway responses is in the Problem code enum', () => {
    const used = [...thrownProblems(), ...gatewayProblems()].map((pair) => pair.split(' ')[0]);
    const listed = new Set<string>(OPENAPI_DOCUMENT.components.schemas.Problem.properties.code.enum);
    expect(used.filter((code) => !listed.has(code ?? ''))).toEqual([]);
    expect([...listed].sort()).toEqual([...PROBLEM_CODES].sort());
  });

  it('every code is documented under the status it is answered with, on some route', () => {
    const used = new Set([...thrownProblems(), ...gatewayProblems()]);
    expect(undocumentedProblems(OPENAPI_DOCUMENT, used)).toEqual([]);
  });

  it('a problem code or status missing from the document is reported (so the check above can fail)', () => {
    const document = structuredClone(OPENAPI_DOCUMENT);
    const list = document.paths['/v1/images'].get.responses['400'];
    list.content['application/problem+json'].schema.properties.code.enum = ['INVALID_LIMIT'];
    const used = new Set([...thrownProblems(), ...gatewayProblems(), 'NEW_CODE 418']);
    expect(undocumentedProblems(document, used)).toEqual(['INVALID_CURSOR 400', 'NEW_CODE 418']);
  });

  it("every status a route's function returns itself is documented on that route", () => {
    const routes = templateRoutes(template);
    const missing: string[] = [];
    for (const fn of new Set(routes.values())) {
      const code = readFileSync(join(REPO_ROOT, 'functions', fn, 'handler.ts'), 'utf8');
      // The statuses in `json(…)` calls: 200, 201, 202, and the health route's 503.
      const statuses = [...code.matchAll(/json\(([^;]*?),/gs)].flatMap(([, first]) =>
        [...(first ?? '').matchAll(/\b([1-5]\d\d)\b/g)].map(([, status]) => status ?? ''),
      );
      expect(statuses.length, fn).toBeGreaterThan(0);
      const documented = new Set<string>();
      for (const [route, owner] of routes) {
        if (owner !== fn) continue;
        const [method, path] = route.split(' ');
        for (const status of Object.keys(
          OPENAPI_DOCUMENT.paths[path ?? '']?.[method?.toLowerCase() ?? '']?.responses ?? {},
        ))
          documented.add(status);
      }
      for (const status of statuses) if (!documented.has(status)) missing.push(`${fn} ${status}`);
    }
    expect(missing).toEqual([]);
  });

  // ---- per route, statically: what each route's code path can throw ----

  /**
   * A source file cut into its top-level declarations (the code is biome-formatted: each starts at column 0),
   * by the name each declares, with comments removed.
   */
  function declarations(file: string): Map<string, string> {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const chunks = new Map<string, string>();
    for (const chunk of text.split(/\n(?=\S)(?![})\]])/)) {
      const name = /^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?|const|let|class)\s+(\w+)/.exec(
        chunk,
      )?.[1];
      if (name) chunks.set(name, chunk);
    }
    return chunks;
  }

  /** The names a file imports from another source file of the repository, to that file's path. */
  function imports(file: string): Map<string, string> {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    const found = new Map<string, string>();
    for (const [, names, from] of text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/gm)) {
      const target = from?.startsWith('#')
        ? from.replace(/^#(\w+)\//, '$1/')
        : from?.startsWith('.')
          ? join(file, '..', from)
          : undefined;
      if (!target) continue;
      for (const name of (names ?? '').split(',')) {
        const local = name
          .replace(/^\s*type\s+/, '')
          .split(/\s+as\s+/)
          .pop()
          ?.trim();
        const original = name
          .replace(/^\s*type\s+/, '')
          .split(/\s+as\s+/)[0]
          ?.trim();
        if (local && original) found.set(local, `${target}#${original}`);
      }
    }
    return found;
  }

  /**
   * The `code status` problems a route's code path can answer: from its function's handler, every
   * declaration its code names (in the handler, and through imports into shared/), with the branches of
   * `switch` cases naming another route of the same function left out; in each, `new XxxError('CODE'` and
   * schema validation's `code: 'CODE', fallback:` tables (always 400).
   */
  function routeProblems(fn: string, route: string, siblings: string[]): Set<string> {
    const [, path] = route.split(' ');
    const others = new Set(siblings.filter((r) => r !== route).flatMap((r) => [r, r.split(' ')[1] ?? '']));
    others.delete(path ?? '');
    /** Cuts `case '<another route>':` branches, up to the next case or default at that depth. */
    const ownBranches = (chunk: string): string =>
      chunk.replace(/^(\s*)case '([^']+)':[\s\S]*?(?=^\1(?:case |default:))/gm, (branch, _indent, label) =>
        others.has(label) ? '' : branch,
      );
    const found = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string, name: string, depth: number): void => {
      const key = `${file}#${name}`;
      if (seen.has(key) || depth > 8) return;
      seen.add(key);
      const chunk = declarations(file).get(name);
      if (!chunk) return;
      const code = ownBranches(chunk);
      for (const [, cls, problem] of code.matchAll(/new (\w+Error)\(\s*'([A-Z][A-Z0-9_]*)'/g)) {
        const status = CLASS_STATUS[cls ?? ''];
        if (status !== undefined) found.add(`${problem} ${status}`);
      }
      for (const [, codes] of code.matchAll(/\bcode: (\{[^}]*\}|'[A-Z_]+'),\s*fallback:/g)) {
        for (const [problem] of (codes ?? '').matchAll(/[A-Z][A-Z0-9_]{2,}/g)) found.add(`${problem} 400`);
      }
      // A value that is no function (the handler's `deps`, a repository's factory call) is data here: its
      // own codes count (validation tables), but what it calls is not followed, or every route would reach
      // every method of the repository object it builds.
      if (/^(?:export\s+)?const\s+\w+[^=]*=(?![\s\S]*(?:=>|\bfunction\b))/.test(chunk)) return;
      const local = declarations(file);
      const imported = imports(file);
      const names = new Set(code.replace(/'[^'\n]*'|`[^`]*`/g, "''").match(/\b[A-Za-z_]\w*\b/g) ?? []);
      for (const ref of names) {
        if (ref !== name && local.has(ref)) visit(file, ref, depth + 1);
        const target = imported.get(ref);
        if (target?.startsWith('shared/')) {
          const [targetFile = '', original = ''] = target.split('#');
          visit(targetFile, original, depth + 1);
        }
      }
    };
    const handler = `functions/${fn}/handler.ts`;
    for (const name of declarations(handler).keys()) visit(handler, name, 0);
    return found;
  }

  /**
   * Problems the scan finds on a route that its code cannot answer there: it sees which `switch` branch a
   * route takes, but not other branches on runtime values. shared/deletion.ts `authorise` branches on
   * `credentials.method`, which the delete function's `credentialsOf` sets to `key` on this route, so the
   * token checks never run on it. (A test below checks each is still found, so this list cannot go stale.)
   */
  const NOT_ON_ROUTE: Record<string, string[]> = {
    'DELETE /v1/images/{id}': ['AUTHENTICATION_REQUIRED 401', 'INVALID_DELETE_TOKEN 403'],
  };

  /** `route: CODE status` pairs a route's code path can answer that `document` does not list on that route. */
  function undocumentedPerRoute(document: Json): string[] {
    const routes = templateRoutes(template);
    const missing: string[] = [];
    for (const [route, fn] of routes) {
      const siblings = [...routes].filter(([, owner]) => owner === fn).map(([r]) => r);
      const [method = '', path = ''] = route.split(' ');
      const responses = document.paths[path]?.[method.toLowerCase()]?.responses ?? {};
      for (const pair of routeProblems(fn, route, siblings)) {
        const [code = '', status = ''] = pair.split(' ');
        if (code === 'ROUTE_NOT_FOUND') continue; // a path that is no route, answered by no route
        if (NOT_ON_ROUTE[route]?.includes(pair)) continue;
        const codes: string[] =
          responses[status]?.content?.['application/problem+json']?.schema?.properties?.code?.enum ?? [];
        if (!codes.includes(code)) missing.push(`${route}: ${pair}`);
      }
    }
    return missing.sort();
  }

  it("finds each route's own problems in its code path, and not its sibling routes'", () => {
    const routes = templateRoutes(template);
    const siblings = (fn: string) => [...routes].filter(([, owner]) => owner === fn).map(([r]) => r);
    const token = routeProblems('delete', 'DELETE /v1/images/{id}/token', siblings('delete'));
    expect([...token]).toEqual(
      expect.arrayContaining([
        'IMAGE_NOT_FOUND 404',
        'AUTHENTICATION_REQUIRED 401',
        'INVALID_DELETE_TOKEN 403',
        'ORIGIN_NOT_ALLOWED 403',
      ]),
    );
    // The key route's check (requireKeyHolder) is in the other branch of the delete function's switch.
    expect(token.has('API_KEY_REQUIRED 401')).toBe(false);
    expect(
      routeProblems('delete', 'DELETE /v1/images/{id}', siblings('delete')).has('API_KEY_REQUIRED 401'),
    ).toBe(true);
    const read = routeProblems('images', 'GET /v1/images/{id}', siblings('images'));
    expect(read.has('IMAGE_NOT_FOUND 404')).toBe(true);
    expect(read.has('INVALID_LIMIT 400')).toBe(false);
    const list = routeProblems('images', 'GET /v1/images', siblings('images'));
    expect([...list]).toEqual(
      expect.arrayContaining(['INVALID_LIMIT 400', 'INVALID_CURSOR 400', 'API_KEY_REQUIRED 401']),
    );
    const upload = routeProblems('upload', 'POST /v1/images', siblings('upload'));
    expect([...upload]).toEqual(
      expect.arrayContaining([
        'INVALID_JSON 400',
        'EMPTY_BODY 400',
        'FILE_TOO_LARGE 413',
        'NOT_AN_IMAGE 415',
      ]),
    );
  });

  it('each exception of NOT_ON_ROUTE is still found by the scan (else it is stale)', () => {
    const routes = templateRoutes(template);
    for (const [route, pairs] of Object.entries(NOT_ON_ROUTE)) {
      const fn = routes.get(route) ?? '';
      const siblings = [...routes].filter(([, owner]) => owner === fn).map(([r]) => r);
      expect([...routeProblems(fn, route, siblings)], route).toEqual(expect.arrayContaining(pairs));
    }
  });

  it('every problem a route can answer by its code path is documented on that route', () => {
    expect(undocumentedPerRoute(OPENAPI_DOCUMENT)).toEqual([]);
  });

  it('the 404 removed from DELETE /v1/images/{id}/token alone is reported (so the check above can fail)', () => {
    const document = structuredClone(OPENAPI_DOCUMENT);
    delete document.paths['/v1/images/{id}/token'].delete.responses['404'];
    expect(undocumentedPerRoute(document)).toEqual(['DELETE /v1/images/{id}/token: IMAGE_NOT_FOUND 404']);
  });
});

// ---- per route: what the integration tests saw each route answer ----

describe('answers seen live, per route', () => {
  // Recorded by expectOpenApiResponse (test/support/openapi.ts) in the integration tests, one line per
  // distinct answer: `METHOD /path status media/type CODE`. Independent of the route table the document is
  // built from: a status or code dropped from one route fails here even when another route still lists it.
  const observed = readObservations();

  it('the integration tests saw the answers this check relies on (so it has something to check)', () => {
    expect(observed).toEqual(
      expect.arrayContaining([
        'DELETE /v1/images/{id}/token 404 application/problem+json IMAGE_NOT_FOUND',
        'DELETE /v1/images/{id}/token 401 application/problem+json AUTHENTICATION_REQUIRED',
        'DELETE /v1/images/{id} 404 application/problem+json IMAGE_NOT_FOUND',
        'POST /v1/images 413 application/json -',
        'POST /v1/images 413 text -',
        'GET /v1/images/{id} 403 text/html -',
        'GET /v1/images 429 application/problem+json QUOTA_EXCEEDED',
      ]),
    );
  });

  it('an answer an integration test sees that its observed file lacks is reported (the check after each file)', () => {
    const seen = [
      'DELETE /v1/images/{id}/token 404 application/problem+json IMAGE_NOT_FOUND',
      'DELETE /v1/images/{id}/token 418 application/problem+json NEW_CODE',
    ];
    expect(unrecordedObservations('api-flow', seen)).toEqual([seen[1]]);
    expect(unrecordedObservations('no-such-test', seen)).toEqual(seen);
  });

  it('every (route, status, media type, code) seen is documented on that route', () => {
    expect(undocumentedObservations(OPENAPI_DOCUMENT, observed)).toEqual([]);
  });

  it('a status removed from one route fails, though other routes still document it: 404 of DELETE /v1/images/{id}/token', () => {
    const document = structuredClone(OPENAPI_DOCUMENT);
    delete document.paths['/v1/images/{id}/token'].delete.responses['404'];
    expect(document.paths['/v1/images/{id}'].delete.responses['404']).toBeDefined();
    expect(undocumentedObservations(document, observed)).toEqual([
      'DELETE /v1/images/{id}/token 404 application/problem+json IMAGE_NOT_FOUND',
    ]);
  });

  it('the same 404 removed from the route table and the document regenerated fails too', () => {
    const build = buildOpenApiDocument;
    const responses = OPERATIONS.find((op) => op.operationId === 'deleteImageWithToken')?.responses as
      | Record<number, unknown>
      | undefined;
    const saved = responses?.[404];
    if (!responses || !saved) throw new Error('DELETE /v1/images/{id}/token has no 404 to remove');
    try {
      delete responses[404];
      expect(undocumentedObservations(build(version), observed)).toContain(
        'DELETE /v1/images/{id}/token 404 application/problem+json IMAGE_NOT_FOUND',
      );
    } finally {
      responses[404] = saved;
    }
    expect(undocumentedObservations(build(version), observed)).toEqual([]);
  });

  it('a code dropped from one route, a media type left out, or an unknown route are reported', () => {
    const document = structuredClone(OPENAPI_DOCUMENT);
    const tokenUnauthorized = document.paths['/v1/images/{id}/token'].delete.responses['401'];
    tokenUnauthorized.content['application/problem+json'].schema.properties.code.enum = ['API_KEY_REQUIRED'];
    delete document.paths['/v1/images'].post.responses['413'].content['text/*'];
    expect(
      undocumentedObservations(document, [...observed, 'GET /v1/nowhere 200 application/json -']).sort(),
    ).toEqual([
      'DELETE /v1/images/{id}/token 401 application/problem+json AUTHENTICATION_REQUIRED',
      'GET /v1/nowhere 200 application/json -',
      'POST /v1/images 413 text -',
    ]);
  });
});
