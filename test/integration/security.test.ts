import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiKeys } from '#local/apigateway/api-keys.ts';
import { LocalNames } from '#local/security/local-names.ts';
import { PicturaClient } from '#test/support/api-client.ts';
import { rawRequest } from '#test/support/http.ts';
import { imagesBucket, startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

// The local cloud probed as an attacker on the same network, or behind a web page, would probe it
// (issue 9, "Exposure found"): each attack is reproduced and shown refused.

let cloud: TestCloud;
let dataDir: string;
let bucket: string;
const probes: Record<'api' | 'cdn' | 'lambda', Probe[]> = { api: [], cdn: [], lambda: [] };

interface Probe {
  status: number;
  retryAfter: string | undefined;
  ms: number;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Sends requests to `url` until `done()`: refused connections (port not open yet) are retried; every request
 * that connects is recorded with its answer and how long it took (a 5 s timeout counts as not answered).
 */
async function probeDuringStart(url: string, into: Probe[], done: () => boolean): Promise<void> {
  while (!done()) {
    const started = performance.now();
    try {
      const reply = await rawRequest(url, { timeoutMs: 5_000 });
      const retryAfter = reply.headers['retry-after'] as string | undefined;
      into.push({ status: reply.status, retryAfter, ms: performance.now() - started });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ECONNREFUSED')
        into.push({ status: 0, retryAfter: undefined, ms: performance.now() - started });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  // A folder the local cloud creates itself (so its mode is the local cloud's doing).
  dataDir = join(mkdtempSync(join(tmpdir(), 'pictura-security-')), 'state');
  const ports = { aws: await freePort(), api: await freePort(), cdn: await freePort() };
  let started = false;
  const probing = Promise.all([
    probeDuringStart(`http://127.0.0.1:${ports.api}/v1/health`, probes.api, () => started),
    probeDuringStart(`http://127.0.0.1:${ports.cdn}/v1/health`, probes.cdn, () => started),
    probeDuringStart(`http://127.0.0.1:${ports.aws}/2015-03-31/functions/`, probes.lambda, () => started),
  ]);
  try {
    cloud = await startTestCloud({ ports, dataDir });
  } finally {
    started = true;
    await probing;
  }
  bucket = imagesBucket(cloud);
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

describe('start-up', () => {
  it('answers a request that arrives while the local cloud starts within 1 s: 503 with Retry-After', () => {
    for (const [what, seen] of Object.entries(probes)) {
      // The ports open before the functions are built, so the probes caught the local cloud starting.
      const starting = seen.filter((probe) => probe.status === 503);
      expect(starting.length, `${what}: ${JSON.stringify(seen)}`).toBeGreaterThan(0);
      for (const probe of starting) expect(probe.retryAfter, what).toBe('1');
      for (const probe of seen) {
        expect(probe.status, `${what} answered`).not.toBe(0);
        expect(probe.ms, `${what}: ${JSON.stringify(probe)}`).toBeLessThan(1000);
      }
    }
  });
});

/** Every listening TCP socket of this process and its descendants, as `address:port` (IPv6 bracketed). */
function listeningSockets(): string[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const tree = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  const inodes = new Set<string>();
  for (const pid of tree) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = (() => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return '';
          }
        })();
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode) inodes.add(inode);
      }
    } catch {}
  }
  const sockets: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address, st (0A = LISTEN), inode.
      if (fields[3] !== '0A' || !inodes.has(fields[9] ?? '')) continue;
      const [hex = '', port = ''] = (fields[1] ?? '').split(':');
      sockets.push(`${addressOf(hex)}:${Number.parseInt(port, 16)}`);
    }
  }
  return sockets;
}

/** A /proc/net address: IPv4 as one little-endian word, IPv6 as four. */
function addressOf(hex: string): string {
  const bytes = (word: string) => (word.match(/../g) ?? []).reverse();
  if (hex.length === 8)
    return bytes(hex)
      .map((b) => Number.parseInt(b, 16))
      .join('.');
  const all = (hex.match(/.{8}/g) ?? []).flatMap(bytes).join('');
  if (all === `${'0'.repeat(20)}ffff${all.slice(24)}`)
    return addressOf((all.slice(24).match(/../g) ?? []).reverse().join(''));
  const groups = (all.match(/.{4}/g) ?? []).map((g) => Number.parseInt(g, 16).toString(16));
  return `[${groups.join(':')}]`;
}

describe('listeners', () => {
  it('are exactly the AWS endpoint, API and CDN, on --host (127.0.0.1 by default), in the whole process tree', async () => {
    // Run a function first, so its process is part of the tree.
    const images = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
    expect((await images.list()).status).toBe(200);
    const port = (url: string | undefined) => new URL(url ?? 'http://x').port;
    // The emulators behind the endpoint (fauxqs, dynalite) listen on Unix sockets, not TCP: a page scanning
    // loopback ports through DNS rebinding finds only ports that check Host and Origin.
    expect(listeningSockets().sort()).toEqual(
      [port(cloud.urls.aws), port(cloud.urls.api), port(cloud.urls.cdn)].map((p) => `127.0.0.1:${p}`).sort(),
    );
  });
});

describe('DNS rebinding', () => {
  const urls = () => ({
    aws: cloud.urls.aws,
    api: `${cloud.urls.api}/v1/health`,
    cdn: `${cloud.urls.cdn}/v1/health`,
  });

  it.each(['aws', 'api', 'cdn'] as const)(
    'the %s refuses a Host that is not a name of this machine (421)',
    async (which) => {
      for (const host of [
        'attacker.example',
        'attacker.example:4566',
        'localhost.attacker.example',
        'a@localhost',
        '127.0.0.1.nip.io',
      ]) {
        const reply = await rawRequest(urls()[which], { headers: { host } });
        expect(reply.status, host).toBe(421);
        expect(reply.body).toContain('is not a name of this machine');
        expect(reply.body).not.toContain(host);
      }
    },
  );

  it.each(['aws', 'api', 'cdn'] as const)('the %s answers the names of this machine', async (which) => {
    const { port } = new URL(urls()[which] ?? '');
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `LOCALHOST:${port}`,
      `sqs.us-east-1.localhost:${port}`,
    ]) {
      const reply = await rawRequest(urls()[which] ?? '', { headers: { host } });
      expect(reply.status, host).not.toBe(421);
    }
  });
});

describe('cross-site requests to the AWS endpoint', () => {
  const evil = 'http://attacker.example';
  const functionName = () =>
    (cloud.model.functions.find((fn) => /images/i.test(fn.name)) ?? cloud.model.functions[0])?.name ?? '';
  const invoke = (headers: Record<string, string>) =>
    rawRequest(`${cloud.urls.aws}/2015-03-31/functions/${functionName()}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...headers },
      body: '{}',
    });

  it('refuses a text/plain cross-site POST to the Lambda API (AccessDeniedException), by Origin or Sec-Fetch-Site', async () => {
    const pages: Record<string, string>[] = [
      { origin: evil },
      { origin: 'null' },
      { 'sec-fetch-site': 'cross-site' },
      // A page the endpoint itself serves (an HTML object in a bucket) is not one of the local cloud's pages.
      { origin: new URL(cloud.urls.aws).origin },
    ];
    for (const headers of pages) {
      const reply = await invoke(headers);
      expect(reply.status, JSON.stringify(headers)).toBe(403);
      expect(reply.headers['x-amzn-errortype']).toBe('AccessDeniedException');
      expect(JSON.parse(reply.body).Message).toContain('Access denied by the local cloud');
    }
    // The same call from an AWS client (no Origin) runs the function.
    expect((await invoke({})).status).toBe(200);
  });

  it('refuses a cross-site UpdateFunctionConfiguration setting NODE_OPTIONS', async () => {
    const reply = await rawRequest(`${cloud.urls.aws}/2015-03-31/functions/${functionName()}/configuration`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', origin: evil },
      body: JSON.stringify({ Environment: { Variables: { NODE_OPTIONS: '--require /tmp/x.js' } } }),
    });
    expect(reply.status).toBe(403);
    expect(reply.headers['x-amzn-errortype']).toBe('AccessDeniedException');
  });

  it('refuses DynamoDB and SQS calls from another origin, as those services deny them', async () => {
    const dynamo = await rawRequest(cloud.urls.aws, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-amz-target': 'DynamoDB_20120810.Scan', origin: evil },
      body: JSON.stringify({ TableName: cloud.model.tables[0]?.name }),
    });
    expect(dynamo.status).toBe(400);
    expect(JSON.parse(dynamo.body).__type).toBe('com.amazonaws.dynamodb.v20120810#AccessDeniedException');
    const sqs = await rawRequest(cloud.urls.aws, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: evil },
      body: 'Action=ListQueues',
    });
    expect(sqs.status).toBe(403);
    expect(sqs.body).toContain('<Code>AccessDenied</Code>');
  });

  it('refuses an unsigned form POST writing text/html under variants/, and takes a presigned one from the CDN page', async () => {
    const key = 'variants/evil/index.html';
    const form = new FormData();
    form.append('key', key);
    form.append('Content-Type', 'text/html');
    form.append('file', new Blob(['<script>alert(1)</script>'], { type: 'text/html' }), 'x.html');
    const hostile = await fetch(`${cloud.urls.aws}/${bucket}`, {
      method: 'POST',
      body: form,
      headers: { origin: evil },
    });
    expect(hostile.status).toBe(403);
    expect(await hostile.text()).toMatch(
      /<Error><Code>AccessDenied<\/Code><Message>Access denied by the local cloud/,
    );
    const s3 = new S3Client({
      region: cloud.region,
      endpoint: cloud.urls.aws,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((e: Error) => e);
    expect((head as Error).name).toBe('NotFound');

    // What a page served by the local CDN legitimately does: post the presigned form the API handed out.
    const client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
    const bytes = Buffer.from('not really a jpeg');
    const presigned = await client.presign('image/jpeg', bytes.length);
    const upload = presigned.body.upload;
    if (!upload) throw new Error('no presigned upload');
    const legit = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) legit.append(name, value);
    legit.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'upload');
    const cdnOrigin = new URL(cloud.urls.cdn ?? '').origin;
    const posted = await fetch(upload.url, {
      method: 'POST',
      body: legit,
      headers: { origin: cdnOrigin, 'sec-fetch-site': 'same-site' },
    });
    expect(posted.status).toBe(204);
  });
});

describe('code injection through a function configuration (an AWS client on this machine or network)', () => {
  const configurationUrl = () => {
    const fn = cloud.model.functions.find((f) => /images/i.test(f.name)) ?? cloud.model.functions[0];
    return `${cloud.urls.aws}/2015-03-31/functions/${fn?.name}/configuration`;
  };
  const update = async (extra: Record<string, string>) => {
    const current = JSON.parse((await rawRequest(configurationUrl())).body) as {
      Environment: { Variables: Record<string, string> };
    };
    return rawRequest(configurationUrl(), {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Environment: { Variables: { ...current.Environment.Variables, ...extra } } }),
    });
  };

  // Found by review: the SDK runs a profile's credential_process when AWS_PROFILE names a profile in
  // AWS_CONFIG_FILE, and /proc/self/environ can serve as that file, its profile carried in another variable.
  it('refuses the AWS SDK profile route to credential_process, and its command never runs', async () => {
    const marker = join(dataDir, 'pwned');
    const profile = `\n[profile p]\ncredential_process = sh -c "touch ${marker}; echo {\\"Version\\":1,\\"AccessKeyId\\":\\"a\\",\\"SecretAccessKey\\":\\"b\\"}"\n`;
    const reply = await update({ AWS_PROFILE: 'p', AWS_CONFIG_FILE: '/proc/self/environ', XINI: profile });
    expect(reply.status).toBe(400);
    expect(reply.headers['x-amzn-errortype']).toBe('InvalidParameterValueException');
    expect(JSON.parse(reply.body).message).toMatch(/AWS_PROFILE, AWS_CONFIG_FILE/);
    expect((await fetch(`${cloud.urls.api}/v1/health`)).status).toBe(200);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    'HOME',
    'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ENDPOINT_URL',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    'XDG_CONFIG_HOME',
    'GIO_EXTRA_MODULES',
    'VIPSHOME',
    'TMPDIR',
    'npm_config_script_shell',
    'OPENSSL_CONF',
    'LD_PRELOAD',
    'NODE_OPTIONS',
  ])('refuses %s, which would make the function read or load what the caller chose', async (key) => {
    const reply = await update({ [key]: '/tmp/x' });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body).message).toContain(`run or load code on this machine`);
  });

  it('still takes an ordinary variable', async () => {
    const reply = await update({ PICTURA_NOTE: 'hello' });
    expect(reply.status).toBe(200);
  });
});

describe('the API key file', () => {
  it('is written 0600 in a folder that is not world-readable', () => {
    const file = join(dataDir, 'api-keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
  });

  it('is narrowed to 0600 when an earlier version left it readable', () => {
    const folder = mkdtempSync(join(tmpdir(), 'pictura-keys-'));
    const file = join(folder, 'api-keys.json');
    writeFileSync(file, JSON.stringify([{ id: 'local-x', value: 'pk_local_0123456789abcdefghij' }]));
    chmodSync(file, 0o644);
    expect(loadApiKeys(undefined, file)[0]?.value).toBe('pk_local_0123456789abcdefghij');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    rmSync(folder, { recursive: true, force: true });
  });
});

describe('names of this machine', () => {
  it('are localhost, *.localhost, loopback literals and the --host value; nothing shaped otherwise', () => {
    const names = new LocalNames('192.0.2.10');
    for (const host of [
      'localhost',
      'LocalHost:3000',
      'sqs.us-east-1.localhost:4566',
      '127.0.0.1',
      '127.0.0.2:1',
      '[::1]:4566',
      '192.0.2.10:3000',
    ])
      expect(names.isLocalHostHeader(host), host).toBe(true);
    for (const host of [
      '192.0.2.11',
      'localhost.evil.example',
      'evil.example',
      'a@localhost',
      'localhost/x',
      '',
      '[::2]',
      'localhost:99999x',
    ])
      expect(names.isLocalHostHeader(host), host).toBe(false);
  });

  it("include the machine's host name only when listening on every interface", () => {
    expect(new LocalNames('127.0.0.1').isLocalName(hostname())).toBe(hostname() === 'localhost');
    expect(new LocalNames('0.0.0.0').isLocalName(hostname())).toBe(true);
  });

  it("take as own origins only the local cloud's API and CDN pages, by scheme, name and port", () => {
    const names = new LocalNames();
    names.addPort(3001);
    expect(names.isOwnOrigin('http://localhost:3001')).toBe(true);
    expect(names.isOwnOrigin('http://127.0.0.1:3001')).toBe(true);
    for (const origin of [
      'http://localhost:4566',
      'https://localhost:3001',
      'http://evil.example:3001',
      'null',
      'http://localhost:3001/x',
    ])
      expect(names.isOwnOrigin(origin), origin).toBe(false);
  });
});
