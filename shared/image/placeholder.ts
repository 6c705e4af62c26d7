import { rgbaToThumbHash } from 'thumbhash';

/** ThumbHash works on images of at most this many pixels per side. */
export const PLACEHOLDER_MAX_SIDE = 100;

/**
 * A ThumbHash of a small RGBA image (non-premultiplied, at most {@link PLACEHOLDER_MAX_SIDE} pixels per
 * side), base64: about 25 bytes that clients expand into a blurred preview, aspect ratio and alpha included.
 */
export function thumbHashOf(rgba: Uint8Array, width: number, height: number): string {
  return Buffer.from(rgbaToThumbHash(width, height, rgba)).toString('base64');
}
