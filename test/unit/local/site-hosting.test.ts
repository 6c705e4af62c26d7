import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { createCdn } from '#local/cloudfront/distribution.ts';
import { readableObjects } from '#local/template/model/cloudfront.ts';
import { ModelContext } from '#local/template/model/context.ts';
import { buildBucketDeployments } from '#local/template/model/s3.ts';
import { provision } from '#local/template/provision.ts';
import type { LocalCacheBehavior, LocalDistribution, StackModel } from '#local/template/stack-model.ts';

/**
 * The local cloud's hosting of the upload page: the site bucket filled as CDK's BucketDeployment fills it
 * (provision.ts), served at `/` as the distribution's default root object, with reads granted bucket by
 * bucket, so that a grant on the site bucket never opens the images bucket's originals.
 */
const SITE = 'site-bucket';
const IMAGES = 'images-bucket';
const behavior = (pathPattern: string, bucket: string): LocalCacheBehavior => ({
  pathPattern,
  origin: { kind: 's3', bucket, originPath: '' },
  defaultTtl: 0,
  maxTtl: 0,
  minTtl: 0,
  headers: {},
});
const distribution: LocalDistribution = {
  id: 'E2SITE',
  // A misconfigured behaviour reading the images bucket outside variants/, to show the grant still holds.
  behaviors: [behavior('/variants/*', IMAGES), behavior('/originals/*', IMAGES), behavior('*', SITE)],
  readable: [
    { bucket: IMAGES, prefix: 'variants/' },
    { bucket: SITE, prefix: '' },
  ],
  defaultRootObject: 'index.html',
};

let endpoint: AwsEndpoint;
let s3: S3Client;
let cdnServer: Server;
let cdnUrl: string;
let siteDir: string;

/** Two asset folders as the assembly stages them: the page, and the vendored decoder. */
function stageAssets(): string[] {
  siteDir = mkdtempSync(join(tmpdir(), 'pictura-site-'));
  const page = join(siteDir, 'page');
  const vendor = join(siteDir, 'vendor-asset');
  mkdirSync(page);
  mkdirSync(join(vendor, 'vendor'), { recursive: true });
  writeFileSync(join(page, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(page, 'app.js'), 'export {};');
  writeFileSync(join(page, 'style.css'), 'body{}');
  writeFileSync(join(vendor, 'vendor', 'thumbhash.js'), 'export function thumbHashToDataURL() {}');
  return [page, vendor];
}

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0 });
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: endpoint.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: SITE }));
  await s3.send(new CreateBucketCommand({ Bucket: IMAGES }));
  // What an earlier run left: a page file since removed from the repository.
  await s3.send(new PutObjectCommand({ Bucket: SITE, Key: 'old.js', Body: 'stale' }));
  for (const key of ['originals/abc', 'variants/abc/thumb.webp']) {
    await s3.send(new PutObjectCommand({ Bucket: IMAGES, Key: key, Body: key }));
  }
  const model = {
    buckets: [],
    queues: [],
    tables: [],
    bucketDeployments: [
      { bucket: SITE, prefix: '', sources: stageAssets(), prune: true, cacheControl: 'public, max-age=300' },
    ],
  } as unknown as StackModel;
  const dynamo = { send: async () => ({ TableNames: [] }) };
  await provision(model, { s3, sqs: {} as never, dynamo: dynamo as never });
  const cdn = createCdn({ distribution, s3, apiUrl: 'http://127.0.0.1:9', log: () => {} });
  cdnServer = createServer(cdn.handler);
  cdnServer.listen(0, '127.0.0.1');
  await new Promise((resolve) => cdnServer.once('listening', resolve));
  cdnUrl = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  cdnServer?.closeAllConnections();
  await new Promise((resolve) => cdnServer?.close(resolve));
  await endpoint?.close();
  rmSync(siteDir, { recursive: true, force: true });
});

describe('bucket deployments (provision.ts)', () => {
  it('copies every staged file with its content type and the deployment’s Cache-Control', async () => {
    const head = (key: string) => s3.send(new HeadObjectCommand({ Bucket: SITE, Key: key }));
    const expected: [string, string][] = [
      ['index.html', 'text/html'],
      ['app.js', 'text/javascript'],
      ['style.css', 'text/css'],
      ['vendor/thumbhash.js', 'text/javascript'],
    ];
    for (const [key, type] of expected) {
      const object = await head(key);
      expect(object.ContentType, key).toBe(type);
      expect(object.CacheControl, key).toBe('public, max-age=300');
    }
  });

  it('prunes what no source holds any more, as `aws s3 sync --delete` does', async () => {
    const gone = await s3.send(new HeadObjectCommand({ Bucket: SITE, Key: 'old.js' })).catch((e: Error) => e);
    expect((gone as Error).name).toBe('NotFound');
  });

  it('refuses a template whose deployment names an asset the assembly does not have', () => {
    const stack = {
      stackName: 'S',
      resources: {
        Deploy: {
          Type: 'Custom::CDKBucketDeployment',
          Properties: { SourceObjectKeys: ['feedface.zip'], DestinationBucketName: 'b' },
        },
      },
      outputs: {},
      conditions: {},
    };
    const addresses = {
      region: 'us-east-1',
      accountId: '000000000000',
      awsEndpoint: 'http://localhost:4566',
      cdnHost: 'localhost:3001',
      apiHost: 'localhost:3000',
    };
    const context = new ModelContext(stack, addresses, new Map());
    expect(() => buildBucketDeployments(context, {})).toThrow(/feedface\.zip is not a folder asset/);
    expect(buildBucketDeployments(context, { 'feedface.zip': '/x' })).toEqual([
      { bucket: 'b', prefix: '', sources: ['/x'], prune: true },
    ]);
  });
});

describe('the page at the CDN root (distribution.ts, s3-origin.ts)', () => {
  it('serves / as the default root object, and only /', async () => {
    const root = await fetch(`${cdnUrl}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toBe('text/html');
    expect(await root.text()).toContain('<title>page</title>');
    expect((await fetch(`${cdnUrl}/vendor/`)).status).toBe(404);
    expect((await fetch(`${cdnUrl}/vendor/thumbhash.js`)).status).toBe(200);
  });

  it('never reads an original: not through the site bucket, not through a behaviour on the images bucket', async () => {
    for (const path of ['/originals/abc', '/variants/../originals/abc', '/variants/%2e%2e/originals/abc']) {
      const response = await fetch(`${cdnUrl}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain('originals/abc');
    }
    expect((await fetch(`${cdnUrl}/variants/abc/thumb.webp`)).status).toBe(200);
  });

  it('reads grants per bucket from the OAC bucket policies', () => {
    const cloudfront = { Service: 'cloudfront.amazonaws.com' };
    expect(
      readableObjects({
        Statement: [
          { Effect: 'Allow', Principal: cloudfront, Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' },
          {
            Effect: 'Allow',
            Principal: cloudfront,
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::img/variants/*',
          },
        ],
      }),
    ).toEqual([
      { bucket: 'site', prefix: '' },
      { bucket: 'img', prefix: 'variants/' },
    ]);
  });
});
