import { crc32 } from 'node:zlib';
import { type Metadata, type Sharp, type SharpOptions, sharp } from './sharp.ts';

/**
 * PNG `gAMA`, which libvips ignores and browsers honour. W3C PNG Third Edition, https://www.w3.org/TR/png-3/:
 * `gAMA` gives the file's encoding gamma × 100000 (§11.3.3.2, #11gAMA); it is ignored unless it is the
 * highest-precedence colour chunk the decoder understands (the colour chunk priority table: cICP 1,
 * iCCP 2, sRGB 3, cHRM and gAMA 4); it must come before PLTE and IDAT (chunk ordering, #5ChunkOrdering);
 * a gAMA of zero is meaningless and ignored, gamma is never applied to alpha, and a lookup table per
 * sample value is the intended implementation ("Decoder gamma handling", #13Decoder-gamma-handling).
 * `cHRM` is ignored: the primaries are taken as sRGB's, as most browsers do when only gAMA is present.
 */

const SIGNATURE_BYTES = 8;
/** Chunks that outrank gAMA (PNG 3, colour chunk priority table). */
const OUTRANKING = new Set(['cICP', 'iCCP', 'sRGB']);
/**
 * The spec gives no tolerance for "close enough to sRGB"; libpng's is 5 %: it treats a gamma correction
 * as insignificant when file gamma × screen gamma is within 1 ± 0.05 (`png_gamma_significant`,
 * `PNG_GAMMA_THRESHOLD_FIXED` 5000). With the 2.2 screen gamma of sRGB, that covers gAMA ≈ 43182–47727
 * around 45455 (1/2.2), which files written for the web carry and which is taken as sRGB, with no work.
 */
const SRGB_TOLERANCE = 0.05;

/**
 * The encoding gamma a PNG's `gAMA` chunk declares (e.g. 1.0 for linear samples), when it is the colour
 * chunk that counts and differs from sRGB's; `undefined` otherwise (no gAMA, gAMA zero, out of place
 * or with a bad CRC, an outranking cICP/iCCP/sRGB chunk, a value within libpng's tolerance of 1/2.2).
 * Reads chunk headers up to the first IDAT only; never throws on malformed input.
 */
export function pngEncodingGamma(bytes: Uint8Array): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let gamma: number | undefined;
  let seenPalette = false;
  for (let at = SIGNATURE_BYTES; at + 12 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (type === 'IDAT' || type === 'IEND' || end > bytes.length) break;
    if (OUTRANKING.has(type)) return undefined;
    if (type === 'PLTE') seenPalette = true;
    if (type === 'gAMA' && gamma === undefined && !seenPalette && length === 4) {
      const crcOk = crc32(bytes.subarray(at + 4, at + 12)) === view.getUint32(at + 12);
      gamma = crcOk ? view.getUint32(at + 8) / 100_000 : 0;
    }
    at = end;
  }
  if (!gamma || Math.abs(gamma * 2.2 - 1) <= SRGB_TOLERANCE) return undefined;
  return gamma;
}

/** IEC 61966-2-1's sRGB encoding of a linear value in 0–1. */
function srgbEncode(linear: number): number {
  return linear <= 0.003_130_8 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055;
}

/** Sample value → sRGB sample value, for every value of the depth (PNG 3, §13 "Decoder gamma handling"). */
function gammaTable(encodingGamma: number, top: 255 | 65_535): Uint8Array | Uint16Array {
  const table = top === 255 ? new Uint8Array(256) : new Uint16Array(65_536);
  for (let v = 0; v <= top; v++) {
    // display_output = sample^(1/gamma): the light the file asks for, then encoded as sRGB.
    table[v] = Math.round(srgbEncode((v / top) ** (1 / encodingGamma)) * top);
  }
  return table;
}

/**
 * Decodes a PNG whose samples are encoded with `encodingGamma` (see `pngEncodingGamma`) and re-encodes
 * them as sRGB RGB at the file's own depth (8 or 16 bits; grey and palettes expanded), alpha
 * untouched. Returns a raw pipeline, upright, for `toSrgb` to finish. Holds the whole picture in memory
 * once, which only files with such a gAMA pay for.
 */
export async function pngGammaToSrgb(
  bytes: Uint8Array,
  options: SharpOptions,
  metadata: Metadata,
  encodingGamma: number,
): Promise<Sharp> {
  const sixteen = metadata.depth === 'ushort';
  // Without naming the space, sharp would hand 16-bit samples over as 8-bit. Grey is expanded to RGB
  // (the same curve on each channel): sharp's 8-bit grey conversion would drop the alpha.
  const { data, info } = await sharp(bytes, options)
    .toColourspace(sixteen ? 'rgb16' : 'srgb')
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const samples = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const table = gammaTable(encodingGamma, sixteen ? 65_535 : 255);
  const { channels } = info;
  const colours = channels === 2 || channels === 4 ? channels - 1 : channels;
  for (let i = 0; i < samples.length; i += channels) {
    for (let c = i; c < i + colours; c++) samples[c] = table[samples[c] ?? 0] ?? 0;
  }
  return sharp(samples, {
    raw: { width: info.width, height: info.height, channels: channels as 1 | 2 | 3 | 4 },
  });
}
