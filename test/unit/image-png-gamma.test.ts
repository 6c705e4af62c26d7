import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspectImage } from '#shared/image/inspect.ts';
import { pngEncodingGamma } from '#shared/image/png-gamma.ts';
import { renderVariants } from '#shared/image/render.ts';
import type { VariantSpec } from '#shared/variants.ts';
import * as images from '#test/support/images.ts';

/**
 * PNG gAMA (W3C PNG Third Edition, https://www.w3.org/TR/png-3/#11gAMA): a PNG whose only colour chunk
 * is gAMA is shown as browsers show it. References: ImageMagick for gAMA 1.0 and LittleCMS's *Gray30 for
 * gAMA 33333 (test/fixtures/colour/reference.json, make-reference.sh), and for gAMA 55556 the spec's
 * "Decoder gamma handling" formula (#13Decoder-gamma-handling) with IEC 61966-2-1's sRGB curve.
 */

const limits = { maxBytes: 50_000_000, maxInputPixels: 100_000_000 };
const SPECS: VariantSpec[] = [
  { name: 'webp', width: 48, fit: 'inside', format: 'webp', quality: 90 },
  { name: 'png', width: 32, fit: 'inside', format: 'png', quality: 80 },
  { name: 'avif', width: 24, fit: 'inside', format: 'avif', quality: 90 },
];
const reference: { patches: { kind: string; profile: string; device: number[]; srgb: number[] }[] } =
  JSON.parse(readFileSync(new URL('../fixtures/colour/reference.json', import.meta.url), 'utf8'));

function chunk(type: string, value: number): { type: string; data: Buffer } {
  const data = Buffer.alloc(4);
  data.writeUInt32BE(value, 0);
  return { type, data };
}

/** A 64×16 PNG holding `level` in every colour sample (8- or 16-bit scale) and alpha 128 when asked. */
async function flatPng(level: number, options: { sixteen?: boolean; grey?: boolean; alpha?: boolean } = {}) {
  const colours = options.grey ? 1 : 3;
  const channels = (colours + (options.alpha ? 1 : 0)) as 1 | 2 | 3 | 4;
  const top = options.sixteen ? 65_535 : 255;
  const px = options.sixteen ? new Uint16Array(64 * 16 * channels) : new Uint8Array(64 * 16 * channels);
  for (let i = 0; i < px.length; i += channels) {
    px.fill(options.sixteen ? level * 257 : level, i, i + colours);
    if (options.alpha) px[i + colours] = options.sixteen ? 32_896 : 128;
  }
  const space = options.grey ? (options.sixteen ? 'grey16' : 'b-w') : options.sixteen ? 'rgb16' : 'srgb';
  const png = await sharp(px, { raw: { width: 64, height: 16, channels } })
    .toColourspace(space)
    .png()
    .toBuffer();
  expect((await sharp(png).metadata()).depth).toBe(top === 255 ? 'uchar' : 'ushort');
  return png;
}

/** sRGB value the spec's decoder gamma handling gives for `level` under gAMA `gamma`. */
function specFormula(level: number, gamma: number): number {
  const displayOutput = (level / 255) ** (1 / gamma);
  const encoded =
    displayOutput <= 0.003_130_8 ? 12.92 * displayOutput : 1.055 * displayOutput ** (1 / 2.4) - 0.055;
  return encoded * 255;
}

async function centre(image: Buffer): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const at = ((info.height >> 1) * info.width + (info.width >> 1)) * info.channels;
  return [...data.subarray(at, at + info.channels)];
}

describe('which PNGs have a gAMA that counts (pngEncodingGamma)', () => {
  it('reads gAMA, treats 1/2.2 within libpng’s 5 % as sRGB, and ignores it when outranked, misplaced or broken', async () => {
    const png = await flatPng(64);
    const withChunks = (chunks: { type: string; data: Buffer }[]) => images.pngWithChunks(png, chunks);
    expect(pngEncodingGamma(png)).toBeUndefined();
    expect(pngEncodingGamma(withChunks([chunk('gAMA', 100_000)]))).toBe(1);
    expect(pngEncodingGamma(withChunks([chunk('gAMA', 55_556)]))).toBeCloseTo(0.555_56);
    for (const nearSrgb of [45_455, 43_300, 47_700]) {
      expect(pngEncodingGamma(withChunks([chunk('gAMA', nearSrgb)])), `${nearSrgb}`).toBeUndefined();
    }
    expect(pngEncodingGamma(withChunks([chunk('gAMA', 50_000)]))).toBe(0.5);
    // Outranked by sRGB, iCCP or cICP, before or after it (PNG 3 colour chunk priority table).
    const srgb = { type: 'sRGB', data: Buffer.from([0]) };
    const cicp = { type: 'cICP', data: Buffer.from([1, 13, 0, 1]) };
    const iccp = images.iccpChunk(readFileSync('/usr/share/color/icc/ghostscript/srgb.icc'));
    for (const other of [srgb, cicp, iccp]) {
      expect(pngEncodingGamma(withChunks([chunk('gAMA', 100_000), other])), other.type).toBeUndefined();
      expect(pngEncodingGamma(withChunks([other, chunk('gAMA', 100_000)])), other.type).toBeUndefined();
    }
    // Zero is meaningless (the spec says to ignore it); after PLTE is out of place.
    expect(pngEncodingGamma(withChunks([chunk('gAMA', 0)]))).toBeUndefined();
    expect(
      pngEncodingGamma(withChunks([{ type: 'PLTE', data: Buffer.alloc(3) }, chunk('gAMA', 100_000)])),
    ).toBeUndefined();
  });

  it('ignores a gAMA with a bad CRC and never throws on hostile bytes', async () => {
    const good = images.pngWithChunks(await flatPng(64), [chunk('gAMA', 100_000)]);
    const badCrc = Buffer.from(good);
    badCrc[33 + 12 + 3] = (badCrc[33 + 12 + 3] ?? 0) ^ 0xff;
    expect(pngEncodingGamma(good)).toBe(1);
    expect(pngEncodingGamma(badCrc)).toBeUndefined();
    const huge = Buffer.from(good);
    huge.writeUInt32BE(0xffff_fff0, 33);
    expect(pngEncodingGamma(huge)).toBeUndefined();
    for (const bytes of [Buffer.alloc(0), good.subarray(0, 40), Buffer.alloc(100, 0xff)]) {
      expect(() => pngEncodingGamma(bytes)).not.toThrow();
    }
  });
});

describe('PNG gAMA rendered as browsers show it', () => {
  const cases = reference.patches
    .filter((p) => p.kind === 'gama')
    .flatMap((p) =>
      [false, true].map((sixteen) => ({
        gamma: p.profile === 'gamma-1.0' ? 100_000 : 33_333,
        level: p.device[0] ?? 0,
        expected: p.srgb[0] ?? 0,
        sixteen,
        source: p.profile === 'gamma-1.0' ? 'ImageMagick' : 'LittleCMS *Gray30',
      })),
    );

  it('has the references', () => expect(cases).toHaveLength(20));

  it.each(cases)('gAMA $gamma, level $level, 16-bit $sixteen → $expected ($source) ± 1.5', async (c) => {
    const png = images.pngWithChunks(await flatPng(c.level, { sixteen: c.sixteen }), [
      chunk('gAMA', c.gamma),
    ]);
    for (const variant of await renderVariants(png, SPECS, limits)) {
      const [r, g, b] = await centre(variant.body);
      for (const v of [r, g, b])
        expect(Math.abs((v ?? 0) - c.expected), variant.name).toBeLessThanOrEqual(1.5);
    }
    const { dominantColor } = await inspectImage(png, limits);
    expect(Math.abs(Number.parseInt(dominantColor.slice(1, 3), 16) - c.expected)).toBeLessThanOrEqual(1.5);
  });

  it('gAMA 55556 (1/1.8) follows the spec’s formula; grey and alpha (8/16-bit): alpha untouched', async () => {
    // Resizing with alpha moves any flat colour by a level or two, so each file is held against an
    // untagged control holding the formula's value, rendered the same way.
    const expected = Math.round(specFormula(64, 0.555_56));
    for (const options of [
      { grey: true, alpha: true },
      { alpha: true, sixteen: true },
      { grey: true, sixteen: true },
    ]) {
      const png = images.pngWithChunks(await flatPng(64, options), [chunk('gAMA', 55_556)]);
      const control = await flatPng(expected, options);
      const [variants, controls] = await Promise.all(
        [png, control].map((f) => renderVariants(f, SPECS, limits)),
      );
      for (const [i, variant] of (variants ?? []).entries()) {
        const [r, g, b, a] = await centre(variant.body);
        const [cr, , , ca] = await centre(controls?.[i]?.body ?? Buffer.alloc(0));
        const where = `${JSON.stringify(options)} ${variant.name}`;
        for (const v of [r, g, b]) expect(Math.abs((v ?? 0) - (cr ?? 0)), where).toBeLessThanOrEqual(1);
        expect(a, where).toBe(ca);
        if (options.alpha) expect(Math.abs((a ?? 0) - 128), where).toBeLessThanOrEqual(1);
      }
    }
  });

  it('gAMA 45455 and a gAMA outranked by sRGB leave the stored values as they are', async () => {
    for (const chunks of [
      [chunk('gAMA', 45_455)],
      [{ type: 'sRGB', data: Buffer.from([0]) }, chunk('gAMA', 100_000)],
    ]) {
      const png = images.pngWithChunks(await flatPng(64), chunks);
      for (const variant of await renderVariants(png, SPECS, limits)) {
        expect(Math.abs(((await centre(variant.body))[0] ?? 0) - 64), variant.name).toBeLessThanOrEqual(1);
      }
    }
  });
});
