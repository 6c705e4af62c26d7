// @ts-check
// The upload page's pure helpers: no DOM, no network, nothing at import time, so that the tests import this
// module in Node as well as the page does in the browser (test/browser/upload-page-lib.test.ts).

/**
 * Magic numbers of the formats the service accepts, to declare a file's type when the browser gives none (a
 * PNG without an extension is `""`, which would be posted as application/octet-stream and refused with
 * 415). The service sniffs every file again and decides (shared/image/sniff.ts, which the CLI imports); the
 * page cannot import TypeScript without a build step, so this is a small copy of that table, kept to what
 * choosing a declared type needs. Each entry: the type, then [offset, bytes] pairs that must all match.
 * @type {ReadonlyArray<[string, ReadonlyArray<[number, string | number[]]>]>}
 */
const MAGIC = [
  ['image/jpeg', [[0, [0xff, 0xd8, 0xff]]]],
  ['image/png', [[0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]]],
  ['image/gif', [[0, 'GIF87a']]],
  ['image/gif', [[0, 'GIF89a']]],
  [
    'image/webp',
    [
      [0, 'RIFF'],
      [8, 'WEBP'],
    ],
  ],
  ['image/avif', [[4, 'ftypavif']]],
  ['image/avif', [[4, 'ftypavis']]],
  // HEIC is refused by the service (UNSUPPORTED_FORMAT), but declared as what it is the refusal names it.
  ['image/heic', [[4, 'ftypheic']]],
  ['image/heic', [[4, 'ftypheix']]],
  ['image/tiff', [[0, [0x49, 0x49, 0x2a, 0x00]]]],
  ['image/tiff', [[0, [0x4d, 0x4d, 0x00, 0x2a]]]],
];

/** How many leading bytes {@link sniffType} needs. */
export const SNIFF_BYTES = 16;

/**
 * The image type the first bytes of a file announce, or `undefined` when none of {@link MAGIC} matches.
 * @param {Uint8Array} head the file's first {@link SNIFF_BYTES} bytes (fewer for a short file)
 * @returns {string | undefined}
 */
export function sniffType(head) {
  for (const [type, parts] of MAGIC) {
    const matches = parts.every(([offset, want]) => {
      const bytes = typeof want === 'string' ? [...want].map((c) => c.charCodeAt(0)) : want;
      return bytes.every((byte, i) => head[offset + i] === byte);
    });
    if (matches) return type;
  }
  return undefined;
}

/** The shortest key the API accepts: API Gateway's own minimum for an API key's value. */
export const KEY_MIN_LENGTH = 20;

/**
 * Checks a key as typed: surrounding spaces are dropped first (a pasted key often carries them), then it must
 * be at least {@link KEY_MIN_LENGTH} characters of printable ASCII: `fetch` refuses a header value outside
 * ISO-8859-1 with a TypeError, and API Gateway's keys are ASCII anyway.
 * @param {string} raw
 * @returns {{ key: string } | { problem: string }}
 */
export function checkKey(raw) {
  const key = raw.trim();
  if (key.length < KEY_MIN_LENGTH) {
    return {
      problem: `That key is ${key.length} characters long without its surrounding spaces; API keys have at least ${KEY_MIN_LENGTH}.`,
    };
  }
  if (!/^[\x20-\x7e]+$/.test(key)) {
    return {
      problem:
        'That key has characters an API key never has (letters with accents, other scripts, emoji or control characters): paste it again from where it was issued.',
    };
  }
  return { key };
}

/**
 * The wait a `Retry-After` header asks for (seconds or an HTTP date, RFC 9110 §10.2.3), in milliseconds,
 * or `undefined` when absent or unreadable.
 * @param {string | null} header
 * @param {number} [now] epoch milliseconds
 * @returns {number | undefined}
 */
export function retryAfterMs(header, now = Date.now()) {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP date always names its day (IMF-fixdate and the obsolete forms); Date.parse reads "-1" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Exponential backoff with jitter (AWS's "full jitter" kept above half the step, so waits still grow):
 * `base · 2^attempt`, capped at `cap`, then drawn between half of that and all of it.
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @param {number} attempt 0 for the first retry
 * @param {number} base milliseconds
 * @param {number} cap milliseconds
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffMs(attempt, base, cap, random = Math.random) {
  const step = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/**
 * What an answer of the API means to the page: `transient` for anything worth retrying (429 and 5xx from
 * API Gateway or the functions, and a 403 that is not the API's problem document: CloudFront's HTML page
 * when AWS WAF's per-IP rate rule blocks the viewer, infra/constructs/waf.ts), `key` for the API refusing the
 * key (a problem document with 401/403), `final` for the rest.
 * @param {number} status
 * @param {boolean} isProblem whether the body was the API's JSON (problem) document
 * @returns {'transient' | 'key' | 'final'}
 */
export function classifyAnswer(status, isProblem) {
  if (status === 429 || status >= 500) return 'transient';
  if (status === 403 && !isProblem) return 'transient';
  if (status === 401 || status === 403) return 'key';
  return 'final';
}

/**
 * `value` as an absolute http(s) URL, or `undefined` for anything else (`javascript:`, `data:`…): what the
 * page puts in an `href` or a `src` comes from the API's answer, and only web links belong there.
 * @param {unknown} value
 * @param {string} base the page's own URL, for relative links
 * @returns {string | undefined}
 */
export function safeHttpUrl(value, base) {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A limit on how many tasks run at once: `run(task)` starts it when fewer than `size` are running, else when
 * one ends (first come, first served).
 * @param {number} size
 * @returns {{ run: <T>(task: () => Promise<T>) => Promise<T>, readonly active: number }}
 */
export function createLimiter(size) {
  let active = 0;
  /** @type {Array<() => void>} */
  const queue = [];
  return {
    get active() {
      return active;
    },
    async run(task) {
      if (active >= size) await new Promise((resolve) => queue.push(() => resolve(undefined)));
      else active += 1;
      try {
        return await task();
      } finally {
        const next = queue.shift();
        if (next) next();
        else active -= 1;
      }
    },
  };
}

/**
 * A token bucket shared by all the page's requests of one kind: `take()` resolves when a request may go,
 * at most `perMinute` a minute on average with bursts of `burst`. Many cards then never add up to more than
 * the CDN's per-IP rate for public routes (300 a minute, infra/constructs/waf.ts).
 * @param {number} perMinute
 * @param {number} burst
 * @param {() => number} [clock]
 * @returns {{ take: () => Promise<void> }}
 */
export function createBudget(perMinute, burst, clock = Date.now) {
  const intervalMs = 60_000 / perMinute;
  let tokens = burst;
  let stamp = clock();
  let chain = Promise.resolve();
  /** @returns {number} milliseconds to wait before a token is there (0: taken now) */
  const tryTake = () => {
    const now = clock();
    tokens = Math.min(burst, tokens + (now - stamp) / intervalMs);
    stamp = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - tokens) * intervalMs);
  };
  const takeInTurn = async () => {
    for (let wait = tryTake(); wait > 0; wait = tryTake()) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };
  return {
    take() {
      chain = chain.then(takeInTurn);
      return chain;
    },
  };
}

/**
 * The byte limit a 413 `FILE_TOO_LARGE` names in its detail ("… over the 26214400-byte limit"), so the
 * page never hard-codes a limit the stack may change; `undefined` when the detail says none.
 * @param {string | undefined} detail
 * @returns {number | undefined}
 */
export function limitFromDetail(detail) {
  const match = /over the (\d+)-byte limit/.exec(detail ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * Bytes as people read them (1 decimal, binary units).
 * @param {number | undefined} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
