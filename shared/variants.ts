import { ConfigError } from './errors.ts';

/** Output formats a variant may be encoded in. */
export type VariantFormat = 'webp' | 'avif' | 'jpeg' | 'png';

/** How a variant is fitted: `cover` crops to exactly width × height, `inside` keeps the aspect ratio. */
export type VariantFit = 'cover' | 'inside';

/** One variant to render for every image. */
export interface VariantSpec {
  /** URL-safe name; becomes the object's file name (`variants/{id}/{name}.{ext}`). */
  name: string;
  /** Target width in pixels (upper bound for `inside`). */
  width: number;
  /** Target height; required for `cover`, optional upper bound for `inside`. */
  height?: number;
  fit: VariantFit;
  format: VariantFormat;
  /** Encoder quality 1–100. */
  quality: number;
}

/** MIME type for each variant format. */
export const VARIANT_CONTENT_TYPES: Record<VariantFormat, string> = {
  webp: 'image/webp',
  avif: 'image/avif',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

/** The defaults from the API contract: a square thumbnail and three responsive widths, all WebP. */
export const DEFAULT_VARIANTS: readonly VariantSpec[] = Object.freeze([
  { name: 'thumb', width: 256, height: 256, fit: 'cover', format: 'webp', quality: 80 },
  { name: 'small', width: 480, fit: 'inside', format: 'webp', quality: 80 },
  { name: 'medium', width: 1024, fit: 'inside', format: 'webp', quality: 80 },
  { name: 'large', width: 2048, fit: 'inside', format: 'webp', quality: 80 },
]);

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MAX_DIMENSION = 8192;

function dimension(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_DIMENSION) {
    throw new ConfigError(`${where} must be an integer between 1 and ${MAX_DIMENSION}`);
  }
  return value;
}

/**
 * Parses and validates a variant list (the `VARIANTS` setting, JSON). Throws {@link ConfigError} with the
 * offending entry named, so a bad deployment fails at cold start rather than on the first image.
 */
export function parseVariantSpecs(json: string): VariantSpec[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`VARIANTS is not valid JSON: ${(cause as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 16) {
    throw new ConfigError('VARIANTS must be a JSON array of 1 to 16 variant objects');
  }
  const seen = new Set<string>();
  return raw.map((entry: unknown, index): VariantSpec => {
    const where = `VARIANTS[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${where} must be an object`);
    const e = entry as Record<string, unknown>;
    if (typeof e.name !== 'string' || !NAME_PATTERN.test(e.name)) {
      throw new ConfigError(`${where}.name must match ${NAME_PATTERN}`);
    }
    if (seen.has(e.name)) throw new ConfigError(`${where}.name "${e.name}" is used twice`);
    seen.add(e.name);
    const fit = e.fit ?? 'inside';
    if (fit !== 'cover' && fit !== 'inside')
      throw new ConfigError(`${where}.fit must be "cover" or "inside"`);
    const format = e.format ?? 'webp';
    if (typeof format !== 'string' || !(format in VARIANT_CONTENT_TYPES)) {
      throw new ConfigError(
        `${where}.format must be one of ${Object.keys(VARIANT_CONTENT_TYPES).join(', ')}`,
      );
    }
    const quality = e.quality ?? 80;
    if (typeof quality !== 'number' || !Number.isInteger(quality) || quality < 1 || quality > 100) {
      throw new ConfigError(`${where}.quality must be an integer between 1 and 100`);
    }
    const spec: VariantSpec = {
      name: e.name,
      width: dimension(e.width, `${where}.width`),
      fit,
      format: format as VariantFormat,
      quality,
    };
    if (e.height !== undefined) spec.height = dimension(e.height, `${where}.height`);
    if (fit === 'cover' && spec.height === undefined)
      throw new ConfigError(`${where}: "cover" needs a height`);
    return spec;
  });
}
