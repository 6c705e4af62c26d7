import { Logger } from '@aws-lambda-powertools/logger';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { parsePurgeJob, parseRenderJob, parseS3Notification } from '#shared/queue/messages.ts';
import { ImageRepository, type StatusKey } from '#shared/repository.ts';
import { type SweeperDeps, sweep } from '#shared/sweeper.ts';
import { plainPng } from '#test/support/images.ts';
import {
  ownerDeleteRequest,
  type Pipeline,
  presignRequest,
  startPipeline,
  uploadRequest,
} from '#test/support/pipeline.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The template's deadlines (infra/constructs/sweeper.ts): form 15 min + grace 1 h; 1 h; 2 h. */
const SETTINGS = {
  pendingUploadGraceSeconds: 3600,
  processingStalledSeconds: 3600,
  deletingStalledSeconds: 7200,
  maxRecordsPerRun: 500,
};
const PENDING_DEADLINE = 15 * MINUTE + HOUR;

let cloud: Pipeline;
let table: string;
let db: ReturnType<typeof createDynamoClient>;
beforeAll(async () => {
  cloud = await startPipeline();
  const config = loadConfig(); // the environment the pipeline gave its handlers (table, endpoint)
  table = config.tableName;
  db = createDynamoClient(config);
});
afterAll(() => cloud?.close());
beforeEach(async () => {
  for (const queue of ['ingest', 'render', 'purge'] as const) await drain(queue);
});
afterEach(() => vi.restoreAllMocks());

/** The sweeper as the function runs it, on the pipeline's emulators, at `at` (a fake clock). */
function deps(at: number, overrides: Partial<SweeperDeps> = {}): SweeperDeps {
  return {
    config: {
      bucketName: cloud.bucket,
      tableName: table,
      presignedPostExpiresSeconds: 900,
      sweeper: SETTINGS,
      ingestQueueUrl: cloud.queues.ingest,
      renderQueueUrl: cloud.queues.render,
      purgeQueueUrl: cloud.queues.purge,
    },
    db,
    images: new ImageRepository(db, table),
    s3: cloud.s3,
    sqs: cloud.sqs,
    logger: createLogger('sweeper'),
    now: () => new Date(at),
    ...overrides,
  };
}

/** Every message waiting in a queue, removed; the bodies. */
async function drain(queue: 'ingest' | 'render' | 'purge'): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await cloud.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: cloud.queues[queue],
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return bodies;
    for (const message of Messages) {
      bodies.push(message.Body ?? '');
      await cloud.sqs.send(
        new DeleteMessageCommand({ QueueUrl: cloud.queues[queue], ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

const record = async (id: string) =>
  (await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item;

async function exists(key: string): Promise<boolean> {
  try {
    await cloud.s3.send(new HeadObjectCommand({ Bucket: cloud.bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}

/** A presigned upload form (the record waits in `pending_upload`); `post` uses it, with no S3 event sent. */
async function presign() {
  const png = await plainPng(32, 24);
  const response = await cloud.http('upload', presignRequest('image/png', png.length));
  expect(response.statusCode).toBe(201);
  const { id, upload } = response.json as {
    id: string;
    upload: { url: string; fields: Record<string, string> };
  };
  const post = async () => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'upload');
    expect((await fetch(upload.url, { method: 'POST', body: form })).status).toBeLessThan(300);
  };
  return { id, post, createdAt: Date.parse((await record(id))?.createdAt) };
}

async function directUpload(): Promise<string> {
  const response = await cloud.http('upload', uploadRequest('image/png', await plainPng(40, 30)));
  expect(response.statusCode).toBe(202);
  return (response.json as { id: string }).id;
}

describe('an upload form never used (pending_upload)', () => {
  it('is kept until its deadline, then removed with the bytes that came late; a second run finds nothing', async () => {
    const unused = await presign();
    const late = await presign();
    await late.post(); // bytes stored, but their S3 event never reached ingest
    const start = Math.max(unused.createdAt, late.createdAt);

    const early = await sweep(deps(start + PENDING_DEADLINE - MINUTE));
    expect(early.expired).not.toContain(unused.id);
    expect(await record(unused.id)).toMatchObject({ status: 'pending_upload' });
    expect(await exists(`originals/${late.id}`)).toBe(true);

    const due = await sweep(deps(start + PENDING_DEADLINE + 1000));
    expect(due.expired).toEqual(expect.arrayContaining([unused.id, late.id]));
    expect(await record(unused.id)).toBeUndefined();
    expect(await record(late.id)).toBeUndefined();
    expect(await exists(`originals/${late.id}`)).toBe(false);
    // Expiring sends nothing anywhere.
    for (const queue of ['ingest', 'render', 'purge'] as const) expect(await drain(queue)).toEqual([]);

    const again = await sweep(deps(start + PENDING_DEADLINE + 1000));
    expect(again.expired).toEqual([]);
    expect(again.errors).toEqual([]);
  });

  it('is left alone when it moved on after the index was read (a stale GSI view): record and bytes stay', async () => {
    const upload = await presign();
    await upload.post();
    await cloud.announce(`originals/${upload.id}`);
    await cloud.deliver('ingest', 'metadata');
    expect(await record(upload.id)).toMatchObject({ status: 'processing' });
    await drain('render');

    // What the eventually consistent index may still show: the record as it was before ingest.
    const stale: StatusKey = {
      id: upload.id,
      status: 'pending_upload',
      updatedAt: new Date(upload.createdAt).toISOString(),
    };
    const images = new ImageRepository(db, table);
    const staleIndex = Object.assign(Object.create(images), {
      listByStatus: async (status: string) => ({
        keys: status === 'pending_upload' ? [stale] : [],
        nextKey: undefined,
      }),
    }) as ImageRepository;
    const report = await sweep(deps(upload.createdAt + 30 * 24 * HOUR, { images: staleIndex }));
    expect(report.expired).toEqual([]);
    expect(report.movedOn).toBe(1);
    expect(await record(upload.id)).toMatchObject({ status: 'processing' });
    expect(await exists(`originals/${upload.id}`)).toBe(true);
  });
});

describe('stalled work (uploaded, processing, deleting)', () => {
  it('is re-queued once past its deadline, not before, not twice; the re-queued work then completes', async () => {
    // uploaded: a direct upload whose S3 event was lost.
    const uploaded = await directUpload();
    await drain('ingest');
    // processing: ingested, but the render job was lost.
    const measured = await presign();
    await measured.post();
    await cloud.announce(`originals/${measured.id}`);
    await cloud.deliver('ingest', 'metadata');
    await drain('render');
    // deleting: the purge job was lost.
    const deleted = await directUpload();
    await drain('ingest');
    const token = (await cloud.http('delete', ownerDeleteRequest(deleted))).statusCode;
    expect(token).toBe(202);
    await drain('purge');
    const start = Date.now();

    const early = await sweep(deps(start + HOUR - MINUTE));
    expect(early.requeued).toEqual({ ingest: [], render: [], purge: [] });
    const processingDue = await sweep(deps(start + HOUR + MINUTE));
    expect(processingDue.requeued.ingest).toContain(uploaded);
    expect(processingDue.requeued.render).toContain(measured.id);
    expect(processingDue.requeued.purge).not.toContain(deleted);
    const deletingDue = await sweep(deps(start + 2 * HOUR + MINUTE));
    expect(deletingDue.requeued.purge).toContain(deleted);
    // Claimed at the sweep's time: a second run at once re-queues nothing.
    const again = await sweep(deps(start + 2 * HOUR + MINUTE));
    expect(again.requeued).toEqual({ ingest: [], render: [], purge: [] });

    // One message per stalled image (other tests' records in the table may be swept too).
    const ingest = (await drain('ingest')).flatMap((body) => parseS3Notification(body).map((o) => o.key));
    expect(ingest.filter((key) => key === `originals/${uploaded}`)).toHaveLength(1);
    const renders = (await drain('render')).map((body) => parseRenderJob(body).id);
    expect(renders.filter((id) => id === measured.id)).toHaveLength(1);
    const purges = (await drain('purge')).map((body) => parsePurgeJob(body).id);
    expect(purges.filter((id) => id === deleted)).toHaveLength(1);
    expect([...ingest, ...renders, ...purges]).not.toContain(`originals/${measured.id}`);

    // Sent once more, each message resumes its image where it stopped.
    // Due again one deadline after the claim (the purge's two hours after 2 h 1 min): the same three jobs.
    await sweep(deps(start + 4 * HOUR + 2 * MINUTE));
    for (const [queue, fn] of [
      ['ingest', 'metadata'],
      ['render', 'thumbnail'],
      ['purge', 'purge'],
    ] as const) {
      while ((await cloud.deliver(queue, fn)).received > 0);
    }
    expect(await record(uploaded)).toMatchObject({ status: 'ready' });
    expect(await record(measured.id)).toMatchObject({ status: 'ready' });
    expect(await record(deleted)).toBeUndefined();
  });
});

describe('settled images', () => {
  it('ready, rejected and failed records are never touched, however old', async () => {
    const old = '2020-01-01T00:00:00.000Z';
    const ids = {
      ready: 'settledready0000000000',
      rejected: 'settledrejected0000000',
      failed: 'settledfailed000000000',
    };
    for (const [status, id] of Object.entries(ids)) {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { id, status, createdAt: old, updatedAt: old, ownerId: 'o' },
        }),
      );
    }
    const report = await sweep(deps(Date.now() + 365 * 24 * HOUR));
    const touched = [...report.expired, ...Object.values(report.requeued).flat()];
    for (const [status, id] of Object.entries(ids)) {
      expect(touched).not.toContain(id);
      expect(await record(id)).toEqual({ id, status, createdAt: old, updatedAt: old, ownerId: 'o' });
    }
  });
});

describe('bounds', () => {
  it('handles at most maxRecordsPerRun records a run, says it stopped, and the next run goes on', async () => {
    const uploads = [await presign(), await presign(), await presign()];
    const at = Math.max(...uploads.map((u) => u.createdAt)) + PENDING_DEADLINE + 1000;
    const bounded = (run: number) =>
      deps(at, { config: { ...deps(at).config, sweeper: { ...SETTINGS, maxRecordsPerRun: run } } });
    const first = await sweep(bounded(2));
    expect(first.examined).toBe(2);
    expect(first.truncated).toBe(true);
    const rest = await sweep(bounded(500));
    expect(rest.truncated).toBe(false);
    const expired = [...first.expired, ...rest.expired];
    for (const upload of uploads) expect(expired).toContain(upload.id);
  });

  it('takes no new page when the invocation is about to time out', async () => {
    await presign();
    const report = await sweep(deps(Date.now() + 30 * 24 * HOUR, { remainingMs: () => 5_000 }));
    expect(report).toMatchObject({ examined: 0, truncated: true });
  });
});

/** The JSON lines written to stdout while `work` runs (Powertools Logger writes through its own Console). */
async function printedDuring(work: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: []) => {
    chunks.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stdout.write);
  await work();
  vi.restoreAllMocks();
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The sweeper's lines about images: one `image swept` line per image it expired or re-queued, with
 * `imageId` and the creating request's `uploadRequestId` (read from the record: the `byStatus` index is
 * KEYS_ONLY), and the render and purge jobs it re-queues carry that id as the API's and ingest's do.
 * Last in the file: its sweep, past every deadline, also acts on what earlier tests left in the table.
 */
describe('what the sweeper logs and sends about each image', () => {
  it('one line per image acted on, with imageId and uploadRequestId; re-queued jobs keep uploadRequestId', async () => {
    // pending_upload: a form never used.
    const presigned = await cloud.http('upload', presignRequest('image/png', 100));
    expect(presigned.statusCode).toBe(201);
    const pending = (presigned.json as { id: string }).id;
    // processing: ingested, the render job lost.
    const processing = await directUpload();
    await cloud.announce(`originals/${processing}`);
    await cloud.deliver('ingest', 'metadata');
    await drain('render');
    // deleting: the purge job lost.
    const deleting = await directUpload();
    await drain('ingest');
    const accepted = await cloud.http('delete', ownerDeleteRequest(deleting));
    expect(accepted.statusCode).toBe(202);
    await drain('purge');
    const requestIds = new Map<string, unknown>();
    for (const id of [pending, processing, deleting]) {
      const { uploadRequestId } = (await record(id)) ?? {};
      expect(typeof uploadRequestId, `record ${id} has its uploadRequestId`).toBe('string');
      requestIds.set(id, uploadRequestId);
    }

    const at = Date.now() + 2 * HOUR + MINUTE; // past every deadline
    // The test pipeline silences its functions' logs (POWERTOOLS_LOG_LEVEL=SILENT); this one speaks.
    const logger = new Logger({
      serviceName: 'pictura',
      persistentKeys: { fn: 'sweeper' },
      logLevel: 'INFO',
    });
    const lines = await printedDuring(() => sweep(deps(at, { logger })));
    const swept = lines.filter((line) => line.message === 'image swept');
    const expected = [
      { imageId: pending, action: 'expired', status: 'pending_upload' },
      { imageId: processing, action: 'requeued', status: 'processing', queue: 'render' },
      { imageId: deleting, action: 'requeued', status: 'deleting', queue: 'purge' },
    ];
    for (const line of expected) {
      const found = swept.filter((l) => l.imageId === line.imageId);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ ...line, uploadRequestId: requestIds.get(line.imageId) });
    }

    const render = (await drain('render')).map(parseRenderJob).find((job) => job.id === processing);
    expect(render?.uploadRequestId).toBe(requestIds.get(processing));
    const purge = (await drain('purge')).map(parsePurgeJob).find((job) => job.id === deleting);
    expect(purge?.uploadRequestId).toBe(requestIds.get(deleting));
  });
});
