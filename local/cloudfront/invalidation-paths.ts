/** The longest invalidation path CloudFront takes (Invalidation.html, "Invalidation paths"). */
export const MAX_INVALIDATION_PATH_LENGTH = 4000;

/** An invalidation path as the edge cache applies it: an exact viewer path, or a prefix (`…*`). */
export interface InvalidationPath {
  /** The path as the caller sent it (echoed in the answer). */
  raw: string;
  /** Percent-decoded, as the cache keys are; without the trailing `*`. */
  decoded: string;
  wildcard: boolean;
}

/**
 * Parses one invalidation path as CloudFront validates it
 * (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation.html, "Invalidation
 * paths"): through the API it must begin with `/`; `*` (zero or more characters) may only be the last
 * character; at most 4,000 characters. Non-ASCII and unsafe characters come URL-encoded, so the path is
 * percent-decoded to compare with the cache's decoded keys; a malformed encoding is refused too (a local
 * choice: it could never match a key). Returns `undefined` for an invalid path (`InvalidArgument`).
 */
export function parseInvalidationPath(raw: string): InvalidationPath | undefined {
  if (!raw.startsWith('/') || raw.length > MAX_INVALIDATION_PATH_LENGTH) return undefined;
  const star = raw.indexOf('*');
  if (star !== -1 && star !== raw.length - 1) return undefined;
  const wildcard = star !== -1;
  try {
    return { raw, decoded: decodeURIComponent(wildcard ? raw.slice(0, -1) : raw), wildcard };
  } catch {
    return undefined;
  }
}

/** Whether an invalidation path covers a cached viewer path: equal, or a prefix for a `*` path. No regex. */
export function invalidationCovers(path: InvalidationPath, cacheKey: string): boolean {
  return path.wildcard ? cacheKey.startsWith(path.decoded) : cacheKey === path.decoded;
}
