/**
 * The request schemas of the HTTP API: what the functions validate with (shared/uploads.ts,
 * shared/queries.ts through shared/http/validation.ts). Kept apart from the response schemas
 * (shared/api/schemas.ts, which re-exports these) so that a function bundle builds only these: every zod
 * schema is built when its module is imported, and the response schemas serve the OpenAPI document only.
 *
 * Written with `zod/mini`, zod 4's tree-shakable form, to keep what the upload and images functions load
 * small (README, Benchmarks, gives the bytes and milliseconds it adds).
 */
import * as z from 'zod/mini';

/** A described schema: the description ends up in the OpenAPI document. */
export const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.meta({ description })) as T;

/** Longest `contentType` a presign request may declare (characters). */
export const CONTENT_TYPE_MAX = 100;
/** Longest `filename` a presign request may carry (characters). */
export const FILENAME_MAX = 255;

/**
 * `POST /v1/images` with `Content-Type: application/json`: a presigned POST for a file of this type and
 * size. Unknown fields are refused so that typos do not pass silently. Which types are accepted (415) and
 * the byte limit (413) are the upload service's checks (shared/uploads.ts), made after this shape passes.
 */
export const PresignRequest = z.strictObject({
  contentType: described(
    z.string().check(z.minLength(1), z.maxLength(CONTENT_TYPE_MAX)),
    'The file\'s media type: image/jpeg, image/png, image/webp, image/gif, image/avif or image/tiff (parameters such as "; charset" are ignored; anything else is 415).',
  ),
  contentLength: described(
    z.int().check(z.minimum(1)),
    "The file's size in bytes; the presigned policy pins it as the largest accepted (over the stack's MAX_UPLOAD_BYTES: 413).",
  ),
  filename: z.optional(
    described(
      z.string().check(z.maxLength(FILENAME_MAX)),
      'Kept with the image; control and format characters are removed.',
    ),
  ),
});
export type PresignRequest = z.infer<typeof PresignRequest>;

/** Page sizes of `GET /v1/images`. */
export const LIMIT = { min: 1, max: 100, default: 20 } as const;

/**
 * `GET /v1/images` query parameters as API Gateway delivers them (strings). `limit` is digits only (no
 * `1e1`, no sign, no blanks) and then 1–100; `cursor` is a `nextCursor` this API returned, which is
 * base64url of at most 512 characters (its content is checked against the caller's listing by the repository).
 * Other parameters are ignored.
 */
export const ListQuery = z.object({
  limit: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{1,3}$/)),
      z.pipe(
        z.transform((value: string) => Number(value)),
        described(
          z.int().check(z.minimum(LIMIT.min), z.maximum(LIMIT.max)),
          `Page size, ${LIMIT.min} to ${LIMIT.max} (default ${LIMIT.default}).`,
        ),
      ),
    ),
  ),
  cursor: z.optional(
    described(
      z.string().check(z.minLength(1), z.maxLength(512), z.regex(/^[A-Za-z0-9_-]+$/)),
      'The `nextCursor` of the previous page.',
    ),
  ),
});
export type ListQuery = z.output<typeof ListQuery>;
