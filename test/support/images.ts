import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * Test images, generated with sharp when the tests run: no binary fixtures in the repository, and every
 * image is exactly what its name says (checked by test/unit/image-fixtures.test.ts).
 */

/** Colours of the orientation test pattern. */
export const RED = { r: 255, g: 0, b: 0 } as const;
export const GREEN = { r: 0, g: 255, b: 0 } as const;
export const BLUE = { r: 0, g: 0, b: 255 } as const;

/** Display size of the orientation pattern: portrait, so a missed 90° turn shows in the dimensions too. */
export const PATTERN_WIDTH = 200;
export const PATTERN_HEIGHT = 300;
/** Fraction of the height, from the top, that is red. */
export const PATTERN_RED_FRACTION = 0.3;

/** EXIF written into the orientation JPEGs, including a GPS position that must never come out. */
export const CAMERA = {
  make: 'Acme Optics',
  model: 'Pictura One',
  lensModel: 'Acme 50mm f/1.8',
  takenAt: '2024-05-06T07:08:09+02:00',
} as const;

type Rgb = { r: number; g: number; b: number };

/**
 * The pattern as it should look upright: the top 30 % red, the rest split into green (left) and blue
 * (right). Top/bottom catches flips and turns, left/right catches mirrors.
 */
export function patternColourAt(x: number, y: number, width: number, height: number): Rgb {
  if (y < height * PATTERN_RED_FRACTION) return RED;
  return x < width / 2 ? GREEN : BLUE;
}

/**
 * Where a stored pixel appears once EXIF `orientation` is applied (EXIF 2.32, tag 0x0112: which visual
 * side the stored 0th row and 0th column are).
 */
function displayPosition(
  orientation: number,
  sx: number,
  sy: number,
  dw: number,
  dh: number,
): [number, number] {
  switch (orientation) {
    case 2:
      return [dw - 1 - sx, sy];
    case 3:
      return [dw - 1 - sx, dh - 1 - sy];
    case 4:
      return [sx, dh - 1 - sy];
    case 5:
      return [sy, sx];
    case 6:
      return [dw - 1 - sy, sx];
    case 7:
      return [dw - 1 - sy, dh - 1 - sx];
    case 8:
      return [sy, dh - 1 - sx];
    default:
      return [sx, sy];
  }
}

/** Stored (pre-rotation) size of the pattern for an orientation: 5–8 store it turned a quarter. */
export function storedSize(orientation: number): { width: number; height: number } {
  return orientation >= 5
    ? { width: PATTERN_HEIGHT, height: PATTERN_WIDTH }
    : { width: PATTERN_WIDTH, height: PATTERN_HEIGHT };
}

/**
 * A JPEG of the pattern whose pixels are stored pre-rotated for `orientation`, with that EXIF Orientation,
 * camera make/model, lens, DateTimeOriginal with its offset, and a GPS position. Only a viewer that applies
 * the orientation sees red on top.
 */
export async function orientedJpeg(orientation: number): Promise<Buffer> {
  const { width, height } = storedSize(orientation);
  const pixels = Buffer.alloc(width * height * 3);
  for (let sy = 0; sy < height; sy++) {
    for (let sx = 0; sx < width; sx++) {
      const [dx, dy] = displayPosition(orientation, sx, sy, PATTERN_WIDTH, PATTERN_HEIGHT);
      const { r, g, b } = patternColourAt(dx, dy, PATTERN_WIDTH, PATTERN_HEIGHT);
      pixels.set([r, g, b], (sy * width + sx) * 3);
    }
  }
  return (
    sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 95 })
      .withExif({
        IFD0: { Make: CAMERA.make, Model: CAMERA.model },
        // libvips numbers the EXIF sub-IFD 2 and the GPS IFD 3.
        IFD2: {
          DateTimeOriginal: '2024:05:06 07:08:09',
          OffsetTimeOriginal: '+02:00',
          LensModel: CAMERA.lensModel,
          ExposureTime: '1/125',
          FNumber: '18/10',
          ISOSpeedRatings: '200',
          FocalLength: '50/1',
        },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '48/1 51/1 2400/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '2/1 21/1 0/1',
        },
      })
      // libvips writes Orientation from the image's own orientation field, overriding IFD0, so set it there.
      .withMetadata({ orientation })
      .toBuffer()
  );
}

/** A JPEG carrying an XMP packet (with a location in it, as phones write). */
export async function jpegWithXmp(): Promise<Buffer> {
  const xmp =
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">' +
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description ' +
    'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N" exif:GPSLongitude="2,21.0E"/>' +
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>';
  return sharp({ create: { width: 160, height: 120, channels: 3, background: '#336699' } })
    .jpeg()
    .withXmp(xmp)
    .toBuffer();
}

/** A flat colour JPEG. */
export async function solidJpeg(colour: string, width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A 120×80 PNG whose left half is fully transparent and right half opaque red. */
export async function pngWithAlpha(width = 120, height = 80): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= width / 2) pixels.set([255, 0, 0, 255], (y * width + x) * 4);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** An opaque PNG of any size (a gradient, so it is not trivially compressible). */
export async function plainPng(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      pixels.set([(x * 255) / width, (y * 255) / height, 128], (y * width + x) * 3);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A 16-bit-per-channel RGB PNG: an orange-ish gradient with values no 8-bit file can hold. */
export async function png16(width = 64, height = 48): Promise<Buffer> {
  const pixels = new Uint16Array(width * height * 3);
  for (let i = 0; i < width * height; i++) pixels.set([65_535, 32_768 + (i % 7), 1_000 + (i % 13)], i * 3);
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

/** A CMYK JPEG of (what was) flat red, as print workflows produce. */
export async function cmykJpeg(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#ff0000' } })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toBuffer();
}

async function frames(width: number, height: number): Promise<Buffer[]> {
  return Promise.all(
    ['#ff0000', '#00ff00', '#0000ff'].map((background) =>
      sharp({ create: { width, height, channels: 4, background } })
        .png()
        .toBuffer(),
    ),
  );
}

/** A three-frame animated GIF: red, green, blue. */
export async function animatedGif(width = 40, height = 30): Promise<Buffer> {
  return sharp(await frames(width, height), { join: { animated: true } })
    .gif()
    .toBuffer();
}

/** A three-frame animated WebP: red, green, blue. */
export async function animatedWebp(width = 40, height = 30): Promise<Buffer> {
  return sharp(await frames(width, height), { join: { animated: true } })
    .webp({ lossless: true })
    .toBuffer();
}

/** A flat green AVIF. */
export async function avif(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#00ff00' } })
    .avif({ effort: 0 })
    .toBuffer();
}

/** A flat blue TIFF. */
export async function tiff(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#0000ff' } })
    .tiff()
    .toBuffer();
}

/** A flat WebP. */
export async function webp(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#ffff00' } })
    .webp()
    .toBuffer();
}

/** An SVG with text, prefixed by a BOM and whitespace the way editors save them. */
export function svgText(): Buffer {
  return Buffer.from(
    '\uFEFF\n  <?xml version="1.0" encoding="UTF-8"?>\n' +
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text x="10" y="30">hello</text></svg>',
  );
}

/** A text file someone named `.jpg`. */
export function textNamedJpg(): { name: string; bytes: Buffer } {
  return { name: 'holiday.jpg', bytes: Buffer.from('This is a shopping list, not a photograph.\n') };
}

/** No bytes at all. */
export function zeroBytes(): Buffer {
  return Buffer.alloc(0);
}

/** A 2×2 24-bit BMP, written by hand (sharp has no BMP encoder). */
export function bmp(): Buffer {
  const rowBytes = 8; // 2 pixels × 3 bytes, padded to a multiple of 4
  const pixelBytes = rowBytes * 2;
  const file = Buffer.alloc(54 + pixelBytes);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  file.writeInt32LE(2, 18);
  file.writeInt32LE(2, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(pixelBytes, 34);
  return file;
}

/** A HEIC-branded ISO-BMFF header (no AVIF brand): recognisable, not accepted. */
export function heicHeader(): Buffer {
  const box = Buffer.alloc(24);
  box.writeUInt32BE(24, 0);
  box.write('ftypheic', 4, 'latin1');
  box.write('mif1heic', 16, 'latin1');
  return box;
}

/** A small pseudo-random generator, so generated images are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Photo-like pixels: smooth gradients with grain, so encoders do real work (flat colour compresses to
 * nothing and would flatter any pipeline). `amplitude` is the grain's range in levels.
 */
export function photoLikePixels(width: number, height: number, channels: 3 | 4, amplitude = 24): Buffer {
  const random = seededRandom(width * 31 + height);
  const pixels = Buffer.alloc(width * height * channels);
  let i = 0;
  for (let y = 0; y < height; y++) {
    const fy = y / height;
    for (let x = 0; x < width; x++) {
      const fx = x / width;
      // Grain for the encoders' fine detail, ripples for detail that survives downscaling.
      const grain = (random() - 0.5) * amplitude + 18 * Math.sin(x / 23) * Math.cos(y / 31);
      pixels[i++] = 40 + 170 * fx + grain;
      pixels[i++] = 60 + 150 * fy + grain;
      pixels[i++] = 200 - 120 * fx * fy + grain;
      if (channels === 4) pixels[i++] = 255 * (0.25 + 0.75 * fx);
    }
  }
  return pixels;
}

/** A large photo-like JPEG (quality 90), e.g. 4000×3000 for the benchmark. */
export async function largeJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(photoLikePixels(width, height, 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** A large photo-like PNG with a varying alpha channel. */
export async function largePngWithAlpha(width: number, height: number): Promise<Buffer> {
  return sharp(photoLikePixels(width, height, 4), { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/**
 * A real AVIF whose `iinf` box claims 65,535 items: libheif refuses it with a "Memory allocation error:
 * Security limit exceeded", worded like running out of memory though the file is at fault.
 */
export async function avifWithAbsurdItemCount(): Promise<Buffer> {
  const avif = Buffer.from(
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#446688' } })
      .avif()
      .toBuffer(),
  );
  // Box: size (4), type `iinf` (4), version (1) and flags (3), then a 16-bit entry count in version 0.
  const box = avif.indexOf('iinf') - 4;
  if (box < 0 || avif[box + 8] !== 0) throw new Error('unexpected AVIF layout');
  avif.writeUInt16BE(0xffff, box + 12);
  return avif;
}

/** The first half of a valid, grainy JPEG: the scan data stops mid-stream. */
export async function truncatedJpeg(): Promise<Buffer> {
  const whole = await largeJpeg(320, 240);
  return whole.subarray(0, Math.floor(whole.length / 2));
}

/**
 * A decompression bomb: a real 1×1 PNG whose IHDR is patched to claim `side × side` pixels, with the
 * chunk CRC recomputed so the header is valid. Decoding it would need gigabytes; it must be refused from
 * the header alone.
 */
export async function pngBomb(side = 50_000): Promise<Buffer> {
  const png = Buffer.from(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer(),
  );
  // Signature (8) then the IHDR chunk: length (4), type (4) at 12, data (13) at 16, CRC (4) at 29.
  png.writeUInt32BE(side, 16);
  png.writeUInt32BE(side, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** An RGBA pixel read back from an encoded image. */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

/** Decodes `image` and reads the pixel at a fractional position (0–1 on each axis), as RGBA. */
export async function pixelAt(image: Buffer, fx: number, fy: number): Promise<Rgba> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = Math.min(info.width - 1, Math.round(fx * (info.width - 1)));
  const y = Math.min(info.height - 1, Math.round(fy * (info.height - 1)));
  const at = (y * info.width + x) * 4;
  return { r: data[at] ?? 0, g: data[at + 1] ?? 0, b: data[at + 2] ?? 0, a: data[at + 3] ?? 0 };
}

/** Whether a pixel is within `tolerance` levels of a colour on every channel. */
export function isNear(pixel: Rgb, colour: Rgb, tolerance = 40): boolean {
  return (
    Math.abs(pixel.r - colour.r) <= tolerance &&
    Math.abs(pixel.g - colour.g) <= tolerance &&
    Math.abs(pixel.b - colour.b) <= tolerance
  );
}

/* ---- Colour test set and real-world corpus (issue 10). ---- */

/**
 * A PNG chunk: length, type, data and the CRC of type and data (PNG spec, section 5.3). Written here from the
 * spec on purpose, not imported from shared/image/source.ts (whose `pngWithProfile` frames chunks the same
 * way): the colour test set's tagged inputs must not be built by the code they test, and the tests need chunks
 * production never writes (gAMA, hostile iCCP).
 */
function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** Inserts chunks right after a PNG's IHDR (where iCCP and gAMA must come, before PLTE and IDAT). */
export function pngWithChunks(png: Buffer, chunks: { type: string; data: Buffer }[]): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4;
  const extra = chunks.map((c) => pngChunk(c.type, c.data));
  return Buffer.concat([png.subarray(0, ihdrEnd), ...extra, png.subarray(ihdrEnd)]);
}

/** An `iCCP` chunk's fields: name, NUL, compression method 0, the profile deflated. */
export function iccpChunk(icc: Buffer): { type: string; data: Buffer } {
  return { type: 'iCCP', data: Buffer.concat([Buffer.from('icc\0\0', 'latin1'), deflateSync(icc)]) };
}

/** The Display P3 profile sharp (libvips) carries, as bytes. */
export async function displayP3Profile(): Promise<Buffer> {
  const tagged = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .withIccProfile('p3')
    .png()
    .toBuffer();
  const { icc } = await sharp(tagged).metadata();
  if (!icc) throw new Error('sharp wrote no P3 profile');
  return icc;
}

export type PatchFormat = 'png8' | 'png16' | 'tiff8' | 'tiff16' | 'jpeg';

/**
 * A file of flat patches side by side (`patchWidth` each), holding exactly the `device` values given and
 * tagged with `icc` without any conversion: what a camera or editor writes in that profile. `device`
 * values are 0–255 for 8-bit formats and 0–65535 for 16-bit ones; one value per patch means grey.
 */
export async function taggedPatches(
  format: PatchFormat,
  device: readonly (readonly number[])[],
  icc: Buffer,
  patchWidth = 96,
  height = 64,
): Promise<Buffer> {
  const channels = (device[0]?.length ?? 3) as 1 | 3;
  const sixteen = format === 'png16' || format === 'tiff16';
  const width = patchWidth * device.length;
  const pixels = sixteen
    ? new Uint16Array(width * height * channels)
    : new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      pixels.set(device[Math.floor(x / patchWidth)] ?? [], (y * width + x) * channels);
  }
  const space = channels === 1 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  const png = await sharp(pixels, { raw: { width, height, channels } }).toColourspace(space).png().toBuffer();
  const tagged = pngWithChunks(png, [iccpChunk(icc)]);
  if (format === 'png8' || format === 'png16') return tagged;
  // keepIccProfile: sharp then applies no transform and writes the same profile.
  const kept = sharp(tagged).keepIccProfile().toColourspace(space);
  if (format === 'jpeg') return kept.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  return kept.tiff({ compression: 'lzw' }).toBuffer();
}

/**
 * The issue's `border.gif`: a 256×192 light grey frame with a red rectangle, drawn at (32,24) on a
 * declared 320×240 canvas, no transparency anywhere. sharp writes the frame; the logical screen and the
 * image descriptor's position are then set as a GIF encoder with offsets writes them (GIF89a, 18 and 20).
 */
export async function gifFrameSmallerThanCanvas(): Promise<Buffer> {
  const width = 256;
  const height = 192;
  const pixels = Buffer.alloc(width * height * 3, 200);
  for (let y = 40; y <= 152; y++)
    for (let x = 60; x <= 196; x++) pixels.set([255, 0, 0], (y * width + x) * 3);
  const gif = Buffer.from(
    await sharp(pixels, { raw: { width, height, channels: 3 } })
      .gif()
      .toBuffer(),
  );
  gif.writeUInt16LE(320, 6);
  gif.writeUInt16LE(240, 8);
  const packed = gif[10] ?? 0;
  let at = 13 + (packed & 0x80 ? 3 * 2 ** ((packed & 7) + 1) : 0);
  while (gif[at] === 0x21) {
    at += 2;
    while ((gif[at] ?? 0) !== 0) at += (gif[at] ?? 0) + 1;
    at++;
  }
  if (gif[at] !== 0x2c) throw new Error('no image descriptor');
  gif.writeUInt16LE(32, at + 1);
  gif.writeUInt16LE(24, at + 3);
  return gif;
}

/** A PNG with a `gAMA` chunk (gamma × 100000) and no `sRGB` or `iCCP`: flat grey of stored value `level`. */
export async function pngWithGama(gamma: number, level: number): Promise<Buffer> {
  const png = await sharp({
    create: { width: 32, height: 32, channels: 3, background: { r: level, g: level, b: level } },
  })
    .png()
    .toBuffer();
  const data = Buffer.alloc(4);
  data.writeUInt32BE(Math.round(gamma * 100_000), 0);
  return pngWithChunks(png, [{ type: 'gAMA', data }]);
}
