/**
 * Content sniffing from magic bytes. Pure and free of sharp on purpose: the upload function imports
 * {@link ACCEPTED_CONTENT_TYPES} from here and must never pay for loading libvips.
 */

/** Image formats the service accepts as originals. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';

/** MIME type of each accepted format; the only values a client may declare. */
export const ACCEPTED_CONTENT_TYPES: Record<ImageFormat, string> = Object.freeze({
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
});

/** How many leading bytes the sniffers look at; callers may pass just this much of a file. */
export const SNIFF_BYTES = 512;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** AVIF still images and AVIF image sequences; HEIC and friends share the container but not the brand. */
const AVIF_BRANDS = new Set(['avif', 'avis']);

function startsWith(head: Uint8Array, bytes: readonly number[], offset = 0): boolean {
  if (head.length < offset + bytes.length) return false;
  return bytes.every((byte, i) => head[offset + i] === byte);
}

function ascii(head: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...head.subarray(start, Math.min(end, head.length)));
}

/** Brands (major and compatible) of an ISO-BMFF file, or `undefined` when it has no leading `ftyp` box. */
function isoBrands(head: Uint8Array): string[] | undefined {
  if (head.length < 16 || ascii(head, 4, 8) !== 'ftyp') return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // The box size bounds the compatible-brand list; a lying size is clamped to what was read.
  const boxEnd = Math.min(view.getUint32(0), head.length);
  const brands = [ascii(head, 8, 12)];
  for (let offset = 16; offset + 4 <= boxEnd; offset += 4) brands.push(ascii(head, offset, offset + 4));
  return brands;
}

/**
 * The accepted image format the bytes really are, judged from magic numbers only (never from a declared
 * type or a file name); `undefined` for anything else.
 */
export function sniffImageFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, PNG_SIGNATURE)) return 'png';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  const gif = ascii(head, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  if (isoBrands(head)?.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  return undefined;
}

/** BITMAPINFOHEADER sizes of the BMP variants in use; checking one keeps "BM…" text from matching. */
const BMP_DIB_HEADER_SIZES = new Set([12, 40, 52, 56, 64, 108, 124]);

function isSvg(head: Uint8Array): boolean {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, SNIFF_BYTES));
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  text = text.trimStart().toLowerCase();
  if (!text.startsWith('<')) return false;
  // Markup that opens with an XML declaration, a doctype or a comment is SVG when an <svg element follows.
  return text.startsWith('<svg') || text.startsWith('<?xml') || text.includes('<svg');
}

/**
 * A recognisable file type the service refuses (SVG can carry scripts; the others are not accepted
 * inputs), as a short label for the rejection detail; `undefined` when the bytes are not recognised at all.
 */
export function sniffUnsupportedType(head: Uint8Array): string | undefined {
  if (isSvg(head)) return 'SVG';
  if (ascii(head, 0, 2) === 'BM' && head.length >= 18) {
    const dibSize = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(14, true);
    if (BMP_DIB_HEADER_SIZES.has(dibSize)) return 'BMP';
  }
  if (startsWith(head, [0x00, 0x00, 0x01, 0x00]) || startsWith(head, [0x00, 0x00, 0x02, 0x00])) return 'ICO';
  if (ascii(head, 0, 5) === '%PDF-') return 'PDF';
  if (ascii(head, 0, 4) === '8BPS') return 'PSD';
  if (ascii(head, 0, 4) === 'qoif') return 'QOI';
  if (startsWith(head, [0xff, 0x0a]) || ascii(head, 4, 8) === 'JXL ') return 'JPEG XL';
  if (ascii(head, 4, 8) === 'jP  ' || startsWith(head, [0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  if (ascii(head, 0, 10) === '#?RADIANCE' || ascii(head, 0, 6) === '#?RGBE') return 'Radiance HDR';
  if (startsWith(head, [0x76, 0x2f, 0x31, 0x01])) return 'OpenEXR';
  const brands = isoBrands(head);
  // Any other ISO-BMFF file: HEIC/HEIF without an AVIF brand, or a video.
  if (brands !== undefined) return `ISO-BMFF (${brands[0]?.trim() || 'unknown brand'})`;
  return undefined;
}
