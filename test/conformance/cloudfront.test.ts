import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { createCdn, pathPatternMatches } from '#local/cloudfront/distribution.ts';
import type { LocalDistribution } from '#local/template/stack-model.ts';

// The CloudFront emulation held to CloudFront's documented behaviour, with the real CloudFront SDK client on
// the wire. Sources:
// - Invalidation paths: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Invalidation.html
//   ("Invalidation paths": a leading `/` through the API, `*` only as the last character, at most 4,000
//   characters) and InvalidationLimits.html (3,000 files, 15 wildcard paths in progress).
// - Errors and their statuses: https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
//   and CloudFront's service model as shipped in @aws-sdk/client-cloudfront (InvalidArgument 400,
//   InconsistentQuantities 400, NoSuchDistribution 404, TooManyInvalidationsInProgress 400).
// - The InvalidArgument message CloudFront sends for a bad path, as users report it from real CloudFront:
//   https://github.com/rust-lang/promote-release/pull/94 ("Your request contains one or more invalid
//   invalidation paths.").

const DISTRIBUTION_ID = 'E2LOCALCONFORM';
const BUCKET = 'conformance-media';
let endpoint: AwsEndpoint;
let cdnServer: Server;
let cdnUrl: string;
let cloudfront: CloudFrontClient;

const distribution: LocalDistribution = {
  id: DISTRIBUTION_ID,
  behaviors: [
    {
      pathPattern: '/variants/*',
      origin: { kind: 's3', bucket: BUCKET, originPath: '' },
      defaultTtl: 86_400,
      maxTtl: 31_536_000,
      minTtl: 0,
      headers: {},
    },
    {
      pathPattern: '*',
      origin: { kind: 'api', originPath: '' },
      defaultTtl: 0,
      maxTtl: 0,
      minTtl: 0,
      headers: {},
    },
  ],
  readable: [{ bucket: BUCKET, prefix: 'variants/' }],
};

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0 });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: endpoint.url, forcePathStyle: true, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const key of ['variants/abc/thumb.webp', 'variants/abc/small.webp', 'variants/abd/thumb.webp']) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key, ContentType: 'image/webp' }));
  }
  // The API origin is a stub that says where a request went.
  const api = createServer((req, res) => res.writeHead(200).end(`api ${req.url}`));
  api.listen(0, '127.0.0.1');
  await new Promise((resolve) => api.once('listening', resolve));
  const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  const cdn = createCdn({ distribution, s3, apiUrl, log: () => {} });
  endpoint.addRoute(cdn.invalidationRoute);
  cdnServer = createServer(cdn.handler);
  cdnServer.listen(0, '127.0.0.1');
  await new Promise((resolve) => cdnServer.once('listening', resolve));
  cdnUrl = `http://127.0.0.1:${(cdnServer.address() as AddressInfo).port}`;
  cloudfront = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: endpoint.url,
    credentials,
    maxAttempts: 1,
  });
  cdnServer.on('close', () => api.close());
});
afterAll(async () => {
  cdnServer?.closeAllConnections();
  await new Promise((resolve) => cdnServer?.close(resolve));
  await endpoint?.close();
});

async function xcache(path: string): Promise<string | null> {
  const response = await fetch(`${cdnUrl}${path}`);
  await response.arrayBuffer();
  return response.headers.get('x-cache');
}

function invalidate(paths: string[], quantity = paths.length) {
  return cloudfront.send(
    new CreateInvalidationCommand({
      DistributionId: DISTRIBUTION_ID,
      InvalidationBatch: {
        CallerReference: `ref-${Math.random()}`,
        Paths: { Quantity: quantity, Items: paths },
      },
    }),
  );
}

async function errorOf(promise: Promise<unknown>) {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name: string; message: string; $metadata: { httpStatusCode?: number } } | undefined;
  if (!error) throw new Error('expected the call to fail');
  return { name: error.name, message: error.message, status: error.$metadata.httpStatusCode };
}

describe('CreateInvalidation', () => {
  it('drops exact and `*` paths from the edge cache, percent-encoded or not, and answers 201 Completed', async () => {
    for (const path of ['/variants/abc/thumb.webp', '/variants/abc/small.webp', '/variants/abd/thumb.webp'])
      await xcache(path);
    expect(await xcache('/variants/abc/thumb.webp')).toBe('Hit from cloudfront');
    const created = await invalidate(['/variants/abc/*']);
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.Invalidation?.Status).toBe('Completed');
    expect(created.Invalidation?.InvalidationBatch?.Paths?.Items).toEqual(['/variants/abc/*']);
    expect(created.Location).toContain(`/2020-05-31/distribution/${DISTRIBUTION_ID}/invalidation/`);
    expect(await xcache('/variants/abc/thumb.webp')).toBe('Miss from cloudfront');
    expect(await xcache('/variants/abc/small.webp')).toBe('Miss from cloudfront');
    expect(await xcache('/variants/abd/thumb.webp')).toBe('Hit from cloudfront');
    // Unsafe characters come URL-encoded (Invalidation.html); `%61` is `a`.
    await invalidate(['/variants/%61bd/thumb.webp']);
    expect(await xcache('/variants/abd/thumb.webp')).toBe('Miss from cloudfront');
  });

  it.each([
    ['no leading slash (required through the API)', 'variants/abc/thumb.webp'],
    ['`*` inside the path', '/variants/*.webp'],
    ['`*` not last', '/variants/*/thumb.webp'],
    ['longer than 4,000 characters', `/${'a'.repeat(4000)}`],
    ['a malformed percent-encoding', '/variants/%zz'],
  ])('refuses a path with %s: 400 InvalidArgument', async (_why, path) => {
    expect(await errorOf(invalidate([path]))).toEqual({
      name: 'InvalidArgument',
      message: 'Your request contains one or more invalid invalidation paths.',
      status: 400,
    });
  });

  it('takes a path of exactly 4,000 characters', async () => {
    const created = await invalidate([`/${'a'.repeat(3998)}*`]);
    expect(created.$metadata.httpStatusCode).toBe(201);
  });

  it('answers a hostile path (`/*` then many `*?`) in < 100 ms, and the CDN stays responsive', async () => {
    const hostile = `/*${'*?'.repeat(1000)}x`;
    const started = performance.now();
    const error = await errorOf(invalidate([hostile]));
    expect(performance.now() - started).toBeLessThan(100);
    expect(error.name).toBe('InvalidArgument');
    const probe = performance.now();
    expect(await xcache('/variants/abc/thumb.webp')).not.toBeNull();
    expect(performance.now() - probe).toBeLessThan(100);
  });

  it('answers CloudFront error XML (ErrorResponse, Type Sender, Code, Message, RequestId)', async () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">' +
      '<Paths><Quantity>1</Quantity><Items><Path>/*?*?*?</Path></Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>';
    const response = await fetch(`${endpoint.url}/2020-05-31/distribution/${DISTRIBUTION_ID}/invalidation`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body,
    });
    expect(response.status).toBe(400);
    const xml = await response.text();
    expect(xml).toMatch(
      /^<\?xml[^>]*>\s*<ErrorResponse xmlns="http:\/\/cloudfront\.amazonaws\.com\/doc\/2020-05-31\/"><Error><Type>Sender<\/Type><Code>InvalidArgument<\/Code><Message>Your request contains one or more invalid invalidation paths\.<\/Message><\/Error><RequestId>[^<]+<\/RequestId><\/ErrorResponse>$/,
    );
  });

  it('refuses a Quantity that is not the number of Items: 400 InconsistentQuantities', async () => {
    expect(await errorOf(invalidate(['/variants/abc/thumb.webp'], 2))).toMatchObject({
      name: 'InconsistentQuantities',
      status: 400,
    });
  });

  it('refuses more paths than may be in progress (3,000 files, 15 wildcards): TooManyInvalidationsInProgress', async () => {
    const files = Array.from({ length: 3001 }, (_, i) => `/variants/${i}.webp`);
    expect(await errorOf(invalidate(files))).toMatchObject({
      name: 'TooManyInvalidationsInProgress',
      status: 400,
    });
    const wildcards = Array.from({ length: 16 }, (_, i) => `/variants/${i}/*`);
    expect(await errorOf(invalidate(wildcards))).toMatchObject({
      name: 'TooManyInvalidationsInProgress',
      status: 400,
    });
    expect((await invalidate(wildcards.slice(0, 15))).$metadata.httpStatusCode).toBe(201);
  });

  it('answers 404 NoSuchDistribution for another distribution', async () => {
    const call = cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: 'E0THER',
        InvalidationBatch: { CallerReference: 'x', Paths: { Quantity: 1, Items: ['/a'] } },
      }),
    );
    expect(await errorOf(call)).toMatchObject({ name: 'NoSuchDistribution', status: 404 });
  });
});

describe('the edge', () => {
  it('matches behaviour path patterns (`*` any run, `?` one character) without backtracking blow-up', () => {
    expect(pathPatternMatches('/variants/*', '/variants/a/b.webp')).toBe(true);
    expect(pathPatternMatches('/variants/?/x', '/variants/a/x')).toBe(true);
    expect(pathPatternMatches('/variants/?/x', '/variants/ab/x')).toBe(false);
    expect(pathPatternMatches('/v1/*', '/v1')).toBe(false);
    expect(pathPatternMatches('/a*b*c', '/a-b-c')).toBe(true);
    expect(pathPatternMatches('/a*b*c', '/a-c-b')).toBe(false);
    // As a regular expression (`^/.*(.*.)*…x$`), this pattern takes exponential time on a path that fails.
    const hostile = `/*${'*?'.repeat(30)}x`;
    const started = performance.now();
    expect(pathPatternMatches(hostile, `/${'a'.repeat(10_000)}`)).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it.each(['/variants/%', '/variants/%zz/thumb.webp', '/variants/%C3%28', '/v1/images/%'])(
    'answers 400 to a malformed percent-encoding (%s)',
    async (path) => {
      const status = await new Promise<number>((resolve, reject) => {
        // fetch would re-encode the target; send it as a client may.
        request(`${cdnUrl}${path}`, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      expect(status).toBe(400);
    },
  );
});
