import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#test/support/local-cloud.ts';

/**
 * The upload page's pure helpers (site/lib.js), imported in Node as the page imports them in the browser.
 * The page is JavaScript with no build step; the main tsconfig does not take JS, so the module is imported
 * by URL and typed here by hand (tsconfig.site.json checks the module itself).
 */
interface SiteLib {
  SNIFF_BYTES: number;
  sniffType(head: Uint8Array): string | undefined;
  checkKey(raw: string): { key: string } | { problem: string };
  retryAfterMs(header: string | null, now?: number): number | undefined;
  backoffMs(attempt: number, base: number, cap: number, random?: () => number): number;
  classifyAnswer(status: number, isProblem: boolean): 'transient' | 'key' | 'final';
  safeHttpUrl(value: unknown, base: string): string | undefined;
  createLimiter(size: number): { run<T>(task: () => Promise<T>): Promise<T>; readonly active: number };
  createBudget(perMinute: number, burst: number, clock?: () => number): { take(): Promise<void> };
  limitFromDetail(detail: string | undefined): number | undefined;
}

const lib = (await import(pathToFileURL(join(ROOT, 'site/lib.js')).href)) as SiteLib;
const head = (bytes: Buffer | Uint8Array) => new Uint8Array(bytes).subarray(0, lib.SNIFF_BYTES);

describe('site/lib.js: type sniffing from the first bytes', () => {
  it('names each accepted format as sharp writes it, and HEIC', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#369' } });
    expect(lib.sniffType(head(await base.clone().jpeg().toBuffer()))).toBe('image/jpeg');
    expect(lib.sniffType(head(await base.clone().png().toBuffer()))).toBe('image/png');
    expect(lib.sniffType(head(await base.clone().webp().toBuffer()))).toBe('image/webp');
    expect(lib.sniffType(head(await base.clone().gif().toBuffer()))).toBe('image/gif');
    expect(lib.sniffType(head(await base.clone().avif().toBuffer()))).toBe('image/avif');
    expect(lib.sniffType(head(await base.clone().tiff().toBuffer()))).toBe('image/tiff');
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic')]);
    expect(lib.sniffType(head(heic))).toBe('image/heic');
  });

  it('names nothing for text, an empty file, a truncated signature or SVG', () => {
    expect(lib.sniffType(head(Buffer.from('these are notes, not a picture')))).toBeUndefined();
    expect(lib.sniffType(new Uint8Array())).toBeUndefined();
    expect(lib.sniffType(new Uint8Array([0x89, 0x50, 0x4e]))).toBeUndefined();
    expect(lib.sniffType(head(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')))).toBeUndefined();
    expect(lib.sniffType(head(Buffer.from('RIFF\0\0\0\0WAVEfmt ')))).toBeUndefined();
  });
});

describe('site/lib.js: the API key as typed', () => {
  const key = 'k'.repeat(20);

  it('trims before counting: 19 characters with spaces around are too short', () => {
    expect(lib.checkKey(`  ${'k'.repeat(19)}  `)).toEqual({
      problem: expect.stringMatching(/19 characters long.*at least 20/),
    });
    expect(lib.checkKey(` ${key}\n`)).toEqual({ key });
  });

  it('refuses what fetch cannot send in a header, or no key has: non-ASCII, controls', () => {
    for (const bad of [`${key}é`, `${key}🔑`, `ключ${key}`, `${key}\u0000x`, `${key}\tx`, `${key}\u200bx`]) {
      expect(lib.checkKey(bad), JSON.stringify(bad)).toEqual({
        problem: expect.stringMatching(/characters/),
      });
    }
  });
});

describe('site/lib.js: what an answer means, and how long to wait', () => {
  it('retries throttling, 5xx and the WAF page (a 403 that is not a problem document); a problem 401/403 is the key', () => {
    expect(lib.classifyAnswer(429, true)).toBe('transient');
    expect(lib.classifyAnswer(503, false)).toBe('transient');
    expect(lib.classifyAnswer(502, true)).toBe('transient');
    expect(lib.classifyAnswer(403, false)).toBe('transient');
    expect(lib.classifyAnswer(403, true)).toBe('key');
    expect(lib.classifyAnswer(401, true)).toBe('key');
    expect(lib.classifyAnswer(415, true)).toBe('final');
    expect(lib.classifyAnswer(404, true)).toBe('final');
  });

  it('reads Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3); garbage is no answer', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(lib.retryAfterMs('3', now)).toBe(3000);
    expect(lib.retryAfterMs('Mon, 30 Nov 2026 12:00:07 GMT', now)).toBe(7000);
    expect(lib.retryAfterMs('Mon, 30 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(lib.retryAfterMs('soon', now)).toBeUndefined();
    expect(lib.retryAfterMs('-1', now)).toBeUndefined();
    expect(lib.retryAfterMs(null, now)).toBeUndefined();
  });

  it('backs off exponentially with jitter, between half and all of the step, capped', () => {
    expect(lib.backoffMs(0, 1000, 20_000, () => 0)).toBe(500);
    expect(lib.backoffMs(0, 1000, 20_000, () => 1)).toBe(1000);
    expect(lib.backoffMs(3, 1000, 20_000, () => 1)).toBe(8000);
    expect(lib.backoffMs(10, 1000, 20_000, () => 1)).toBe(20_000);
    expect(lib.backoffMs(1000, 1000, 20_000, () => 0)).toBe(10_000);
  });

  it('finds the limit a 413 FILE_TOO_LARGE names (shared/uploads.ts), so the page never hard-codes one', () => {
    expect(lib.limitFromDetail('contentLength 30000000 is over the 26214400-byte limit')).toBe(26_214_400);
    expect(lib.limitFromDetail('too big')).toBeUndefined();
    expect(lib.limitFromDetail(undefined)).toBeUndefined();
    expect(readFileSync(join(ROOT, 'site/index.html'), 'utf8')).not.toMatch(/\d+\s*MiB/);
  });
});

describe('site/lib.js: links from the API only when they are http(s)', () => {
  const base = 'https://cdn.example/';
  it('keeps http and https (relative ones resolved), drops every other scheme and non-strings', () => {
    expect(lib.safeHttpUrl('https://cdn.example/variants/a/small.webp', base)).toBe(
      'https://cdn.example/variants/a/small.webp',
    );
    expect(lib.safeHttpUrl('http://localhost:3001/v.png', base)).toBe('http://localhost:3001/v.png');
    expect(lib.safeHttpUrl('/variants/x.webp', base)).toBe('https://cdn.example/variants/x.webp');
    for (const bad of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:text/html,<b>',
      'vbscript:x',
      'blob:x',
    ]) {
      expect(lib.safeHttpUrl(bad, base), bad).toBeUndefined();
    }
    expect(lib.safeHttpUrl(42, base)).toBeUndefined();
    expect(lib.safeHttpUrl(undefined, base)).toBeUndefined();
    expect(lib.safeHttpUrl('http://[bad', base)).toBeUndefined();
  });
});

describe('site/lib.js: concurrency and rate', () => {
  it('runs at most `size` tasks at once, in order, and frees a slot when one fails', async () => {
    const limiter = lib.createLimiter(4);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 20 }, (_, i) =>
      limiter.run(async () => {
        running += 1;
        most = Math.max(most, running);
        order.push(i);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
        if (i === 3) throw new Error('one fails');
        return i;
      }),
    );
    const results = await Promise.allSettled(tasks);
    expect(most).toBe(4);
    expect(order).toEqual([...Array(20).keys()]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(limiter.active).toBe(0);
  });

  it('lets a burst through, then at most perMinute a minute however many callers share it', async () => {
    let now = 0;
    const budget = lib.createBudget(60_000, 3, () => now); // one a millisecond of the fake clock
    const taken: number[] = [];
    const all = Array.from({ length: 8 }, () => budget.take().then(() => taken.push(now)));
    // The fake clock moves as the real one does, so the budget's timers see time pass.
    const ticker = setInterval(() => {
      now += 1;
    }, 1);
    await Promise.all(all);
    clearInterval(ticker);
    expect(taken.slice(0, 3)).toEqual([0, 0, 0]);
    for (let i = 4; i < taken.length; i += 1) expect(taken[i]).toBeGreaterThan(taken[i - 1] ?? 0);
  });
});

describe('site/*.js are type-checked', () => {
  it('each starts with // @ts-check, and tsc -p tsconfig.site.json passes', async () => {
    for (const file of ['app.js', 'lib.js']) {
      expect(readFileSync(join(ROOT, 'site', file), 'utf8').startsWith('// @ts-check\n'), file).toBe(true);
    }
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    await expect(
      promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.site.json'], { cwd: ROOT }),
    ).resolves.toBeDefined();
  }, 60_000);
});
