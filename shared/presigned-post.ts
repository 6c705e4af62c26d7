import { createHmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

/** What a presigned POST allows: one exact key, one Content-Type, a size range, until it expires. */
export interface PresignedPostInput {
  bucket: string;
  key: string;
  contentType: string;
  /** Largest accepted file, in bytes (the policy's `content-length-range` is 1..maxBytes). */
  maxBytes: number;
  expiresSeconds: number;
  /** The signing time; defaults to now. */
  now?: Date;
}

/** The form a client posts: `url`, and `fields` to send before the file (in this order). */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
  /** The policy's `expiration` (ISO 8601, whole seconds): S3 refuses the form from this instant on. */
  expiresAt: string;
}

function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Signs a browser-based POST upload (S3's POST policy with Signature Version 4).
 *
 * Why not `@aws-sdk/s3-presigned-post`: it adds about 74 KB to the upload function's bundle, a tenth of its
 * cold start, for what is a JSON policy and an HMAC chain. This does the same with `node:crypto`, using the
 * S3 client's own credentials and endpoint rules, so the URL is the one the SDK would address (path-style
 * on a custom endpoint, virtual-hosted on AWS, FIPS or dual-stack if the client is configured so).
 * test/unit/presigned-post.test.ts checks the signature against the SDK's for the same policy.
 */
export async function createPresignedPost(s3: S3Client, input: PresignedPostInput): Promise<PresignedPost> {
  // The client's clock correction (learnt from S3's answers to a skewed clock) applies to signing too.
  const now = input.now ?? new Date(Date.now() + (s3.config.systemClockOffset ?? 0));
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const region = await s3.config.region();
  const credentials = await s3.config.credentials();
  const scope = `${day}/${region}/s3/aws4_request`;

  const fields: Record<string, string> = {
    'Content-Type': input.contentType,
    bucket: input.bucket,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': date,
    ...(credentials.sessionToken ? { 'X-Amz-Security-Token': credentials.sessionToken } : {}),
  };
  const expiresAt = new Date(now.getTime() + input.expiresSeconds * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const policy = {
    expiration: expiresAt,
    conditions: [
      ['content-length-range', 1, input.maxBytes],
      ['eq', '$Content-Type', input.contentType],
      ...Object.entries(fields).map(([name, value]) => ({ [name]: value })),
      { key: input.key },
    ],
  };
  const encodedPolicy = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 's3'),
    'aws4_request',
  );
  const signature = hmac(signingKey, encodedPolicy).toString('hex');

  const custom = await s3.config.endpoint?.();
  const endpoint = s3.config.endpointProvider({
    Bucket: input.bucket,
    Key: input.key,
    Region: region,
    UseFIPS: await s3.config.useFipsEndpoint(),
    UseDualStack: await s3.config.useDualstackEndpoint(),
    ForcePathStyle: s3.config.forcePathStyle,
    Accelerate: s3.config.useAccelerateEndpoint,
    ...(custom
      ? {
          Endpoint: `${custom.protocol}//${custom.hostname}${custom.port ? `:${custom.port}` : ''}${custom.path}`,
        }
      : {}),
  });
  return {
    url: endpoint.url.href.replace(/\/$/, ''),
    fields: { ...fields, key: input.key, Policy: encodedPolicy, 'X-Amz-Signature': signature },
    expiresAt,
  };
}
