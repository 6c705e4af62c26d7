import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

/** Cache header for variants: their keys never change content, so caches may keep them for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** An object read with a size guard. */
export type ReadResult =
  | { found: true; body: Buffer; bytes: number }
  | { found: true; tooLarge: true; bytes: number }
  | { found: false };

/**
 * Reads an object into memory unless it is larger than `maxBytes`, in which case the body is never
 * downloaded (the size is known from the response headers before the stream is read).
 */
export async function readObject(
  s3: S3Client,
  bucket: string,
  key: string,
  maxBytes: number,
): Promise<ReadResult> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = response.ContentLength ?? 0;
    if (bytes > maxBytes) {
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      return { found: true, tooLarge: true, bytes };
    }
    const body = Buffer.from((await response.Body?.transformToByteArray()) ?? new Uint8Array());
    // A server that lied about the length (or sent no length) is caught here.
    if (body.length > maxBytes) return { found: true, tooLarge: true, bytes: body.length };
    return { found: true, body, bytes: body.length };
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey')
      return { found: false };
    throw error;
  }
}

/** Writes one object. */
export async function writeObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  contentType: string,
  cacheControl?: string,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ...(cacheControl ? { CacheControl: cacheControl } : {}),
    }),
  );
}

/** Deletes one object; deleting a missing key succeeds, as on S3. */
export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Deletes the given keys in batches of 1000 (S3's DeleteObjects limit). Returns how many were requested. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<number> {
  for (let start = 0; start < keys.length; start += 1000) {
    const batch = keys.slice(start, start + 1000);
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    if (result.Errors && result.Errors.length > 0) {
      const first = result.Errors[0];
      throw new Error(
        `could not delete ${result.Errors.length} object(s), first ${first?.Key}: ${first?.Message}`,
      );
    }
  }
  return keys.length;
}

/** Every key under `prefix`, across pages. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
