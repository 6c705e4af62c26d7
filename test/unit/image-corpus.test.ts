import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageRejectedError } from '#shared/errors.ts';
import { inspectImage } from '#shared/image/inspect.ts';
import { renderVariants } from '#shared/image/render.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';
import * as images from '#test/support/images.ts';

/**
 * A generated real-world corpus (issue 10): one small file per kind that once went wrong and per kind
 * that already works, each taken through inspection and rendering as the pipeline does, so a regression
 * in any of them fails CI.
 */

const limits = { maxBytes: 50_000_000, maxInputPixels: 100_000_000 };
const SPECS: VariantSpec[] = [
  ...DEFAULT_VARIANTS,
  { name: 'avif', width: 200, fit: 'inside', format: 'avif', quality: 60 },
  { name: 'png', width: 120, fit: 'inside', format: 'png', quality: 80 },
];

async function rejection(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof ImageRejectedError) return error.code;
    throw error;
  }
  return 'accepted';
}

/** Mean absolute difference per channel value between two encoded images of the same size. */
async function meanAbsoluteDifference(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((i) => sharp(i).ensureAlpha().raw().toBuffer()));
  if (!x || !y || x.length !== y.length) throw new Error('sizes differ');
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs((x[i] ?? 0) - (y[i] ?? 0));
  return sum / x.length;
}

/** A pixel at absolute coordinates of an encoded image, RGBA. */
async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * 4;
  return [...data.subarray(at, at + 4)];
}

/** A RIFF chunk: FourCC, little-endian size, payload, padded to even length (WebP container spec). */
function riffChunk(fourCc: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourCc, 0, 'latin1');
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload, Buffer.alloc(payload.length % 2)]);
}

function uint24(value: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE(value, 0, 3);
  return b;
}

/** The VP8L chunk of a lossless WebP sharp writes for a flat colour (simple file format). */
async function vp8lChunk(width: number, height: number, background: string): Promise<Buffer> {
  const webp = await sharp({ create: { width, height, channels: 3, background } })
    .webp({ lossless: true })
    .toBuffer();
  expect(webp.toString('latin1', 12, 16)).toBe('VP8L');
  return webp.subarray(12, 12 + 8 + webp.readUInt32LE(16) + (webp.readUInt32LE(16) % 2));
}

/**
 * An animated WebP built chunk by chunk (https://developers.google.com/speed/webp/docs/riff_container):
 * VP8X (animation flag, canvas 80×60), ANIM (background opaque white, loop 0), then ANMF frames with
 * offsets stored halved: a red 40×30 at (20,16) and a blue 80×60 at (0,0), no blending, no disposal.
 * `webpmux -info` (Debian's webp) reads it as such.
 */
async function animatedWebpWithOffsetFrame(): Promise<Buffer> {
  const frame = async (x: number, y: number, w: number, h: number, colour: string) =>
    riffChunk(
      'ANMF',
      Buffer.concat([
        uint24(x / 2),
        uint24(y / 2),
        uint24(w - 1),
        uint24(h - 1),
        uint24(100),
        Buffer.from([0x02]),
        await vp8lChunk(w, h, colour),
      ]),
    );
  const vp8x = riffChunk('VP8X', Buffer.concat([Buffer.from([0x02, 0, 0, 0]), uint24(79), uint24(59)]));
  const anim = riffChunk('ANIM', Buffer.from([255, 255, 255, 255, 0, 0]));
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    vp8x,
    anim,
    await frame(20, 16, 40, 30, '#ff0000'),
    await frame(0, 0, 80, 60, '#0000ff'),
  ]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('what went wrong (issue 10)', () => {
  it('border.gif: the canvas the first frame leaves bare is transparent in every variant; its centre is red', async () => {
    const gif = await images.gifFrameSmallerThanCanvas();
    const meta = await sharp(gif).metadata();
    expect({ width: meta.width, height: meta.height }).toEqual({ width: 320, height: 240 });
    const variants = await renderVariants(gif, SPECS, limits);
    expect(variants.map((v) => v.format)).toEqual(expect.arrayContaining(['webp', 'avif', 'png']));
    for (const variant of variants) {
      expect(await pixel(variant.body, 2, 2), variant.name).toEqual(
        [0, 0, 0, 0].map((v, i) => (i < 3 ? expect.any(Number) : v)),
      );
      const centre = await images.pixelAt(variant.body, 0.5, 0.5);
      expect(
        images.isNear(centre, images.RED, 12) && centre.a === 255,
        `${variant.name} ${JSON.stringify(centre)}`,
      ).toBe(true);
    }
    const inspection = await inspectImage(gif, limits);
    expect(inspection.hasAlpha).toBe(true);
    expect(inspection.dominantColor).toBe('#c8c8c8');
  });

  it('a JPEG missing only its EOI is ready with the intact file’s pixels; one cut at 60 % is still CORRUPT_IMAGE', async () => {
    const intact = await images.largeJpeg(640, 480);
    const noEoi = intact.subarray(0, intact.length - 2);
    const cut = intact.subarray(0, Math.floor(intact.length * 0.6));
    for (const progressive of [false, true]) {
      const whole = progressive ? await sharp(intact).jpeg({ quality: 90, progressive }).toBuffer() : intact;
      const missing = whole.subarray(0, whole.length - 2);
      const [a, b] = await Promise.all([
        renderVariants(whole, SPECS, limits),
        renderVariants(missing, SPECS, limits),
      ]);
      expect(b.map((v) => v.name)).toEqual(a.map((v) => v.name));
      for (const [i, variant] of a.entries()) {
        expect(await meanAbsoluteDifference(variant.body, b[i]?.body ?? Buffer.alloc(0))).toBeLessThan(1);
      }
    }
    expect((await inspectImage(noEoi, limits)).dominantColor).toBe(
      (await inspectImage(intact, limits)).dominantColor,
    );
    expect(await rejection(renderVariants(cut, SPECS, limits))).toBe('CORRUPT_IMAGE');
    expect(await rejection(inspectImage(cut, limits))).toBe('CORRUPT_IMAGE');
  });

  it('a gAMA 1.0 PNG stored at 64 renders as browsers show it, about 137 (image-png-gamma.test.ts has the rest)', async () => {
    const png = await images.pngWithGama(1, 64);
    for (const variant of await renderVariants(png, SPECS, limits)) {
      const { r, g, b } = await images.pixelAt(variant.body, 0.5, 0.5);
      for (const v of [r, g, b]) expect(Math.abs(v - 137), variant.name).toBeLessThanOrEqual(2);
    }
    expect((await inspectImage(png, limits)).dominantColor).toMatch(/^#(88|89|8a){3}$/);
  });

  it('animated WebP whose first frame is smaller than its canvas: the rest is transparent in every variant', async () => {
    // A red 40×30 frame at (20,16) on an 80×60 canvas, then a full blue frame; the ANIM background colour
    // is opaque white, which browsers ignore (the WebP container spec lets them: it is a hint).
    const webp = await animatedWebpWithOffsetFrame();
    const meta = await sharp(webp).metadata();
    expect({ width: meta.width, height: meta.height, pages: meta.pages }).toEqual({
      width: 80,
      height: 60,
      pages: 2,
    });
    const variants = await renderVariants(webp, SPECS, limits);
    // An 80-wide source gets the variants no wider than itself (never upscaled): WebP and PNG here.
    expect(variants.map((v) => v.format)).toEqual(expect.arrayContaining(['webp', 'png']));
    for (const variant of variants) {
      if (variant.format === 'jpeg') continue;
      for (const [fx, fy] of [
        [0.05, 0.05],
        [0.95, 0.95],
        [0.05, 0.9],
        [0.9, 0.1],
      ] as const) {
        expect((await images.pixelAt(variant.body, fx, fy)).a, `${variant.name} ${fx},${fy}`).toBe(0);
      }
      const centre = await images.pixelAt(variant.body, 0.5, 0.5);
      expect(images.isNear(centre, images.RED, 12) && centre.a === 255, JSON.stringify(centre)).toBe(true);
    }
    expect((await inspectImage(webp, limits)).hasAlpha).toBe(true);
  });
});

/** Kinds that already work; each gets: inspected, rendered, and one property that shows it right. */
const WORKING: {
  name: string;
  make: () => Promise<Buffer>;
  check?: (variants: Buffer[]) => Promise<void>;
}[] = [
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((orientation) => ({
    name: `EXIF orientation ${orientation} (non-square)`,
    make: () => images.orientedJpeg(orientation),
    check: async (variants: Buffer[]) => {
      for (const v of variants) {
        const meta = await sharp(v).metadata();
        if (meta.width !== meta.height) expect(meta.height / meta.width).toBeGreaterThan(1);
        expect(images.isNear(await images.pixelAt(v, 0.5, 0.05), images.RED)).toBe(true);
        expect(images.isNear(await images.pixelAt(v, 0.2, 0.9), images.GREEN)).toBe(true);
      }
    },
  })),
  {
    name: 'progressive JPEG, 4:2:0',
    make: async () =>
      sharp(await images.largeJpeg(400, 300))
        .jpeg({ progressive: true, chromaSubsampling: '4:2:0' })
        .toBuffer(),
  },
  {
    name: 'CMYK JPEG without a profile',
    make: () => images.cmykJpeg(),
    check: async (variants) => {
      for (const v of variants) {
        const { r, g, b } = await images.pixelAt(v, 0.5, 0.5);
        expect(r > 180 && g < 90 && b < 90, `${r},${g},${b}`).toBe(true);
      }
    },
  },
  {
    name: 'palette PNG with tRNS',
    make: async () =>
      sharp(await images.pngWithAlpha())
        .png({ palette: true })
        .toBuffer(),
    check: async (variants) => {
      for (const v of variants) {
        expect((await images.pixelAt(v, 0.1, 0.5)).a).toBe(0);
        expect((await images.pixelAt(v, 0.9, 0.5)).a).toBe(255);
      }
    },
  },
  {
    name: '16-bit grey + alpha PNG',
    make: async () => {
      const px = new Uint16Array(64 * 48 * 2);
      for (let i = 0; i < 64 * 48; i++) px.set([40_000, i % 64 < 32 ? 0 : 65_535], i * 2);
      return sharp(px, { raw: { width: 64, height: 48, channels: 2 } })
        .toColourspace('grey16')
        .png()
        .toBuffer();
    },
    check: async (variants) => {
      for (const v of variants) {
        expect((await images.pixelAt(v, 0.1, 0.5)).a).toBe(0);
        const right = await images.pixelAt(v, 0.9, 0.5);
        expect(right.a).toBe(255);
        expect(Math.abs(right.r - 156)).toBeLessThanOrEqual(3);
      }
    },
  },
  { name: 'extreme aspect ratio, wide', make: () => images.plainPng(4000, 4) },
  { name: 'extreme aspect ratio, tall', make: () => images.plainPng(4, 4000) },
  {
    name: 'multi-page TIFF (first page)',
    make: async () =>
      sharp(
        [await images.tiff(), await images.tiff()].map((t) => t),
        { join: { animated: true } },
      )
        .tiff()
        .toBuffer(),
  },
  {
    name: 'animated WebP with alpha',
    make: async () => {
      const frames = await Promise.all(
        ['#ff000080', '#00ff00'].map((background) =>
          sharp({ create: { width: 40, height: 30, channels: 4, background } })
            .png()
            .toBuffer(),
        ),
      );
      return sharp(frames, { join: { animated: true } })
        .webp({ lossless: true })
        .toBuffer();
    },
    check: async (variants) => {
      for (const v of variants) {
        const p = await images.pixelAt(v, 0.5, 0.5);
        expect(p.r > 200 && p.g < 40 && Math.abs(p.a - 128) <= 3, JSON.stringify(p)).toBe(true);
      }
    },
  },
  {
    name: '10-bit AVIF',
    make: async () =>
      sharp(await images.plainPng(64, 48))
        .avif({ bitdepth: 10, effort: 0 })
        .toBuffer(),
  },
  {
    name: 'JPEG with trailing bytes',
    make: async () =>
      Buffer.concat([await images.solidJpeg('#336699'), Buffer.from('trailing junk '.repeat(40))]),
  },
  {
    name: 'GIF with many zero-delay frames',
    make: async () => {
      const frames = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          sharp({ create: { width: 32, height: 24, channels: 3, background: { r: i * 4, g: 0, b: 0 } } })
            .png()
            .toBuffer(),
        ),
      );
      return sharp(frames, { join: { animated: true } })
        .gif({ delay: 0 })
        .toBuffer();
    },
  },
];

describe('what already works stays working', () => {
  it.each(WORKING)('$name', async ({ make, check }) => {
    const file = await make();
    const inspection = await inspectImage(file, limits);
    expect(inspection.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    const variants = await renderVariants(file, SPECS, limits);
    expect(variants.length).toBeGreaterThan(0);
    for (const v of variants) expect(v.bytes).toBe(v.body.length);
    await check?.(variants.map((v) => v.body));
  });
});
