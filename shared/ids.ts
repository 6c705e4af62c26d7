import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Image ids are 128 random bits, base64url: URL-safe, opaque, and unguessable. */
const ID_BYTES = 16;
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** Creates a new image id (22 base64url characters, 128 bits of entropy). */
export function newImageId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** Whether `value` has the shape of an image id. Anything else can be answered 404 without a lookup. */
export function isImageId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Creates a one-time delete token (256 bits). Only its hash is ever stored. */
export function newDeleteToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of a secret (delete token or API key), hex. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(presented: string, storedHash: string | undefined): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashSecret(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
