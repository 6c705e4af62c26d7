import { ImageRejectedError } from '../errors.ts';
import { FAIL_ON, type Metadata, sharp } from './sharp.ts';
import { type ImageFormat, SNIFF_BYTES, sniffImageFormat, sniffUnsupportedType } from './sniff.ts';

/** Limits checked before any pixel is decoded. */
export interface ProbeLimits {
  /** Largest file accepted; `Infinity` skips the check (the renderer reads files already admitted). */
  maxBytes: number;
  /** Largest width × height accepted. */
  maxInputPixels: number;
}

/** What the header says about an admitted file. */
export interface ProbedImage {
  /** The format the bytes really are. */
  format: ImageFormat;
  /** Header metadata; no pixel has been decoded to produce it. */
  metadata: Metadata;
}

/** libvips' loader name for each accepted format; a disagreement with the magic bytes means a broken file. */
const LOADER_FORMATS: Record<ImageFormat, string> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'heif',
  tiff: 'tiff',
};

const PIXEL_LIMIT_MESSAGE = /pixel limit/i;

/**
 * How libvips and the allocator report running out of memory: the machine's state, not the file's.
 * Deliberately narrow: libheif words its refusals of absurd files "Memory allocation error: Security
 * limit exceeded", which is the file's fault and must stay a rejection.
 */
const OUT_OF_MEMORY_MESSAGE = /out of memory|cannot allocate memory|\bENOMEM\b/i;
const FILE_LIMIT_MESSAGE = /security limit/i;

/**
 * Maps a libvips failure on an admitted file to a rejection. Everything that fails while reading an
 * original is about the original (libvips reads from memory, not from a network), so it is permanent —
 * except running out of memory, which the same file may not do on the next attempt: that error is
 * returned as it is, for the queue to retry, so a good image is never rejected (and its original
 * removed) because its instance was short of memory once.
 */
export function rejectionFor(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (OUT_OF_MEMORY_MESSAGE.test(message) && !FILE_LIMIT_MESSAGE.test(message)) {
    return error instanceof Error ? error : new Error(message);
  }
  if (PIXEL_LIMIT_MESSAGE.test(message)) {
    return new ImageRejectedError('TOO_MANY_PIXELS', 'The image has more pixels than allowed', {
      cause: error,
    });
  }
  return new ImageRejectedError('CORRUPT_IMAGE', `The image could not be decoded: ${message}`, {
    cause: error,
  });
}

/**
 * The cheap checks, in order, each answering with its own stable code: empty, too many bytes, a type the
 * service refuses or does not recognise, then too many pixels according to the header. Nothing here
 * decodes pixels, so a decompression bomb is refused after reading a few dozen bytes of it.
 */
export async function probeImage(bytes: Uint8Array, limits: ProbeLimits): Promise<ProbedImage> {
  if (bytes.length === 0) throw new ImageRejectedError('EMPTY_FILE', 'The file is empty');
  if (bytes.length > limits.maxBytes) {
    throw new ImageRejectedError(
      'FILE_TOO_LARGE',
      `The file has ${bytes.length} bytes; at most ${limits.maxBytes} are accepted`,
    );
  }
  const head = bytes.subarray(0, SNIFF_BYTES);
  const format = sniffImageFormat(head);
  if (format === undefined) {
    const unsupported = sniffUnsupportedType(head);
    if (unsupported !== undefined) {
      throw new ImageRejectedError('UNSUPPORTED_FORMAT', `${unsupported} files are not accepted`);
    }
    throw new ImageRejectedError('NOT_AN_IMAGE', 'The file is not a recognised image');
  }

  let metadata: Metadata;
  try {
    // Header only. The pixel limit is lifted here so the limit is judged below with our own code and
    // message, rather than libvips' wording; decoding later runs with the limit in place.
    metadata = await sharp(bytes, { failOn: FAIL_ON, limitInputPixels: false }).metadata();
  } catch (error) {
    throw rejectionFor(error);
  }
  if (metadata.format !== LOADER_FORMATS[format]) {
    throw new ImageRejectedError(
      'CORRUPT_IMAGE',
      `The file starts like ${format} but is not a valid ${format}`,
    );
  }
  if (format === 'avif' && metadata.compression !== 'av1') {
    // An AVIF brand on HEVC-coded content is HEIC in disguise; it is refused like HEIC.
    throw new ImageRejectedError('UNSUPPORTED_FORMAT', 'HEIF files that are not AV1-coded are not accepted');
  }
  const pixels = metadata.width * metadata.height;
  if (!(pixels > 0)) throw new ImageRejectedError('CORRUPT_IMAGE', 'The image header has no dimensions');
  if (pixels > limits.maxInputPixels) {
    throw new ImageRejectedError(
      'TOO_MANY_PIXELS',
      `The image is ${metadata.width}×${metadata.height} (${pixels} pixels); at most ${limits.maxInputPixels} are accepted`,
    );
  }
  return { format, metadata };
}
