import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeDiscovery } from '#local/discovery.ts';
import { type CliRun, expectOneLine, runCli } from '#test/support/cli.ts';
import { closedPort, listenOnFreePort } from '#test/support/functions.ts';
import { EXIT } from '../../cli/errors.ts';
import { MAX_PAGES } from '../../cli/ls.ts';

// The CLI run as a user runs it (a child process of cli/pictura.js) against a stand-in server that answers
// as a broken, misconfigured or hostile endpoint would: every such answer is one line on stderr and a
// documented exit code, never a stack trace, a hang, or unbounded memory.

const KEY = 'test-key-0123456789abcdefghij';
let dir: string;
let server: Server;
let base: string;
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let handler: Handler;
let requests: { method: string; url: string }[];

type Run = CliRun;

/** Runs the CLI (a shell command line when `shell` is given, e.g. with a ulimit in front). */
const pictura = (args: string[], env: Record<string, string> = {}, shell?: string): Promise<Run> =>
  runCli(args, { cwd: dir, discovery: join(dir, 'none.json'), env, ...(shell ? { shell } : {}) });

const target = () => ['--endpoint', base, '--api-key', KEY];

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

let counter = 0;
/** A 22-character image id (shared/ids.ts shape). */
function newId(): string {
  counter += 1;
  return `img${String(counter).padStart(19, '0')}`;
}

/** An image document as the API sends it (shared/api/schemas.ts ImageDocument). */
function imageDocument(id: string, status = 'ready') {
  const at = new Date().toISOString();
  return {
    id,
    status,
    createdAt: at,
    updatedAt: at,
    variants: [],
    links: { self: `${base}/v1/images/${id}` },
  };
}

/** POST /v1/images's 201 with a presigned form that posts back to this server's /storage. */
function uploadAccepted(id = newId()) {
  return {
    id,
    status: 'pending_upload',
    deleteToken: `token-${id}`,
    upload: {
      url: `${base}/storage`,
      method: 'POST',
      fields: { key: `originals/${id}`, 'Content-Type': 'image/png' },
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    },
    links: { self: `${base}/v1/images/${id}`, delete: `${base}/v1/images/${id}/token` },
  };
}

/** The API as it should answer: uploads accepted, storage 204, images ready. */
const goodApi: Handler = (req, res) => {
  if (req.method === 'POST' && req.url === '/v1/images') return json(res, 201, uploadAccepted());
  if (req.url === '/storage') return void res.writeHead(204).end();
  const id = /^\/v1\/images\/([\w-]+)$/.exec(req.url ?? '')?.[1];
  if (id) return json(res, 200, imageDocument(id));
  return json(res, 200, { items: [], nextCursor: null });
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pictura-cli-hostile-'));
  for (const name of ['a.png', 'b.png', 'c.png'])
    writeFileSync(join(dir, name), Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      handler(req, res, body);
    });
  });
  ({ base } = await listenOnFreePort(server));
});
afterEach(() => {
  handler = goodApi;
  requests = [];
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
handler = goodApi;
requests = [];

describe('answers that are not the Pictura API’s: exit 5, one line naming the endpoint', () => {
  const html = '<!doctype html>\n<html><body>Welcome to nginx!</body></html>\n';
  const doc = (id: string) => imageDocument(id);
  it.each<[string, string[], Handler]>([
    [
      '200 HTML (an ordinary web server)',
      ['ls'],
      (_q, r) => r.writeHead(200, { 'content-type': 'text/html' }).end(html),
    ],
    ['JSON null', ['ls'], (_q, r) => json(r, 200, null)],
    [
      'list items without status',
      ['ls'],
      (_q, r) => json(r, 200, { items: [{ ...doc('x'), status: undefined }], nextCursor: null }),
    ],
    [
      'a 404 page from another server (not a problem document)',
      ['info', 'abc'],
      (_q, r) => r.writeHead(404, { 'content-type': 'text/html' }).end(html),
    ],
    ['{} for info (was "id undefined", exit 0)', ['info', 'abc'], (_q, r) => json(r, 200, {})],
    ['{} for rm (was "abc undefined", exit 0)', ['rm', 'abc'], (_q, r) => json(r, 202, {})],
    ['{} for an upload', ['upload', 'a.png'], (_q, r) => json(r, 201, {})],
    [
      'an image whose variants are not a list',
      ['info', 'abc'],
      (_q, r) => json(r, 200, { ...doc('abcabcabcabcabcabcabca'), variants: 'x' }),
    ],
  ])('%s', async (_what, args, answer) => {
    handler = answer;
    const run = await pictura([...args, ...target()]);
    expect(run.code).toBe(EXIT.badAnswer);
    expectOneLine(run.stderr, new RegExp(`^pictura: unexpected answer from ${base}: `));
    expect(run.stdout).toBe('');
  });

  it('a 301 redirect says so, with its Location, and is not followed (the key would go with it)', async () => {
    handler = (_q, r) => r.writeHead(301, { location: 'https://api.example.com/prod/v1/images' }).end();
    const run = await pictura(['ls', ...target()]);
    expect(run.code).toBe(EXIT.badAnswer);
    expectOneLine(run.stderr, /HTTP 301 redirect to https:\/\/api\.example\.com\/prod\/v1\/images/);
    expect(requests).toHaveLength(1);
  });

  it('a 401 with an HTML page is one clean line without the page', async () => {
    handler = (_q, r) => r.writeHead(401, { 'content-type': 'text/html' }).end(html);
    const run = await pictura(['ls', ...target()]);
    expect(run.code).toBe(EXIT.auth);
    expectOneLine(run.stderr, /HTTP 401 Unauthorized \(a text\/html body, not a problem document\)/);
    expect(run.stderr).not.toContain('<');
  });

  it('a 400 refusing a value the user typed (INVALID_CURSOR) is a usage error, exit 2', async () => {
    handler = (_q, r) =>
      json(r, 400, {
        type: 'about:blank',
        title: 'Bad',
        status: 400,
        code: 'INVALID_CURSOR',
        detail: 'bad cursor',
      });
    const run = await pictura(['ls', '--cursor', 'garbage', ...target()]);
    expect(run.code).toBe(EXIT.usage);
    expectOneLine(run.stderr, /INVALID_CURSOR: bad cursor \(HTTP 400\)/);
  });

  it('an endless body is cut at 1 MiB: exit 5 in seconds, not gigabytes of memory', async () => {
    handler = (_q, r) => {
      r.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!r.destroyed && r.write(chunk));
        if (!r.destroyed) r.once('drain', pump);
      };
      r.write('{"items": [');
      pump();
    };
    const run = await pictura(['ls', ...target()]);
    expect(run.code).toBe(EXIT.badAnswer);
    expectOneLine(run.stderr, /body larger than 1048576 bytes/);
    expect(run.ms).toBeLessThan(10_000);
  });

  it('ls --all stops on a cursor that repeats', async () => {
    handler = (_q, r) => json(r, 200, { items: [], nextCursor: 'same' });
    const run = await pictura(['ls', '--all', ...target()]);
    expect(run.code).toBe(EXIT.badAnswer);
    expectOneLine(run.stderr, /nextCursor repeats an earlier one after 2 pages/);
    expect(requests).toHaveLength(2);
  });

  it(`ls --all stops after ${MAX_PAGES} pages of fresh cursors`, async () => {
    let n = 0;
    handler = (_q, r) => json(r, 200, { items: [], nextCursor: `c${++n}` });
    const run = await pictura(['ls', '--all', ...target()]);
    expect(run.code).toBe(EXIT.badAnswer);
    expectOneLine(run.stderr, /more than 1000 pages/);
    expect(requests).toHaveLength(MAX_PAGES);
  });

  it('a corrupt discovery file is ignored when --endpoint gives the endpoint', async () => {
    const discovery = join(dir, 'corrupt', 'local-cloud.json');
    mkdirSync(join(dir, 'corrupt'), { mode: 0o700 });
    for (const text of [
      '{"api": "not a url", "cdn": "::", "apiKey": "k", "pid": 1}',
      '{"api": "http://x", "cdn": 5, "apiKey": "k", "pid": 1}',
      'null',
      '{',
    ]) {
      writeFileSync(discovery, text.replace('"pid": 1', `"pid": ${process.pid}`), { mode: 0o600 });
      const run = await pictura(['ls', '--endpoint', base], { PICTURA_LOCAL_DISCOVERY: discovery });
      expect(run.stderr, text).toBe('no images\n');
      expect(run.code, text).toBe(0);
    }
  });

  it('an endpoint from a stale discovery file: the unreachable error says where the URL came from', async () => {
    const discovery = join(dir, 'stale', 'local-cloud.json');
    const api = `http://127.0.0.1:${await closedPort()}`;
    writeDiscovery({ api, aws: api, apiKey: KEY, pid: process.pid, startedAt: '' }, discovery);
    const run = await pictura(['ls'], { PICTURA_LOCAL_DISCOVERY: discovery });
    expect(run.code).toBe(EXIT.unreachable);
    expectOneLine(run.stderr, new RegExp(`endpoint from the local cloud's discovery file ${discovery}`));
  });
});

describe('a fatal error part-way through a batch keeps what was accepted', () => {
  /** The first POST accepted (201, stored), every later one refused with 403. */
  const secondRefused: Handler = (req, res) => {
    if (req.url === '/v1/images')
      return requests.filter((r) => r.url === '/v1/images').length === 1
        ? json(res, 201, uploadAccepted())
        : json(res, 403, {
            type: 'about:blank',
            title: 'Forbidden',
            code: 'AUTHENTICATION_REQUIRED',
            detail: 'no',
          });
    return goodApi(req, res, '');
  };

  it('--json: the document lists the accepted file (id, delete token) and the error; exit 3', async () => {
    handler = secondRefused;
    const run = await pictura(['upload', 'a.png', 'b.png', 'c.png', '-c', '1', '--json', ...target()]);
    expect(run.code).toBe(EXIT.auth);
    expectOneLine(run.stderr, /AUTHENTICATION_REQUIRED/);
    const document = JSON.parse(run.stdout);
    expect(document.files.map((f: { status: string }) => f.status)).toEqual([
      'uploaded',
      'error',
      'not_sent',
    ]);
    expect(document.files[0].id).toMatch(/^img/);
    expect(document.files[0].deleteToken).toBe(`token-${document.files[0].id}`);
    expect(document.error).toMatchObject({ exitCode: EXIT.auth, code: 'AUTHENTICATION_REQUIRED' });
    expect(document.summary).toMatchObject({ uploaded: 1, error: 1, not_sent: 1 });
  });

  it('for people: the accepted file is listed with its id and token before the error line', async () => {
    handler = secondRefused;
    const run = await pictura(['upload', 'a.png', 'b.png', 'c.png', '-c', '1', ...target()]);
    expect(run.code).toBe(EXIT.auth);
    expect(run.stdout).toMatch(/^✓ a\.png img\d+ uploaded/m);
    expect(run.stdout).toMatch(/^✗ b\.png: POST \/v1\/images: AUTHENTICATION_REQUIRED/m);
    expect(run.stdout).not.toContain('c.png');
  });

  it('a file removed after the check is that file’s error; the others are uploaded and reported', async () => {
    writeFileSync(join(dir, 'gone.png'), 'x');
    handler = (req, res) => {
      if (req.url === '/storage') rmSync(join(dir, 'gone.png'), { force: true });
      goodApi(req, res, '');
    };
    const run = await pictura(['upload', 'a.png', 'gone.png', 'b.png', '-c', '1', '--json', ...target()]);
    expect(run.code).toBe(EXIT.someFailed);
    const { files } = JSON.parse(run.stdout);
    expect(files.map((f: { status: string }) => f.status)).toEqual(['uploaded', 'error', 'uploaded']);
    expect(files[1].error.message).toMatch(/gone\.png: no such file/);
    expect(files[1].id).toBeUndefined(); // opened before POST /v1/images: no record left pending
  });
});

describe('rm stopped part-way keeps what was deleted', () => {
  it('the first id deleted, the second refused with 403: both reported, exit 3', async () => {
    handler = (req, res) =>
      req.url?.endsWith('/first00000000000000000')
        ? json(res, 202, { id: 'first00000000000000000', status: 'deleting' })
        : json(res, 403, {
            type: 'about:blank',
            title: 'Forbidden',
            code: 'AUTHENTICATION_REQUIRED',
            detail: 'no',
          });
    const run = await pictura(['rm', 'first00000000000000000', 'second', 'third', '--json', ...target()]);
    expect(run.code).toBe(EXIT.auth);
    expectOneLine(run.stderr, /AUTHENTICATION_REQUIRED/);
    const document = JSON.parse(run.stdout);
    expect(document.results).toEqual([{ id: 'first00000000000000000', status: 'deleting' }]);
    expect(document.error).toMatchObject({ exitCode: EXIT.auth, code: 'AUTHENTICATION_REQUIRED' });
    const human = await pictura(['rm', 'first00000000000000000', 'second', ...target()]);
    expect(human.stdout).toBe('first00000000000000000 deleting\n');
  });
});

describe('a throttled batch (429 THROTTLED, as API Gateway answers over its rate)', () => {
  it('100 files at -c 32 through a 20 requests/s limit: every file uploaded, none left THROTTLED', async () => {
    const many = join(dir, 'throttled');
    mkdirSync(many);
    const names = Array.from({ length: 100 }, (_, i) => join('throttled', `t${i}.png`));
    for (const name of names) writeFileSync(join(dir, name), 'x');
    // A token bucket like API Gateway's: 20 per second, bursts of 10.
    let tokens = 10;
    let last = Date.now();
    let throttled = 0;
    handler = (req, res) => {
      if (req.url === '/v1/images') {
        tokens = Math.min(10, tokens + ((Date.now() - last) / 1000) * 20);
        last = Date.now();
        if (tokens < 1) {
          throttled += 1;
          return json(res, 429, {
            type: 'about:blank',
            title: 'Too Many Requests',
            code: 'THROTTLED',
            detail: 'slow down',
          });
        }
        tokens -= 1;
      }
      goodApi(req, res, '');
    };
    const run = await pictura(['upload', ...names, '-c', '32', '--json', ...target()]);
    expect(throttled).toBeGreaterThan(50); // the limit was felt
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ uploaded: 100, error: 0 });
  });
});

describe('--wait --timeout', () => {
  it('an image that never settles: status timeout after --timeout, exit 1', async () => {
    handler = (req, res) => {
      const id = /^\/v1\/images\/([\w-]+)$/.exec(req.url ?? '')?.[1];
      if (req.method === 'GET' && id) return json(res, 200, imageDocument(id, 'processing'));
      goodApi(req, res, '');
    };
    const run = await pictura(['upload', 'a.png', '--wait', '--timeout', '1', '--json', ...target()]);
    expect(run.code).toBe(EXIT.someFailed);
    const { files, summary } = JSON.parse(run.stdout);
    expect(files[0]).toMatchObject({ status: 'timeout', image: { status: 'processing' } });
    expect(summary.timeout).toBe(1);
    expect(run.ms).toBeLessThan(8000);
  });
});

describe('local checks before any request', () => {
  it.each([
    ['a line break', `${KEY}\n`, /line break/],
    ['a non-Latin-1 character', `${KEY}ключ`, /not printable ASCII/],
    ['too short', 'short-key', /it has 9 characters/],
    ['a space', `${KEY} x`, /a space/],
  ])('an API key with %s: exit 2, the key never echoed', async (_what, key, why) => {
    for (const [args, env] of [
      [['--api-key', key], {}],
      [[], { PICTURA_API_KEY: key }],
    ] as const) {
      const run = await pictura(['ls', '--endpoint', base, ...args], env);
      expect(run.code).toBe(EXIT.usage);
      expectOneLine(run.stderr, why);
      expect(run.stderr).not.toContain(key.trim());
      expect(requests).toHaveLength(0);
    }
  });

  it('a zero-byte file: "file is empty", exit 2, nothing sent', async () => {
    writeFileSync(join(dir, 'empty.png'), '');
    const run = await pictura(['upload', 'a.png', 'empty.png', ...target()]);
    expect(run.code).toBe(EXIT.usage);
    expectOneLine(run.stderr, /empty\.png: file is empty/);
    expect(requests).toHaveLength(0);
  });

  it('a file name with a line break stays on one output line', async () => {
    writeFileSync(join(dir, 'two\nlines.png'), 'x');
    const run = await pictura(['upload', 'two\nlines.png', ...target()]);
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).toContain('two\\u{a}lines.png');
  });

  it('300 files with ulimit -n 64: checked a few at a time, no EMFILE', async () => {
    const many = join(dir, 'many');
    mkdirSync(many);
    const names = Array.from({ length: 300 }, (_, i) => join('many', `f${i}.png`));
    for (const name of names) writeFileSync(join(dir, name), 'x');
    handler = (_q, r) =>
      json(r, 401, { type: 'about:blank', title: 'Unauthorized', code: 'API_KEY_REQUIRED', detail: 'k' });
    const run = await pictura(['upload', ...names, ...target()], {}, 'ulimit -n 64 && exec');
    expect(run.stderr).not.toMatch(/EMFILE/);
    expect(run.code).toBe(EXIT.auth); // every file passed the check; the (stand-in) API then refused the key
  });
});
