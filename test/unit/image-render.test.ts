import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageRejectedError } from '#shared/errors.ts';
import { decodeSource } from '#shared/image/decode.ts';
import { type RenderedVariant, renderVariants } from '#shared/image/render.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';
import * as images from '#test/support/images.ts';

const limits = { maxInputPixels: 100_000_000 };

function spec(name: string, width: number, extra: Partial<VariantSpec> = {}): VariantSpec {
  return { name, width, fit: 'inside', format: 'webp', quality: 80, ...extra };
}

/** Several sizes, fits and encoders, all smaller than the 200×300 orientation pattern. */
const MIXED: VariantSpec[] = [
  spec('thumb', 64, { height: 64, fit: 'cover' }),
  spec('w150', 150),
  spec('w100-avif', 100, { format: 'avif' }),
  spec('w120-jpeg', 120, { format: 'jpeg', quality: 90 }),
  spec('w80-png', 80, { format: 'png' }),
];

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ImageRejectedError) return error.code;
    throw error;
  }
  throw new Error('the image was rendered');
}

function expectConsistent(variant: RenderedVariant): void {
  expect(variant.bytes).toBe(variant.body.length);
  expect(variant.bytes).toBeGreaterThan(0);
}

describe('renderVariants', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'renders orientation %i upright in every variant',
    async (orientation) => {
      const variants = await renderVariants(await images.orientedJpeg(orientation), MIXED, limits);
      expect(variants.map((v) => v.name)).toEqual(MIXED.map((s) => s.name));
      for (const variant of variants) {
        expectConsistent(variant);
        const meta = await sharp(variant.body).metadata();
        expect({ width: meta.width, height: meta.height }).toEqual({
          width: variant.width,
          height: variant.height,
        });
        // Bottom-left green and bottom-right blue catch mirrors, half-turns and quarter-turns alike.
        expect(images.isNear(await images.pixelAt(variant.body, 0.2, 0.9), images.GREEN)).toBe(true);
        expect(images.isNear(await images.pixelAt(variant.body, 0.8, 0.9), images.BLUE)).toBe(true);
        if (variant.name === 'thumb') {
          expect(variant.width).toBe(variant.height);
          continue;
        }
        expect(images.isNear(await images.pixelAt(variant.body, 0.5, 0.1), images.RED)).toBe(true);
        // Display aspect (portrait 2:3), not the stored one.
        expect(variant.height / variant.width).toBeCloseTo(images.PATTERN_HEIGHT / images.PATTERN_WIDTH, 1);
      }
    },
  );

  it('writes no EXIF, XMP or IPTC into any variant', async () => {
    for (const source of [await images.orientedJpeg(6), await images.jpegWithXmp()]) {
      const sourceMeta = await sharp(source).metadata();
      expect(sourceMeta.exif ?? sourceMeta.xmp).toBeDefined();
      for (const variant of await renderVariants(source, MIXED, limits)) {
        const meta = await sharp(variant.body).metadata();
        expect(meta.exif).toBeUndefined();
        expect(meta.xmp).toBeUndefined();
        expect(meta.iptc).toBeUndefined();
        expect(meta.orientation).toBeUndefined();
      }
    }
  });

  it('keeps transparency in WebP, AVIF and PNG, and flattens JPEG on white', async () => {
    const variants = await renderVariants(await images.pngWithAlpha(), MIXED, limits);
    for (const variant of variants) {
      const meta = await sharp(variant.body).metadata();
      const transparent = await images.pixelAt(variant.body, 0.1, 0.5);
      const opaque = await images.pixelAt(variant.body, 0.9, 0.5);
      expect(images.isNear(opaque, images.RED)).toBe(true);
      if (variant.format === 'jpeg') {
        expect(meta.hasAlpha).toBe(false);
        expect(images.isNear(transparent, { r: 255, g: 255, b: 255 }, 10)).toBe(true);
      } else {
        expect(meta.hasAlpha).toBe(true);
        expect(transparent.a).toBeLessThanOrEqual(2);
        expect(opaque.a).toBeGreaterThanOrEqual(250);
      }
    }
  });

  it('never upscales: a 100×80 PNG gets a thumb and a source-size variant only', async () => {
    const variants = await renderVariants(await images.plainPng(100, 80), DEFAULT_VARIANTS, limits);
    expect(variants.map((v) => `${v.name}:${v.width}x${v.height}`)).toEqual(['thumb:80x80', 'small:100x80']);
    for (const variant of variants) {
      expect(variant.width).toBeLessThanOrEqual(100);
      expect(variant.height).toBeLessThanOrEqual(80);
    }
  });

  it('renders the default variants of a large photo at their exact sizes', async () => {
    const variants = await renderVariants(await images.largeJpeg(2400, 1600), DEFAULT_VARIANTS, limits);
    expect(variants.map((v) => `${v.name}:${v.width}x${v.height}:${v.format}`)).toEqual([
      'thumb:256x256:webp',
      'small:480x320:webp',
      'medium:1024x683:webp',
      'large:2048x1365:webp',
    ]);
    for (const variant of variants) {
      expectConsistent(variant);
      expect(variant).toMatchObject({ contentType: 'image/webp', extension: 'webp' });
      expect((await sharp(variant.body).metadata()).format).toBe('webp');
    }
  });

  it('converts a CMYK JPEG to sRGB with its colour', async () => {
    const [variant] = await renderVariants(await images.cmykJpeg(), [spec('w32', 32)], limits);
    if (variant === undefined) throw new Error('no variant');
    const meta = await sharp(variant.body).metadata();
    expect(meta.space).toBe('srgb');
    expect([3, 4]).toContain(meta.channels);
    const pixel = await images.pixelAt(variant.body, 0.5, 0.5);
    // Red through a CMYK round trip comes back a slightly darker red (print gamut), never cyan-ish.
    expect(pixel.r).toBeGreaterThan(180);
    expect(pixel.g).toBeLessThan(60);
    expect(pixel.b).toBeLessThan(60);
  });

  it('renders a 16-bit PNG to 8-bit output with its colour', async () => {
    const [variant] = await renderVariants(
      await images.png16(),
      [spec('w32', 32, { format: 'png' })],
      limits,
    );
    if (variant === undefined) throw new Error('no variant');
    const meta = await sharp(variant.body).metadata();
    expect(meta.depth).toBe('uchar');
    expect(images.isNear(await images.pixelAt(variant.body, 0.5, 0.5), { r: 255, g: 128, b: 4 }, 3)).toBe(
      true,
    );
  });

  it.each([
    ['GIF', () => images.animatedGif()],
    ['WebP', () => images.animatedWebp()],
  ])('renders the first frame of an animated %s as a still', async (_name, make) => {
    const [variant] = await renderVariants(await make(), [spec('w20', 20)], limits);
    if (variant === undefined) throw new Error('no variant');
    const meta = await sharp(variant.body).metadata();
    expect(meta.pages ?? 1).toBe(1);
    expect({ width: variant.width, height: variant.height }).toEqual({ width: 20, height: 15 });
    expect(images.isNear(await images.pixelAt(variant.body, 0.5, 0.5), images.RED)).toBe(true);
  });

  it('encodes an AVIF variant when the spec asks for one', async () => {
    const [variant] = await renderVariants(
      await images.tiff(),
      [spec('a', 32, { format: 'avif', quality: 60 })],
      limits,
    );
    expect(variant).toMatchObject({
      format: 'avif',
      contentType: 'image/avif',
      extension: 'avif',
      width: 32,
    });
    if (variant === undefined) throw new Error('no variant');
    expect((await sharp(variant.body).metadata()).compression).toBe('av1');
    expectConsistent(variant);
  });

  it('uses the jpg extension for JPEG variants', async () => {
    const [variant] = await renderVariants(await images.avif(), [spec('j', 32, { format: 'jpeg' })], limits);
    expect(variant).toMatchObject({ format: 'jpeg', contentType: 'image/jpeg', extension: 'jpg' });
  });

  it('decodes the source exactly once for all variants, at the largest variant size', async () => {
    const decodes: Array<{ width: number; height: number }> = [];
    const source = await images.largeJpeg(3000, 2000);
    const variants = await renderVariants(source, DEFAULT_VARIANTS, limits, {
      onDecode: (target) => decodes.push(target),
    });
    expect(variants).toHaveLength(4);
    expect(decodes).toEqual([{ width: 2048, height: 1365 }]);

    // The counter is live, not a constant: decoding again directly counts again.
    await decodeSource(source, { width: 300, height: 200, resize: true }, limits.maxInputPixels, (target) =>
      decodes.push(target),
    );
    expect(decodes).toHaveLength(2);
  });

  it('does not decode at all when there is nothing to render', async () => {
    let decodes = 0;
    expect(
      await renderVariants(await images.plainPng(10, 10), [], limits, { onDecode: () => decodes++ }),
    ).toEqual([]);
    expect(decodes).toBe(0);
  });

  it('refuses sources that inspection would refuse, with the same codes', async () => {
    expect(await rejectionCode(renderVariants(await images.truncatedJpeg(), DEFAULT_VARIANTS, limits))).toBe(
      'CORRUPT_IMAGE',
    );
    expect(await rejectionCode(renderVariants(await images.pngBomb(), DEFAULT_VARIANTS, limits))).toBe(
      'TOO_MANY_PIXELS',
    );
    expect(await rejectionCode(renderVariants(images.svgText(), DEFAULT_VARIANTS, limits))).toBe(
      'UNSUPPORTED_FORMAT',
    );
  });
});

describe('renderVariants on a very tall strip', () => {
  it('renders within the encoder limits instead of failing on every retry', async () => {
    const strip = await images.plainPng(600, 24_000);
    const variants = await renderVariants(strip, DEFAULT_VARIANTS, { maxInputPixels: 100_000_000 });
    expect(variants.length).toBeGreaterThan(1);
    for (const variant of variants)
      expect(Math.max(variant.width, variant.height)).toBeLessThanOrEqual(16_383);
  });
});
