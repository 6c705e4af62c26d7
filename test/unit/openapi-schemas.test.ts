import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ImageId } from '#shared/api/schemas.ts';
import { PicturaError } from '#shared/errors.ts';
import { isImageId, newImageId } from '#shared/ids.ts';
import { parseListQuery } from '#shared/queries.ts';
import { parsePresignRequest } from '#shared/uploads.ts';

/** The status, code and detail a parse throws, or `ok`. */
function outcome(parse: () => unknown): string | [number, string, string] {
  try {
    parse();
    return 'ok';
  } catch (error) {
    if (!(error instanceof PicturaError)) throw error;
    return [error.statusCode, error.code, error.message];
  }
}

const presign = (body: unknown) => outcome(() => parsePresignRequest(body, 1_000_000));
const codeOf = (result: ReturnType<typeof outcome>) => (result === 'ok' ? 'ok' : `${result[0]} ${result[1]}`);

describe('presign body through the PresignRequest schema (hostile inputs)', () => {
  it.each([
    ['null', null],
    ['a string', 'image/png'],
    ['a number', 12],
    ['an array', [{ contentType: 'image/png', contentLength: 1 }]],
    ['contentLength 0', { contentType: 'image/png', contentLength: 0 }],
    ['contentLength beyond 2^53', { contentType: 'image/png', contentLength: 2 ** 53 }],
    ['contentLength Infinity (from 1e400)', JSON.parse('{"contentType":"image/png","contentLength":1e400}')],
    ['contentLength as a numeric string', { contentType: 'image/png', contentLength: '10' }],
    ['contentLength null', { contentType: 'image/png', contentLength: null }],
    ['an empty contentType', { contentType: '', contentLength: 1 }],
    ['a 101-character contentType', { contentType: `image/${'x'.repeat(95)}`, contentLength: 1 }],
    ['a contentType object', { contentType: { toString: 'image/png' }, contentLength: 1 }],
    ['a 256-character filename', { contentType: 'image/png', contentLength: 1, filename: 'a'.repeat(256) }],
    ['a null filename', { contentType: 'image/png', contentLength: 1, filename: null }],
    ['a __proto__ field', JSON.parse('{"contentType":"image/png","contentLength":1,"__proto__":{"x":1}}')],
    ['a constructor field', { contentType: 'image/png', contentLength: 1, constructor: 'x' }],
  ])('refuses %s with 400 INVALID_BODY', (_label, body) => {
    expect(codeOf(presign(body))).toBe('400 INVALID_BODY');
  });

  it('names at most 10 unknown fields, each cut to 64 characters (no amplification)', () => {
    const body: Record<string, unknown> = { contentType: 'image/png', contentLength: 1 };
    for (let i = 0; i < 5000; i += 1) body[`${'f'.repeat(500)}${i}`] = i;
    const result = presign(body);
    expect(codeOf(result)).toBe('400 INVALID_BODY');
    expect(result[2]?.length).toBeLessThan(1000);
    expect(result[2]).toMatch(/and 4990 more$/);
  });

  it('keeps the order of the checks: shape (400), then type (415), then size (413)', () => {
    expect(codeOf(presign({ contentType: 'image/svg+xml', contentLength: 2_000_000 }))).toBe(
      '415 UNSUPPORTED_MEDIA_TYPE',
    );
    expect(codeOf(presign({ contentType: 'image/png', contentLength: 2_000_000 }))).toBe(
      '413 FILE_TOO_LARGE',
    );
    expect(codeOf(presign({ contentType: 'image/svg+xml', contentLength: -1 }))).toBe('400 INVALID_BODY');
  });

  it('accepts the largest size, a media type with parameters, and strips control characters from the name', () => {
    expect(
      parsePresignRequest(
        { contentType: 'IMAGE/PNG; charset=x', contentLength: 1_000_000, filename: 'a\u0000b\u202e.png' },
        1_000_000,
      ),
    ).toEqual({ contentType: 'image/png', contentLength: 1_000_000, filename: 'ab.png' });
  });

  it('never echoes zod messages or the input value in the detail', () => {
    const result = presign({ contentType: 'image/png', contentLength: '<script>' });
    expect(result[2]).toBe('contentLength must be a positive integer (bytes)');
  });
});

describe('list query through the ListQuery schema (hostile inputs)', () => {
  const list = (query: Record<string, string | undefined>) => codeOf(outcome(() => parseListQuery(query)));

  it.each([
    ['0'],
    ['101'],
    ['-1'],
    ['+5'],
    [' 5'],
    ['5 '],
    ['1e1'],
    ['0x10'],
    ['5.0'],
    [''],
    ['1000'],
    ['9'.repeat(400)],
    ['١٢'], // Arabic-Indic digits: not ASCII digits
  ])('refuses limit=%j with 400 INVALID_LIMIT', (limit) => {
    expect(list({ limit })).toBe('400 INVALID_LIMIT');
  });

  it.each([[''], ['!!'], ['a'.repeat(513)], ['abc='], ['a/b'], ['a b']])(
    'refuses cursor=%j with 400 INVALID_CURSOR',
    (cursor) => {
      expect(list({ cursor })).toBe('400 INVALID_CURSOR');
    },
  );

  it('defaults limit to 20, takes 1, 100 and 010, and ignores other parameters', () => {
    expect(parseListQuery({})).toEqual({ limit: 20, cursor: undefined });
    expect(parseListQuery({ limit: '1' }).limit).toBe(1);
    expect(parseListQuery({ limit: '100', cursor: 'abc_-' })).toEqual({ limit: 100, cursor: 'abc_-' });
    expect(parseListQuery({ limit: '010' }).limit).toBe(10);
    expect(parseListQuery({ limit: '5', other: 'x' } as Record<string, string>).limit).toBe(5);
  });
});

describe("ImageId (the document's path parameter)", () => {
  it('accepts exactly what shared/ids.ts accepts', () => {
    const samples = [
      newImageId(),
      newImageId(),
      'AAAAAAAAAAAAAAAAAAAAAA',
      'A'.repeat(21),
      'A'.repeat(23),
      '../../etc',
      '',
      'AAAAAAAAAAAAAAAAAAAAA=',
      'AAAAAAAAAAAAAAAAAAAAA\n',
    ];
    for (const sample of samples)
      expect(z.safeParse(ImageId, sample).success, sample).toBe(isImageId(sample));
  });
});
