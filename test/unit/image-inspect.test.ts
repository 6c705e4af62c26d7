import { createHash } from 'node:crypto';
import { thumbHashToApproximateAspectRatio } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { inspectImage } from '#shared/image/inspect.ts';
import * as images from '#test/support/images.ts';

const limits = { maxBytes: 25 * 1024 * 1024, maxInputPixels: 100_000_000 };

/** Every key of an object graph, at any depth. */
function allKeys(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => [key, ...allKeys(child)]);
}

function hexToRgb(hex: string) {
  return {
    r: Number.parseInt(hex.slice(1, 3), 16),
    g: Number.parseInt(hex.slice(3, 5), 16),
    b: Number.parseInt(hex.slice(5, 7), 16),
  };
}

describe('inspectImage', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'reports display dimensions for EXIF orientation %i',
    async (orientation) => {
      const result = await inspectImage(await images.orientedJpeg(orientation), limits);
      expect(result.orientation).toBe(orientation);
      expect({ width: result.width, height: result.height }).toEqual({
        width: images.PATTERN_WIDTH,
        height: images.PATTERN_HEIGHT,
      });
    },
  );

  it('swaps the stored axes of an orientation-6 JPEG and keeps its camera EXIF but no location', async () => {
    const stored = images.storedSize(6);
    const result = await inspectImage(await images.orientedJpeg(6), limits);
    expect(stored).toEqual({ width: 300, height: 200 });
    expect(result).toMatchObject({ format: 'jpeg', contentType: 'image/jpeg', width: 200, height: 300 });
    expect(result.exif).toMatchObject({
      orientation: 6,
      make: images.CAMERA.make,
      model: images.CAMERA.model,
      takenAt: images.CAMERA.takenAt,
    });
    expect(allKeys(result).filter((key) => /gps|latitude|longitude|location/i.test(key))).toEqual([]);
    // Nor a value that is one: the test position is 48°51'24" N, 2°21' E.
    expect(JSON.stringify(result.exif)).not.toMatch(/48|51|21/);
  });

  it('reports transparency of a PNG with alpha', async () => {
    const result = await inspectImage(await images.pngWithAlpha(), limits);
    expect(result).toMatchObject({ format: 'png', hasAlpha: true, width: 120, height: 80, pages: 1 });
  });

  it.each([
    ['16-bit PNG', () => images.png16(), 'png', 1],
    ['CMYK JPEG', () => images.cmykJpeg(), 'jpeg', 1],
    ['animated GIF', () => images.animatedGif(), 'gif', 3],
    ['animated WebP', () => images.animatedWebp(), 'webp', 3],
    ['AVIF', () => images.avif(), 'avif', 1],
    ['TIFF', () => images.tiff(), 'tiff', 1],
  ] as const)('inspects a %s', async (_name, make, format, pages) => {
    const result = await inspectImage(await make(), limits);
    expect(result.format).toBe(format);
    expect(result.contentType).toBe(`image/${format}`);
    expect(result.pages).toBe(pages);
    expect(result.width).toBeGreaterThan(0);
    expect(result.height).toBeGreaterThan(0);
  });

  it('reports the first frame size, not the strip of frames, for an animation', async () => {
    const result = await inspectImage(await images.animatedGif(40, 30), limits);
    expect({ width: result.width, height: result.height }).toEqual({ width: 40, height: 30 });
  });

  it('hashes the original bytes with SHA-256 and counts them', async () => {
    const bytes = await images.solidJpeg('#123456');
    const result = await inspectImage(bytes, limits);
    expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(result.bytes).toBe(bytes.length);
  });

  it('accepts a Uint8Array as well as a Buffer', async () => {
    const bytes = new Uint8Array(await images.solidJpeg('#123456'));
    await expect(inspectImage(bytes, limits)).resolves.toMatchObject({ format: 'jpeg' });
  });

  it('finds red as the dominant colour of a red image', async () => {
    const { dominantColor } = await inspectImage(await images.solidJpeg('#ff0000'), limits);
    expect(dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(images.isNear(hexToRgb(dominantColor), images.RED, 8)).toBe(true);
  });

  it('ignores transparent pixels when choosing the dominant colour', async () => {
    const { dominantColor } = await inspectImage(await images.pngWithAlpha(), limits);
    expect(dominantColor).toBe('#ff0000');
  });

  it.each([
    ['landscape', 320, 80],
    ['portrait', 60, 240],
  ])('makes a ThumbHash placeholder with the %s aspect ratio', async (_name, width, height) => {
    const { placeholder } = await inspectImage(await images.plainPng(width, height), limits);
    expect(placeholder).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const hash = Buffer.from(placeholder, 'base64');
    expect(hash.length).toBeGreaterThan(4);
    // ThumbHash stores the aspect ratio coarsely; a quarter off is still the right shape.
    const ratio = thumbHashToApproximateAspectRatio(hash) / (width / height);
    expect(ratio).toBeGreaterThan(0.75);
    expect(ratio).toBeLessThan(1.33);
  });

  it('reports orientation 1 and empty EXIF for an image without EXIF', async () => {
    const result = await inspectImage(await images.plainPng(10, 10), limits);
    expect(result.orientation).toBe(1);
    expect(result.exif).toEqual({});
  });
});
