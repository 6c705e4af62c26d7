import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * An API key as API Gateway knows it (https://docs.aws.amazon.com/apigateway/latest/api/API_ApiKey.html):
 * the secret value and its id (the owner of what it uploads), and what key management changes. A key saved
 * by an earlier version has only `id` and `value`: it is enabled and in the template's usage plans, as the
 * template's own `AWS::ApiGateway::ApiKey` is (its `AWS::ApiGateway::UsagePlanKey`).
 */
export interface ApiKey {
  id: string;
  value: string;
  name?: string;
  description?: string;
  /** Absent: enabled (keys of earlier versions, and `PICTURA_LOCAL_API_KEYS`). */
  enabled?: boolean;
  /** Epoch seconds. */
  createdDate?: number;
  lastUpdatedDate?: number;
  /** The usage plans the key is in; absent: every usage plan of the template. */
  usagePlanIds?: string[];
}

function idOf(value: string): string {
  return `local-${createHash('sha256').update(value).digest('hex').slice(0, 10)}`;
}

/** API Gateway's minimum key value length (CreateApiKey answers 400 below it). */
export const MIN_API_KEY_LENGTH = 20;

/**
 * The local cloud's API keys: from `PICTURA_LOCAL_API_KEYS` (comma-separated, each key its own owner) or
 * the keys kept in the data folder (one generated on first start), so a restart keeps the same keys and
 * owners. The key file is the owner's only (mode 0600, in a folder created 0700), as a credentials file
 * should be; one left readable by an earlier version is narrowed when read.
 */
export function loadApiKeys(fromEnvironment: string | undefined, stateFile: string | undefined): ApiKey[] {
  const values = (fromEnvironment ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.length > 0) {
    for (const value of values) {
      if (value.length < MIN_API_KEY_LENGTH)
        throw new Error(
          `each key in PICTURA_LOCAL_API_KEYS must be at least 20 characters, as on API Gateway (one has ${value.length})`,
        );
    }
    return values.map((value) => ({ id: idOf(value), value }));
  }
  if (stateFile && existsSync(stateFile)) {
    chmodSync(stateFile, 0o600);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as ApiKey[];
    // An empty list is what deleting every key leaves: kept, not replaced by a new key.
    if (Array.isArray(saved)) return saved;
  }
  const value = `pk_local_${randomBytes(20).toString('base64url')}`;
  const keys = [{ id: idOf(value), value }];
  if (stateFile) saveApiKeys(stateFile, keys);
  return keys;
}

/** Writes the key file (0600, folder 0700) through a temporary file, so a crash never leaves half a file. */
export function saveApiKeys(stateFile: string, keys: readonly ApiKey[]): void {
  mkdirSync(dirname(stateFile), { recursive: true, mode: 0o700 });
  const temporary = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(keys, null, 2), { mode: 0o600 });
  renameSync(temporary, stateFile);
}

/**
 * The keys the API accepts and key management changes. `usagePlanIds` are the template's usage plans of the
 * stage; `stateFile`, when given, is rewritten after every change.
 */
export class ApiKeyStore {
  readonly #keys = new Map<string, ApiKey>();
  readonly #planIds: readonly string[];
  readonly #stateFile: string | undefined;

  constructor(
    keys: readonly ApiKey[],
    options: { usagePlanIds?: readonly string[]; stateFile?: string } = {},
  ) {
    for (const key of keys) this.#keys.set(key.id, { ...key });
    this.#planIds = options.usagePlanIds ?? [];
    this.#stateFile = options.stateFile;
  }

  get usagePlanIds(): readonly string[] {
    return this.#planIds;
  }

  list(): ApiKey[] {
    return [...this.#keys.values()];
  }

  get(id: string): ApiKey | undefined {
    return this.#keys.get(id);
  }

  /** The plans a key is in: its own list, or every template plan for a key without one. */
  plansOf(key: ApiKey): readonly string[] {
    return key.usagePlanIds ?? this.#planIds;
  }

  /** Adds (or replaces) a key and saves. */
  put(key: ApiKey): void {
    this.#keys.set(key.id, key);
    this.#save();
  }

  /** Removes a key and saves; `false` when there was none. */
  remove(id: string): boolean {
    const removed = this.#keys.delete(id);
    if (removed) this.#save();
    return removed;
  }

  /**
   * The key API Gateway would accept on a key-required method: it exists, is enabled, and is in a usage plan
   * of the stage (a key in no plan is refused, https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
   * A template without usage plans (a test API) accepts any enabled key.
   */
  validate(value: string | undefined): ApiKey | undefined {
    if (!value) return undefined;
    for (const key of this.#keys.values()) {
      if (key.value !== value || key.enabled === false) continue;
      const plans = this.plansOf(key);
      if (this.#planIds.length === 0 || plans.some((plan) => this.#planIds.includes(plan))) return key;
    }
    return undefined;
  }

  #save(): void {
    if (this.#stateFile) saveApiKeys(this.#stateFile, this.list());
  }
}
