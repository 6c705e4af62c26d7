import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { differenceCiede2000, type Rgb } from 'culori';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectImage } from '#shared/image/inspect.ts';
import { renderVariants } from '#shared/image/render.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';
import * as images from '#test/support/images.ts';

/**
 * The colour contract (README.md, "Colour contract") held against an independent reference: flat patches
 * tagged with real profiles, whose sRGB values LittleCMS computed (test/fixtures/colour/reference.json,
 * written by make-reference.sh beside it). Every patch must be within ΔE2000 2 of it in every variant
 * and in `dominantColor`.
 */

interface ReferencePatch {
  kind: 'rgb8' | 'rgb16' | 'jpeg8' | 'grey8' | 'grey16' | 'gama' | 'cmyk8' | 'lab16';
  profile: string;
  device: number[];
  srgb: [number, number, number];
}
const reference: { patches: ReferencePatch[] } = JSON.parse(
  readFileSync(new URL('../fixtures/colour/reference.json', import.meta.url), 'utf8'),
);

/** Debian's libgs-common ships these (.ci/run installs it); P3 is the profile sharp itself embeds. */
const GHOSTSCRIPT = '/usr/share/color/icc/ghostscript';
const PROFILES: Record<string, () => Promise<Buffer>> = {
  srgb: async () => readFileSync(`${GHOSTSCRIPT}/srgb.icc`),
  p3: images.displayP3Profile,
  'adobe-rgb': async () => readFileSync(`${GHOSTSCRIPT}/a98.icc`),
  prophoto: async () => readFileSync(`${GHOSTSCRIPT}/rommrgb.icc`),
  'grey-gamma': async () => readFileSync(`${GHOSTSCRIPT}/ps_gray.icc`),
};

const FORMATS: images.PatchFormat[] = ['png8', 'png16', 'tiff8', 'tiff16', 'jpeg'];
const limits = { maxBytes: 50_000_000, maxInputPixels: 100_000_000 };
const PATCH = 96;

/** One variant per encoder, each smaller than the patch strip (so each is really resized). */
const SPECS: VariantSpec[] = [
  { name: 'webp', width: 288, fit: 'inside', format: 'webp', quality: 80 },
  { name: 'avif', width: 240, fit: 'inside', format: 'avif', quality: 60 },
  { name: 'jpeg', width: 192, fit: 'inside', format: 'jpeg', quality: 85 },
  { name: 'png', width: 144, fit: 'inside', format: 'png', quality: 80 },
];

const deltaE = differenceCiede2000();
const rgb = ([r, g, b]: readonly number[]): Rgb => ({
  mode: 'rgb',
  r: Math.min(255, Math.max(0, r ?? 0)) / 255,
  g: Math.min(255, Math.max(0, g ?? 0)) / 255,
  b: Math.min(255, Math.max(0, b ?? 0)) / 255,
});

/** Mean colour of the middle half of patch `index` (of `count`) in an encoded image. */
async function patchMean(image: Buffer, index: number, count: number): Promise<number[]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const w = info.width / count;
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.floor(info.height / 4); y < Math.ceil((3 * info.height) / 4); y++) {
    for (let x = Math.floor(index * w + w / 4); x < Math.ceil(index * w + (3 * w) / 4); x++) {
      for (let c = 0; c < 3; c++)
        sum[c] = (sum[c] ?? 0) + (data[(y * info.width + x) * info.channels + c] ?? 0);
      n++;
    }
  }
  return sum.map((s) => s / n);
}

function hexToRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
}

/** Worst ΔE2000 seen per profile, printed at the end (the figures in the report). */
const worst = new Map<string, number>();
function record(profile: string, where: string, value: number, limit = 2): void {
  worst.set(profile, Math.max(worst.get(profile) ?? 0, value));
  expect(value, where).toBeLessThanOrEqual(limit);
}
afterAll(() => {
  // biome-ignore lint/suspicious/noConsole: the figures the issue asks to report
  console.info(
    'worst ΔE2000 per profile:',
    Object.fromEntries([...worst].map(([k, v]) => [k, v.toFixed(2)])),
  );
});

const cases = FORMATS.flatMap((format) =>
  Object.keys(PROFILES).map((profile) => {
    const grey = profile === 'grey-gamma';
    const depth = format === 'png16' || format === 'tiff16' ? '16' : '8';
    const kind = `${grey ? 'grey' : 'rgb'}${depth}`;
    const patches = reference.patches.filter((p) => p.kind === kind && p.profile === profile);
    // A JPEG stores some patches a level off (YCbCr rounding); the reference has them as stored.
    const storedKind = format === 'jpeg' && !grey ? 'jpeg8' : kind;
    const stored = reference.patches.filter((p) => p.kind === storedKind && p.profile === profile);
    return { format, profile, patches, stored };
  }),
);

/** The device values a file holds at the middle of each patch, read without any colour management. */
async function deviceValues(file: Buffer, count: number, patchWidth: number): Promise<number[][]> {
  const { depth, space } = await sharp(file).metadata();
  const sixteen = depth === 'ushort';
  const { data, info } = await sharp(file, { ignoreIcc: true })
    .toColourspace(space)
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const values = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  return Array.from({ length: count }, (_, i) => {
    const at = ((info.height >> 1) * info.width + i * patchWidth + (patchWidth >> 1)) * info.channels;
    return [...values.subarray(at, at + info.channels)];
  });
}

describe('colour test set against LittleCMS', () => {
  it('has a reference for every case', () => {
    expect(cases).toHaveLength(25);
    for (const c of cases) {
      expect(c.patches.length, `${c.format} ${c.profile}`).toBeGreaterThanOrEqual(5);
      expect(c.stored).toHaveLength(c.patches.length);
    }
  });

  it.each(cases)('$format tagged $profile: every patch in every variant', async (c) => {
    const icc = await PROFILES[c.profile]?.();
    if (!icc) throw new Error(c.profile);
    const device = c.patches.map((p) => p.device);
    const file = await images.taggedPatches(c.format, device, icc, PATCH);
    // The file is what it says: the reference's device values, untouched, under that profile.
    expect((await sharp(file).metadata()).icc?.equals(icc)).toBe(true);
    expect(await deviceValues(file, device.length, PATCH)).toEqual(c.stored.map((p) => p.device));
    const variants = await renderVariants(file, SPECS, limits);
    expect(variants.map((v) => v.name)).toEqual(SPECS.map((s) => s.name));
    for (const variant of variants) {
      for (const [i, patch] of c.stored.entries()) {
        const mean = await patchMean(variant.body, i, c.stored.length);
        const where = `${variant.name} patch ${patch.device} → ${mean.map(Math.round)} vs ${patch.srgb.map(Math.round)}`;
        record(c.profile, where, deltaE(rgb(mean), rgb(patch.srgb)));
      }
    }
  });

  it.each(cases)('$format tagged $profile: dominantColor of each flat patch', async (c) => {
    const icc = await PROFILES[c.profile]?.();
    if (!icc) throw new Error(c.profile);
    for (const [i, patch] of c.stored.entries()) {
      const file = await images.taggedPatches(c.format, [c.patches[i]?.device ?? []], icc, 32, 32);
      const { dominantColor } = await inspectImage(file, limits);
      const where = `dominantColor of ${patch.device}: ${dominantColor}`;
      record(c.profile, where, deltaE(rgb(hexToRgb(dominantColor)), rgb(patch.srgb)));
    }
  });
});

describe('the issue’s 16-bit file (p16.png)', () => {
  it('gives (102,153,76) ± 2 in every variant and in dominantColor', async () => {
    // As `convert -size 600x400 xc:'rgb(40%,60%,30%)' -depth 16 -profile srgb.icc png48:p16.png` writes it.
    const icc = readFileSync(`${GHOSTSCRIPT}/srgb.icc`);
    const p16 = await images.taggedPatches('png16', [[26_214, 39_321, 19_661]], icc, 600, 400);
    const expected = [102, 153, 76];
    for (const variant of await renderVariants(p16, DEFAULT_VARIANTS, limits)) {
      const mean = await patchMean(variant.body, 0, 1);
      for (const [c, value] of mean.entries())
        expect(Math.abs(value - (expected[c] ?? 0)), variant.name).toBeLessThanOrEqual(2);
    }
    const { dominantColor } = await inspectImage(p16, limits);
    for (const [c, value] of hexToRgb(dominantColor).entries()) {
      expect(Math.abs(value - (expected[c] ?? 0)), dominantColor).toBeLessThanOrEqual(2);
    }
  });
});

/** ImageMagick (Debian's, which .ci/run installs), by its real path: writes the CMYK and Lab files. */
function magick(args: string[], input?: Buffer): Buffer {
  return execFileSync('/usr/bin/convert', args, { input, maxBuffer: 16 * 1024 * 1024 });
}

/** Flat patches side by side, 48×32 each, as ImageMagick writes them from `colour(v…)` strings. */
function magickPatches(colours: string[], output: string, extra: string[] = []): Buffer {
  return magick([...colours.flatMap((c) => ['-size', '48x32', `xc:${c}`]), '+append', ...extra, output]);
}

describe('CMYK and Lab against LittleCMS (and culori for D65 Lab)', () => {
  const cmyk = (profile: string) =>
    reference.patches.filter((p) => p.kind === 'cmyk8' && p.profile === profile);
  const DEFAULT_CMYK = `${GHOSTSCRIPT}/default_cmyk.icc`;
  const cmykCases = [
    { format: 'jpeg', tagged: false },
    { format: 'jpeg', tagged: true },
    { format: 'tiff', tagged: false },
    { format: 'tiff', tagged: true },
    { format: 'tiff16', tagged: false },
  ];

  it.each(cmykCases)(
    'CMYK $format, embedded profile $tagged: every patch, every variant, dominantColor',
    async (c) => {
      // Without a profile, sharp assumes libvips' built-in CMYK profile; the reference uses the same one.
      // libvips applies that (961 KB, Argyll) profile up to ΔE 2.1 away from transicc (an orange: blue 54
      // where LittleCMS says 61, the same with the profile embedded), so that case is held to 2.5: a known
      // deviation (README.md, "Colour contract"); a Ghostscript profile embedded is held to 2.
      const limit = c.tagged ? 2 : 2.5;
      const patches = cmyk(c.tagged ? 'default-cmyk' : 'vips-cmyk');
      expect(patches).toHaveLength(5);
      const colours = patches.map((p) => `cmyk(${p.device.join(',')})`);
      const profile = c.tagged ? ['-profile', DEFAULT_CMYK] : [];
      const depth = c.format === 'tiff16' ? '16' : '8';
      const output = c.format === 'jpeg' ? 'jpeg:-' : 'tiff:-';
      const quality =
        c.format === 'jpeg' ? ['-quality', '100', '-sampling-factor', '1x1'] : ['-compress', 'lzw'];
      const file = magickPatches(colours, output, ['-depth', depth, ...profile, ...quality]);
      const meta = await sharp(file).metadata();
      expect(meta.space).toBe('cmyk');
      expect(meta.hasProfile).toBe(c.tagged);
      // The file holds the patches' CMYK values (a JPEG within a level), as ImageMagick reads them back.
      for (const [i, p] of patches.entries()) {
        const fx = ['r', 'g', 'b', 'k'].map((c) => `%[fx:round(255*${c})]`).join(',');
        const crop = ['-crop', `1x1+${i * 48 + 24}+16`, '-format', fx, 'info:'];
        const read = magick(['-', ...crop], file)
          .toString()
          .split(',')
          .map(Number);
        for (const [k, v] of p.device.entries())
          expect(Math.abs((read[k] ?? 0) - v), `${read}`).toBeLessThanOrEqual(1);
      }
      for (const variant of await renderVariants(file, SPECS, limits)) {
        for (const [i, patch] of patches.entries()) {
          const mean = await patchMean(variant.body, i, patches.length);
          const where = `${variant.name} cmyk ${patch.device} → ${mean.map(Math.round)} vs ${patch.srgb.map(Math.round)}`;
          record(
            c.tagged ? 'cmyk-profile' : 'cmyk-builtin',
            where,
            deltaE(rgb(mean), rgb(patch.srgb)),
            limit,
          );
        }
      }
      const one = magickPatches([colours[0] ?? ''], output, ['-depth', depth, ...profile, ...quality]);
      const { dominantColor } = await inspectImage(one, limits);
      const dominant = deltaE(rgb(hexToRgb(dominantColor)), rgb(patches[0]?.srgb ?? []));
      record(c.tagged ? 'cmyk-profile' : 'cmyk-builtin', `dominantColor ${dominantColor}`, dominant, limit);
    },
  );

  it('16-bit CIELab TIFF (WhitePoint D65): every patch, every variant, dominantColor', async () => {
    const patches = reference.patches.filter((p) => p.kind === 'lab16');
    expect(patches).toHaveLength(5);
    const colours = patches.map((p) => `rgb(${p.device.join(',')})`);
    const file = magickPatches(colours, 'tiff:-', ['-colorspace', 'Lab', '-depth', '16', '-compress', 'lzw']);
    expect((await sharp(file).metadata()).space).toBe('labs');
    for (const variant of await renderVariants(file, SPECS, limits)) {
      for (const [i, patch] of patches.entries()) {
        const mean = await patchMean(variant.body, i, patches.length);
        const where = `${variant.name} lab from ${patch.device} → ${mean.map(Math.round)} vs ${patch.srgb.map(Math.round)}`;
        record('lab-d65', where, deltaE(rgb(mean), rgb(patch.srgb)));
      }
    }
    const one = magickPatches([colours[1] ?? ''], 'tiff:-', ['-colorspace', 'Lab', '-depth', '16']);
    const { dominantColor } = await inspectImage(one, limits);
    record(
      'lab-d65',
      `dominantColor ${dominantColor}`,
      deltaE(rgb(hexToRgb(dominantColor)), rgb(patches[1]?.srgb ?? [])),
    );
  });

  it('8-bit CIELab TIFF is a known limit: libvips refuses it ("bad labq format"), so it is CORRUPT_IMAGE', async () => {
    const file = magickPatches(['rgb(200,60,50)'], 'tiff:-', ['-colorspace', 'Lab', '-depth', '8']);
    await expect(inspectImage(file, limits)).rejects.toMatchObject({ code: 'CORRUPT_IMAGE' });
  });
});
