import { describe, expect, it } from 'vitest';
import { ACCEPTED_CONTENT_TYPES, sniffImageFormat, sniffUnsupportedType } from '#shared/image/sniff.ts';
import * as images from '#test/support/images.ts';

describe('sniffImageFormat', () => {
  it.each([
    ['jpeg', () => images.solidJpeg('#808080')],
    ['png', () => images.plainPng(8, 8)],
    ['webp', () => images.webp()],
    ['gif', () => images.animatedGif()],
    ['avif', () => images.avif()],
    ['tiff', () => images.tiff()],
  ] as const)('recognises %s from its magic bytes', async (format, make) => {
    expect(sniffImageFormat(await make())).toBe(format);
  });

  it('recognises big-endian TIFF and GIF87a', () => {
    expect(sniffImageFormat(Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]))).toBe('tiff');
    expect(sniffImageFormat(Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1'))).toBe('gif');
  });

  it('recognises AVIF by a compatible brand when the major brand is generic', () => {
    const box = Buffer.alloc(24);
    box.writeUInt32BE(24, 0);
    box.write('ftypmif1', 4, 'latin1');
    box.write('mif1avif', 16, 'latin1');
    expect(sniffImageFormat(box)).toBe('avif');
  });

  it.each([
    ['SVG', images.svgText()],
    ['text named .jpg', images.textNamedJpg().bytes],
    ['zero bytes', images.zeroBytes()],
    ['BMP', images.bmp()],
    ['HEIC', images.heicHeader()],
    ['a lone JPEG SOI marker', Buffer.from([0xff, 0xd8])],
  ])('answers undefined for %s', (_name, bytes) => {
    expect(sniffImageFormat(bytes)).toBeUndefined();
  });

  it('maps every accepted format to its MIME type', () => {
    expect(ACCEPTED_CONTENT_TYPES).toEqual({
      jpeg: 'image/jpeg',
      png: 'image/png',
      webp: 'image/webp',
      gif: 'image/gif',
      avif: 'image/avif',
      tiff: 'image/tiff',
    });
  });
});

describe('sniffUnsupportedType', () => {
  it.each([
    ['SVG', images.svgText()],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['SVG', Buffer.from('<!-- drawn by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['BMP', images.bmp()],
    ['PDF', Buffer.from('%PDF-1.7\n')],
    ['ICO', Buffer.from([0, 0, 1, 0, 1, 0, 16, 16])],
    ['ISO-BMFF (heic)', images.heicHeader()],
  ])('names %s', (label, bytes) => {
    expect(sniffUnsupportedType(bytes)).toBe(label);
  });

  it.each([
    ['plain text', images.textNamedJpg().bytes],
    ['text that starts with BM', Buffer.from('BMW service history, 2019 to 2024, kept in a drawer')],
    ['HTML', Buffer.from('<!doctype html><html><body>hi</body></html>')],
    ['zero bytes', images.zeroBytes()],
  ])('does not recognise %s', (_name, bytes) => {
    expect(sniffUnsupportedType(bytes)).toBeUndefined();
  });
});
