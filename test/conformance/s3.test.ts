import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Schema } from '@aws-lambda-powertools/parser/schemas';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, MAX_REQUEST_BYTES, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { objectCreatedEvent, s3EventKey } from '#local/s3/events.ts';
import { createPresignedPost } from '#shared/presigned-post.ts';
import { awsCli } from '#test/support/aws-cli.ts';

// The bundled S3 emulator (fauxqs, patched in patches/: see patches/README.md) held to what S3 answers, with the
// SDK v3 client (path-style) and the AWS CLI (botocore) on the wire, over a real file store in a temp folder.
const bucket = 'conformance-bucket';
let root: string;
let dataDir: string;
let endpoint: AwsEndpoint;
let s3: S3Client;

async function start(): Promise<void> {
  endpoint = await startAwsEndpoint({ port: 0, dataDir });
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: endpoint.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pictura-s3-conformance-'));
  dataDir = join(root, 'data');
  await start();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => {
  await endpoint?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function put(key: string, body = key): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function getText(key: string): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await Body?.transformToString()) ?? '';
}

/** Every key under `prefix`, following NextContinuationToken `maxKeys` at a time. */
async function listAll(prefix: string, maxKeys: number): Promise<string[][]> {
  const pages: string[][] = [];
  let ContinuationToken: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys, ContinuationToken }),
    );
    pages.push((page.Contents ?? []).map((o) => o.Key ?? ''));
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken && pages.length < 20);
  return pages;
}

/** The AWS CLI against the emulator, without retries; it must succeed (a failure throws with its stderr). */
const cli = (...args: string[]) => awsCli(args, { endpoint: endpoint.url, maxAttempts: 1, check: true });

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('ListObjectsV2 order and paging', () => {
  // "List results are always returned in UTF-8 binary order"
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html); ListObjectsV2 returns keys "in
  // lexicographical order" and pages with NextContinuationToken
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
  it('pages over mixed-case keys in binary order without losing any', async () => {
    for (const key of ['ord/B', 'ord/a', 'ord/C', 'ord/b']) await put(key);
    expect(await listAll('ord/', 2)).toEqual([
      ['ord/B', 'ord/C'],
      ['ord/a', 'ord/b'],
    ]);
    expect(await listAll('ord/', 1)).toEqual([['ord/B'], ['ord/C'], ['ord/a'], ['ord/b']]);
  });

  it('orders by UTF-8 bytes, not UTF-16 units: U+FF61 (EF BD A1) before U+1F600 (F0 9F 98 80)', async () => {
    for (const key of ['utf/😀', 'utf/｡', 'utf/z']) await put(key);
    expect((await listAll('utf/', 1)).flat()).toEqual(['utf/z', 'utf/｡', 'utf/😀']);
  });

  it('does not list a common prefix again on the next page when it sorts after the last key', async () => {
    for (const key of ['cp/a', 'cp/b/1', 'cp/b/2', 'cp/c']) await put(key);
    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: 'cp/',
          Delimiter: '/',
          MaxKeys: 2,
          ContinuationToken,
        }),
      );
      seen.push(
        ...(page.Contents ?? []).map((o) => o.Key ?? ''),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix ?? ''),
      );
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    expect(seen.sort()).toEqual(['cp/a', 'cp/b/', 'cp/c']);
  });
});

describe('ListObjectsV2 EncodingType=url', () => {
  // "If you specify the encoding-type request parameter, Amazon S3 includes this element in the response, and
  // returns encoded key name values in the following response elements: Delimiter, Prefix, Key, and StartAfter"
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html); "test_file(3).png will appear as
  // test_file%283%29.png" (EncodingType). LocalStack's AWS-recorded
  // tests/aws/services/s3/test_s3_list_operations.snapshot.json (test_list_objects_v2_continuation_token_safe_chars)
  // shows S3 listing `date=2026-03-01/` as `date%3D2026-03-01/` and StartAfter `date%3D2026-02-01/`: `/` is
  // kept, the rest form-encoded (a space as `+`, which botocore decodes with unquote_plus).
  it('encodes Key, Prefix, StartAfter, Delimiter and CommonPrefixes and echoes EncodingType', async () => {
    await put('enc/test_file(3).png');
    await put("enc/a b~!'*.png");
    await put('enc/date=2026-03-01/x');
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: 'enc/',
        StartAfter: 'enc/ ',
        Delimiter: '=',
        EncodingType: 'url',
      }),
    );
    expect(page.EncodingType).toBe('url');
    expect(page.Prefix).toBe('enc/');
    expect(page.StartAfter).toBe('enc/+');
    expect(page.Delimiter).toBe('%3D');
    expect(page.Contents?.map((o) => o.Key)).toEqual(['enc/a+b%7E%21%27*.png', 'enc/test_file%283%29.png']);
    expect(page.CommonPrefixes).toEqual([{ Prefix: 'enc/date%3D' }]);

    const plain = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'enc/test' }));
    expect(plain.EncodingType).toBeUndefined();
    expect(plain.Contents?.map((o) => o.Key)).toEqual(['enc/test_file(3).png']);
  });

  // Same snapshot file, test_list_ops_encoding_type_validation[list_objects_v2].
  it('refuses any other EncodingType with InvalidArgument', async () => {
    await expect(
      s3.send(new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'value' as never })),
    ).rejects.toMatchObject({
      name: 'InvalidArgument',
      message: 'Invalid Encoding Method specified in Request',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('reads the same through the AWS CLI, which decodes only when it set the encoding itself', async () => {
    const explicit = JSON.parse(
      (
        await cli(
          's3api',
          'list-objects-v2',
          '--bucket',
          bucket,
          '--prefix',
          'enc/t',
          '--encoding-type',
          'url',
        )
      ).stdout,
    );
    expect(explicit.Contents.map((o: { Key: string }) => o.Key)).toEqual(['enc/test_file%283%29.png']);
    const auto = JSON.parse(
      (await cli('s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'enc/a')).stdout,
    );
    expect(auto.Contents.map((o: { Key: string }) => o.Key)).toEqual(["enc/a b~!'*.png"]);
  });
});

describe('S3 event notification keys', () => {
  // "The object key name value is URL encoded. For example, "red flower.jpg" becomes "red+flower.jpg" (Amazon S3
  // returns "application/x-www-form-urlencoded" as the content type in the response)"
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html); LocalStack's
  // AWS-recorded tests/aws/services/s3/test_s3_notifications_sqs.snapshot.json records key `a@b` as `a%40b`.
  it.each([
    ['red flower.jpg', 'red+flower.jpg'],
    ['a@b', 'a%40b'],
    ["originals/x (1)~!'.jpg", 'originals/x+%281%29%7E%21%27.jpg'],
    ['k/a*b-c_d.e', 'k/a*b-c_d.e'],
    ['=+&%?#', '%3D%2B%26%25%3F%23'],
    ['é/日本', '%C3%A9/%E6%97%A5%E6%9C%AC'],
    ['../../x', '../../x'],
  ])('encodes %j as %j', (key, encoded) => {
    expect(s3EventKey(key)).toBe(encoded);
  });

  it('builds events that validate against Powertools S3Schema', () => {
    const body = objectCreatedEvent({
      bucket,
      key: "originals/x (1)~!'.jpg",
      size: 3,
      eTag: '"abc"',
      region: 'us-east-1',
      api: 'Put',
    });
    const event = S3Schema.parse(JSON.parse(body));
    expect(event.Records[0]?.s3.object.key).toBe('originals/x+%281%29%7E%21%27.jpg');
    expect(decodeURIComponent((event.Records[0]?.s3.object.key ?? '').replaceAll('+', ' '))).toBe(
      "originals/x (1)~!'.jpg",
    );
  });
});

describe('keys with .. segments (file store)', () => {
  const objectsDir = () => join(dataDir, 's3', 'buckets', bucket, 'objects');
  // `../../x` and `a/../../b` are legal keys: "The name for a key is a sequence of Unicode characters whose UTF-8
  // encoding is at most 1,024 bytes long" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html);
  // S3 stores them literally. Five `..` reach the temp folder from the bucket's objects folder.
  const hostile = [
    '../../x',
    'a/../../b',
    '../../../../../escape',
    './.',
    '..',
    'dots/../..',
    'e//f',
    '/lead',
  ];

  it('stores, lists and reads each key back literally, writing only inside the bucket folder', async () => {
    const before = new Set(await filesUnder(root));
    for (const key of hostile) await put(key, `body of ${key}`);
    for (const key of hostile) expect(await getText(key)).toBe(`body of ${key}`);
    const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);
    for (const key of hostile) expect(listed).toContain(key);
    const added = (await filesUnder(root)).filter((f) => !before.has(f));
    expect(added.length).toBe(hostile.length * 2); // a .data and a .meta.json per key
    for (const file of added) expect(join(root, file).startsWith(`${objectsDir()}/`)).toBe(true);
  });

  it('keeps keys that differ only by empty segments apart (e//f is not e/f)', async () => {
    await put('e/f', 'single');
    expect(await getText('e//f')).toBe('body of e//f');
    expect(await getText('e/f')).toBe('single');
  });

  it('never deletes a file outside the data folder', async () => {
    const sentinel = join(root, 'escape.data');
    await writeFile(sentinel, 'keep me');
    await writeFile(join(root, 'escape.meta.json'), '{}');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: '../../../../../escape' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: '../../../../../nothing' }));
    expect(await readFile(sentinel, 'utf8')).toBe('keep me');
    await expect(stat(join(root, 'escape.meta.json'))).resolves.toBeDefined();
    await expect(getText('../../../../../escape')).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(await getText('../../x')).toBe('body of ../../x');
  });

  it('reads every key back after a restart from the same data folder', async () => {
    await endpoint.close();
    await start();
    for (const key of hostile.filter((k) => k !== '../../../../../escape')) {
      expect(await getText(key)).toBe(`body of ${key}`);
    }
  });
});

describe('objects larger than fauxqs took (patch 014)', () => {
  // S3 takes up to 5 GiB in one PutObject ("Upload an object in a single operation … up to 5 GB",
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html) and in a POST form; fauxqs stopped
  // at 11 MiB (FST_ERR_CTP_BODY_TOO_LARGE), under the API's own 25 MiB limit, so a 15 MB upload that the API
  // accepted and AWS would store failed locally.
  const size = 20 * 1024 * 1024 + 7;
  const body = Buffer.alloc(size, 0x5a);

  it('stores a 20 MiB PutObject byte for byte', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'large/put.bin', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'large/put.bin' }));
    expect(got.ContentLength).toBe(size);
  });

  it('stores a 20 MiB file posted through a presigned POST form', async () => {
    const post = await createPresignedPost(s3, {
      bucket,
      key: 'large/post.bin',
      contentType: 'image/jpeg',
      maxBytes: size,
      expiresSeconds: 300,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append('file', new Blob([body], { type: 'image/jpeg' }));
    const response = await fetch(post.url, { method: 'POST', body: form });
    expect(response.status, await response.text()).toBeLessThan(300);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'large/post.bin' }));
    expect(got.ContentLength).toBe(size);
  });

  it('still has a bound: the limit is set, above the API default and far below what memory allows', () => {
    expect(MAX_REQUEST_BYTES).toBeGreaterThan(25 * 1024 * 1024);
    expect(MAX_REQUEST_BYTES).toBeLessThanOrEqual(512 * 1024 * 1024);
  });
});

describe('PutObject with Content-Type application/x-www-form-urlencoded', () => {
  // curl --data-binary sends this type by default. S3 stores the bytes as sent, and the type as the object's
  // Content-Type ("Content-Type: A standard MIME type describing the format of the contents",
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html); fauxqs parsed the body as a form and
  // answered 500 ERR_INVALID_ARG_TYPE (patch 012).
  const form = 'application/x-www-form-urlencoded';
  it.each([
    ['form-looking text', Buffer.from('a=1&b=2&a=3')],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x3d, 0x26, 0x80])],
    ['an empty body', Buffer.alloc(0)],
  ])(
    'stores %s byte for byte, with that Content-Type (unsigned PUT, as curl sends it)',
    async (_label, body) => {
      const key = `form/${body.length}-${_label.length}`;
      const response = await fetch(`${endpoint.url}/${bucket}/${key}`, {
        method: 'PUT',
        headers: { 'content-type': form },
        body,
      });
      expect(response.status, await response.text()).toBe(200);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(got.ContentType).toBe(form);
      expect(Buffer.from((await got.Body?.transformToByteArray()) ?? [])).toEqual(body);
    },
  );

  it('stores it through the SDK too, and a `?`-free key named like a form field', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'form/Action=GetCallerIdentity',
        Body: 'x=y',
        ContentType: form,
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'form/Action=GetCallerIdentity' }));
    expect(got.ContentType).toBe(form);
    expect(await got.Body?.transformToString()).toBe('x=y');
  });

  // The control: the query protocol (STS/SNS on POST /) is still read as a form. GetCallerIdentity's answer
  // carries an Account (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
  it('still reads a query-protocol POST / as a form', async () => {
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': form },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<GetCallerIdentityResult>[\s\S]*<Account>\d{12}<\/Account>/);
  });
});

describe('emulator sockets', () => {
  // The emulators sit behind the edge, which refuses foreign Hosts and cross-site requests. fauxqs listened on
  // 0.0.0.0 whatever --host said (issue 9), and even on a loopback TCP port a web page scanning ports through
  // DNS rebinding would reach it without the edge's checks: it listens on a Unix socket in a folder only this
  // user can enter (patches/fauxqs+2.4.1+001+listen-loopback-or-socket.patch), and the edge is its only door.
  it('fauxqs listens on a Unix socket in a private folder, not on a TCP port', async () => {
    const address = endpoint.fauxqs.address;
    expect(dirname(address)).toBe(endpoint.socketDir);
    expect((await stat(address)).isSocket()).toBe(true);
    expect((await stat(endpoint.socketDir)).mode & 0o777).toBe(0o700);
    expect((await readdir(endpoint.socketDir)).sort()).toEqual(['dynamodb.sock', 's3-sqs.sock']);
    // macOS's sun_path holds 104 bytes with its NUL.
    expect(Buffer.byteLength(join(endpoint.socketDir, 'dynamodb.sock'))).toBeLessThanOrEqual(100);
  });

  it("names the edge's port in the queue URLs fauxqs builds itself", () => {
    expect(endpoint.fauxqs.port).toBe(endpoint.port);
    expect(endpoint.fauxqs.createQueue('own-url').queueUrl).toBe(
      `http://sqs.us-east-1.localhost:${endpoint.port}/000000000000/own-url`,
    );
  });

  it('removes the socket folder on close, and leaves nothing behind when a start fails', async () => {
    const socketsIn = await mkdtemp(join(tmpdir(), 'pictura-sockets-'));
    try {
      const other = await startAwsEndpoint({ port: 0, socketsIn });
      expect(await readdir(socketsIn)).toHaveLength(1);
      await other.close();
      expect(await readdir(socketsIn)).toEqual([]);
      // fauxqs cannot start (its state folder is a file) after the edge and dynalite did.
      const broken = join(root, 'broken');
      await mkdir(broken);
      await writeFile(join(broken, 'fauxqs'), '');
      const port = await freePort();
      await expect(startAwsEndpoint({ port, dataDir: broken, socketsIn })).rejects.toThrow(/fauxqs/);
      expect(await readdir(socketsIn)).toEqual([]);
      // The edge's port is free again.
      const server = createServer().listen(port, '127.0.0.1');
      await once(server, 'listening');
      server.close();
    } finally {
      await rm(socketsIn, { recursive: true, force: true });
    }
  });

  it('removes the socket folder when the process exits without closing the endpoint (a second Ctrl-C)', async () => {
    const socketsIn = await mkdtemp(join(tmpdir(), 'pictura-sockets-'));
    try {
      const script = `import { startAwsEndpoint } from './local/aws-endpoint.ts';
        const endpoint = await startAwsEndpoint({ port: 0, socketsIn: ${JSON.stringify(socketsIn)} });
        console.log(endpoint.socketDir);
        process.exit(130);`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        encoding: 'utf8',
      });
      expect(child.status, child.stderr).toBe(130);
      expect(dirname(child.stdout.trim())).toBe(socketsIn);
      expect(await readdir(socketsIn)).toEqual([]);
    } finally {
      await rm(socketsIn, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
