/**
 * The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas the functions validate requests
 * with (shared/api/schemas.ts). `npm run openapi` writes it to docs/openapi.json, which the images function
 * serves at `GET /v1/openapi.json`; test/unit/openapi.test.ts fails when the committed file is stale.
 *
 * Why zod's own `z.toJSONSchema` and this small builder rather than a generator library: zod 4 writes JSON
 * Schema draft 2020-12, which is exactly OpenAPI 3.1's schema dialect, and with a registry it emits
 * `#/components/schemas/…` references itself; what is left (paths, parameters, responses, security) is
 * a table. `zod-openapi` would add a dependency and its own metadata conventions for what is a page of
 * plain data here. Only the script and the tests import this module; no function bundles it.
 */
import * as z from 'zod/mini';
import {
  DeleteAccepted,
  Exif,
  Failure,
  GatewayMessage,
  Health,
  ImageDocument,
  ImageId,
  ImageList,
  LIMIT,
  ListQuery,
  Original,
  PresignedUpload,
  PresignRequest,
  Problem,
  type ProblemCode,
  Rejection,
  UploadAccepted,
  Variant,
} from './schemas.ts';

/** The schemas that become `components.schemas`, by name. */
const COMPONENTS = {
  PresignRequest,
  UploadAccepted,
  PresignedUpload,
  ImageDocument,
  ImageList,
  Original,
  Variant,
  Exif,
  Rejection,
  Failure,
  DeleteAccepted,
  Health,
  Problem,
  GatewayMessage,
} as const;
type ComponentName = keyof typeof COMPONENTS;

/** A response of an operation: a component body, a problem with the codes it may carry, or a raw JSON body. */
type ResponseSpec =
  | { description: string; body: ComponentName; headers?: Record<string, string> }
  | { description: string; problem: readonly ProblemCode[] }
  | { description: string; json: Record<string, unknown> };

/** One route: method, path template and what it takes and answers. */
export interface OperationSpec {
  method: 'get' | 'post' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** `apiKey`: `x-api-key` required (API Gateway validates it); `deleteToken`: bearer token; else public. */
  auth: 'apiKey' | 'deleteToken' | 'public';
  /** A Lambda route: the functions' own problems (403 origin check, 413 body cap, 500) apply. */
  function: boolean;
  parameters?: Record<string, unknown>[];
  requestBody?: Record<string, unknown>;
  responses: Record<number, ResponseSpec>;
}

/** A parameter's JSON Schema, without the `$schema` a standalone conversion adds. */
function parameterSchema(schema: z.ZodMiniType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as Record<string, unknown>;
  return rest;
}

const IMAGE_ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: parameterSchema(ImageId) };

const LOCATION = 'The image document (`links.self`).';

/** Every route of the API (test/unit/openapi.test.ts compares them with infra/constructs/api.ts). */
export const OPERATIONS: readonly OperationSpec[] = [
  {
    method: 'post',
    path: '/v1/images',
    operationId: 'createImage',
    summary: 'Upload an image',
    description:
      'A JSON body asks for a presigned POST form (201); an `image/*` body of at most 4 MiB is the file itself (202). Either way the answer carries a one-time `deleteToken`.',
    auth: 'apiKey',
    function: true,
    requestBody: {
      required: true,
      description:
        '`application/json`: a presign request. `image/*`: the file itself (JPEG, PNG, WebP, GIF, AVIF or TIFF), at most 4 MiB.',
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/PresignRequest' } },
        'image/*': { schema: { type: 'string', contentMediaType: 'image/*' } },
      },
    },
    responses: {
      201: {
        description: 'Presigned upload created',
        body: 'UploadAccepted',
        headers: { Location: LOCATION },
      },
      202: {
        description: 'File stored; processing follows',
        body: 'UploadAccepted',
        headers: { Location: LOCATION },
      },
      400: { description: 'Malformed body', problem: ['INVALID_JSON', 'INVALID_BODY', 'EMPTY_BODY'] },
      413: { description: 'File over the limit', problem: ['FILE_TOO_LARGE'] },
      415: { description: 'Not an accepted image type', problem: ['UNSUPPORTED_MEDIA_TYPE', 'NOT_AN_IMAGE'] },
    },
  },
  {
    method: 'get',
    path: '/v1/images',
    operationId: 'listImages',
    summary: "The caller's images, newest first (owner view)",
    auth: 'apiKey',
    function: true,
    parameters: [
      {
        name: 'limit',
        in: 'query',
        required: false,
        schema: { ...parameterSchema(ListQuery.shape.limit), default: LIMIT.default },
      },
      { name: 'cursor', in: 'query', required: false, schema: parameterSchema(ListQuery.shape.cursor) },
    ],
    responses: {
      200: { description: 'A page of images', body: 'ImageList' },
      400: { description: 'Bad query parameter', problem: ['INVALID_LIMIT', 'INVALID_CURSOR'] },
    },
  },
  {
    method: 'get',
    path: '/v1/images/{id}',
    operationId: 'getImage',
    summary: 'One image (public view)',
    description:
      'Public: ids are unguessable. Leaves out `original.sha256` and `exif.takenAt`. A `ready` image is cacheable for 10 s (`Cache-Control: public, max-age=10`), anything else `no-store`.',
    auth: 'public',
    function: true,
    parameters: [IMAGE_ID_PARAMETER],
    responses: {
      200: { description: 'The image document', body: 'ImageDocument' },
      404: { description: 'Unknown or deleted image', problem: ['IMAGE_NOT_FOUND'] },
    },
  },
  {
    method: 'delete',
    path: '/v1/images/{id}',
    operationId: 'deleteImage',
    summary: "Delete an image with the uploader's key",
    auth: 'apiKey',
    function: true,
    parameters: [IMAGE_ID_PARAMETER],
    responses: {
      202: { description: 'Purge queued', body: 'DeleteAccepted' },
      404: { description: "Unknown, or another key's image", problem: ['IMAGE_NOT_FOUND'] },
    },
  },
  {
    method: 'delete',
    path: '/v1/images/{id}/token',
    operationId: 'deleteImageWithToken',
    summary: 'Delete an image with its delete token (`links.delete`)',
    auth: 'deleteToken',
    function: true,
    parameters: [IMAGE_ID_PARAMETER],
    responses: {
      202: { description: 'Purge queued', body: 'DeleteAccepted' },
      401: { description: 'No bearer token', problem: ['AUTHENTICATION_REQUIRED'] },
      403: { description: 'Wrong delete token', problem: ['INVALID_DELETE_TOKEN'] },
      404: { description: 'Unknown image', problem: ['IMAGE_NOT_FOUND'] },
    },
  },
  {
    method: 'get',
    path: '/v1/health',
    operationId: 'getHealth',
    summary: 'Health of the table and the bucket',
    auth: 'public',
    function: true,
    responses: {
      200: { description: 'Every dependency answers', body: 'Health' },
      503: { description: 'A dependency is down', body: 'Health' },
    },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document',
    description: 'Public and cacheable (`Cache-Control: public, max-age=300`).',
    auth: 'public',
    function: true,
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document',
        json: {
          type: 'object',
          properties: {
            openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
            info: { type: 'object' },
            paths: { type: 'object' },
          },
          required: ['openapi', 'info', 'paths'],
        },
      },
    },
  },
];

/**
 * Problems every route can answer besides its own: API Gateway's (throttle, quota, integration failures,
 * a missing key on keyed routes) and the functions' middleware's (origin check on AWS, the 16 KiB cap on
 * non-image bodies, the generic 500).
 */
function commonProblems(operation: OperationSpec): Record<number, readonly ProblemCode[]> {
  const problems: Record<number, readonly ProblemCode[]> = {
    429: ['THROTTLED', 'QUOTA_EXCEEDED'],
    502: ['INTEGRATION_FAILURE', 'API_CONFIGURATION_ERROR'],
    504: ['INTEGRATION_TIMEOUT'],
  };
  if (operation.auth === 'apiKey') problems[401] = ['API_KEY_REQUIRED'];
  if (operation.function) {
    problems[403] = ['ORIGIN_NOT_ALLOWED'];
    problems[413] = ['BODY_TOO_LARGE'];
    problems[500] = ['INTERNAL_ERROR'];
  }
  return problems;
}

const TITLES: Record<number, string> = {
  401: 'Missing or invalid credential',
  403: 'Not allowed',
  413: 'Request body too large',
  429: 'Throttled, or the key’s quota is spent (`Retry-After`)',
  500: 'Unexpected error (logged)',
  502: 'The function failed',
  504: 'The function timed out',
};

/** A problem+json response whose `code` is one of `codes`. */
function problemResponse(description: string, codes: readonly ProblemCode[]) {
  return {
    description,
    content: {
      'application/problem+json': {
        schema: {
          $ref: '#/components/schemas/Problem',
          properties: { code: { enum: [...new Set(codes)] } },
        },
      },
    },
  };
}

/** A response's `content` and `headers` from its spec (one media type: problem+json or application/json). */
function response(spec: ResponseSpec, extraCodes: readonly ProblemCode[] = []) {
  if ('problem' in spec) return problemResponse(spec.description, [...spec.problem, ...extraCodes]);
  const schema = 'body' in spec ? { $ref: `#/components/schemas/${spec.body}` } : spec.json;
  return {
    description: spec.description,
    ...('headers' in spec && spec.headers
      ? {
          headers: Object.fromEntries(
            Object.entries(spec.headers).map(([name, description]) => [
              name,
              { description, schema: { type: 'string' } },
            ]),
          ),
        }
      : {}),
    content: { 'application/json': { schema } },
  };
}

/** A body of API Gateway's own `{"message": …}` answers, with the message it carries for that status. */
const gatewayMessage = (message: string) => ({
  schema: { $ref: '#/components/schemas/GatewayMessage', properties: { message: { const: message } } },
});

/** API Gateway's 10 MB request payload quota, in bytes, named in its front door's 413. */
const API_PAYLOAD_LIMIT = 10_485_760;

/**
 * Answers in another format than problem+json, which neither the functions nor a gateway response shape:
 * what any route may get from API Gateway before or around its integration, and from the CDN's web ACL.
 * Each is appended to the route's response of that status as one more media type, with a sentence saying
 * when it comes. Bodies and media types as the local cloud sends them, captured on AWS (the sources are in
 * local/apigateway/gateway-responses.ts and local/cloudfront/waf.ts).
 */
const FOREIGN_ANSWERS: Record<number, { note: string; content: Record<string, unknown> }> = {
  403: {
    note:
      "Through the CDN, a request its web ACL (AWS WAF) blocks gets CloudFront's `text/html` error page " +
      '("Request blocked."): over a per-IP rate limit (the public routes share one of 300 a minute; every ' +
      'route one of 10,000 per 5 minutes) or matched by an AWS managed rule.',
    content: { 'text/html': { schema: { type: 'string' } } },
  },
  413: {
    note:
      'From API Gateway, in its own formats: a body over its 10 MB quota gets a plain-text answer at its ' +
      `front door (\`Content-Type: text; charset=utf-8\`, body \`HTTP content length exceeded ${API_PAYLOAD_LIMIT} bytes.\`); ` +
      "a smaller one whose Lambda event (the body base64-encoded) is over Lambda's 6 MB gets " +
      '`{"message": "Request Too Long"}` (an `image/*` body of about 4.4 to 10 MB).',
    content: {
      'application/json': gatewayMessage('Request Too Long'),
      // The media type AWS sends has no subtype (`text`); `text/*` is the range that holds it.
      'text/*': {
        schema: { type: 'string', const: `HTTP content length exceeded ${API_PAYLOAD_LIMIT} bytes.` },
      },
    },
  },
  500: {
    note: 'API Gateway\'s own `{"message": "Internal server error"}` when it cannot invoke the function.',
    content: { 'application/json': gatewayMessage('Internal server error') },
  },
};

/** A route's response with the answers of other formats ({@link FOREIGN_ANSWERS}) of its status added. */
function withForeignAnswers(
  status: number,
  built: { description: string; content: Record<string, unknown> },
) {
  const foreign = FOREIGN_ANSWERS[status];
  if (!foreign) return built;
  return {
    ...built,
    description: `${built.description}. ${foreign.note}`,
    content: { ...built.content, ...foreign.content },
  };
}

function operationObject(operation: OperationSpec) {
  const responses: Record<string, unknown> = {};
  const common = commonProblems(operation);
  const statuses = new Set([...Object.keys(operation.responses), ...Object.keys(common)].map(Number));
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const own = operation.responses[status];
    const shared = common[status] ?? [];
    responses[String(status)] = withForeignAnswers(
      status,
      own ? response(own, shared) : problemResponse(TITLES[status] ?? 'Error', shared),
    );
  }
  const security =
    operation.auth === 'apiKey'
      ? [{ apiKey: [] }]
      : operation.auth === 'deleteToken'
        ? [{ deleteToken: [] }]
        : [];
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    security,
    ...(operation.parameters ? { parameters: operation.parameters } : {}),
    ...(operation.requestBody ? { requestBody: operation.requestBody } : {}),
    responses,
  };
}

/** `components.schemas` from the zod schemas, nested ones as `$ref`s; no per-schema `$schema`/`$id`. */
function componentSchemas(): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _schema, $id: _id, ...schema }]) => [id, schema]),
  );
}

/**
 * The OpenAPI 3.1.1 document. `servers` is relative (`/`): the document is served by the API it
 * describes, from the CDN's domain or the local cloud's API port.
 */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] ??= {};
    (paths[operation.path] as Record<string, unknown>)[operation.method] = operationObject(operation);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Pictura image-hosting API',
      version,
      description:
        'Upload images, read their variants and metadata, delete them. Errors are RFC 9457 problem+json with a stable `code`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/', description: 'The host serving this document (the CDN, or the local API)' }],
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API Gateway API key.' },
        deleteToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The `deleteToken` of the upload answer.',
        },
      },
    },
  };
}
