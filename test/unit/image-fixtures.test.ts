import exifReader from 'exif-reader';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import * as images from '#test/support/images.ts';

// The generated test images are only evidence if they are what they claim to be.
describe('generated test images', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'orientation %i JPEG carries its tags and is upright once oriented',
    async (o) => {
      const jpeg = await images.orientedJpeg(o);
      const meta = await sharp(jpeg).metadata();
      expect(meta.orientation).toBe(o);
      expect({ width: meta.width, height: meta.height }).toEqual(images.storedSize(o));
      if (meta.exif === undefined) throw new Error('no EXIF');
      const exif = exifReader(meta.exif);
      expect(exif.Image).toMatchObject({
        Make: images.CAMERA.make,
        Model: images.CAMERA.model,
        Orientation: o,
      });
      expect(exif.Photo?.DateTimeOriginal).toEqual(new Date('2024-05-06T07:08:09Z'));
      expect(exif.GPSInfo).toMatchObject({
        GPSLatitudeRef: 'N',
        GPSLatitude: [48, 51, 24],
        GPSLongitudeRef: 'E',
      });

      const upright = await sharp(jpeg, { autoOrient: true }).png().toBuffer();
      expect(images.isNear(await images.pixelAt(upright, 0.5, 0.1), images.RED)).toBe(true);
      expect(images.isNear(await images.pixelAt(upright, 0.2, 0.9), images.GREEN)).toBe(true);
      expect(images.isNear(await images.pixelAt(upright, 0.8, 0.9), images.BLUE)).toBe(true);
    },
  );

  it('the XMP JPEG carries XMP', async () => {
    expect((await sharp(await images.jpegWithXmp()).metadata()).xmpAsString).toContain('GPSLatitude');
  });

  it('the special formats are what they say', async () => {
    expect(await sharp(await images.png16()).metadata()).toMatchObject({ format: 'png', depth: 'ushort' });
    expect(await sharp(await images.cmykJpeg()).metadata()).toMatchObject({ format: 'jpeg', space: 'cmyk' });
    expect(await sharp(await images.animatedGif()).metadata()).toMatchObject({ format: 'gif', pages: 3 });
    expect(await sharp(await images.animatedWebp()).metadata()).toMatchObject({ format: 'webp', pages: 3 });
    expect(await sharp(await images.avif()).metadata()).toMatchObject({ format: 'heif', compression: 'av1' });
    expect(await sharp(await images.tiff()).metadata()).toMatchObject({ format: 'tiff' });
    expect(await sharp(await images.pngWithAlpha()).metadata()).toMatchObject({ hasAlpha: true });
  });

  it('the bomb is a valid PNG header claiming 50000×50000', async () => {
    const meta = await sharp(await images.pngBomb(), { limitInputPixels: false }).metadata();
    expect(meta).toMatchObject({ format: 'png', width: 50_000, height: 50_000 });
  });

  it('the truncated JPEG is half of a valid one', async () => {
    const truncated = await images.truncatedJpeg();
    expect(truncated.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    await expect(sharp(truncated, { failOn: 'truncated' }).raw().toBuffer()).rejects.toThrow();
  });
});
