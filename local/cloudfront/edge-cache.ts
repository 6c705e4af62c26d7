import type { LocalCacheBehavior } from '../template/stack-model.ts';
import { type InvalidationPath, invalidationCovers } from './invalidation-paths.ts';

/** An object held by the edge cache, with what it is served with. */
export interface CachedObject {
  body: Buffer;
  headers: Record<string, string>;
  etag: string;
  /** Epoch ms after which the edge goes back to the origin. */
  expires: number;
}

/**
 * Seconds an object stays at the edge: the object's `Cache-Control: max-age`, or the cache policy's default
 * TTL without one, held within the policy's minimum and maximum TTLs
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html).
 */
export function ttlFor(behavior: LocalCacheBehavior, cacheControl: string | undefined): number {
  const maxAge = /max-age=(\d+)/.exec(cacheControl ?? '')?.[1];
  const seconds = maxAge === undefined ? behavior.defaultTtl : Number(maxAge);
  return Math.min(behavior.maxTtl, Math.max(behavior.minTtl, seconds));
}

/** The distribution's edge cache, keyed by the percent-decoded viewer path. */
export class EdgeCache {
  readonly #objects = new Map<string, CachedObject>();

  /** The fresh cached object for `key`, or `undefined` (absent or expired). */
  get(key: string): CachedObject | undefined {
    const cached = this.#objects.get(key);
    return cached && cached.expires > Date.now() ? cached : undefined;
  }

  /** Keeps `object` unless its TTL is zero (a TTL of 0 means: always ask the origin). */
  set(key: string, object: CachedObject): void {
    if (object.expires > Date.now()) this.#objects.set(key, object);
  }

  /** Drops every cached object an invalidation path covers; returns how many. */
  invalidate(paths: readonly InvalidationPath[]): number {
    let dropped = 0;
    for (const key of [...this.#objects.keys()]) {
      if (paths.some((path) => invalidationCovers(path, key))) {
        this.#objects.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }
}
