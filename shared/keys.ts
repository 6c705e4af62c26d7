import { isImageId } from './ids.ts';

/**
 * S3 key layout. Originals are private and may carry GPS; variants are public through the CDN, which can
 * reach only `variants/`. Keeping each image's variants under one prefix makes purge and CDN invalidation a
 * single prefix operation.
 */
export const ORIGINALS_PREFIX = 'originals/';
export const VARIANTS_PREFIX = 'variants/';

/** Key of an image's original upload. */
export function originalKey(id: string): string {
  return `${ORIGINALS_PREFIX}${id}`;
}

/** Prefix under which all of an image's variants live (ends with `/`). */
export function variantPrefix(id: string): string {
  return `${VARIANTS_PREFIX}${id}/`;
}

/** Key of one rendered variant. */
export function variantKey(id: string, name: string, extension: string): string {
  return `${variantPrefix(id)}${name}.${extension}`;
}

/** The image id an original's key names, or `undefined` when the key is not an original's. */
export function imageIdFromOriginalKey(key: string): string | undefined {
  if (!key.startsWith(ORIGINALS_PREFIX)) return undefined;
  const id = key.slice(ORIGINALS_PREFIX.length);
  return isImageId(id) ? id : undefined;
}
