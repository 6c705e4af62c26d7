import { probeImage, rejectionFor } from './probe.ts';
import { openSource, type SourceFacts, toSrgb } from './source.ts';

/** An upright, 8-bit sRGB picture in memory: the one decode every variant is made from. */
export interface DecodedPixels {
  /** Interleaved pixels, row by row; RGB, or RGBA when the source has transparency. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

/**
 * Called each time a pixel pipeline is opened on a source's bytes, with the size it decodes to; lets tests
 * and benchmarks count decodes rather than take them on trust.
 */
export type DecodeListener = (target: { width: number; height: number }) => void;

/**
 * Decodes a source once, upright (EXIF orientation applied), converted to sRGB through its embedded
 * profile whatever its depth and colour space (see `openSource` and README.md's "Colour contract"),
 * alpha kept, at `width × height`. `facts` is what `probeImage` read from the header; it is read again
 * when not given.
 *
 * Asking for the target size in the same pipeline lets libvips decode JPEG at 1/2, 1/4 or 1/8 scale and
 * WebP at any scale ("shrink on load"), then finish with a Lanczos reduction: a 24 MP JPEG destined for a
 * 2048-wide largest variant is never held at 24 MP. Animated GIF and WebP decode their first frame only,
 * composed on the canvas the file declares.
 */
export async function decodeSource(
  source: Uint8Array,
  target: { width: number; height: number; resize: boolean },
  maxInputPixels: number,
  onDecode?: DecodeListener,
  facts?: SourceFacts,
): Promise<DecodedPixels> {
  const known = facts ?? (await probeImage(source, { maxBytes: Number.POSITIVE_INFINITY, maxInputPixels }));
  try {
    const opened = await openSource(source, known, maxInputPixels);
    onDecode?.({ width: target.width, height: target.height });
    let pipeline = opened.pipeline;
    if (target.resize) pipeline = pipeline.resize(target.width, target.height, { fit: 'fill' });
    const { data, info } = await toSrgb(opened, pipeline)
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) {
      throw new Error(`decoded to ${info.channels} channels`);
    }
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw rejectionFor(error);
  }
}
