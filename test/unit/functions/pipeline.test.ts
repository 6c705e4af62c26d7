import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudFrontClient } from '#shared/clients/cloudfront.ts';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { requestDelete } from '#shared/deletion.ts';
import { type IngestOutcome, ingestOriginal } from '#shared/ingest.ts';
import { createLogger } from '#shared/logger.ts';
import { purgeImage } from '#shared/purge.ts';
import { renderImage } from '#shared/rendering.ts';
import { ImageRepository } from '#shared/repository.ts';
import {
  CAMERA,
  orientedJpeg,
  PATTERN_HEIGHT,
  PATTERN_WIDTH,
  plainPng,
  pngBomb,
  pngWithAlpha,
  svgText,
  textNamedJpg,
  truncatedJpeg,
  zeroBytes,
} from '#test/support/images.ts';
import {
  type Pipeline,
  presignRequest,
  startPipeline,
  tokenDeleteRequest,
  uploadRequest,
} from '#test/support/pipeline.ts';

const MAX_UPLOAD_BYTES = 300_000;
let cloud: Pipeline;
beforeAll(async () => {
  cloud = await startPipeline({
    MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    MAX_DIRECT_UPLOAD_BYTES: '200000',
  });
});
afterAll(() => cloud?.close());

interface Accepted {
  id: string;
  deleteToken: string;
  upload?: { url: string; fields: Record<string, string> };
}

/** Asks for a presigned POST; `post` sends the file with a real multipart form, as a browser would. */
async function presign(
  contentType: string,
  declaredLength: number,
): Promise<Accepted & { post(bytes: Buffer): Promise<void> }> {
  const response = await cloud.http('upload', presignRequest(contentType, declaredLength));
  expect(response.statusCode).toBe(201);
  const accepted = response.json as unknown as Accepted;
  const post = async (bytes: Buffer) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(accepted.upload?.fields ?? {})) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(bytes)], { type: contentType }), 'upload');
    const posted = await fetch(accepted.upload?.url ?? '', { method: 'POST', body: form });
    expect(posted.status).toBeLessThan(300);
  };
  return { ...accepted, post };
}

async function presignedUpload(
  bytes: Buffer,
  contentType: string,
  declaredLength = bytes.length || 1,
): Promise<Accepted> {
  const accepted = await presign(contentType, declaredLength);
  await accepted.post(bytes);
  return accepted;
}

async function directUpload(bytes: Buffer, contentType: string): Promise<Accepted> {
  const response = await cloud.http('upload', uploadRequest(contentType, bytes));
  expect(response.statusCode).toBe(202);
  return response.json as unknown as Accepted;
}

/** Runs ingest then render for everything queued, as the event source mappings would. */
async function runPipeline(): Promise<{ failed: number }> {
  let failed = 0;
  for (const [queue, fn] of [
    ['ingest', 'metadata'],
    ['render', 'thumbnail'],
    ['purge', 'purge'],
  ] as const) {
    for (;;) {
      const result = await cloud.deliver(queue, fn);
      failed += result.failed;
      if (result.received === 0) break;
    }
  }
  return { failed };
}

async function getImage(id: string) {
  return cloud.http('images', {
    method: 'GET',
    resource: '/v1/images/{id}',
    path: `/v1/images/${id}`,
    pathParameters: { id },
  });
}

interface VariantDoc {
  name: string;
  url: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
}

async function readVariant(variant: VariantDoc): Promise<Buffer> {
  const key = new URL(variant.url).pathname.slice(1);
  const object = await cloud.s3.send(new GetObjectCommand({ Bucket: cloud.bucket, Key: key }));
  return Buffer.from(await (object.Body?.transformToByteArray() ?? new Uint8Array()));
}

async function expectQueuesDrained() {
  for (const queue of ['ingest', 'render', 'purge', 'ingestDlq', 'renderDlq', 'purgeDlq'] as const) {
    expect(await cloud.depth(queue), queue).toBe(0);
  }
}

describe('upload → metadata → thumbnail → ready', () => {
  it('records a rotated JPEG upright, without GPS, through a presigned POST', async () => {
    const jpeg = await orientedJpeg(6);
    const { id } = await presignedUpload(jpeg, 'image/jpeg');
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);

    const response = await getImage(id);
    expect(response.statusCode).toBe(200);
    const doc = response.json as Record<string, unknown> & { variants: VariantDoc[] };
    expect(doc.status).toBe('ready');
    expect(doc.original).toMatchObject({
      contentType: 'image/jpeg',
      bytes: jpeg.length,
      width: PATTERN_WIDTH,
      height: PATTERN_HEIGHT,
    });
    expect(doc.exif).toMatchObject({ orientation: 6, make: CAMERA.make, model: CAMERA.model });
    expect(JSON.stringify(doc)).not.toMatch(/gps|latitude|longitude|location/i);
    expect(doc.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(doc.placeholder).toEqual(expect.any(String));
    // A 200×300 source: the thumb (cover, never upscaled) and the smallest width fit; larger widths are skipped.
    expect(doc.variants.map((v) => v.name)).toContain('thumb');
    for (const variant of doc.variants) {
      expect(variant.url).toBe(`http://cdn.test/variants/${id}/${variant.name}.webp`);
      const body = await readVariant(variant);
      expect(body.length).toBe(variant.bytes);
      const meta = await sharp(body).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.width).toBeLessThanOrEqual(PATTERN_WIDTH);
      expect(meta.height).toBeLessThanOrEqual(PATTERN_HEIGHT);
      if (variant.name !== 'thumb') {
        expect(meta.height).toBeGreaterThan(meta.width ?? 0);
        // Upright: the top row is red, the bottom row is not.
        const { data, info } = await sharp(body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const at = (x: number, y: number) =>
          data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3);
        const top = at(Math.floor(info.width / 2), 2);
        const bottom = at(Math.floor(info.width / 4), info.height - 3);
        expect(top[0]).toBeGreaterThan(200);
        expect(bottom[0]).toBeLessThan(60);
      }
    }
    await expectQueuesDrained();
  });

  it('keeps the alpha of a PNG in every variant and never renders larger than the source', async () => {
    const png = await pngWithAlpha(100, 80);
    const { id } = await directUpload(png, 'image/png');
    await cloud.announce(`originals/${id}`);
    expect((await runPipeline()).failed).toBe(0);
    const doc = (await getImage(id)).json as { status: string; variants: VariantDoc[] };
    expect(doc.status).toBe('ready');
    expect(doc.variants.length).toBeGreaterThan(0);
    for (const variant of doc.variants) {
      expect(variant.width).toBeLessThanOrEqual(100);
      expect(variant.height).toBeLessThanOrEqual(80);
      const meta = await sharp(await readVariant(variant)).metadata();
      expect(meta.hasAlpha).toBe(true);
    }
    expect(doc.variants.find((v) => v.width === 480)).toBeUndefined();
  });

  it('handles the same S3 event twice: one record, the same variants, no error', async () => {
    const { id } = await directUpload(await plainPng(600, 400), 'image/png');
    await cloud.announce(`originals/${id}`);
    await cloud.announce(`originals/${id}`);
    expect((await runPipeline()).failed).toBe(0);
    const first = (await getImage(id)).json as { status: string; variants: VariantDoc[] };
    await cloud.announce(`originals/${id}`);
    expect((await runPipeline()).failed).toBe(0);
    const second = (await getImage(id)).json as { status: string; variants: VariantDoc[] };
    expect(second.status).toBe('ready');
    expect(second.variants).toEqual(first.variants);
    expect((await cloud.keys(`variants/${id}/`)).sort()).toEqual(
      first.variants.map((v) => `variants/${id}/${v.name}.webp`).sort(),
    );
    await expectQueuesDrained();
  });
});

describe('bad input is rejected with its own code, the original removed, no retry burned', () => {
  it.each([
    ['zero bytes', () => zeroBytes(), 'image/png', 'EMPTY_FILE'],
    ['text named .jpg', () => textNamedJpg().bytes, 'image/jpeg', 'NOT_AN_IMAGE'],
    ['a truncated JPEG', () => truncatedJpeg(), 'image/jpeg', 'CORRUPT_IMAGE'],
    ['a PNG claiming 50,000 × 50,000 pixels', () => pngBomb(), 'image/png', 'TOO_MANY_PIXELS'],
    ['an SVG', () => svgText(), 'image/png', 'UNSUPPORTED_FORMAT'],
    [
      'a file over the byte limit the POST policy should have stopped',
      async () => Buffer.concat([await plainPng(10, 10), Buffer.alloc(MAX_UPLOAD_BYTES)]),
      'image/png',
      'FILE_TOO_LARGE',
    ],
    [
      'a file larger than its presigned upload declared (S3 would refuse the POST; the emulator does not)',
      () => plainPng(300, 200),
      'image/png',
      'FILE_TOO_LARGE',
      100,
    ],
  ])('%s', async (_label, make, contentType, code, declared?: number) => {
    const bytes = await make();
    const { id } = await presignedUpload(
      bytes,
      contentType,
      declared ?? Math.min(Math.max(bytes.length, 1), MAX_UPLOAD_BYTES),
    );
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);
    const doc = (await getImage(id)).json as {
      status: string;
      rejection: { code: string; detail: string };
      variants: unknown[];
    };
    expect(doc.status).toBe('rejected');
    expect(doc.rejection.code).toBe(code);
    expect(doc.rejection.detail).toEqual(expect.any(String));
    expect(doc.variants).toEqual([]);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    await expectQueuesDrained();
  });
});

describe('an original replaced through its presigned form after ingest', () => {
  it('is never rendered: the image is rejected and the replacement removed', async () => {
    const first = await plainPng(300, 200);
    const { id, post } = await presign('image/png', 200_000);
    await post(first);
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata'); // measured: processing, render queued
    await post(await plainPng(320, 240)); // the same form, used again before it expires
    await cloud.deliver('render', 'thumbnail');
    const doc = (await getImage(id)).json as {
      status: string;
      rejection: { code: string };
      variants: unknown[];
    };
    expect(doc.status).toBe('rejected');
    expect(doc.rejection.code).toBe('ORIGINAL_REPLACED');
    expect(doc.variants).toEqual([]);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    // The second upload's own S3 event finds the image settled and changes nothing.
    await cloud.announce(`originals/${id}`, 'Post').catch(() => {});
    await runPipeline();
    expect(((await getImage(id)).json as { status: string }).status).toBe('rejected');
  });
});

describe('an upload form used again with another file: the first original measured is the image', () => {
  type Doc = {
    status: string;
    rejection?: { code: string };
    original?: { width: number };
    variants: VariantDoc[];
  };
  const config = () => loadConfig();
  /** Rejected as replaced, with nothing of either file left in the bucket and no message left over. */
  const expectReplacedAndGone = async (id: string) => {
    const doc = (await getImage(id)).json as Doc;
    expect(doc.status).toBe('rejected');
    expect(doc.rejection?.code).toBe('ORIGINAL_REPLACED');
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    await expectQueuesDrained();
  };
  const deps = () => {
    const c = config();
    return { config: c, s3: createS3Client(c), logger: createLogger('test') };
  };

  /**
   * Posts a 300×200 PNG through a fresh form and runs the ingest of its event, holding that event back
   * and running `meanwhile` (which posts the newer file through the same form) between the ingest's read
   * of the older bytes and its write: the older file's ingest finishes last.
   */
  const ingestOlderFileLast = async (
    meanwhile: (id: string, post: (bytes: Buffer) => Promise<void>) => Promise<void>,
  ): Promise<{ id: string; result: IngestOutcome }> => {
    const { id, post } = await presign('image/png', 200_000);
    await post(await plainPng(300, 200));
    await cloud.announce(`originals/${id}`, 'Post');
    const held = await cloud.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: cloud.queues.ingest, WaitTimeSeconds: 1 }),
    );
    expect(held.Messages?.length).toBe(1);
    let raced = false;
    class SlowRepository extends ImageRepository {
      override async recordMetadata(...args: Parameters<ImageRepository['recordMetadata']>) {
        if (!raced) {
          raced = true;
          await meanwhile(id, post);
        }
        return super.recordMetadata(...args);
      }
    }
    const c = loadConfig(['renderQueueUrl']);
    const result = await ingestOriginal(
      {
        ...deps(),
        config: c,
        sqs: createSqsClient(c),
        images: new SlowRepository(createDynamoClient(c), c.tableName),
      },
      { bucket: c.bucketName, key: `originals/${id}`, size: 0 },
    );
    await cloud.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: cloud.queues.ingest,
        ReceiptHandle: held.Messages?.[0]?.ReceiptHandle,
      }),
    );
    return { id, result };
  };

  it('mid-render: the image is rejected and the render removes what it wrote', async () => {
    const { id, post } = await presign('image/png', 200_000);
    await post(await plainPng(300, 200));
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata'); // A measured; A's render job queued
    await cloud.sqs.send(new PurgeQueueCommand({ QueueUrl: cloud.queues.render }));

    // Between A's variant writes and its `ready`, B lands through the same form and is ingested.
    class RacingRepository extends ImageRepository {
      override async markReady(...args: Parameters<ImageRepository['markReady']>) {
        await post(await plainPng(320, 240));
        await cloud.announce(`originals/${id}`, 'Post');
        await cloud.deliver('ingest', 'metadata');
        return super.markReady(...args);
      }
    }
    const c = config();
    const racing = new RacingRepository(createDynamoClient(c), c.tableName);
    const outcome = await renderImage({ ...deps(), images: racing }, { type: 'render', v: 1, id });
    expect(outcome).toBe('rejected');
    await expectReplacedAndGone(id);
  });

  it('when the older file’s ingest finishes last: rejected, and nothing of either file is left', async () => {
    const outcome = await ingestOlderFileLast(async (id, post) => {
      await post(await plainPng(320, 240));
      await cloud.announce(`originals/${id}`, 'Post');
      await cloud.deliver('ingest', 'metadata'); // the newer file measured
    });
    expect(outcome.result).toBe('rejected');
    expect((await runPipeline()).failed).toBe(0); // the newer file's render finds the image rejected
    await expectReplacedAndGone(outcome.id);
  });

  it('a render attempt that died after its writes: they go once the image is rejected', async () => {
    const { id, post } = await presign('image/png', 200_000);
    await post(await plainPng(300, 200));
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata');
    await cloud.sqs.send(new PurgeQueueCommand({ QueueUrl: cloud.queues.render }));
    const c = config();
    class DyingRepository extends ImageRepository {
      override async markReady(): Promise<never> {
        throw new Error('instance killed at its timeout');
      }
    }
    const job = { type: 'render', v: 1, id } as const;
    const dying = new DyingRepository(createDynamoClient(c), c.tableName);
    await expect(renderImage({ ...deps(), images: dying }, job)).rejects.toThrow('instance killed');
    expect((await cloud.keys(`variants/${id}/`)).length).toBeGreaterThan(0);

    await post(await plainPng(320, 240));
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata'); // rejected as replaced
    const images = new ImageRepository(createDynamoClient(c), c.tableName);
    expect(await renderImage({ ...deps(), images }, job)).toBe('duplicate'); // the job, redelivered
    await expectReplacedAndGone(id);
  });

  it('when the older file’s ingest finishes after the newer one is ready: the image keeps its original', async () => {
    const outcome = await ingestOlderFileLast(async (id, post) => {
      await post(await plainPng(320, 240));
      await cloud.announce(`originals/${id}`, 'Post');
      expect((await runPipeline()).failed).toBe(0); // the newer file: measured, rendered, ready
    });
    expect(outcome.result).toBe('duplicate');
    const doc = (await getImage(outcome.id)).json as Doc;
    expect(doc.status).toBe('ready');
    expect(doc.original?.width).toBe(320);
    expect(await cloud.keys(`originals/${outcome.id}`)).toEqual([`originals/${outcome.id}`]);
    await expectQueuesDrained();
  });

  it('after ready: the image and its variants stay as rendered, and the replacement is removed', async () => {
    const { id, post } = await presign('image/png', 200_000);
    await post(await plainPng(300, 200));
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);
    const before = (await getImage(id)).json as Doc;
    expect(before.status).toBe('ready');
    const small = before.variants.find((v) => v.name === 'small') as VariantDoc;
    const smallBytes = await readVariant(small);

    await post(await plainPng(320, 240));
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);
    const after = (await getImage(id)).json as Doc;
    expect(after.status).toBe('ready');
    expect(after.variants).toEqual(before.variants);
    expect(after.original?.width).toBe(300);
    expect(Buffer.compare(await readVariant(small), smallBytes)).toBe(0);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    await expectQueuesDrained();
  });

  it('the same file posted twice is one image: ready, no rejection', async () => {
    const png = await plainPng(300, 200);
    const { id, post } = await presign('image/png', 200_000);
    await post(png);
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata');
    await post(png); // a browser retrying the form
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);
    expect(((await getImage(id)).json as Doc).status).toBe('ready');
    expect(await cloud.keys(`originals/${id}`)).toEqual([`originals/${id}`]);
    await expectQueuesDrained();
  });
});

describe('malformed messages are parked in the DLQ at once', () => {
  it.each([
    ['ingest', 'metadata', 'ingestDlq', 'not json at all'],
    ['ingest', 'metadata', 'ingestDlq', '{"Records":[{"s3":{}}]}'],
    ['render', 'thumbnail', 'renderDlq', '{"type":"render","v":1,"id":"../../x"}'],
    ['purge', 'purge', 'purgeDlq', '{"type":"purge"}'],
  ] as const)('%s ← %s', async (queue, fn, dlq, body) => {
    await cloud.sqs.send(new SendMessageCommand({ QueueUrl: cloud.queues[queue], MessageBody: body }));
    expect(await cloud.deliver(queue, fn)).toEqual({ received: 1, failed: 0 });
    expect(await cloud.depth(queue)).toBe(0);
    expect(await cloud.depth(dlq)).toBe(1);
    const parked = await cloud.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: cloud.queues[dlq], MessageAttributeNames: ['All'] }),
    );
    const message = parked.Messages?.[0];
    expect(message?.Body).toBe(body);
    expect(message?.MessageAttributes?.['pictura-error-code']?.StringValue).toBe('MALFORMED_MESSAGE');
    await cloud.sqs.send(
      new DeleteMessageCommand({ QueueUrl: cloud.queues[dlq], ReceiptHandle: message?.ReceiptHandle }),
    );
  });
});

describe('delete', () => {
  const remove = (id: string, token: string) => cloud.http('delete', tokenDeleteRequest(id, token));

  it('removes the original, every variant and the record', async () => {
    const { id, deleteToken } = await directUpload(await plainPng(1200, 900), 'image/png');
    await cloud.announce(`originals/${id}`);
    await runPipeline();
    expect((await cloud.keys(`variants/${id}/`)).length).toBeGreaterThanOrEqual(3);
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    expect((await runPipeline()).failed).toBe(0);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    expect((await getImage(id)).statusCode).toBe(404);
    expect((await remove(id, deleteToken)).statusCode).toBe(404);
    await expectQueuesDrained();
  });

  it('a render retried after the purge removes what its failed first attempt wrote', async () => {
    const { id, deleteToken } = await directUpload(await plainPng(800, 600), 'image/png');
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata'); // processing; the render job is queued
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    await cloud.deliver('purge', 'purge'); // purge runs before the render
    // A first render attempt that crashed halfway left a variant after the purge had listed the prefix.
    await cloud.s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: `variants/${id}/small.webp`, Body: 'partial' }),
    );
    await cloud.deliver('render', 'thumbnail'); // its retry
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    expect((await getImage(id)).statusCode).toBe(404);
    await expectQueuesDrained();
  });

  it('removes an original that lands while the image is being deleted, before the purge ends', async () => {
    const png = await plainPng(64, 64);
    const { id, deleteToken, post } = await presign('image/png', png.length);
    expect((await remove(id, deleteToken)).statusCode).toBe(202); // deleting; the purge has not run
    await post(png);
    await cloud.announce(`originals/${id}`, 'Post');
    await cloud.deliver('ingest', 'metadata');
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    await cloud.deliver('purge', 'purge');
    expect((await getImage(id)).statusCode).toBe(404);
    await expectQueuesDrained();
  });

  it('removes the original of a presigned upload that arrives after the delete', async () => {
    const png = await plainPng(64, 64);
    const { id, deleteToken, post } = await presign('image/png', png.length);
    // The client deletes first and posts the form afterwards (it is valid until it expires).
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    await cloud.deliver('purge', 'purge');
    await post(png);
    expect(await cloud.keys(`originals/${id}`)).toEqual([`originals/${id}`]);
    await cloud.announce(`originals/${id}`, 'Post');
    expect((await runPipeline()).failed).toBe(0);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
  });
});

describe('a render that loses the race to a delete', () => {
  it('removes the variants it wrote after the purge listed the prefix', async () => {
    const config = loadConfig(['purgeQueueUrl']);
    const dynamo = createDynamoClient(config);
    const clients = {
      s3: createS3Client(config),
      sqs: createSqsClient(config),
      cloudfront: createCloudFrontClient(config),
    };
    const logger = createLogger('test');
    const plain = new ImageRepository(dynamo, config.tableName);
    const deleteDeps = { ...clients, config, images: plain, logger };

    // The delete lands and the purge completes between the variant writes and the `ready` transition.
    class RacingRepository extends ImageRepository {
      override async markReady(...args: Parameters<ImageRepository['markReady']>) {
        const [id] = args;
        expect((await cloud.keys(`variants/${id}/`)).length).toBeGreaterThan(0);
        await requestDelete(deleteDeps, id, { method: 'token', deleteToken });
        await purgeImage(deleteDeps, id);
        return super.markReady(...args);
      }
    }
    const { id, deleteToken } = await directUpload(await plainPng(900, 700), 'image/png');
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    await cloud.sqs.send(new PurgeQueueCommand({ QueueUrl: cloud.queues.render }));

    const outcome = await renderImage(
      { ...clients, config, images: new RacingRepository(dynamo, config.tableName), logger },
      { type: 'render', v: 1, id },
    );
    expect(outcome).toBe('deleted-meanwhile');
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await plain.get(id)).toBeUndefined();
    await cloud.sqs.send(new PurgeQueueCommand({ QueueUrl: cloud.queues.purge }));
  });
});
