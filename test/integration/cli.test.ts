import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDiscovery } from '#local/discovery.ts';
import { type CliRun, expectOneLine, runCli } from '#test/support/cli.ts';
import { closedPort, listenOnFreePort } from '#test/support/functions.ts';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

// Issue 13: the `pictura` CLI run as a user runs it (a child process of `node cli/pictura.js`, the package's
// bin), against the local cloud: uploads with --wait --json, ls, info, rm, and every documented exit code.

let cloud: TestCloud;
let dir: string;
/** A discovery path that does not exist: the developer's own running cloud must not leak into the tests. */
let noDiscovery: string;

type Run = CliRun;

/** Runs the CLI with `args` (asynchronously: the cloud answering it lives in this process). */
const pictura = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
  runCli(args, { cwd: dir, discovery: noDiscovery, env });

/** The endpoint and key of the test cloud, as flags. */
function target(): string[] {
  return ['--endpoint', cloud.urls.api ?? '', '--api-key', cloud.apiKey];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pictura-cli-'));
  noDiscovery = join(dir, 'no-cloud', 'local-cloud.json');
  cloud = await startTestCloud();
  await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3366cc' } })
    .jpeg()
    .toFile(join(dir, 'photo.jpg'));
  await sharp({ create: { width: 300, height: 200, channels: 4, background: '#ff000080' } })
    .png()
    .toFile(join(dir, 'logo.png'));
  // Named like a JPEG, declared as one (its first bytes match no format): the service sniffs and rejects it.
  writeFileSync(join(dir, 'notes.jpg'), 'these are notes, not a picture\n'.repeat(20));
  mkdirSync(join(dir, 'folder'));
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pictura upload', () => {
  let uploaded: { file: string; status: string; id: string; image: Record<string, unknown> }[];

  it('uploads several files with --wait --json: one JSON document, the rejection in it, exit 1', async () => {
    const run = await pictura([
      'upload',
      'photo.jpg',
      'logo.png',
      'notes.jpg',
      '--wait',
      '--json',
      '--concurrency',
      '2',
      ...target(),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const document = JSON.parse(run.stdout);
    uploaded = document.files;
    expect(uploaded.map((f) => [f.file, f.status])).toEqual([
      ['photo.jpg', 'ready'],
      ['logo.png', 'ready'],
      ['notes.jpg', 'rejected'],
    ]);
    expect(document.summary).toMatchObject({ ready: 2, rejected: 1, error: 0 });
    const [photo, logo, notes] = document.files;
    expect(photo.contentType).toBe('image/jpeg');
    expect(photo.image.original).toMatchObject({ width: 640, height: 480, contentType: 'image/jpeg' });
    expect(photo.image.variants.length).toBeGreaterThan(0);
    expect(logo.contentType).toBe('image/png');
    expect(typeof photo.deleteToken).toBe('string');
    expect(notes.image.rejection.code).toBe('NOT_AN_IMAGE');
  });

  it('a file the API refuses (an unknown type, 415) is that file’s error; the others still upload', async () => {
    writeFileSync(join(dir, 'readme.txt'), 'plain text');
    const run = await pictura(['upload', 'photo.jpg', 'readme.txt', '--json', ...target()]);
    expect(run.code).toBe(1);
    const { files } = JSON.parse(run.stdout);
    expect(files[0].status).toBe('uploaded');
    expect(files[1]).toMatchObject({ status: 'error', contentType: 'application/octet-stream' });
    expect(files[1].error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('exit 0 when every file is uploaded; without a terminal, one line per file and no bars', async () => {
    const run = await pictura(['upload', 'logo.png', '--wait', ...target()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ logo\.png \S+ ready: 300×200 image\/png, \d+ variants\n$/);
    expect(run.stderr).toBe('');
  });

  it('ls lists the uploads (JSON and lines); info shows one; rm deletes it (exit 0)', async () => {
    const ls = await pictura(['ls', '--json', '--limit', '100', ...target()]);
    expect(ls.code).toBe(0);
    const ids = JSON.parse(ls.stdout).items.map((i: { id: string }) => i.id);
    for (const f of uploaded) expect(ids).toContain(f.id);

    const lines = await pictura(['ls', '--all', '--limit', '2', ...target()]);
    expect(lines.code).toBe(0);
    expect(lines.stdout.trim().split('\n')).toHaveLength(ids.length);

    const photo = uploaded[0] as (typeof uploaded)[number];
    const info = await pictura(['info', photo.id, '--json', ...target()]);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ id: photo.id, status: 'ready' });
    const human = await pictura(['info', photo.id, ...target()]);
    expect(human.stdout).toMatch(/^status +ready$/m);
    expect(human.stdout).toMatch(/^variant +thumb .* http:\/\//m);

    const rm = await pictura(['rm', photo.id, ...target()]);
    expect(rm).toMatchObject({ code: 0, stdout: `${photo.id} deleting\n` });
  });

  it('info and rm of an unknown id: exit 1, the problem code on one stderr line', async () => {
    const info = await pictura(['info', 'AAAAAAAAAAAAAAAAAAAAAAAA', ...target()]);
    expect(info.code).toBe(1);
    expectOneLine(info.stderr);
    expect(info.stderr).toContain('IMAGE_NOT_FOUND');
    const rm = await pictura(['rm', 'AAAAAAAAAAAAAAAAAAAAAAAA', '--json', ...target()]);
    expect(rm.code).toBe(1);
    expect(JSON.parse(rm.stdout).results[0].error.code).toBe('IMAGE_NOT_FOUND');
  });
});

// Concurrent: each case is its own process, and none of them creates an image.
describe.concurrent('pictura exit codes on hostile input', () => {
  it.each([
    ['an unknown flag', ['upload', 'photo.jpg', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['uplaod', 'photo.jpg'], /unknown command 'uplaod'/],
    ['no files', ['upload'], /missing required argument 'files'/],
    ['--concurrency 0', ['upload', 'photo.jpg', '--concurrency', '0'], /whole number from 1 to 32/],
    ['--concurrency abc', ['upload', 'photo.jpg', '--concurrency', 'abc'], /whole number from 1 to 32/],
    ['--concurrency 1.5', ['upload', 'photo.jpg', '-c', '1.5'], /whole number from 1 to 32/],
    ['--limit 101', ['ls', '--limit', '101'], /whole number from 1 to 100/],
    ['a missing file', ['upload', 'photo.jpg', 'missing.jpg'], /missing\.jpg: no such file/],
    ['a directory', ['upload', 'folder'], /folder: is a directory/],
  ])('%s: exit 2, one line', async (_what, args, message) => {
    const run = await pictura([...args, ...target()]);
    expect(run.code).toBe(2);
    expectOneLine(run.stderr);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('a missing file among good ones uploads nothing', async () => {
    const before = JSON.parse((await pictura(['ls', '--json', '--limit', '100', ...target()])).stdout).items
      .length;
    const run = await pictura(['upload', 'logo.png', 'missing.jpg', ...target()]);
    expect(run.code).toBe(2);
    const after = JSON.parse((await pictura(['ls', '--json', '--limit', '100', ...target()])).stdout).items
      .length;
    expect(after).toBe(before);
  });

  it.each([
    ['not a URL', 'localhost:3000/v1', /not supported|not a URL/],
    ['another scheme', 'ftp://localhost/', /ftp: URLs are not supported/],
    ['garbage', 'http://', /not a URL/],
    ['credentials in the URL', 'http://user:pw@localhost:3000', /base URL only/],
  ])('a bad endpoint (%s): exit 2', async (_what, endpoint, message) => {
    const run = await pictura(['ls', '--endpoint', endpoint, '--api-key', cloud.apiKey]);
    expect(run.code).toBe(2);
    expectOneLine(run.stderr);
    expect(run.stderr).toMatch(message);
  });

  it('a --cursor the API refuses (400 INVALID_CURSOR) is a usage error: exit 2, one line', async () => {
    const run = await pictura(['ls', '--cursor', 'garbage', ...target()]);
    expect(run.code).toBe(2);
    expectOneLine(run.stderr);
    expect(run.stderr).toMatch(/INVALID_CURSOR: .* \(HTTP 400\)/);
  });

  it('--endpoint naming the AWS endpoint (S3, not the API): exit 5, one line, no stack trace', async () => {
    const run = await pictura(['info', 'AAAAAAAAAAAAAAAAAAAAAA', '--endpoint', cloud.urls.aws]);
    expect(run.code).toBe(5);
    expectOneLine(run.stderr);
    expect(run.stderr).toMatch(/unexpected answer from http:\/\/[^ ]+: /);
  });

  it('a malformed key (a line break, as from a pasted file): exit 2 before any request, never echoed', async () => {
    const run = await pictura(['ls', '--endpoint', cloud.urls.api ?? ''], {
      PICTURA_API_KEY: `${cloud.apiKey}\n`,
    });
    expect(run.code).toBe(2);
    expectOneLine(run.stderr);
    expect(run.stderr).not.toContain(cloud.apiKey);
  });

  it('no endpoint anywhere (no flag, no env, no local cloud): exit 2 saying where to give one', async () => {
    const run = await pictura(['ls']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no endpoint: pass --endpoint/);
  });

  it('a wrong key: exit 3 with the API’s problem code, for upload, ls and rm', async () => {
    const wrong = ['--endpoint', cloud.urls.api ?? '', '--api-key', 'not-a-key-of-this-api-0123456789'];
    for (const args of [['upload', 'photo.jpg', '--json'], ['ls'], ['rm', 'AAAAAAAAAAAAAAAAAAAAAAAA']]) {
      const run = await pictura([...args, ...wrong]);
      expect(run.code, args.join(' ')).toBe(3);
      expectOneLine(run.stderr);
      expect(run.stderr).toMatch(/INVALID_API_KEY|API_KEY_REQUIRED|FORBIDDEN/);
      expect(run.stdout).toBe('');
    }
  });

  it('no key where one is needed: exit 3, saying how to give one', async () => {
    const run = await pictura(['ls'], { PICTURA_ENDPOINT: cloud.urls.api ?? '' });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/no API key given: pass --api-key or set PICTURA_API_KEY/);
  });

  it('an unreachable endpoint (refused, unknown name): exit 4', async () => {
    const refused = await pictura([
      'upload',
      'photo.jpg',
      '--endpoint',
      `http://127.0.0.1:${await closedPort()}`,
    ]);
    expect(refused.code).toBe(4);
    expectOneLine(refused.stderr);
    expect(refused.stderr).toMatch(/cannot reach .*ECONNREFUSED/);
    const unknown = await pictura(['info', 'x', '--endpoint', 'http://pictura.invalid']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/cannot reach http:\/\/pictura\.invalid: .*(ENOTFOUND|EAI_AGAIN)/);
  });
});

describe('pictura finds a running local cloud', () => {
  it('from the discovery file npm start writes: endpoint and key with no flags or environment', async () => {
    const discovery = join(dir, 'state', 'local-cloud.json');
    writeDiscovery(
      {
        api: cloud.urls.api ?? '',
        cdn: cloud.urls.cdn,
        aws: cloud.urls.aws,
        apiKey: cloud.apiKey,
        pid: process.pid,
        startedAt: new Date().toISOString(),
      },
      discovery,
    );
    const run = await pictura(['ls', '--json'], { PICTURA_LOCAL_DISCOVERY: discovery });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).items.length).toBeGreaterThan(0);
  });
});

/**
 * A stand-in for CloudFormation's query API (no emulator here provides CloudFormation): it answers
 * DescribeStacks as AWS documents it, an XML `DescribeStacksResult` with the stack's `Outputs`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html), and an unknown
 * stack with a 400 `ValidationError` of type `Sender`, the error LocalStack recorded on AWS
 * (tests/aws/services/cloudformation/api/test_stacks.snapshot.json, `Error.Code`/`Type`, status 400).
 */
async function cloudFormation(stackName: string, outputs: Record<string, string>) {
  const requests: URLSearchParams[] = [];
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      res.setHeader('content-type', 'text/xml');
      const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
      if (form.get('Action') !== 'DescribeStacks' || form.get('StackName') !== stackName) {
        res.statusCode = 400;
        res.end(
          `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
            `<Message>Stack with id ${form.get('StackName')} does not exist</Message></Error>` +
            '<RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ErrorResponse>',
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse xmlns="${ns}"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${stackName}</StackName><StackStatus>CREATE_COMPLETE</StackStatus>` +
          `<CreationTime>2026-11-30T10:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks>` +
          '</DescribeStacksResult><ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId>' +
          '</ResponseMetadata></DescribeStacksResponse>',
      );
    });
  });
  const { base } = await listenOnFreePort(server);
  return { url: base, requests, close: () => new Promise((r) => server.close(r)) };
}

describe('pictura --stack: the endpoint from a deployed stack’s outputs', () => {
  it('reads ApiUrl with DescribeStacks; the key only from PICTURA_API_KEY, else exit 3 naming the command', async () => {
    const cfn = await cloudFormation('Pictura', { ApiUrl: `${cloud.urls.api}/`, ApiKeyId: 'abc123key' });
    const aws = {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
    };
    try {
      const ok = await pictura(['ls', '--json', '--stack', 'Pictura'], {
        ...aws,
        PICTURA_API_KEY: cloud.apiKey,
      });
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(cfn.requests[0]?.get('Action')).toBe('DescribeStacks');

      const noKey = await pictura(['ls', '--stack', 'Pictura'], aws);
      expect(noKey.code).toBe(3);
      expectOneLine(noKey.stderr);
      expect(noKey.stderr).toContain('aws apigateway get-api-key --api-key abc123key --include-value');

      const unknown = await pictura(['ls', '--stack', 'Nope'], aws);
      expect(unknown.code).toBe(2);
      expectOneLine(unknown.stderr);
      expect(unknown.stderr).toMatch(/stack Nope: Stack with id Nope does not exist/);
    } finally {
      await cfn.close();
    }
  });
});
