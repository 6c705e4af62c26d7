import { describe, expect, it } from 'vitest';
import { parseConfig } from '#shared/config.ts';
import { ConfigError } from '#shared/errors.ts';
import { DEFAULT_VARIANTS } from '#shared/variants.ts';

const base = { BUCKET_NAME: 'bucket', TABLE_NAME: 'table' };

describe('parseConfig', () => {
  it('applies documented defaults', () => {
    const config = parseConfig(base);
    expect(config).toMatchObject({
      region: 'us-east-1',
      endpoint: undefined,
      bucketName: 'bucket',
      tableName: 'table',
      limits: {
        maxUploadBytes: 25 * 1024 * 1024,
        maxDirectUploadBytes: 4 * 1024 * 1024,
        maxInputPixels: 100_000_000,
      },
      presignedPostExpiresSeconds: 900,
    });
    expect(config.variants).toEqual(DEFAULT_VARIANTS);
  });

  it('reports every missing required setting at once', () => {
    expect(() => parseConfig({}, ['renderQueueUrl'])).toThrow(
      /BUCKET_NAME is required; TABLE_NAME is required; RENDER_QUEUE_URL is required/,
    );
  });

  it('requires only what the function declares it needs', () => {
    expect(() => parseConfig(base)).not.toThrow();
    expect(() => parseConfig(base, ['cdnBaseUrl'])).toThrow(ConfigError);
    expect(parseConfig({ ...base, CDN_BASE_URL: 'https://cdn.example/' }, ['cdnBaseUrl']).cdnBaseUrl).toBe(
      'https://cdn.example',
    );
  });

  it.each([
    ['MAX_UPLOAD_BYTES', 'lots'],
    ['MAX_UPLOAD_BYTES', '-5'],
    ['MAX_UPLOAD_BYTES', '1.5'],
    ['MAX_UPLOAD_BYTES', '0'],
    ['MAX_DIRECT_UPLOAD_BYTES', String(10 * 1024 * 1024)],
    ['MAX_INPUT_PIXELS', '1e9'],
    ['PRESIGNED_POST_EXPIRES_SECONDS', '5'],
    ['AWS_ENDPOINT_URL', 'localhost:4566'],
    ['AWS_ENDPOINT_URL', 'ftp://localhost'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    expect(() => parseConfig({ ...base, [name]: value })).toThrow(new RegExp(name));
  });

  it('refuses a direct-upload limit above the upload limit', () => {
    expect(() => parseConfig({ ...base, MAX_UPLOAD_BYTES: '1000', MAX_DIRECT_UPLOAD_BYTES: '2000' })).toThrow(
      /must not exceed MAX_UPLOAD_BYTES/,
    );
  });

  it.each([
    ['not json', '{', /not valid JSON/],
    ['an object', '{"name":"x"}', /JSON array/],
    ['an empty list', '[]', /JSON array/],
    ['a bad name', '[{"name":"../etc","width":10}]', /name must match/],
    ['a duplicate name', '[{"name":"a","width":10},{"name":"a","width":20}]', /used twice/],
    ['a string width', '[{"name":"a","width":"10"}]', /width must be an integer/],
    ['a huge width', '[{"name":"a","width":100000}]', /width must be an integer/],
    ['cover without height', '[{"name":"a","width":10,"fit":"cover"}]', /needs a height/],
    ['an unknown format', '[{"name":"a","width":10,"format":"bmp"}]', /format must be one of/],
    ['a quality of 0', '[{"name":"a","width":10,"quality":0}]', /quality/],
  ])('refuses VARIANTS that is %s', (_label, json, message) => {
    expect(() => parseConfig({ ...base, VARIANTS: json })).toThrow(message);
  });

  it('accepts a valid VARIANTS list with defaults filled in', () => {
    const config = parseConfig({ ...base, VARIANTS: '[{"name":"hero","width":1600,"format":"avif"}]' });
    expect(config.variants).toEqual([
      { name: 'hero', width: 1600, fit: 'inside', format: 'avif', quality: 80 },
    ]);
  });
});
