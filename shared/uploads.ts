import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CONTENT_TYPE_MAX, FILENAME_MAX, PresignRequest as PresignRequestSchema } from './api/requests.ts';
import type { Config } from './config.ts';
import { BadRequestError, echoNames, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.ts';
import type { KeyHolder } from './http/request.ts';
import { parseOrThrow } from './http/validation.ts';
import { hashSecret, newDeleteToken, newImageId } from './ids.ts';
import { ACCEPTED_CONTENT_TYPES, sniffImageFormat } from './image/sniff.ts';
import { originalKey } from './keys.ts';
import type { ImageRecord, ImageStatus } from './model.ts';
import { createPresignedPost } from './presigned-post.ts';
import type { ImageRepository } from './repository.ts';

/** What the upload service needs. */
export interface UploadDeps {
  config: Pick<Config, 'bucketName' | 'limits' | 'presignedPostExpiresSeconds' | 'pendingUploadTtlSeconds'>;
  s3: S3Client;
  images: ImageRepository;
  now?: () => Date;
}

/** A validated request for a presigned POST. */
export interface PresignRequest {
  contentType: string;
  contentLength: number;
  filename?: string;
}

/** The presigned form a client posts the file with. */
export interface PresignedUpload {
  url: string;
  method: 'POST';
  fields: Record<string, string>;
  expiresAt: string;
}

/** What an accepted upload returns; `deleteToken` is shown once and never stored. */
export interface UploadAccepted {
  id: string;
  status: ImageStatus;
  deleteToken: string;
  upload?: PresignedUpload;
}

const ACCEPTED = new Set<string>(Object.values(ACCEPTED_CONTENT_TYPES));

/** Normalises a media type (`IMAGE/PNG; charset=x` → `image/png`). */
function mediaType(value: string): string {
  return value.split(';')[0]?.trim().toLowerCase() ?? '';
}

function acceptedType(value: string): string {
  const type = mediaType(value);
  if (!ACCEPTED.has(type)) {
    throw new UnsupportedMediaTypeError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${echoNames([type])} is not accepted; send one of ${[...ACCEPTED].join(', ')}`,
    );
  }
  return type;
}

/** Details of a presign body that does not have the schema's shape (400 `INVALID_BODY`). */
const PRESIGN_PROBLEM = {
  code: 'INVALID_BODY',
  fallback: 'the body must be a JSON object',
  details: {
    contentType: `contentType must be a non-empty string of at most ${CONTENT_TYPE_MAX} characters`,
    contentLength: 'contentLength must be a positive integer (bytes)',
    filename: `filename must be a string of at most ${FILENAME_MAX} characters`,
  },
} as const;

/**
 * Validates the JSON body of a presign request against the API's `PresignRequest` schema
 * (shared/api/schemas.ts, also the OpenAPI document's): a body of another shape, an unknown field included,
 * is 400 `INVALID_BODY`; then a type the service does not accept is 415 `UNSUPPORTED_MEDIA_TYPE` and a size
 * over `maxUploadBytes` 413 `FILE_TOO_LARGE`, in that order.
 */
export function parsePresignRequest(body: unknown, maxUploadBytes: number): PresignRequest {
  const { contentType, contentLength, filename } = parseOrThrow(PresignRequestSchema, body, PRESIGN_PROBLEM);
  const type = acceptedType(contentType);
  if (contentLength > maxUploadBytes) {
    throw new PayloadTooLargeError(
      'FILE_TOO_LARGE',
      `contentLength ${contentLength} is over the ${maxUploadBytes}-byte limit`,
    );
  }
  // Control characters in a stored filename would end up in logs and in Content-Disposition headers.
  const cleanName = filename?.replace(/[\p{Cc}\p{Cf}]/gu, '').trim();
  return { contentType: type, contentLength, ...(cleanName ? { filename: cleanName } : {}) };
}

function newRecord(
  deps: UploadDeps,
  owner: KeyHolder,
  status: ImageStatus,
  mode: ImageRecord['uploadMode'],
  declared: ImageRecord['declared'],
  uploadRequestId: string | undefined,
): { record: ImageRecord; deleteToken: string } {
  const now = (deps.now ?? (() => new Date()))();
  const deleteToken = newDeleteToken();
  const record: ImageRecord = {
    id: newImageId(),
    status,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ownerId: owner.ownerId,
    ownerKeyHash: hashSecret(owner.apiKey),
    deleteTokenHash: hashSecret(deleteToken),
    uploadMode: mode,
    declared,
    ...(uploadRequestId ? { uploadRequestId } : {}),
    // Until ingest sees the bytes the record expires on its own, so abandoned uploads leave nothing behind.
    expiresAt: Math.floor(now.getTime() / 1000) + deps.config.pendingUploadTtlSeconds,
  };
  return { record, deleteToken };
}

/**
 * Creates a `pending_upload` image and a presigned POST for its original. The policy pins the exact key,
 * the Content-Type and a content-length range, so S3 refuses anything else; ingest re-checks every limit
 * anyway, because emulators do not enforce POST policies. `uploadRequestId` (the API request's id) is stored
 * on the record, so every later log line about the image names the request that created it.
 */
export async function createPresignedUpload(
  deps: UploadDeps,
  owner: KeyHolder,
  request: PresignRequest,
  uploadRequestId?: string,
): Promise<UploadAccepted> {
  const { record, deleteToken } = newRecord(
    deps,
    owner,
    'pending_upload',
    'presigned',
    request,
    uploadRequestId,
  );
  const post = await createPresignedPost(deps.s3, {
    bucket: deps.config.bucketName,
    key: originalKey(record.id),
    contentType: request.contentType,
    maxBytes: request.contentLength,
    expiresSeconds: deps.config.presignedPostExpiresSeconds,
  });
  await deps.images.create(record);
  return {
    id: record.id,
    status: record.status,
    deleteToken,
    upload: {
      url: post.url,
      method: 'POST',
      fields: post.fields,
      // Exactly the policy's expiration: a client that trusts it never posts a form S3 already refuses.
      expiresAt: post.expiresAt,
    },
  };
}

/**
 * Stores a raw-body upload as the original. The bytes are sniffed here too (cheap, no decoder): a body that
 * is no image at all gets a 415 now instead of a rejection later. The record is written first, with its
 * expiry, so the S3 event that follows always finds it. `uploadRequestId`: as for a presigned upload.
 */
export async function createDirectUpload(
  deps: UploadDeps,
  owner: KeyHolder,
  declaredType: string,
  body: Buffer,
  uploadRequestId?: string,
): Promise<UploadAccepted> {
  const contentType = acceptedType(declaredType);
  if (body.length === 0) throw new BadRequestError('EMPTY_BODY', 'the request body is empty');
  const limit = deps.config.limits.maxDirectUploadBytes;
  if (body.length > limit) {
    throw new PayloadTooLargeError(
      'FILE_TOO_LARGE',
      `the body is ${body.length} bytes; direct uploads take at most ${limit}. Use a presigned upload (JSON body) for larger files`,
    );
  }
  if (sniffImageFormat(body) === undefined) {
    throw new UnsupportedMediaTypeError('NOT_AN_IMAGE', 'the body is not an image in any accepted format');
  }
  const declared = { contentType, contentLength: body.length };
  const { record, deleteToken } = newRecord(deps, owner, 'uploaded', 'direct', declared, uploadRequestId);
  await deps.images.create(record);
  const key = originalKey(record.id);
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.config.bucketName,
        Key: key,
        Body: body,
        ContentType: contentType,
      }),
    );
  } catch (error) {
    // Best effort: the record would expire anyway; removing the object covers a put that did land.
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.config.bucketName, Key: key })).catch(() => {});
    throw error;
  }
  return { id: record.id, status: record.status, deleteToken };
}
