import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_RESERVED_CONCURRENCY } from '#infra/constructs/functions.ts';
import { FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import { bundleForHost } from '#local/lambda/build.ts';
import { codeAssetHash, functionNamed, type Json, type Synthesized, synthesize } from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

const COMMON_ENV = [
  'BUCKET_NAME',
  'TABLE_NAME',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_LOG_LEVEL',
  'MAX_UPLOAD_BYTES',
  'MAX_DIRECT_UPLOAD_BYTES',
  'MAX_INPUT_PIXELS',
];

/** The environment each function reads (shared/config.ts), exactly. */
/** What every SQS consumer reads to back off a failed record and know its last receive. */
const CONSUMER_ENV = [
  'SOURCE_QUEUE_URL',
  'MAX_RECEIVE_COUNT',
  'RETRY_BACKOFF_BASE_SECONDS',
  'RETRY_BACKOFF_MAX_SECONDS',
];
const EXPECTED_ENV: Record<string, string[]> = {
  // CDN_ORIGIN_SECRET: the API functions refuse requests that did not come through the CDN.
  // API_PUBLIC_URL: links name the CDN, the API's only public door (shared/http/request.ts apiBaseUrl).
  upload: [
    'PRESIGNED_POST_EXPIRES_SECONDS',
    'PENDING_UPLOAD_TTL_SECONDS',
    'CORS_ALLOW_ORIGIN',
    'CDN_ORIGIN_SECRET',
    'API_PUBLIC_URL',
  ],
  images: ['CDN_BASE_URL', 'CORS_ALLOW_ORIGIN', 'CDN_ORIGIN_SECRET', 'API_PUBLIC_URL'],
  delete: ['PURGE_QUEUE_URL', 'CORS_ALLOW_ORIGIN', 'CDN_ORIGIN_SECRET'],
  purge: ['DEAD_LETTER_QUEUE_URL', 'CDN_DISTRIBUTION_ID', ...CONSUMER_ENV],
  metadata: ['RENDER_QUEUE_URL', 'DEAD_LETTER_QUEUE_URL', ...CONSUMER_ENV],
  thumbnail: ['CDN_BASE_URL', 'DEAD_LETTER_QUEUE_URL', ...CONSUMER_ENV],
  sweeper: [
    'INGEST_QUEUE_URL',
    'RENDER_QUEUE_URL',
    'PURGE_QUEUE_URL',
    'PRESIGNED_POST_EXPIRES_SECONDS',
    'SWEEP_PENDING_UPLOAD_GRACE_SECONDS',
    'SWEEP_PROCESSING_AFTER_SECONDS',
    'SWEEP_DELETING_AFTER_SECONDS',
    'SWEEP_MAX_RECORDS',
  ],
};
const SHARP_FUNCTIONS = new Set(['metadata', 'thumbnail']);

const fn = (name: string): Json => functionNamed(aws.json, name)[1];
const bundle = (name: string): string =>
  readFileSync(join(aws.assetDir(codeAssetHash(fn(name))), 'index.mjs'), 'utf8');

/** sharp's own JavaScript (its platform loader): present only if sharp was bundled instead of installed. */
const SHARP_CODE = /@img\/sharp-|Could not load the "sharp" module/;
/** An import of sharp left for the runtime to resolve. */
const SHARP_IMPORT = /from\s*["']sharp["']|import\(\s*["']sharp["']\s*\)|require\(\s*["']sharp["']\s*\)/;

describe('every function', () => {
  it('exists once per name, tagged with its entry for the local cloud', () => {
    for (const name of FUNCTION_NAMES) {
      expect(fn(name).Metadata).toMatchObject({
        'pictura:name': name,
        'pictura:entry': `functions/${name}/handler.ts`,
      });
      expect(existsSync(join(import.meta.dirname, '../..', fn(name).Metadata['pictura:entry']))).toBe(true);
    }
  });

  it.each(FUNCTION_NAMES)('%s runs Node.js 24 on arm64, handler index.handler', (name) => {
    expect(fn(name).Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
    });
  });

  it.each(FUNCTION_NAMES)('%s gets exactly the environment it reads', (name) => {
    const variables = fn(name).Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual([...COMMON_ENV, ...(EXPECTED_ENV[name] ?? [])].sort());
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('pictura');
    expect(variables.POWERTOOLS_LOG_LEVEL).toBe('INFO');
  });

  it('reserves concurrency for the API functions only (API_RESERVED_CONCURRENCY)', () => {
    for (const name of FUNCTION_NAMES) {
      const reserved = fn(name).Properties.ReservedConcurrentExecutions;
      if (name in API_RESERVED_CONCURRENCY) {
        expect(reserved, name).toBe(API_RESERVED_CONCURRENCY[name as keyof typeof API_RESERVED_CONCURRENCY]);
      } else expect(reserved, name).toBeUndefined();
    }
    // Far under the account's default 1,000, so the pipeline keeps most of the pool.
    expect(Object.values(API_RESERVED_CONCURRENCY).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(100);
  });

  it('sizes memory for the work: image functions 1.5–2 GB, API functions 256–512 MB', () => {
    for (const name of FUNCTION_NAMES) {
      const memory: number = fn(name).Properties.MemorySize;
      if (SHARP_FUNCTIONS.has(name)) expect(memory).toBeGreaterThanOrEqual(1536);
      else expect(memory).toBeLessThanOrEqual(512);
      expect(memory).toBeLessThanOrEqual(2048);
    }
    // API functions answer within API Gateway's 29 s integration timeout.
    expect(fn('upload').Properties.Timeout).toBeLessThan(29);
    expect(fn('images').Properties.Timeout).toBeLessThan(29);
  });

  it('writes its logs to its own log group with a retention', () => {
    for (const name of FUNCTION_NAMES) {
      const logGroupId = fn(name).Properties.LoggingConfig.LogGroup.Ref;
      expect(aws.json.Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    }
  });

  it('limits are stated in the template', () => {
    expect(fn('upload').Properties.Environment.Variables).toMatchObject({
      MAX_UPLOAD_BYTES: String(25 * 1024 * 1024),
      MAX_DIRECT_UPLOAD_BYTES: String(4 * 1024 * 1024),
      PRESIGNED_POST_EXPIRES_SECONDS: '900',
      PENDING_UPLOAD_TTL_SECONDS: '86400',
    });
    expect(fn('metadata').Properties.Environment.Variables.MAX_INPUT_PIXELS).toBe('100000000');
  });
});

describe('bundles', () => {
  it('are built once per function', () => {
    const hashes = FUNCTION_NAMES.map((name) => codeAssetHash(fn(name)));
    expect(new Set(hashes).size).toBe(FUNCTION_NAMES.length);
  });

  it.each(FUNCTION_NAMES)(
    '%s is one minified ES module with a require shim, a function-scoped body and no source map',
    (name) => {
      const dir = aws.assetDir(codeAssetHash(fn(name)));
      const files = readdirSync(dir);
      expect(files).toContain('index.mjs');
      expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
      const code = bundle(name);
      // (Assertions on excerpts: a failure must not print a 700 kB bundle.)
      const banner =
        "import { createRequire as __picturaCreateRequire } from 'node:module'; const require = __picturaCreateRequire(import.meta.url);";
      expect(code.slice(0, banner.length)).toBe(banner);
      // The bundle's code runs inside one function, and the module exports the handler from it
      // (infra/bundling.ts says why): no binding of the bundle sits at module scope.
      expect(code.slice(banner.length, banner.length + 40)).toMatch(
        /^\s*("use strict";)?var __pictura=\(\(\)=>\{/,
      );
      expect(code.trimEnd().slice(-60)).toMatch(/\nexport const handler = __pictura\.handler;$/);
      expect(code.includes('sourceMappingURL')).toBe(false);
      // Minified: long lines; newlines survive only inside template literals. Unminified code has a line
      // every 30–40 bytes.
      const bytesPerLine = code.length / code.split('\n').length;
      expect(bytesPerLine).toBeGreaterThan(500);
    },
  );

  it.each(FUNCTION_NAMES)('%s is, byte for byte, the bundle the local cloud runs', async (name) => {
    const entry = fn(name).Metadata['pictura:entry'] as string;
    const local = await bundleForHost({ entry, label: name }, join(import.meta.dirname, '../..'));
    // Compared as hashes-worth of equality, not printed: a failure must not dump two 500 kB strings.
    expect(Buffer.from(local.code).equals(Buffer.from(bundle(name)))).toBe(true);
  });

  it.each(FUNCTION_NAMES)('%s never carries sharp’s JavaScript inside the bundle', (name) => {
    expect(SHARP_CODE.exec(bundle(name))?.[0]).toBeUndefined();
  });

  it.each(['upload', 'images', 'delete'])(
    '%s does not load sharp at all, and ships no node_modules',
    (name) => {
      expect(SHARP_IMPORT.exec(bundle(name))?.[0]).toBeUndefined();
      expect(readdirSync(aws.assetDir(codeAssetHash(fn(name))))).toEqual(['index.mjs']);
    },
  );

  it.each(['upload', 'images', 'delete'])('%s loads as an ES module and exports handler', (name) => {
    // The bundle is evaluated in a fresh Node process with the function's environment (intrinsics
    // replaced by plausible values): this is what a cold start does before the first event.
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' };
    for (const [key, value] of Object.entries(
      fn(name).Properties.Environment.Variables as Record<string, unknown>,
    )) {
      env[key] =
        typeof value === 'string'
          ? value
          : key.endsWith('_URL')
            ? 'https://example.invalid/x'
            : `test-${key}`;
    }
    const file = join(aws.assetDir(codeAssetHash(fn(name))), 'index.mjs');
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`,
      ],
      { env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(out.trim()).toBe('function');
  });
});
