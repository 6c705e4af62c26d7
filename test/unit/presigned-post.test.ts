import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost as sdkPresignedPost } from '@aws-sdk/s3-presigned-post';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPresignedPost } from '#shared/presigned-post.ts';

// The project signs POST policies itself (a smaller bundle); the SDK's own implementation is the reference.
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const input = {
  bucket: 'pictura-bucket',
  key: 'originals/AAAAAAAAAAAAAAAAAAAAAA',
  contentType: 'image/png',
  maxBytes: 5000,
  expiresSeconds: 900,
};

afterEach(() => {
  vi.useRealTimers();
});

async function both(client: S3Client) {
  const now = new Date('2026-11-21T10:11:12.000Z');
  vi.useFakeTimers({ now, toFake: ['Date'] });
  const reference = await sdkPresignedPost(client, {
    Bucket: input.bucket,
    Key: input.key,
    Conditions: [
      ['content-length-range', 1, input.maxBytes],
      ['eq', '$Content-Type', input.contentType],
    ],
    Fields: { 'Content-Type': input.contentType },
    Expires: input.expiresSeconds,
  });
  const ours = await createPresignedPost(client, { ...input, now });
  return { reference, ours };
}

describe('createPresignedPost', () => {
  it.each([
    ['AWS (virtual-hosted)', new S3Client({ region: 'eu-west-1', credentials })],
    [
      'a custom endpoint (path-style)',
      new S3Client({
        region: 'us-east-1',
        endpoint: 'http://localhost:4566',
        forcePathStyle: true,
        credentials,
      }),
    ],
    [
      'temporary credentials',
      new S3Client({
        region: 'us-east-1',
        credentials: { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' },
      }),
    ],
    ['FIPS', new S3Client({ region: 'us-east-1', useFipsEndpoint: true, credentials })],
  ])('produces the same URL, policy and signature as the SDK on %s', async (_label, client) => {
    const { reference, ours } = await both(client);
    expect(ours.url).toBe(reference.url.replace(/\/$/, ''));
    expect(ours.fields).toEqual(reference.fields);
  });

  it('pins the key, the type and the size range, and expires', async () => {
    const { ours } = await both(new S3Client({ region: 'us-east-1', credentials }));
    const policy = JSON.parse(Buffer.from(ours.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.expiration).toBe('2026-11-21T10:26:12Z');
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 5000],
        ['eq', '$Content-Type', 'image/png'],
        { key: input.key },
      ]),
    );
    expect(ours.fields['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
  });
});
