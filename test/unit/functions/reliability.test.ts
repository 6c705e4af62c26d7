import {
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { MAX_ATTEMPTS } from '#shared/clients/options.ts';
import { loadConfig } from '#shared/config.ts';
import { processingFailure } from '#shared/model.ts';
import { FAIL_FAST_AFTER } from '#shared/queue/consumer.ts';
import { ImageRepository } from '#shared/repository.ts';
import { plainPng } from '#test/support/images.ts';
import {
  type Pipeline,
  presignRequest,
  startPipeline,
  tokenDeleteRequest,
  uploadRequest,
  withKey,
} from '#test/support/pipeline.ts';

/**
 * The pipeline against what a distributed system meets: dependencies failing (through a fault proxy
 * between the handlers and the emulators, test/support/fault-proxy.ts), duplicated deliveries, work that
 * ends in a DLQ and is redriven, deletes racing work. Real SQS, S3 and DynamoDB emulators; real handlers.
 */
let cloud: Pipeline;
let images: ImageRepository;
beforeAll(async () => {
  // Backoff of 1 s doubling to 4 s, so a failing record comes back within seconds.
  cloud = await startPipeline(
    { RETRY_BACKOFF_BASE_SECONDS: '1', RETRY_BACKOFF_MAX_SECONDS: '4' },
    { faultProxy: true },
  );
  const config = loadConfig();
  images = new ImageRepository(
    createDynamoClient({ ...config, endpoint: cloud.endpoint.url }),
    config.tableName,
  );
});
afterAll(() => cloud?.close());
afterEach(() => {
  if (cloud.faults) cloud.faults.rule = undefined;
});

const proxy = () => {
  if (!cloud.faults) throw new Error('no fault proxy');
  return cloud.faults;
};
const callsSince = (mark: number) => proxy().calls.slice(mark);

async function directUpload(width = 600, height = 400): Promise<{ id: string; deleteToken: string }> {
  const response = await cloud.http('upload', uploadRequest('image/png', await plainPng(width, height)));
  expect(response.statusCode).toBe(202);
  return response.json as unknown as { id: string; deleteToken: string };
}

async function document(id: string) {
  const response = await cloud.http('images', {
    method: 'GET',
    resource: '/v1/images/{id}',
    path: `/v1/images/${id}`,
    pathParameters: { id },
  });
  return { statusCode: response.statusCode, ...(response.json as Record<string, unknown>) } as {
    statusCode: number;
    status?: string;
    variants?: { name: string; url: string }[];
    failure?: Record<string, unknown>;
  };
}

const remove = (id: string, token: string) => cloud.http('delete', tokenDeleteRequest(id, token));

/** Delivers from `queue` once a message is visible again (after its backoff), within `withinMs`. */
async function deliverWhenVisible(
  queue: 'ingest' | 'render' | 'purge',
  fn: 'metadata' | 'thumbnail' | 'purge',
  withinMs = 15_000,
) {
  const started = Date.now();
  for (;;) {
    const result = await cloud.deliver(queue, fn);
    if (result.received > 0 || Date.now() - started > withinMs) return result;
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** The visibility timeouts the consumer asked SQS for, in the order it asked. */
function visibilityRequests(calls: ReturnType<typeof callsSince>): number[] {
  return calls
    .filter((c) => c.service === 'sqs' && c.operation === 'ChangeMessageVisibilityBatch')
    .flatMap((c) =>
      (JSON.parse(c.body).Entries as { VisibilityTimeout: number }[]).map((e) => e.VisibilityTimeout),
    );
}

/** Every variant the document lists exists in the bucket. */
async function expectVariantsStored(id: string, variants: { url: string }[]) {
  const stored = new Set(await cloud.keys(`variants/${id}/`));
  for (const variant of variants) expect(stored).toContain(new URL(variant.url).pathname.slice(1));
}

describe('duplicated deliveries', () => {
  it('the same S3 event twice in one batch: one image, rendered once', async () => {
    const { id } = await directUpload();
    await cloud.announce(`originals/${id}`);
    await cloud.announce(`originals/${id}`);
    expect(await cloud.deliver('ingest', 'metadata')).toEqual({ received: 2, failed: 0 });
    const mark = proxy().calls.length;
    for (let i = 0; i < 3; i++) await cloud.deliver('render', 'thumbnail');
    const doc = await document(id);
    expect(doc.status).toBe('ready');
    // Each variant written once: the second job (the redelivered ingest re-sends it) finds the image ready.
    const writes = callsSince(mark).filter((c) =>
      c.operation.startsWith(`PUT /${cloud.bucket}/variants/${id}/`),
    );
    expect(writes).toHaveLength(doc.variants?.length ?? -1);
    expect(await cloud.depth('render')).toBe(0);
  });
});

describe('transient failures: SDK retries, then a visibility backoff growing with the receive count', () => {
  it('retries each call MAX_ATTEMPTS times, then backs the record off longer on every receive', async () => {
    const { id } = await directUpload();
    await cloud.announce(`originals/${id}`);
    proxy().rule = (c) =>
      c.operation === `GET /${cloud.bucket}/originals/${id}`
        ? { status: 500, code: 'InternalError' }
        : undefined;
    const mark = proxy().calls.length;
    const perReceive: number[] = [];
    for (let receive = 1; receive <= 3; receive++) {
      const before = proxy().calls.length;
      expect(await deliverWhenVisible('ingest', 'metadata')).toEqual({ received: 1, failed: 1 });
      perReceive.push(callsSince(before).filter((c) => c.operation.startsWith('GET')).length);
      // Read back from SQS: the failed record is in flight (invisible) right after the invocation.
      const visible = await cloud.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: cloud.queues.ingest, WaitTimeSeconds: 0 }),
      );
      expect(visible.Messages ?? []).toHaveLength(0);
    }
    expect(perReceive).toEqual([MAX_ATTEMPTS, MAX_ATTEMPTS, MAX_ATTEMPTS]);
    // base 1 s × 2^(receive − 1), at most 4 s, with equal jitter: [0.5–1], [1–2], [2–4] s.
    const asked = visibilityRequests(callsSince(mark));
    expect(asked).toHaveLength(3);
    expect(asked[0]).toBeLessThanOrEqual(1);
    expect(asked[1]).toBeGreaterThanOrEqual(1);
    expect(asked[1]).toBeLessThanOrEqual(2);
    expect(asked[2]).toBeGreaterThanOrEqual(2);
    expect(asked[2]).toBeLessThanOrEqual(4);
    // SQS honours it: not visible before the last backoff has (nearly) passed.
    const failedAt = Date.now();
    const result = await deliverWhenVisible('ingest', 'metadata');
    expect(Date.now() - failedAt).toBeGreaterThanOrEqual((asked[2] ?? 0) * 1000 - 1000);
    expect(result).toEqual({ received: 1, failed: 1 });
    proxy().rule = undefined;
    // S3 healthy again: the fifth receive (the ingest queue's last) succeeds, and nothing is marked.
    expect(await deliverWhenVisible('ingest', 'metadata')).toEqual({ received: 1, failed: 0 });
    expect((await document(id)).status).toBe('processing');
    await cloud.deliver('render', 'thumbnail');
    expect((await document(id)).status).toBe('ready');
  }, 60_000);
});

describe('fail fast when a dependency is down for the whole batch', () => {
  it('stops calling DynamoDB after two records fail on it, and every record is retried later', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await directUpload(64 + i, 64)).id);
    for (const id of ids) await cloud.announce(`originals/${id}`);
    proxy().rule = (c) =>
      c.service === 'dynamodb' ? { status: 500, code: 'InternalServerError' } : undefined;
    const mark = proxy().calls.length;
    expect(await cloud.deliver('ingest', 'metadata')).toEqual({ received: 5, failed: 5 });
    const dynamoCalls = callsSince(mark).filter((c) => c.service === 'dynamodb');
    // Two records tried (each call attempted MAX_ATTEMPTS times); three failed without a call.
    expect(dynamoCalls).toHaveLength(FAIL_FAST_AFTER * MAX_ATTEMPTS);
    expect(visibilityRequests(callsSince(mark))).toHaveLength(5);
    proxy().rule = undefined;
    let ready = 0;
    for (let round = 0; round < 3 && ready < 5; round++) {
      await deliverWhenVisible('ingest', 'metadata');
      for (;;) if ((await cloud.deliver('render', 'thumbnail')).received === 0) break;
      ready = (await Promise.all(ids.map(document))).filter((d) => d.status === 'ready').length;
    }
    expect(ready).toBe(5);
  }, 60_000);
});

describe('work that ends in a DLQ shows on the image, and a redrive brings it back', () => {
  it('render killed part-way: never ready with a variant missing; failed on the last receive; redriven to ready', async () => {
    const { id } = await directUpload(1200, 900);
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    // One variant's write fails every time: the others land, as when a render dies after some writes.
    proxy().rule = (c) =>
      c.operation === `PUT /${cloud.bucket}/variants/${id}/medium.webp`
        ? { status: 503, code: 'SlowDown' }
        : undefined;
    for (let receive = 1; receive <= 3; receive++) {
      expect(await deliverWhenVisible('render', 'thumbnail')).toEqual({ received: 1, failed: 1 });
      const doc = await document(id);
      expect(doc.status).toBe(receive < 3 ? 'processing' : 'failed');
      expect(doc.variants).toEqual([]);
      expect((await cloud.keys(`variants/${id}/`)).length).toBeGreaterThan(0);
    }
    const failed = await document(id);
    expect(failed.failure).toMatchObject({ code: 'PROCESSING_FAILED', stage: 'render', retryable: true });
    expect(Date.parse(String(failed.failure?.at))).not.toBeNaN();
    // The owner's listing shows it too.
    const listing = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images',
      path: '/v1/images',
      ...withKey(),
    });
    const listed = (listing.json.items as { id: string; status: string }[]).find((item) => item.id === id);
    expect(listed?.status).toBe('failed');

    // The next receive is past maxReceiveCount: SQS moves the job to the render DLQ.
    await cloud.deliver('render', 'thumbnail');
    expect(await cloud.depth('renderDlq')).toBe(1);
    proxy().rule = undefined;
    await cloud.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: cloud.arns.renderDlq }));
    for (let i = 0; i < 50 && (await cloud.depth('render')) === 0; i++) {
      await new Promise((done) => setTimeout(done, 100));
    }
    const tasks = await cloud.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: cloud.arns.renderDlq }));
    expect(tasks.Results?.[0]?.Status).toMatch(/RUNNING|COMPLETED/);
    expect(await deliverWhenVisible('render', 'thumbnail')).toEqual({ received: 1, failed: 0 });
    const ready = await document(id);
    expect(ready.status).toBe('ready');
    expect(ready.failure).toBeUndefined();
    expect(ready.variants?.map((v) => v.name)).toContain('medium');
    await expectVariantsStored(id, ready.variants ?? []);
    expect(await cloud.depth('renderDlq')).toBe(0);
  }, 60_000);

  it('a failed image can be deleted, and the redriven job then leaves nothing behind', async () => {
    const { id, deleteToken } = await directUpload();
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    const partial = `variants/${id}/thumb.webp`;
    await images.markFailed(id, processingFailure('render', new Date()));
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    await cloud.deliver('purge', 'purge');
    expect(await images.get(id)).toBeUndefined();
    // The render job (as if redriven now) runs after the purge: no record comes back, nothing is left.
    expect(await cloud.deliver('render', 'thumbnail')).toEqual({ received: 1, failed: 0 });
    expect(await images.get(id)).toBeUndefined();
    expect(await cloud.keys(partial)).toEqual([]);
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
  });

  it('a purge that gives up leaves the image deleting, with the failure recorded, and still 404', async () => {
    const { id, deleteToken } = await directUpload(64, 64);
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    await cloud.deliver('render', 'thumbnail');
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    await images.recordPurgeFailure(id, processingFailure('purge', new Date()));
    expect(await images.get(id)).toMatchObject({ status: 'deleting', failure: { stage: 'purge' } });
    expect((await document(id)).statusCode).toBe(404);
    await cloud.deliver('purge', 'purge');
    expect(await images.get(id)).toBeUndefined();
  });
});

describe('deletes', () => {
  it('deleting twice: both accepted, one purge effect, no DLQ, then 404', async () => {
    const { id, deleteToken } = await directUpload();
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    await cloud.deliver('render', 'thumbnail');
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    expect(await cloud.deliver('purge', 'purge')).toEqual({ received: 2, failed: 0 });
    expect(await images.get(id)).toBeUndefined();
    expect(await cloud.keys(`variants/${id}/`)).toEqual([]);
    expect((await remove(id, deleteToken)).statusCode).toBe(404);
    expect(await cloud.depth('purgeDlq')).toBe(0);
  });

  it('deleting during pending_upload: no orphan when the bytes come later, no record resurrected', async () => {
    const response = await cloud.http('upload', presignRequest('image/png', 500));
    const { id, deleteToken } = response.json as { id: string; deleteToken: string };
    expect((await images.get(id))?.status).toBe('pending_upload');
    expect((await remove(id, deleteToken)).statusCode).toBe(202);
    await cloud.deliver('purge', 'purge');
    expect(await images.get(id)).toBeUndefined();
    // The bytes land afterwards (the form is valid until it expires) and are announced.
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await cloud.s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: `originals/${id}`, Body: await plainPng(20, 20) }),
    );
    await cloud.announce(`originals/${id}`, 'Post');
    expect(await cloud.deliver('ingest', 'metadata')).toEqual({ received: 1, failed: 0 });
    expect(await cloud.keys(`originals/${id}`)).toEqual([]);
    expect(await images.get(id)).toBeUndefined();
    expect(await cloud.depth('render')).toBe(0);
  });
});

describe('hostile messages are still parked, and mark nothing', () => {
  it.each([
    ['render', 'thumbnail', 'renderDlq', (id: string) => JSON.stringify({ type: 'render', v: 2, id })],
    [
      'ingest',
      'metadata',
      'ingestDlq',
      (id: string) => `{"Records":[{"s3":{"object":{"key":"originals/${id}"}}}]}`,
    ],
  ] as const)('%s: a malformed message naming a real image', async (queue, fn, dlq, body) => {
    const { id } = await directUpload();
    await cloud.announce(`originals/${id}`);
    await cloud.deliver('ingest', 'metadata');
    await cloud.sqs.send(new SendMessageCommand({ QueueUrl: cloud.queues[queue], MessageBody: body(id) }));
    expect(await cloud.deliver(queue, fn)).toMatchObject({ failed: 0 });
    expect(await cloud.depth(dlq)).toBeGreaterThanOrEqual(1);
    expect((await images.get(id))?.status).toMatch(/processing|ready/);
    expect((await images.get(id))?.failure).toBeUndefined();
    await cloud.sqs.send(
      new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: cloud.queues[dlq] }),
    );
    for (;;) if ((await cloud.deliver('render', 'thumbnail')).received === 0) break;
  });
});
