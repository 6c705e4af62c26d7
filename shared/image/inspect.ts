import { createHash } from 'node:crypto';
import { ImageRejectedError } from '../errors.ts';
import { dominantColorOf } from './dominant-color.ts';
import { type SanitisedExif, sanitiseExif } from './exif.ts';
import { PLACEHOLDER_MAX_SIDE, thumbHashOf } from './placeholder.ts';
import { probeImage, rejectionFor } from './probe.ts';
import { ACCEPTED_CONTENT_TYPES, type ImageFormat } from './sniff.ts';
import { openSource, type SourceFacts, toSrgb } from './source.ts';

export type { SanitisedExif } from './exif.ts';

/** Everything the service records about an original, read from its bytes alone. */
export interface ImageInspection {
  /** The format the bytes really are (never the declared type). */
  format: ImageFormat;
  contentType: string;
  bytes: number;
  /** Display width, i.e. after EXIF orientation (orientations 5–8 swap the stored axes). */
  width: number;
  /** Display height, i.e. after EXIF orientation. */
  height: number;
  /** EXIF orientation 1–8; 1 when absent. */
  orientation: number;
  /** SHA-256 of the original bytes, hex. */
  sha256: string;
  /** Most common colour, `#rrggbb`. */
  dominantColor: string;
  /** ThumbHash, base64. */
  placeholder: string;
  hasAlpha: boolean;
  /** Frames or pages; more than 1 for an animation. */
  pages: number;
  /** Allow-listed EXIF fields; never any location. */
  exif: SanitisedExif;
}

/** Limits an original must meet to be inspected. */
export interface InspectLimits {
  maxBytes: number;
  maxInputPixels: number;
}

/** Decodes the image once, small, upright and in sRGB with alpha: enough for a colour and a placeholder. */
async function decodeThumbnail(bytes: Uint8Array, facts: SourceFacts, maxInputPixels: number) {
  try {
    const opened = await openSource(bytes, facts, maxInputPixels);
    // JPEG and WebP shrink on load here, so the one decode is cheap even for a large original.
    const small = opened.pipeline.resize(PLACEHOLDER_MAX_SIDE, PLACEHOLDER_MAX_SIDE, {
      fit: 'inside',
      withoutEnlargement: true,
    });
    const decoded = await toSrgb(opened, small)
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { ...decoded, addsAlpha: opened.addsAlpha === true };
  } catch (error) {
    throw rejectionFor(error);
  }
}

/**
 * Validates an original and describes it. Throws {@link ImageRejectedError} with a stable code, checked
 * cheapest first: `EMPTY_FILE`, `FILE_TOO_LARGE`, `UNSUPPORTED_FORMAT` (SVG, BMP, HEIC…), `NOT_AN_IMAGE`,
 * `TOO_MANY_PIXELS` (from the header, before any decode), then `CORRUPT_IMAGE` when the pixels do not decode.
 */
export async function inspectImage(
  bytes: Uint8Array | Buffer,
  limits: InspectLimits,
): Promise<ImageInspection> {
  const probed = await probeImage(bytes, limits);
  const { format, metadata } = probed;
  const { data, info, addsAlpha } = await decodeThumbnail(bytes, probed, limits.maxInputPixels);
  if (info.channels !== 4) {
    throw new ImageRejectedError('CORRUPT_IMAGE', `The image decodes to ${info.channels} channels, not RGBA`);
  }
  const orientation =
    metadata.orientation !== undefined && metadata.orientation >= 1 ? metadata.orientation : 1;
  return {
    format,
    contentType: ACCEPTED_CONTENT_TYPES[format],
    bytes: bytes.length,
    width: metadata.autoOrient.width,
    height: metadata.autoOrient.height,
    orientation: orientation <= 8 ? orientation : 1,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    dominantColor: dominantColorOf(data),
    placeholder: thumbHashOf(data, info.width, info.height),
    hasAlpha: metadata.hasAlpha || addsAlpha,
    pages: metadata.pages ?? 1,
    exif: sanitiseExif(metadata.exif),
  };
}
