import type { SanitisedExif } from './image/exif.ts';
import type { VariantFormat } from './variants.ts';

/**
 * The image life cycle. `pending_upload` (presigned, waiting for the client) and `uploaded` (bytes stored)
 * lead to `processing` (metadata recorded, render queued) and then `ready` or `rejected`. Any live state can
 * move to `deleting`, after which the purge removes the objects and then the record.
 *
 * `failed`: the image's ingest or render message failed on its last receive and went to the stage's DLQ.
 * Terminal for a polling client (nothing happens until an operator redrives), but not for the image: a
 * redriven message moves it back (`failed → processing → ready`), and it may be deleted.
 */
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

/** Every {@link ImageStatus}, for the schemas that describe them (shared/api/schemas.ts). */
export const IMAGE_STATUSES = [
  'pending_upload',
  'uploaded',
  'processing',
  'ready',
  'rejected',
  'failed',
  'deleting',
] as const;

/**
 * Allowed transitions, from → to. The repository turns each into a conditional write, so a stale or
 * duplicate message can never move an image backwards. `processing → processing` lets a redelivered ingest
 * message re-send its render job (the first send may have been lost after the record was written).
 */
export const TRANSITIONS: Readonly<Record<ImageStatus, readonly ImageStatus[]>> = {
  pending_upload: ['uploaded', 'processing', 'rejected', 'failed', 'deleting'],
  uploaded: ['processing', 'rejected', 'failed', 'deleting'],
  processing: ['processing', 'ready', 'rejected', 'failed', 'deleting'],
  ready: ['deleting'],
  rejected: ['deleting'],
  // `→ processing`: a redriven message resumes the work. `→ ready`: a duplicate render job of the same
  // original, in flight when the failure was recorded, finished after all. `→ failed`: a second message of
  // the same image (a duplicated event) failing too only refreshes the failure.
  failed: ['processing', 'ready', 'rejected', 'failed', 'deleting'],
  deleting: [],
};

/** The states from which `to` may be entered. */
export function sourcesOf(to: ImageStatus): ImageStatus[] {
  return (Object.keys(TRANSITIONS) as ImageStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

/** Facts about the original, measured from its bytes (never from what the client declared). */
export interface OriginalInfo {
  contentType: string;
  bytes: number;
  width: number;
  height: number;
  sha256: string;
}

/** The original as a document shows it: `sha256` in the owner's view only (see {@link DocumentView}). */
export type OriginalDocument = Omit<OriginalInfo, 'sha256'> & { sha256?: string };

/** EXIF fields that are safe to publish (an allow-list; location is never among them). */
export type PublicExif = SanitisedExif;

/** A rendered variant as stored in the record (the URL is derived when the document is shaped). */
export interface VariantRecord {
  name: string;
  key: string;
  width: number;
  height: number;
  format: VariantFormat;
  contentType: string;
  bytes: number;
}

/** Why an upload was refused; `code` is stable (e.g. `NOT_AN_IMAGE`, `TOO_MANY_PIXELS`). */
export interface Rejection {
  code: string;
  detail: string;
}

/**
 * Why an image whose upload form was used again, with other bytes, before it was ready is rejected: the
 * first original measured is the image, and which file the uploader meant is anybody's guess.
 */
export const ORIGINAL_REPLACED: Rejection = {
  code: 'ORIGINAL_REPLACED',
  detail: 'another file was posted with the same upload form; upload each image with its own form',
};

/** The pipeline's stages, each with its queue and dead-letter queue: ingest, render, purge. */
export const PIPELINE_STAGES = ['ingest', 'render', 'purge'] as const;

/** A pipeline stage: the one whose message ended in a dead-letter queue, a queue work is re-sent to. */
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** The pipeline stage whose message ended in a dead-letter queue. */
export type FailureStage = PipelineStage;

/**
 * Why an image is `failed` (or, for `stage: "purge"`, why a `deleting` image is still there): its message
 * failed on every receive and is in the stage's DLQ. `detail` is a fixed sentence per stage, never the
 * internal error (which is logged); `retryable` is always true, since an operator's redrive resumes the work.
 */
export interface Failure {
  code: 'PROCESSING_FAILED';
  stage: FailureStage;
  detail: string;
  retryable: true;
  /** When the failure was recorded (ISO 8601). */
  at: string;
}

const FAILURE_DETAILS: Record<FailureStage, string> = {
  ingest:
    'the uploaded file could not be inspected after repeated attempts; it will be retried when the service recovers',
  render:
    'the variants could not be rendered after repeated attempts; they will be rendered when the service recovers',
  purge: 'the image could not be purged after repeated attempts; the purge will be retried',
};

/** The failure recorded when a `stage` message goes to its DLQ at `at`. */
export function processingFailure(stage: FailureStage, at: Date): Failure {
  return {
    code: 'PROCESSING_FAILED',
    stage,
    detail: FAILURE_DETAILS[stage],
    retryable: true,
    at: at.toISOString(),
  };
}

/** What ingest learns about an image; written in the `→ processing` transition. */
export interface ImageMetadata {
  original: OriginalInfo;
  placeholder: string;
  dominantColor: string;
  exif: PublicExif;
}

/** The DynamoDB item for one image. */
export interface ImageRecord {
  id: string;
  status: ImageStatus;
  createdAt: string;
  updatedAt: string;
  /** API key id of the uploader (the listing index's partition key). */
  ownerId: string;
  /** SHA-256 of the uploader's API key, so the delete route (which needs no key) can recognise the owner. */
  ownerKeyHash: string;
  /** SHA-256 of the one-time delete token; the token itself is never stored. */
  deleteTokenHash: string;
  uploadMode: 'presigned' | 'direct';
  /**
   * API Gateway's id of the request that created the image (`requestContext.requestId`): every log line
   * about the image carries it, so one upload's lines are found from the request a client reports.
   */
  uploadRequestId?: string;
  declared: { contentType: string; contentLength: number; filename?: string };
  original?: OriginalInfo;
  placeholder?: string;
  dominantColor?: string;
  exif?: PublicExif;
  variants?: VariantRecord[];
  rejection?: Rejection;
  /** Set while `failed` (and on a `deleting` image whose purge went to the DLQ); removed by any other move. */
  failure?: Failure;
  /** DynamoDB TTL (epoch seconds): an upload that never arrives is forgotten. Cleared once bytes arrive. */
  expiresAt?: number;
}

/** A variant as clients see it. */
export interface VariantDocument {
  name: string;
  url: string;
  width: number;
  height: number;
  format: VariantFormat;
  contentType: string;
  bytes: number;
}

/** The public image document of the API contract. Owner and secret hashes never appear in it. */
export interface ImageDocument {
  id: string;
  status: ImageStatus;
  createdAt: string;
  updatedAt: string;
  original?: OriginalDocument;
  variants: VariantDocument[];
  placeholder?: string;
  dominantColor?: string;
  exif?: PublicExif;
  rejection?: Rejection;
  /** Only on a `failed` image: its work is in a dead-letter queue, so polling can stop. */
  failure?: Failure;
  links: { self: string };
}

/**
 * Who reads a document: `owner` (the listing, whose key API Gateway validated) sees every field; `public`
 * (anyone, `GET /v1/images/{id}`) not `original.sha256` (it would let anyone confirm that a known photo is
 * hosted) nor `exif.takenAt` (when the photo was taken says where its owner was, and when).
 */
export type DocumentView = 'owner' | 'public';

/**
 * Shapes a record into the image document for `view`. Variant URLs are absolute CDN URLs; `apiBaseUrl` is
 * the API's base for `links.self` (see `apiBaseUrl` in shared/http/request.ts).
 */
export function toImageDocument(
  record: ImageRecord,
  cdnBaseUrl: string,
  apiBaseUrl: string,
  view: DocumentView = 'public',
): ImageDocument {
  const document: ImageDocument = {
    id: record.id,
    status: record.status,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    variants: (record.variants ?? []).map(({ key, ...variant }) => ({
      ...variant,
      url: `${cdnBaseUrl}/${key}`,
    })),
    links: { self: `${apiBaseUrl}${imageDocumentPath(record.id)}` },
  };
  if (record.original) document.original = publicOriginal(record.original, view);
  if (record.placeholder) document.placeholder = record.placeholder;
  if (record.dominantColor) document.dominantColor = record.dominantColor;
  if (record.exif) document.exif = publicExif(record.exif, view);
  if (record.rejection) document.rejection = record.rejection;
  if (record.failure && record.status === 'failed') document.failure = record.failure;
  return document;
}

function publicOriginal(original: OriginalInfo, view: DocumentView): OriginalDocument {
  if (view === 'owner') return original;
  const { sha256: _hash, ...rest } = original;
  return rest;
}

function publicExif(exif: PublicExif, view: DocumentView): PublicExif {
  if (view === 'owner') return exif;
  const { takenAt: _taken, ...rest } = exif;
  return rest;
}

/**
 * The path of an image's document, `GET /v1/images/{id}`: after the API's base URL in its links, and the
 * path the CDN caches it under (invalidated on purge).
 */
export function imageDocumentPath(id: string): string {
  return `/v1/images/${id}`;
}
