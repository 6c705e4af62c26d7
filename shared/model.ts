import type { SanitisedExif } from './image/exif.ts';
import type { VariantFormat } from './variants.ts';

/**
 * The image life cycle. `pending_upload` (presigned, waiting for the client) and `uploaded` (bytes stored)
 * lead to `processing` (metadata recorded, render queued) and then `ready` or `rejected`. Any live state can
 * move to `deleting`, after which the purge removes the objects and then the record.
 */
export type ImageStatus = 'pending_upload' | 'uploaded' | 'processing' | 'ready' | 'rejected' | 'deleting';

/**
 * Allowed transitions, from → to. The repository turns each into a conditional write, so a stale or
 * duplicate message can never move an image backwards. `processing → processing` lets a redelivered ingest
 * message re-send its render job (the first send may have been lost after the record was written).
 */
export const TRANSITIONS: Readonly<Record<ImageStatus, readonly ImageStatus[]>> = {
  pending_upload: ['uploaded', 'processing', 'rejected', 'deleting'],
  uploaded: ['processing', 'rejected', 'deleting'],
  processing: ['processing', 'ready', 'rejected', 'deleting'],
  ready: ['deleting'],
  rejected: ['deleting'],
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
  declared: { contentType: string; contentLength: number; filename?: string };
  original?: OriginalInfo;
  placeholder?: string;
  dominantColor?: string;
  exif?: PublicExif;
  variants?: VariantRecord[];
  rejection?: Rejection;
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
  original?: OriginalInfo;
  variants: VariantDocument[];
  placeholder?: string;
  dominantColor?: string;
  exif?: PublicExif;
  rejection?: Rejection;
  links: { self: string };
}

/**
 * Shapes a record into the public document. Variant URLs are absolute CDN URLs; `apiBaseUrl` is where the
 * caller reached the API (so `links.self` works through the CDN and directly).
 */
export function toImageDocument(record: ImageRecord, cdnBaseUrl: string, apiBaseUrl: string): ImageDocument {
  const document: ImageDocument = {
    id: record.id,
    status: record.status,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    variants: (record.variants ?? []).map(({ key, ...variant }) => ({
      ...variant,
      url: `${cdnBaseUrl}/${key}`,
    })),
    links: { self: `${apiBaseUrl}/v1/images/${record.id}` },
  };
  if (record.original) document.original = record.original;
  if (record.placeholder) document.placeholder = record.placeholder;
  if (record.dominantColor) document.dominantColor = record.dominantColor;
  if (record.exif) document.exif = record.exif;
  if (record.rejection) document.rejection = record.rejection;
  return document;
}
