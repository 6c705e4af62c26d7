import { describe, expect, it } from 'vitest';
import { ImageRejectedError } from '#shared/errors.ts';
import { inspectImage } from '#shared/image/inspect.ts';
import { rejectionFor } from '#shared/image/probe.ts';
import * as images from '#test/support/images.ts';

const limits = { maxBytes: 25 * 1024 * 1024, maxInputPixels: 100_000_000 };

async function rejection(bytes: Uint8Array, limit = limits): Promise<ImageRejectedError> {
  try {
    await inspectImage(bytes, limit);
  } catch (error) {
    if (error instanceof ImageRejectedError) return error;
    throw error;
  }
  throw new Error('the image was accepted');
}

describe('inspectImage rejections', () => {
  it('refuses zero bytes with EMPTY_FILE', async () => {
    expect((await rejection(images.zeroBytes())).code).toBe('EMPTY_FILE');
  });

  it('refuses a file over the byte limit with FILE_TOO_LARGE, before looking inside', async () => {
    const bytes = await images.solidJpeg('#ff0000');
    expect((await rejection(bytes, { ...limits, maxBytes: bytes.length - 1 })).code).toBe('FILE_TOO_LARGE');
    // The size check comes first: even bytes that are no image at all get FILE_TOO_LARGE.
    expect((await rejection(Buffer.alloc(100, 1), { ...limits, maxBytes: 99 })).code).toBe('FILE_TOO_LARGE');
  });

  it('refuses a text file named .jpg with NOT_AN_IMAGE', async () => {
    const { name, bytes } = images.textNamedJpg();
    expect(name.endsWith('.jpg')).toBe(true);
    expect((await rejection(bytes)).code).toBe('NOT_AN_IMAGE');
  });

  it('refuses SVG with UNSUPPORTED_FORMAT', async () => {
    expect((await rejection(images.svgText())).code).toBe('UNSUPPORTED_FORMAT');
  });

  it.each([
    ['BMP', images.bmp()],
    ['HEIC', images.heicHeader()],
    ['PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n')],
  ])('refuses %s with UNSUPPORTED_FORMAT', async (_name, bytes) => {
    expect((await rejection(bytes)).code).toBe('UNSUPPORTED_FORMAT');
  });

  it('refuses a truncated JPEG with CORRUPT_IMAGE', async () => {
    expect((await rejection(await images.truncatedJpeg())).code).toBe('CORRUPT_IMAGE');
  });

  it('refuses a file whose magic bytes lie with CORRUPT_IMAGE', async () => {
    const fake = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64),
    ]);
    expect((await rejection(fake)).code).toBe('CORRUPT_IMAGE');
  });

  it('refuses a PNG claiming 50000×50000 with TOO_MANY_PIXELS from its header, never decoding it', async () => {
    const bomb = await images.pngBomb(50_000);
    expect(bomb.length).toBeLessThan(100);
    const before = process.memoryUsage().rss;
    const error = await rejection(bomb);
    const grown = process.memoryUsage().rss - before;
    expect(error.code).toBe('TOO_MANY_PIXELS');
    expect(error.message).toContain('50000×50000');
    // Decoding would need 7.5 GB of RGB; the refusal must not allocate anything near that.
    expect(grown).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses pixels over a configured limit with TOO_MANY_PIXELS', async () => {
    const png = await images.plainPng(100, 100);
    expect((await rejection(png, { ...limits, maxInputPixels: 9_999 })).code).toBe('TOO_MANY_PIXELS');
    await expect(inspectImage(png, { ...limits, maxInputPixels: 10_000 })).resolves.toMatchObject({
      width: 100,
    });
  });

  it('marks every rejection as permanent (422) so consumers do not retry it', async () => {
    const error = await rejection(images.zeroBytes());
    expect(error.statusCode).toBe(422);
  });
});

describe('rejectionFor: which decoder failures are the file’s fault', () => {
  it.each([
    'vips_tracked_malloc: out of memory --- size == 512MB',
    'VipsJpeg: Cannot allocate memory',
    'write: ENOMEM',
  ])('returns "%s" as it is, for the queue to retry: memory is the instance’s state', (message) => {
    const error = new Error(message);
    expect(rejectionFor(error)).toBe(error);
  });

  it('rejects what the file causes, keeping the cause', () => {
    const corrupt = new Error('VipsJpeg: Premature end of input file');
    expect(rejectionFor(corrupt)).toMatchObject({ code: 'CORRUPT_IMAGE', cause: corrupt });
    expect(rejectionFor(new Error('Input image exceeds pixel limit'))).toMatchObject({
      code: 'TOO_MANY_PIXELS',
    });
  });

  it('rejects an AVIF that libheif refuses with a "memory allocation error" for its absurd item count', async () => {
    const failure = await rejection(await images.avifWithAbsurdItemCount());
    expect(failure.code).toBe('CORRUPT_IMAGE');
    expect(failure.message).toMatch(/Memory allocation error: Security limit exceeded/);
  });
});
