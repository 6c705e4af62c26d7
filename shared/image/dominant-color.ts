/** Bits kept per channel when binning colours: 4 gives 4096 bins, coarse enough to merge noise. */
const BITS = 4;
const SHIFT = 8 - BITS;
const BINS = 1 << (3 * BITS);

function hex(value: number): string {
  return Math.round(value).toString(16).padStart(2, '0');
}

/**
 * The most common colour of an RGBA image (non-premultiplied), as `#rrggbb`. Pixels are binned by
 * colour and weighted by opacity, so transparent areas do not vote; the answer is the mean of the
 * winning bin rather than its centre, so a flat red image answers `#ff0000`, not `#f80808`. A fully
 * transparent image has no colour to speak of and answers black.
 */
export function dominantColorOf(rgba: Uint8Array): string {
  const weight = new Float64Array(BINS);
  const red = new Float64Array(BINS);
  const green = new Float64Array(BINS);
  const blue = new Float64Array(BINS);
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    const r = rgba[i] ?? 0;
    const g = rgba[i + 1] ?? 0;
    const b = rgba[i + 2] ?? 0;
    const a = (rgba[i + 3] ?? 0) / 255;
    if (a === 0) continue;
    const bin = ((r >> SHIFT) << (2 * BITS)) | ((g >> SHIFT) << BITS) | (b >> SHIFT);
    weight[bin] = (weight[bin] ?? 0) + a;
    red[bin] = (red[bin] ?? 0) + r * a;
    green[bin] = (green[bin] ?? 0) + g * a;
    blue[bin] = (blue[bin] ?? 0) + b * a;
  }
  let best = -1;
  let bestWeight = 0;
  for (let bin = 0; bin < BINS; bin++) {
    const w = weight[bin] ?? 0;
    if (w > bestWeight) {
      best = bin;
      bestWeight = w;
    }
  }
  if (best < 0) return '#000000';
  return `#${hex((red[best] ?? 0) / bestWeight)}${hex((green[best] ?? 0) / bestWeight)}${hex((blue[best] ?? 0) / bestWeight)}`;
}
