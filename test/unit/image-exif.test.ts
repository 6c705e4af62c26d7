import sharp, { type Exif } from 'sharp';
import { describe, expect, it } from 'vitest';
import { sanitiseExif } from '#shared/image/exif.ts';
import { CAMERA, orientedJpeg } from '#test/support/images.ts';

async function exifOf(image: Buffer): Promise<Buffer> {
  const { exif } = await sharp(image).metadata();
  if (exif === undefined) throw new Error('the test image has no EXIF');
  return exif;
}

async function jpegWithExif(exif: Exif): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
    .jpeg()
    .withExif(exif)
    .toBuffer();
}

describe('sanitiseExif', () => {
  it('keeps the allow-listed camera fields, typed and formatted', async () => {
    expect(sanitiseExif(await exifOf(await orientedJpeg(6)))).toEqual({
      orientation: 6,
      make: CAMERA.make,
      model: CAMERA.model,
      takenAt: CAMERA.takenAt,
      lensModel: CAMERA.lensModel,
      exposureTime: '1/125',
      fNumber: 1.8,
      iso: 200,
      focalLength: 50,
    });
  });

  it('drops GPS even when it is all the EXIF there is', async () => {
    const exif = await exifOf(
      await jpegWithExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1' } }),
    );
    expect(Object.keys(sanitiseExif(exif)).filter((key) => /gps|lat|lon|location/i.test(key))).toEqual([]);
  });

  it('trims, strips control characters, and caps the length of strings', async () => {
    const exif = await exifOf(
      await jpegWithExif({
        IFD0: { Make: '  Acme\u0007 Corp\t\u0000 ', Model: 'M'.repeat(500) },
      }),
    );
    const clean = sanitiseExif(exif);
    expect(clean.make).toBe('Acme Corp');
    expect(clean.model).toBe('M'.repeat(64));
  });

  it('writes a date without an offset as a local ISO 8601 time', async () => {
    const exif = await exifOf(await jpegWithExif({ IFD2: { DateTimeOriginal: '2023:12:31 23:59:58' } }));
    expect(sanitiseExif(exif).takenAt).toBe('2023-12-31T23:59:58');
  });

  it('answers nothing for absent or unreadable EXIF rather than failing the image', () => {
    expect(sanitiseExif(undefined)).toEqual({});
    expect(sanitiseExif(Buffer.from('Exif\0\0garbage that is not a TIFF header'))).toEqual({});
  });
});
