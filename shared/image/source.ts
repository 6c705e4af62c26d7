import { crc32, deflateSync } from 'node:zlib';
import { pngEncodingGamma, pngGammaToSrgb } from './png-gamma.ts';
import { FAIL_ON, type Metadata, type Sharp, type SharpOptions, sharp } from './sharp.ts';
import type { ImageFormat } from './sniff.ts';

/**
 * Opening an original so that every later step sees what a colour-managed browser would show: the one
 * place that knows which files libvips (through sharp) would otherwise decode wrongly, and what to do
 * instead. The colour contract it implements is README.md's "Colour contract".
 */

/** What the header said about an original (see `probeImage`). */
export interface SourceFacts {
  format: ImageFormat;
  metadata: Metadata;
}

/** A pipeline on an original, upright, that `toSrgb` finishes as 8-bit sRGB. */
export interface OpenedSource {
  pipeline: Sharp;
  /**
   * sharp converts 16-bit RGB with an embedded profile to Display P3, not sRGB (its "processing profile"
   * for RGB16), and only an output profile takes it on to sRGB.
   */
  processedInP3: boolean;
  /** The pixels have transparency the header does not announce (a GIF canvas the frame leaves bare). */
  addsAlpha?: boolean;
}

const EOI = 0xd9;
const SOS = 0xda;

/**
 * Whether a JPEG's marker structure ends without an end-of-image marker (EOI). Entropy-coded data never
 * holds a 0xFF followed by anything but 0x00 or a restart marker, so walking the segments and skipping
 * scan data finds every real marker; an EXIF thumbnail's own EOI sits inside an APP1 segment and is
 * skipped with it. Returns false for anything it cannot walk: the decoder then judges the file as it is.
 */
export function lacksJpegEnd(bytes: Uint8Array): boolean {
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return false;
    const marker = bytes[at + 1] ?? 0;
    if (marker === EOI) return false;
    if (marker === 0xff || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    if (at + 3 >= bytes.length) return false;
    at += 2 + (((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0));
    if (marker !== SOS) continue;
    // Scan data: runs to the next 0xFF that is neither stuffing (FF00) nor a restart marker (FFD0–FFD7).
    while (at + 1 < bytes.length) {
      const next = bytes[at + 1] ?? 0;
      if (bytes[at] === 0xff && next !== 0 && !(next >= 0xd0 && next <= 0xd7)) break;
      at++;
    }
    if (at + 1 >= bytes.length) return true;
  }
  return at >= bytes.length;
}

/** The first frame's rectangle and the canvas (logical screen) a GIF declares, from its blocks. */
export function gifFirstFrame(
  bytes: Uint8Array,
):
  | { canvasWidth: number; canvasHeight: number; left: number; top: number; width: number; height: number }
  | undefined {
  const u16 = (at: number) => (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
  const packed = bytes[10] ?? 0;
  let at = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  while (at < bytes.length) {
    const block = bytes[at];
    if (block === 0x2c) {
      if (at + 9 > bytes.length) return undefined;
      return {
        canvasWidth: u16(6),
        canvasHeight: u16(8),
        left: u16(at + 1),
        top: u16(at + 3),
        width: u16(at + 5),
        height: u16(at + 7),
      };
    }
    if (block !== 0x21) return undefined;
    // Extension: introducer, label, then sub-blocks each led by its length, ended by a zero length.
    at += 2;
    while (at < bytes.length && bytes[at] !== 0) at += (bytes[at] ?? 0) + 1;
    at++;
  }
  return undefined;
}

/**
 * GIF: libvips draws the first frame on the declared canvas, but paints what the frame does not cover
 * opaque black unless the file uses transparency somewhere. Browsers leave it transparent, so the
 * canvas is decoded once, RGBA, and everything outside the frame made transparent.
 */
async function gifOnCanvas(bytes: Uint8Array, options: SharpOptions): Promise<Sharp | undefined> {
  const frame = gifFirstFrame(bytes);
  if (!frame) return undefined;
  const covers =
    frame.left <= 0 &&
    frame.top <= 0 &&
    frame.left + frame.width >= frame.canvasWidth &&
    frame.top + frame.height >= frame.canvasHeight;
  if (covers) return undefined;
  const { data, info } = await sharp(bytes, options)
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const right = frame.left + frame.width;
  const bottom = frame.top + frame.height;
  for (let y = 0; y < info.height; y++) {
    const inside = y >= frame.top && y < bottom;
    for (let x = 0; x < info.width; x++) {
      if (!inside || x < frame.left || x >= right) data[(y * info.width + x) * 4 + 3] = 0;
    }
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } });
}

/** A PNG chunk: length, type, data, CRC of type and data. */
function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Inserts an `iCCP` chunk (the profile, deflated) right after a PNG's `IHDR`. */
export function pngWithProfile(png: Buffer, icc: Buffer): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4;
  const chunk = pngChunk('iCCP', Buffer.concat([Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)]));
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/**
 * Profiles sharp does not apply: 16-bit grey (sharp skips the transform for it) and floating-point
 * pixels (libvips' transform takes them for 8-bit and answers black). The pixels are requantised with the
 * profile kept, without any conversion (8-bit grey, 16-bit colour: at most half a level of the source
 * space), so the profile is then applied by the ordinary 8- or 16-bit path.
 */
async function requantised(bytes: Uint8Array, options: SharpOptions, facts: SourceFacts): Promise<Sharp> {
  const { metadata } = facts;
  if (metadata.space === 'grey16') {
    const png = await sharp(bytes, options)
      .keepIccProfile()
      .toColourspace('b-w')
      .png({ compressionLevel: 1 });
    return sharp(await png.toBuffer(), { failOn: FAIL_ON });
  }
  // Float: the stored values (0–1, encoded by the profile's curves) become 16-bit as they are.
  const { data, info } = await sharp(bytes, { ...options, ignoreIcc: true })
    .toColourspace('scrgb')
    .raw({ depth: 'float' })
    .toBuffer({ resolveWithObject: true });
  const floats = new Float32Array(data.buffer, data.byteOffset, data.length / 4);
  const channels = info.channels as 1 | 2 | 3 | 4;
  // Grey goes to 8 bits, since sharp would skip a 16-bit grey profile again.
  const top = channels >= 3 ? 65_535 : 255;
  const levels = channels >= 3 ? new Uint16Array(floats.length) : new Uint8Array(floats.length);
  for (let i = 0; i < floats.length; i++)
    levels[i] = Math.round(Math.min(1, Math.max(0, floats[i] ?? 0)) * top);
  const png = await sharp(levels, { raw: { width: info.width, height: info.height, channels } })
    .toColourspace(channels >= 3 ? 'rgb16' : 'b-w')
    .png({ compressionLevel: 1 })
    .toBuffer();
  return sharp(pngWithProfile(png, metadata.icc as Buffer), { failOn: FAIL_ON });
}

/**
 * Opens an admitted original for decoding: upright (EXIF orientation applied), with the repairs and
 * workarounds above applied. `toSrgb` must finish the pipeline. Decoding errors surface when the
 * pipeline runs (or here, for the files that need a first pass), as libvips errors.
 */
export async function openSource(
  bytes: Uint8Array,
  facts: SourceFacts,
  maxInputPixels: number,
): Promise<OpenedSource> {
  const options: SharpOptions = { failOn: FAIL_ON, limitInputPixels: maxInputPixels, autoOrient: true };
  const { format, metadata } = facts;
  if (format === 'jpeg' && lacksJpegEnd(bytes)) {
    // Only the end marker is missing: add it, and decode strictly, so that a file cut inside its scan
    // data (which libjpeg would finish in grey, with a warning) is still refused.
    const repaired = Buffer.concat([bytes, Buffer.from([0xff, EOI])]);
    return { pipeline: sharp(repaired, { ...options, failOn: 'warning' }), processedInP3: false };
  }
  if (format === 'gif') {
    const canvas = await gifOnCanvas(bytes, options);
    if (canvas) return { pipeline: canvas, processedInP3: false, addsAlpha: true };
  }
  const encodingGamma = format === 'png' && !metadata.hasProfile ? pngEncodingGamma(bytes) : undefined;
  if (encodingGamma !== undefined) {
    const pipeline = await pngGammaToSrgb(bytes, options, metadata, encodingGamma);
    return { pipeline, processedInP3: false };
  }
  if (metadata.hasProfile && (metadata.space === 'grey16' || metadata.depth === 'float')) {
    const pipeline = await requantised(bytes, options, facts);
    return { pipeline, processedInP3: metadata.depth === 'float' && (metadata.channels ?? 3) >= 3 };
  }
  return {
    pipeline: sharp(bytes, options),
    processedInP3: metadata.hasProfile && metadata.space === 'rgb16',
  };
}

/**
 * Finishes an opened source as 8-bit sRGB: through the embedded profile for every depth and colour
 * space, untagged sources taken as sRGB (floating-point ones as linear sRGB, as libvips reads them).
 */
export function toSrgb(opened: OpenedSource, pipeline: Sharp): Sharp {
  const srgb = pipeline.toColourspace('srgb');
  return opened.processedInP3 ? srgb.withIccProfile('srgb') : srgb;
}
