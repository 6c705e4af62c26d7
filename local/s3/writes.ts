import type { IncomingMessage } from 'node:http';
import { requestUrl } from '../http-util.ts';

/** The S3 API call that created an object, as S3 names it in `ObjectCreated:<api>` events. */
export type S3WriteApi = 'Put' | 'Post' | 'Copy' | 'CompleteMultipartUpload';

/** An object-creating request: its bucket, its key when the URL names it, and the API. */
export interface S3Write {
  bucket: string;
  /** Absent for a browser form POST, whose key is a form field. */
  key?: string;
  api: S3WriteApi;
}

/**
 * Recognises the requests that create S3 objects (path-style addressing, which is what clients of a
 * custom endpoint use): PutObject, CopyObject, a form POST, CompleteMultipartUpload. Parts of a multipart
 * upload create nothing and are not writes.
 */
export function classifyS3Write(req: IncomingMessage): S3Write | undefined {
  if (req.headers['x-amz-target']) return undefined; // SQS (JSON protocol) or DynamoDB
  const url = requestUrl(req);
  if (!url) return undefined;
  // The raw path, not url.pathname: WHATWG URL parsing resolves `..` segments, but S3 keys may hold them
  // (`a/../b` is its own key, which fauxqs stores as is), so the key named here must be the literal one.
  const rawPath = (req.url ?? '/').replace(/\?.*$/s, '');
  const [bucket, ...rest] = rawPath.split('/').slice(1);
  if (!bucket) return undefined;
  let key: string | undefined;
  try {
    key = rest.length > 0 && rest.join('/') !== '' ? decodeURIComponent(rest.join('/')) : undefined;
  } catch {
    return undefined; // a malformed escape: fauxqs answers it with an error; it writes nothing
  }
  if (
    req.method === 'PUT' &&
    key &&
    !url.searchParams.has('partNumber') &&
    !url.searchParams.has('uploadId')
  ) {
    return { bucket, key, api: req.headers['x-amz-copy-source'] ? 'Copy' : 'Put' };
  }
  if (req.method === 'POST' && key && url.searchParams.has('uploadId')) {
    return { bucket, key, api: 'CompleteMultipartUpload' };
  }
  if (
    req.method === 'POST' &&
    !key &&
    String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')
  ) {
    return { bucket, api: 'Post' };
  }
  return undefined;
}

/**
 * The writes in flight through the edge, so that an object-created event (which fauxqs reports while it
 * handles the request) can be named after the call that made it.
 */
export class S3WritesInFlight {
  readonly #byKey = new Map<string, S3WriteApi>();
  readonly #formPosts = new Map<string, number>();
  /** Keys already reported while form POSTs to a bucket are in flight (fauxqs reports a POST twice). */
  readonly #postedKeys = new Map<string, Set<string>>();

  /** Notes a request; returns the function that forgets it when the response is done. */
  track(write: S3Write): () => void {
    if (write.key !== undefined) {
      const id = `${write.bucket}\n${write.key}`;
      this.#byKey.set(id, write.api);
      return () => this.#byKey.delete(id);
    }
    this.#formPosts.set(write.bucket, (this.#formPosts.get(write.bucket) ?? 0) + 1);
    return () => {
      const left = (this.#formPosts.get(write.bucket) ?? 1) - 1;
      this.#formPosts.set(write.bucket, left);
      if (left === 0) this.#postedKeys.delete(write.bucket);
    };
  }

  /** Whether this write was already reported: a form POST's second report of the same key. */
  isRepeat(bucket: string, key: string, api: S3WriteApi): boolean {
    if (api !== 'Post') return false;
    const keys = this.#postedKeys.get(bucket) ?? new Set<string>();
    this.#postedKeys.set(bucket, keys);
    if (keys.has(key)) return true;
    keys.add(key);
    return false;
  }

  /** The API that is writing `key` now: by key when the URL named it, else a form POST to the bucket. */
  apiFor(bucket: string, key: string): S3WriteApi {
    return this.#byKey.get(`${bucket}\n${key}`) ?? ((this.#formPosts.get(bucket) ?? 0) > 0 ? 'Post' : 'Put');
  }
}
