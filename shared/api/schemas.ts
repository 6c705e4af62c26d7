/**
 * The HTTP API's schemas, in one place: what requests must look like (the functions validate with these) and
 * what responses look like (the OpenAPI document, shared/api/openapi.ts, is generated from these same
 * schemas, and the integration tests check live answers against it).
 *
 * The request schemas live in shared/api/requests.ts (re-exported here), which is all a function imports.
 * `z.toJSONSchema` reads the same objects into JSON Schema draft 2020-12, the dialect of OpenAPI 3.1.
 */
import * as z from 'zod/mini';
import { IMAGE_STATUSES, PIPELINE_STAGES } from '../model.ts';

import { described } from './requests.ts';

export * from './requests.ts';

/** Image ids: 16 random bytes, base64url (shared/ids.ts). */
export const ImageId = described(
  z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)),
  'Opaque, unguessable image id (128 random bits, base64url).',
);

/** Every state of the image life cycle (shared/model.ts `ImageStatus`) a client can see. */
export const ImageStatus = z.enum(IMAGE_STATUSES);

const isoTime = described(z.string(), 'ISO 8601 date and time (UTC).');
const absoluteUrl = z.string().check(z.url());

/** A measured fact about the original; `sha256` in the owner's view only. */
export const Original = z.object({
  contentType: z.string(),
  bytes: z.int(),
  width: z.int(),
  height: z.int(),
  sha256: z.optional(described(z.string(), 'Owner view only (the listing); never on the public document.')),
});

/** A rendered variant. */
export const Variant = z.object({
  name: z.string(),
  url: described(absoluteUrl, 'Absolute CDN URL of the variant.'),
  width: z.int(),
  height: z.int(),
  format: z.enum(['webp', 'avif', 'jpeg', 'png']),
  contentType: z.string(),
  bytes: z.int(),
});

/** EXIF fields safe to publish (never location); `takenAt` in the owner's view only. */
export const Exif = z.object({
  orientation: z.optional(z.int().check(z.minimum(1), z.maximum(8))),
  make: z.optional(z.string()),
  model: z.optional(z.string()),
  takenAt: z.optional(described(z.string(), 'Owner view only (the listing).')),
  lensModel: z.optional(z.string()),
  exposureTime: z.optional(z.string()),
  fNumber: z.optional(z.number()),
  iso: z.optional(z.number()),
  focalLength: z.optional(z.number()),
});

/** Why an image was rejected: `rejection.code` values (README, "Rejection codes"). */
export const REJECTION_CODES = [
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'TOO_MANY_PIXELS',
  'CORRUPT_IMAGE',
  'UNRENDERABLE',
  'ORIGINAL_REPLACED',
] as const;

export const Rejection = z.object({ code: z.enum(REJECTION_CODES), detail: z.string() });

export const Failure = z.object({
  code: z.literal('PROCESSING_FAILED'),
  stage: z.enum(PIPELINE_STAGES),
  detail: z.string(),
  retryable: z.literal(true),
  at: isoTime,
});

/** The image document (shared/model.ts `toImageDocument`). */
export const ImageDocument = z.object({
  id: ImageId,
  status: ImageStatus,
  createdAt: isoTime,
  updatedAt: isoTime,
  original: z.optional(Original),
  variants: z.array(Variant),
  placeholder: z.optional(described(z.string(), 'ThumbHash of the image, base64.')),
  dominantColor: z.optional(z.string().check(z.regex(/^#[0-9a-f]{6}$/))),
  exif: z.optional(Exif),
  rejection: z.optional(Rejection),
  failure: z.optional(described(Failure, 'Only on a `failed` image: its work is in a dead-letter queue.')),
  links: z.object({ self: absoluteUrl }),
});

/** `GET /v1/images`: a page of the caller's images, newest first. */
export const ImageList = z.object({
  items: z.array(ImageDocument),
  nextCursor: z.nullable(z.string()),
});

/** The presigned POST form a client posts the file with (multipart/form-data, the file field last). */
export const PresignedUpload = z.object({
  url: absoluteUrl,
  method: z.literal('POST'),
  fields: z.record(z.string(), z.string()),
  expiresAt: isoTime,
});

/** `POST /v1/images` accepted: 201 (presigned, with `upload`) or 202 (direct, without). */
export const UploadAccepted = z.object({
  id: ImageId,
  status: z.enum(['pending_upload', 'uploaded']),
  deleteToken: described(z.string(), 'Shown once; only its SHA-256 is stored.'),
  upload: z.optional(PresignedUpload),
  links: z.object({
    self: absoluteUrl,
    delete: described(absoluteUrl, 'DELETE it with `Authorization: Bearer <deleteToken>` (no key needed).'),
  }),
});

/** `DELETE /v1/images/{id}` and `…/token` accepted. */
export const DeleteAccepted = z.object({ id: z.string(), status: z.literal('deleting') });

/** `GET /v1/health`. */
export const Health = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({ table: z.enum(['ok', 'down']), bucket: z.enum(['ok', 'down']) }),
});

/**
 * Every problem `code` the API answers with: the functions' (shared/, functions/) and API Gateway's own
 * answers reshaped by its gateway responses (infra/constructs/api.ts). test/unit/openapi.test.ts fails when
 * the code uses one that is not here.
 */
export const PROBLEM_CODES = [
  // the functions
  'INVALID_JSON',
  'INVALID_BODY',
  'EMPTY_BODY',
  'BODY_TOO_LARGE',
  'FILE_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_AN_IMAGE',
  'API_KEY_REQUIRED',
  'AUTHENTICATION_REQUIRED',
  'INVALID_DELETE_TOKEN',
  'ORIGIN_NOT_ALLOWED',
  'IMAGE_NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'INVALID_LIMIT',
  'INVALID_CURSOR',
  'INTERNAL_ERROR',
  // API Gateway's gateway responses (the explicit ones, then what the DEFAULT_5XX fallback names)
  'THROTTLED',
  'QUOTA_EXCEEDED',
  'INTEGRATION_FAILURE',
  'INTEGRATION_TIMEOUT',
  'API_CONFIGURATION_ERROR',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** RFC 9457 problem details with the API's stable `code`. */
export const Problem = z.object({
  type: described(z.string(), "A URI naming the problem type (`about:blank` on API Gateway's own answers)."),
  title: z.string(),
  status: z.optional(
    described(
      z.int().check(z.minimum(400), z.maximum(599)),
      'The HTTP status (always sent by the functions).',
    ),
  ),
  detail: z.string(),
  code: described(z.enum(PROBLEM_CODES), 'Stable, machine-readable identifier; branch on this.'),
});

/**
 * API Gateway's own JSON answers that no gateway response shapes: `{"message": "Request Too Long"}` (413, a
 * proxy event over Lambda's 6 MB invocation payload) and `{"message": "Internal server error"}` (500, an
 * invocation that failed before the function ran). Captured on AWS: local/apigateway/gateway-responses.ts.
 */
export const GatewayMessage = z.object({
  message: described(z.string(), "API Gateway's message."),
});
