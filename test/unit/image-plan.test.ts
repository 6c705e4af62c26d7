import { describe, expect, it } from 'vitest';
import { planVariants } from '#shared/image/plan.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';

function sizes(width: number, height: number, specs: readonly VariantSpec[] = DEFAULT_VARIANTS) {
  const plan = planVariants(specs, width, height);
  return {
    variants: Object.fromEntries(plan.variants.map((v) => [v.spec.name, `${v.width}x${v.height}`])),
    decode: `${plan.decodeWidth}x${plan.decodeHeight}`,
  };
}

describe('planVariants', () => {
  it('renders every default variant of a 12 MP photo and decodes it at the largest variant size', () => {
    expect(sizes(4000, 3000)).toEqual({
      variants: { thumb: '256x256', small: '480x360', medium: '1024x768', large: '2048x1536' },
      decode: '2048x1536',
    });
  });

  it('fits portraits by width (inside boxes have no height bound by default)', () => {
    expect(sizes(3000, 4000).variants).toMatchObject({ large: '2048x2731' });
  });

  it('skips variants the source is not larger than', () => {
    expect(sizes(1500, 1000)).toEqual({
      variants: { thumb: '256x256', small: '480x320', medium: '1024x683' },
      decode: '1024x683',
    });
    // Equal is not larger: a 1024-wide source gets no re-encoded 1024-wide copy named "medium".
    expect(Object.keys(sizes(1024, 768).variants)).toEqual(['thumb', 'small']);
  });

  it('keeps the smallest inside variant at source size, and a shrunken thumb, for a tiny source', () => {
    expect(sizes(100, 80)).toEqual({ variants: { thumb: '80x80', small: '100x80' }, decode: '100x80' });
  });

  it('keeps that variant in its declared position', () => {
    const specs: VariantSpec[] = [
      { name: 'big', width: 2000, fit: 'inside', format: 'webp', quality: 80 },
      { name: 'square', width: 64, height: 64, fit: 'cover', format: 'webp', quality: 80 },
      { name: 'tiny', width: 300, fit: 'inside', format: 'webp', quality: 80 },
    ];
    expect(planVariants(specs, 200, 150).variants.map((v) => v.spec.name)).toEqual(['square', 'tiny']);
  });

  it('never plans a variant larger than the source on either side', () => {
    for (const [width, height] of [
      [1, 1],
      [100, 80],
      [80, 100],
      [257, 3000],
      [5000, 200],
      [2048, 2048],
    ] as const) {
      for (const variant of planVariants(DEFAULT_VARIANTS, width, height).variants) {
        expect(variant.width).toBeLessThanOrEqual(width);
        expect(variant.height).toBeLessThanOrEqual(height);
        expect(variant.width).toBeGreaterThanOrEqual(1);
        expect(variant.height).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('honours the height bound of an inside box', () => {
    const specs: VariantSpec[] = [
      { name: 'box', width: 1000, height: 500, fit: 'inside', format: 'webp', quality: 80 },
    ];
    expect(sizes(4000, 4000, specs).variants).toEqual({ box: '500x500' });
  });

  it('decodes large enough for the thumbnail crop when that is the largest need', () => {
    const specs: VariantSpec[] = [
      { name: 'thumb', width: 256, height: 256, fit: 'cover', format: 'webp', quality: 80 },
    ];
    // A panorama: covering 256×256 needs the full 256 rows, so 1024 columns.
    expect(sizes(4000, 1000, specs)).toEqual({ variants: { thumb: '256x256' }, decode: '1024x256' });
  });

  it('keeps a very tall strip within what WebP can encode (16,383 px a side)', () => {
    // A 1000 × 40,000 webtoon: 480 wide would be 19,200 tall, which libwebp refuses.
    const plan = sizes(1000, 40_000);
    expect(plan.variants).toEqual({ thumb: '256x256', small: '410x16383' });
    // Narrow and tall: every box fits the width, so the kept variant is the source scaled to the limit.
    expect(sizes(100, 40_000).variants).toMatchObject({ small: '41x16383' });
  });

  it('plans nothing for no specs', () => {
    expect(planVariants([], 100, 100).variants).toEqual([]);
  });
});
