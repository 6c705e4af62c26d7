import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, openAsBlob, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  discoveryPath,
  type LocalCloudDiscovery,
  readDiscovery,
  removeDiscovery,
  writeDiscovery,
} from '#local/discovery.ts';
import { listenOnFreePort } from '#test/support/functions.ts';
import { ROOT } from '#test/support/local-cloud.ts';
import {
  ApiClient,
  postPresignedForm,
  presignedPostBody,
  RETRY_BUDGET_MS,
  retryAfterMs,
  retryDelay,
} from '../../cli/client.ts';
import { EXIT, EXIT_CODES_HELP } from '../../cli/errors.ts';
import { checkApiKey, resolveTarget } from '../../cli/target.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pictura-cli-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function discovery(overrides: Partial<LocalCloudDiscovery> = {}): LocalCloudDiscovery {
  return {
    api: 'http://localhost:3000',
    cdn: 'http://localhost:3001',
    aws: 'http://localhost:4566',
    apiKey: 'local-key-0123456789abcdef',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...overrides,
  };
}

describe('the local cloud discovery file', () => {
  it('is written 0600 in a 0700 folder, read back, and removed only by the process that wrote it', () => {
    const path = join(dir, 'd1', 'state', 'local-cloud.json');
    writeDiscovery(discovery(), path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'd1', 'state')).mode & 0o777).toBe(0o700);
    expect(readDiscovery(path)?.apiKey).toBe('local-key-0123456789abcdef');
    removeDiscovery(process.pid + 1, path);
    expect(readDiscovery(path)).toBeDefined();
    removeDiscovery(process.pid, path);
    expect(readDiscovery(path)).toBeUndefined();
  });

  it('is ignored when others may read or write it (someone could plant an endpoint and collect the key)', () => {
    const path = join(dir, 'd2', 'local-cloud.json');
    writeDiscovery(discovery(), path);
    for (const mode of [0o644, 0o620, 0o604]) {
      chmodSync(path, mode);
      expect(readDiscovery(path), mode.toString(8)).toBeUndefined();
    }
  });

  it('is ignored when its process is gone, or when it is not a discovery file', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('close', resolve));
    const path = join(dir, 'd3', 'local-cloud.json');
    writeDiscovery(discovery({ pid: gone.pid ?? 0 }), path);
    expect(readDiscovery(path)).toBeUndefined();
    for (const text of ['not json', '{}', '{"api": 1, "apiKey": "k", "pid": 1}', '[]']) {
      writeFileSync(path, text, { mode: 0o600 });
      expect(readDiscovery(path), text).toBeUndefined();
    }
  });

  it('lives in PICTURA_LOCAL_DISCOVERY, else under XDG_STATE_HOME, else ~/.local/state', () => {
    expect(discoveryPath({ PICTURA_LOCAL_DISCOVERY: '/x/y.json' })).toBe('/x/y.json');
    expect(discoveryPath({ XDG_STATE_HOME: '/state' })).toBe('/state/pictura/local-cloud.json');
    expect(discoveryPath({})).toMatch(/\.local\/state\/pictura\/local-cloud\.json$/);
  });
});

describe('resolveTarget: which endpoint and key', () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    const path = join(dir, 't', 'local-cloud.json');
    writeDiscovery(discovery(), path);
    env = { PICTURA_LOCAL_DISCOVERY: path };
  });

  it('a running local cloud, key included, when nothing is given', async () => {
    const target = await resolveTarget({}, env);
    expect(target.endpoint.href).toBe('http://localhost:3000/');
    expect(target.apiKey).toBe('local-key-0123456789abcdef');
  });

  it('the local key goes to the local API or CDN only, never to an endpoint elsewhere', async () => {
    expect((await resolveTarget({ endpoint: 'http://localhost:3001' }, env)).apiKey).toBe(
      'local-key-0123456789abcdef',
    );
    for (const endpoint of [
      'https://api.example.com/prod/',
      'http://localhost:3002',
      'https://localhost:3000',
    ])
      expect((await resolveTarget({ endpoint }, env)).apiKey, endpoint).toBeUndefined();
    const fromEnv = await resolveTarget({}, { ...env, PICTURA_ENDPOINT: 'https://api.example.com' });
    expect(fromEnv.apiKey).toBeUndefined();
  });

  it('flags before environment before discovery', async () => {
    const envKey = 'env-key-0123456789abcdef';
    const flagKey = 'flag-key-0123456789abcdef';
    const both = { ...env, PICTURA_ENDPOINT: 'http://env.example:1', PICTURA_API_KEY: envKey };
    expect(await resolveTarget({ endpoint: 'http://flag.example:2', apiKey: flagKey }, both)).toMatchObject({
      endpoint: new URL('http://flag.example:2'),
      apiKey: flagKey,
    });
    expect(await resolveTarget({}, both)).toMatchObject({
      endpoint: new URL('http://env.example:1'),
      apiKey: envKey,
    });
    expect((await resolveTarget({}, { ...env, PICTURA_API_KEY: envKey })).apiKey).toBe(envKey);
  });

  it.each([
    ['', /not a URL/],
    ['localhost:3000', /localhost: URLs are not supported/],
    ['file:///etc/passwd', /file: URLs are not supported/],
    ['javascript:alert(1)', /javascript: URLs are not supported/],
    ['http://a:b@host', /base URL only/],
    ['http://host/?x=1', /base URL only/],
  ])('refuses the endpoint %j as a usage error', async (endpoint, message) => {
    await expect(resolveTarget({ endpoint }, env)).rejects.toMatchObject({ exitCode: EXIT.usage, message });
  });

  it('no endpoint anywhere is a usage error', async () => {
    await expect(
      resolveTarget({}, { PICTURA_LOCAL_DISCOVERY: join(dir, 'none.json') }),
    ).rejects.toMatchObject({
      exitCode: EXIT.usage,
      message: /no endpoint/,
    });
  });
});

describe('the presigned POST body', () => {
  it('is multipart/form-data that a standard parser reads: fields in order, the file last, exact length', async () => {
    const file = new Blob([new Uint8Array([1, 2, 3, 250, 255])]);
    const fields = {
      key: 'originals/abc',
      'Content-Type': 'image/png',
      Policy: 'eyJ4Ijoi',
      'X-Amz-Signature': 'f0',
    };
    const { body, contentType, headBytes } = presignedPostBody(fields, file, 'we"ird\r\nname.png');
    const bytes = new Uint8Array(await body.arrayBuffer());
    expect(bytes.length).toBe(body.size);
    expect(headBytes).toBeLessThan(body.size - file.size);
    // undici's own multipart parser (Request.formData), not ours.
    const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
    expect([...form.keys()]).toEqual([...Object.keys(fields), 'file']);
    for (const [name, value] of Object.entries(fields)) expect(form.get(name)).toBe(value);
    const posted = form.get('file') as File;
    expect(posted.type).toBe('image/png');
    // Quote and line break escaped on the wire (HTML's form encoding), so the name cannot end the header.
    expect(new TextDecoder().decode(bytes)).toContain('filename="we%22ird%0D%0Aname.png"');
    expect(posted.name).toBe('we"ird\r\nname.png');
    expect([...new Uint8Array(await posted.arrayBuffer())]).toEqual([1, 2, 3, 250, 255]);
  });

  describe('is streamed with progress and Content-Length', () => {
    let server: Server;
    let url: string;
    const seen: { length?: string | undefined; encoding?: string | undefined; received: number }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let received = 0;
        req.on('data', (chunk: Buffer) => (received += chunk.length));
        req.on('end', () => {
          seen.push({
            length: req.headers['content-length'],
            encoding: req.headers['transfer-encoding'],
            received,
          });
          if (req.url === '/refuse') {
            res.writeHead(403, { 'content-type': 'application/xml' });
            res.end('<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>');
          } else res.writeHead(204).end();
        });
      });
      ({ base: url } = await listenOnFreePort(server));
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('reports bytes sent rising to the file size, with a Content-Length (S3 refuses chunked POSTs)', async () => {
      // Read from disk as the CLI reads files (fs.openAsBlob), in chunks.
      writeFileSync(join(dir, 'big.bin'), new Uint8Array(3 * 1024 * 1024));
      const file = await openAsBlob(join(dir, 'big.bin'));
      const reports: number[] = [];
      const upload = { url: `${url}/ok`, method: 'POST' as const, fields: { key: 'k' }, expiresAt: '' };
      await postPresignedForm(upload, file, 'big.jpg', (sent) => reports.push(sent));
      expect(reports.length).toBeGreaterThan(3);
      expect(reports).toEqual([...reports].sort((a, b) => a - b));
      expect(reports.at(-1)).toBe(file.size);
      const last = seen.at(-1);
      expect(last?.encoding).toBeUndefined();
      expect(Number(last?.length)).toBe(last?.received);
    });

    it('a file truncated while it is sent is that file’s failure (exit 1), not "cannot reach"', async () => {
      const path = join(dir, 'shrinks.bin');
      writeFileSync(path, new Uint8Array(4 * 1024 * 1024));
      const file = await openAsBlob(path);
      truncateSync(path, 10);
      const upload = { url: `${url}/ok`, method: 'POST' as const, fields: {}, expiresAt: '' };
      await expect(postPresignedForm(upload, file, 'shrinks.jpg', () => {})).rejects.toMatchObject({
        exitCode: EXIT.someFailed,
        message: 'shrinks.jpg: the file changed or was removed while it was sent',
      });
    });

    it("S3's refusal is the file's failure (exit 1) with S3's code, not an authentication error", async () => {
      const upload = { url: `${url}/refuse`, method: 'POST' as const, fields: {}, expiresAt: '' };
      await expect(postPresignedForm(upload, new Blob(['x']), 'a.jpg', () => {})).rejects.toMatchObject({
        exitCode: EXIT.someFailed,
        code: 'AccessDenied',
        message: /AccessDenied: Policy expired \(HTTP 403\)/,
      });
    });
  });
});

describe('pictura --help', () => {
  it('documents every exit code', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'pictura.js'), '--help']);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toContain(EXIT_CODES_HELP);
    for (const value of Object.values(EXIT))
      expect(EXIT_CODES_HELP).toMatch(new RegExp(`^  ${value}  `, 'm'));
  });
});

describe('API calls refused for a while', () => {
  let server: Server;
  let base: URL;
  let answers: number[];
  let seen = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      seen += 1;
      const status = answers.shift() ?? 429;
      res.writeHead(status, { 'content-type': 'application/problem+json', 'retry-after': '0' });
      res.end(
        status === 200
          ? JSON.stringify({ items: [], nextCursor: null })
          : JSON.stringify({
              status,
              code: status === 429 ? 'THROTTLED' : 'INTEGRATION_FAILURE',
              detail: 'later',
            }),
      );
    });
    base = new URL(`${(await listenOnFreePort(server)).base}/`);
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('429 (throttled before the function runs) is tried again, and succeeds', async () => {
    answers = [429, 429, 200];
    seen = 0;
    await expect(new ApiClient(base, 'k').listImages({})).resolves.toEqual({ items: [], nextCursor: null });
    expect(seen).toBe(3);
  });

  it('429 that lasts: retried until the retry budget is spent, then that call fails (exit 1)', async () => {
    answers = [];
    seen = 0;
    const started = Date.now();
    await expect(new ApiClient(base, 'k', { retryBudgetMs: 2000 }).listImages({})).rejects.toMatchObject({
      exitCode: EXIT.someFailed,
      code: 'THROTTLED',
    });
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('502 is tried again for a GET, never for a POST (it may have created the image)', async () => {
    answers = [502, 200];
    seen = 0;
    await new ApiClient(base, 'k').listImages({});
    expect(seen).toBe(2);
    answers = [502];
    seen = 0;
    const post = new ApiClient(base, 'k').createUpload({
      contentType: 'image/png',
      contentLength: 1,
      filename: 'a',
    });
    await expect(post).rejects.toMatchObject({ code: 'INTEGRATION_FAILURE' });
    expect(seen).toBe(1);
  });
});

describe('the pictura command on Node 22.12-22.17 (type stripping behind a flag)', () => {
  it('starts itself again with --experimental-strip-types', async () => {
    // Node 24 with stripping turned off stands for those versions: process.features.typescript is false.
    const child = spawn(process.execPath, [
      '--no-experimental-strip-types',
      join(ROOT, 'cli', 'pictura.js'),
      'ls',
      '--endpoint',
      'ftp://x',
    ]);
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(err).toBe('pictura: --endpoint: ftp: URLs are not supported; use http:// or https://\n');
    expect(code).toBe(EXIT.usage);
  });
});

describe('retries on 429: long enough for a big batch to ride out throttling', () => {
  const throttled = (retryAfter?: string) => ({
    status: 429,
    headers: new Headers(retryAfter === undefined ? {} : { 'retry-after': retryAfter }),
  });

  it('Retry-After is honoured, in seconds or as an HTTP date (RFC 9110 §10.2.3)', () => {
    expect(retryDelay('POST', throttled('7'), 1, 0)).toBeGreaterThanOrEqual(7000);
    const now = Date.parse('2026-11-30T10:00:00Z');
    expect(retryAfterMs('Mon, 30 Nov 2026 10:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('without Retry-After: jittered exponential backoff adding up to ~30 s before giving up', () => {
    let waited = 0;
    let attempts = 1;
    const delays: number[] = [];
    for (;;) {
      const delay = retryDelay('POST', throttled(), attempts, waited);
      if (delay === undefined) break;
      delays.push(delay);
      waited += delay;
      attempts += 1;
    }
    // The old schedule gave up after 3 waits, ~2.8 s; a 400-file batch at -c 32 then lost files.
    expect(waited).toBeGreaterThan(15_000);
    expect(waited).toBeLessThanOrEqual(RETRY_BUDGET_MS);
    expect(delays.every((d) => d <= 8000)).toBe(true);
    // Jittered: 32 uploads throttled at once do not come back at once.
    const firsts = new Set(
      Array.from({ length: 20 }, () => Math.round(retryDelay('POST', throttled(), 3, 0) ?? 0)),
    );
    expect(firsts.size).toBeGreaterThan(5);
  });

  it('a Retry-After past the budget is not waited for', () => {
    expect(retryDelay('POST', throttled('60'), 1, 0)).toBeUndefined();
  });
});

describe('the presigned POST to storage', () => {
  it('gives up on a server that accepts the connection and never answers: exit 4, "timed out"', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent = createNetServer((socket) => void sockets.push(socket.pause()));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    const started = Date.now();
    try {
      const upload = { url, method: 'POST' as const, fields: { key: 'k' }, expiresAt: '' };
      const file = new Blob([new Uint8Array(8 * 1024 * 1024)]);
      await expect(postPresignedForm(upload, file, 'a.jpg', () => {}, 800)).rejects.toMatchObject({
        exitCode: EXIT.unreachable,
        message: /^upload to http:\/\/127\.0\.0\.1:\d+ timed out/,
      });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('the API key’s shape, checked before it is sent', () => {
  it.each([
    ['', /0 characters/],
    ['k'.repeat(19), /19 characters/],
    [`${'k'.repeat(20)}\n`, /line break/],
    [`${'k'.repeat(20)}\r`, /line break/],
    [`${'k'.repeat(20)}é`, /not printable ASCII/],
    [`${'k'.repeat(20)}\u0000`, /not printable ASCII/],
    [`${'k'.repeat(20)}🔑`, /not printable ASCII/],
    [`${'k'.repeat(10)} ${'k'.repeat(10)}`, /a space/],
  ])('%j is a usage error that does not echo the key', (key, why) => {
    let error: unknown;
    try {
      checkApiKey(key, '--api-key');
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ exitCode: EXIT.usage, message: why });
    if (key.length > 5) expect((error as Error).message).not.toContain('kkkkk');
  });

  it('a key as API Gateway makes them (20+ printable ASCII) passes', () => {
    expect(checkApiKey('AbCdEf0123456789GhIjKlMnOpQrStUv012345', 'x')).toBe(
      'AbCdEf0123456789GhIjKlMnOpQrStUv012345',
    );
    expect(checkApiKey(undefined, 'x')).toBeUndefined();
  });
});
