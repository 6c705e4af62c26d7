import type { VariantFormat, VariantSpec } from '../variants.ts';

/**
 * Longest side each encoder can write. WebP's is 16,383 px: a 1000 × 40,000 strip (a long screenshot, a
 * webtoon) would otherwise plan a 480 × 19,200 `small` that libwebp refuses, and the render would fail
 * on every retry.
 */
export const MAX_OUTPUT_SIDE: Record<VariantFormat, number> = {
  webp: 16_383,
  avif: 16_384,
  jpeg: 65_535,
  png: 65_535,
};

/** One variant that will be rendered, with the exact size it will have. */
export interface PlannedVariant {
  spec: VariantSpec;
  width: number;
  height: number;
  /** Output size over source size on the axis that decides it; never more than 1. */
  scale: number;
  /** Whether the whole source fits the variant's box (so the variant would not be smaller than it). */
  fitsWhole: boolean;
}

/** What to render for one source, and the one size to decode the source at. */
export interface RenderPlan {
  variants: PlannedVariant[];
  /** Size of the single decoded intermediate: just large enough for the largest variant. */
  decodeWidth: number;
  decodeHeight: number;
}

function clampSide(value: number, max: number): number {
  return Math.min(max, Math.max(1, Math.round(value)));
}

/**
 * `cover` (the thumbnail): exactly the requested box when the source can fill it; otherwise the largest
 * box of the same shape that fits inside the source, so a 100×80 source gets an 80×80 square thumbnail
 * rather than an upscaled one.
 */
function planCover(spec: VariantSpec, width: number, height: number): PlannedVariant {
  const boxHeight = spec.height ?? spec.width;
  const fit = Math.min(1, width / spec.width, height / boxHeight);
  const outWidth = clampSide(spec.width * fit, width);
  const outHeight = clampSide(boxHeight * fit, height);
  const scale = Math.max(outWidth / width, outHeight / height);
  return { spec, width: outWidth, height: outHeight, scale, fitsWhole: fit >= 1 };
}

/** The largest scale at which the encoder of `spec` can still write the source's longer side. */
function sideLimit(spec: VariantSpec, width: number, height: number): number {
  return MAX_OUTPUT_SIDE[spec.format] / Math.max(width, height);
}

/** `inside` at a given scale (capped at 1 and at what the encoder can write), aspect ratio kept. */
function insideAt(spec: VariantSpec, width: number, height: number, boxScale: number): PlannedVariant {
  const scale = Math.min(1, boxScale, sideLimit(spec, width, height));
  return {
    spec,
    width: clampSide(width * scale, width),
    height: clampSide(height * scale, height),
    scale,
    fitsWhole: boxScale >= 1,
  };
}

/** `inside`: the source scaled to fit the box, aspect ratio kept. */
function planInside(spec: VariantSpec, width: number, height: number): PlannedVariant {
  const boxScale = Math.min(
    spec.width / width,
    spec.height === undefined ? Number.POSITIVE_INFINITY : spec.height / height,
  );
  return insideAt(spec, width, height, boxScale);
}

/**
 * Decides which variants a source gets and at what size. Never upscales:
 *
 * - An `inside` variant is skipped when the source is not larger than its box on the constraining side:
 *   it would only repeat the source under a name that promises a size it does not have (a 1500-wide
 *   source gets `small` and `medium` but no `large`).
 * - Except when that would skip every `inside` variant: then the smallest one is kept, at the source's
 *   own size, so every image still has a full, metadata-free picture (a 100×80 source gets a 100×80
 *   `small`, and no 480-wide one).
 * - `cover` variants are always rendered, shrunk to fit the source when it is smaller than the box.
 *
 * The decode size is the largest size any variant needs, so the source is decoded once, no larger than
 * necessary (JPEG and WebP then decode at a reduced scale), and the largest variant is encoded from it
 * without a second resize.
 */
export function planVariants(specs: readonly VariantSpec[], width: number, height: number): RenderPlan {
  const candidates = specs.map((spec) =>
    spec.fit === 'cover' ? planCover(spec, width, height) : planInside(spec, width, height),
  );
  const inside = candidates.filter((candidate) => candidate.spec.fit === 'inside');
  const keptWhole = inside.every((candidate) => candidate.fitsWhole)
    ? inside.reduce<PlannedVariant | undefined>(
        (smallest, c) => (smallest && smallest.spec.width <= c.spec.width ? smallest : c),
        undefined,
      )
    : undefined;
  const variants = candidates
    .filter((candidate) => candidate.spec.fit === 'cover' || !candidate.fitsWhole || candidate === keptWhole)
    .map((candidate) => (candidate === keptWhole ? insideAt(candidate.spec, width, height, 1) : candidate));
  const decodeScale = Math.min(1, Math.max(0, ...variants.map((variant) => variant.scale)));
  return {
    variants,
    decodeWidth: decodeScale >= 1 ? width : clampSide(width * decodeScale, width),
    decodeHeight: decodeScale >= 1 ? height : clampSide(height * decodeScale, height),
  };
}
