import { Logger } from '@aws-lambda-powertools/logger';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { loadConfig } from '#shared/config.ts';
import { parsePurgeJob, parseRenderJob } from '#shared/queue/messages.ts';
import { ImageRepository } from '#shared/repository.ts';
import { sweep } from '#shared/sweeper.ts';
import { plainPng } from '#test/support/images.ts';
import {
  type Pipeline,
  presignRequest,
  startPipeline,
  uploadRequest,
  withKey,
} from '#test/support/pipeline.ts';

/**
 * The sweeper's lines about images: one `image swept` line per image it expired or re-queued, with
 * `imageId` and the creating request's `uploadRequestId` (read from the record: the `byStatus` index is
 * KEYS_ONLY), and the render and purge jobs it re-queues carry that id as the API's and ingest's do.
 */
const HOUR = 3_600_000;
const SETTINGS = {
  pendingUploadGraceSeconds: 3600,
  processingStalledSeconds: 3600,
  deletingStalledSeconds: 7200,
  maxRecordsPerRun: 500,
};

let cloud: Pipeline;
let table: string;
let db: ReturnType<typeof createDynamoClient>;
beforeAll(async () => {
  cloud = await startPipeline();
  const config = loadConfig();
  table = config.tableName;
  db = createDynamoClient(config);
});
afterAll(() => cloud?.close());
afterEach(() => vi.restoreAllMocks());

const record = async (id: string) =>
  (await db.send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }))).Item;

async function drain(queue: 'ingest' | 'render' | 'purge'): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await cloud.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: cloud.queues[queue], MaxNumberOfMessages: 10 }),
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

describe('what the sweeper logs and sends about each image', () => {
  it('one line per image acted on, with imageId and uploadRequestId; re-queued jobs keep uploadRequestId', async () => {
    // pending_upload: a form never used.
    const presigned = await cloud.http('upload', presignRequest('image/png', 100));
    expect(presigned.statusCode).toBe(201);
    const pending = (presigned.json as { id: string }).id;
    // processing: ingested, the render job lost.
    const direct = await cloud.http('upload', uploadRequest('image/png', await plainPng(40, 30)));
    expect(direct.statusCode).toBe(202);
    const processing = (direct.json as { id: string }).id;
    await cloud.announce(`originals/${processing}`);
    await cloud.deliver('ingest', 'metadata');
    await drain('render');
    // deleting: the purge job lost.
    const other = await cloud.http('upload', uploadRequest('image/png', await plainPng(40, 30)));
    const deleting = (other.json as { id: string }).id;
    await drain('ingest');
    const accepted = await cloud.http('delete', {
      method: 'DELETE',
      resource: '/v1/images/{id}',
      path: `/v1/images/${deleting}`,
      pathParameters: { id: deleting },
      ...withKey(),
    });
    expect(accepted.statusCode).toBe(202);
    await drain('purge');
    const requestIds = new Map<string, unknown>();
    for (const id of [pending, processing, deleting]) {
      const { uploadRequestId } = (await record(id)) ?? {};
      expect(typeof uploadRequestId, `record ${id} has its uploadRequestId`).toBe('string');
      requestIds.set(id, uploadRequestId);
    }

    const at = Date.now() + 2 * HOUR + 60_000; // past every deadline
    const lines = await printedDuring(() =>
      sweep({
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
        // The test pipeline silences its functions' logs (POWERTOOLS_LOG_LEVEL=SILENT); this one speaks.
        logger: new Logger({ serviceName: 'pictura', persistentKeys: { fn: 'sweeper' }, logLevel: 'INFO' }),
        now: () => new Date(at),
      }),
    );
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
