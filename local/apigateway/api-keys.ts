import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** An API key as API Gateway knows it: the secret value and its id (the owner of what it uploads). */
export interface ApiKey {
  id: string;
  value: string;
}

function idOf(value: string): string {
  return `local-${createHash('sha256').update(value).digest('hex').slice(0, 10)}`;
}

/**
 * The local cloud's API keys: from `PICTURA_LOCAL_API_KEYS` (comma-separated, each key its own owner) or
 * one generated on first start and kept in the data folder, so a restart keeps the same key and owner.
 * The key file is the owner's only (mode 0600, in a folder created 0700), as a credentials file should be;
 * one left readable by an earlier version is narrowed when read.
 */
export function loadApiKeys(fromEnvironment: string | undefined, stateFile: string | undefined): ApiKey[] {
  const values = (fromEnvironment ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length > 0) {
    for (const value of values) {
      if (value.length < 20)
        throw new Error(
          `each key in PICTURA_LOCAL_API_KEYS must be at least 20 characters, as on API Gateway (one has ${value.length})`,
        );
    }
    return values.map((value) => ({ id: idOf(value), value }));
  }
  if (stateFile && existsSync(stateFile)) {
    chmodSync(stateFile, 0o600);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as ApiKey[];
    if (Array.isArray(saved) && saved.length > 0) return saved;
  }
  const value = `pk_local_${randomBytes(20).toString('base64url')}`;
  const keys = [{ id: idOf(value), value }];
  if (stateFile) {
    mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
    writeFileSync(stateFile, JSON.stringify(keys, null, 2), { mode: 0o600 });
  }
  return keys;
}
