import { readFileSync } from 'node:fs';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { solidJpeg } from '#test/support/images.ts';
import { startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

/**
 * What the functions write, read from the local cloud's function output (each function in its own
 * process with its template environment, as on Lambda): the `step` lines and log keys of one image's
 * upload → ingest → render → ready → delete → purge, and its metric lines, valid embedded metric format
 * (AWS's published schema, test/fixtures/emf/SOURCE.md).
 */
const validate = new Ajv({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(new URL('../fixtures/emf/schema.json', import.meta.url), 'utf8')),
);

type Line = Record<string, unknown> & { fn?: string; message?: string; step?: string };

let cloud: TestCloud;
let client: PicturaClient;
beforeAll(async () => {
  cloud = await startTestCloud();
  client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
});
afterAll(async () => {
  await cloud?.stop();
});

/** The JSON objects the functions printed (log lines and EMF lines), in order. */
function printed(): Line[] {
  return cloud.logs.flatMap((entry) => {
    const start = entry.indexOf('{');
    if (start < 0) return [];
    try {
      return [JSON.parse(entry.slice(start)) as Line];
    } catch {
      return [];
    }
  });
}

describe('one image followed through the functions', () => {
  let id: string;
  let lines: Line[];
  let elapsedMs: number;
  beforeAll(async () => {
    const started = Date.now();
    const upload = await client.uploadDirect(await solidJpeg('#336699', 320, 200), 'image/jpeg');
    expect(upload.status).toBe(202);
    id = upload.body.id;
    expect((await client.waitUntilSettled(id)).status).toBe('ready');
    elapsedMs = Date.now() - started;
    expect((await client.delete(id, upload.body.deleteToken)).status).toBe(202);
    await waitFor(
      async () => {
        const found = printed();
        // The step line is written inside the invocation, its metrics when the invocation ends.
        const done =
          found.some((l) => l.step === 'purge' && l.imageId === id) && found.some((l) => 'PurgeTime' in l);
        return done ? true : undefined;
      },
      30_000,
      'the purge step and its metrics',
    );
    lines = printed();
  });

  it('writes one step line per step, in order, with duration, attempt and cold start', () => {
    const steps = lines.filter((l) => l.message === 'step' && l.imageId === id);
    // SQS delivers at least once: a purge may run twice (here the test cloud's shortened visibility timeout
    // can hand the same message over twice within the purge's 5 s batching window); each run is a step.
    const purges = steps.filter((l) => l.step === 'purge');
    expect(purges.length).toBeGreaterThanOrEqual(1);
    expect(steps.map((l) => [l.step, l.fn])).toEqual([
      ['upload', 'upload'],
      ['ingest', 'metadata'],
      ['render', 'thumbnail'],
      ['ready', 'thumbnail'],
      ['delete', 'delete'],
      ...purges.map(() => ['purge', 'purge']),
    ]);
    for (const step of steps) {
      expect(typeof step.durationMs).toBe('number');
      expect(step.durationMs as number).toBeGreaterThanOrEqual(0);
      // The receive count: 1 but for a redelivered purge (see above).
      if (step.step === 'purge') expect(step.attempt as number).toBeGreaterThanOrEqual(1);
      else expect(step.attempt).toBe(1);
      expect(typeof step.cold_start).toBe('boolean');
      expect(typeof step.timestamp).toBe('string');
    }
    expect(purges[0]?.attempt).toBe(1);
    // Time spent in upload, ingest, render and ready fits in the measured upload → ready.
    const toReady = steps.slice(0, 4).reduce((sum, l) => sum + (l.durationMs as number), 0);
    expect(toReady).toBeLessThanOrEqual(elapsedMs);
  });

  it('puts imageId and the creating request id on every line about the image', () => {
    const upload = lines.find((l) => l.step === 'upload' && l.imageId === id);
    const requestId = upload?.uploadRequestId;
    expect(typeof requestId).toBe('string');
    expect((requestId as string).length).toBeGreaterThan(0);
    const about = lines.filter((l) => !('_aws' in l) && JSON.stringify(l).includes(id));
    expect(about.length).toBeGreaterThanOrEqual(8);
    for (const line of about) {
      expect({ message: line.message, imageId: line.imageId, uploadRequestId: line.uploadRequestId }).toEqual(
        {
          message: line.message,
          imageId: id,
          uploadRequestId: requestId,
        },
      );
    }
  });

  it('prints its metrics as valid EMF, with no image id in them', () => {
    const emf = lines.filter((l) => '_aws' in l);
    const names = new Set<string>();
    for (const line of emf) {
      expect(validate(line), JSON.stringify(validate.errors)).toBe(true);
      expect(JSON.stringify(line)).not.toContain(id);
      for (const directive of (line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] })
        .CloudWatchMetrics)
        for (const metric of directive.Metrics) names.add(metric.Name);
    }
    for (const name of [
      'UploadsAccepted',
      'BytesIn',
      'RenderTime',
      'ImageRenderTime',
      'BytesOut',
      'ImagesReady',
      'UploadToReady',
      'PurgeTime',
      'ColdStart',
    ]) {
      expect(names, name).toContain(name);
    }
    const accepted = emf.find((l) => 'UploadsAccepted' in l);
    expect(accepted?.mode).toBe('direct');
    const ready = emf.find((l) => 'UploadToReady' in l);
    expect(ready?.UploadToReady as number).toBeGreaterThan(0);
    expect(ready?.UploadToReady as number).toBeLessThanOrEqual(elapsedMs);
  });
});

describe('an upload that is not an image', () => {
  it('ends with a rejected step and ImagesRejected by its code', async () => {
    const garbage = Buffer.from('GIF89a but not really a picture at all, just words');
    const presigned = await client.presign('image/gif', garbage.length);
    expect(presigned.status).toBe(201);
    const { id, upload } = presigned.body;
    expect(
      await client.postForm(
        upload ?? { url: '', method: 'POST', fields: {}, expiresAt: '' },
        garbage,
        'image/gif',
      ),
    ).toBeLessThan(300);
    const before = printed().length;
    expect((await client.waitUntilSettled(id)).status).toBe('rejected');
    // The step line is written inside the invocation, BytesIn (buffered) when it ends.
    const lines = await waitFor(
      async () => {
        const found = printed().slice(before);
        const done =
          found.some((l) => l.step === 'rejected' && l.imageId === id) && found.some((l) => 'BytesIn' in l);
        return done ? found : undefined;
      },
      30_000,
      'the rejected step and BytesIn',
    );
    const rejected = lines.find((l) => l.step === 'rejected' && l.imageId === id);
    expect(rejected).toMatchObject({ fn: 'metadata', stage: 'ingest', attempt: 1 });
    const metric = lines.find((l) => '_aws' in l && 'ImagesRejected' in l);
    expect(metric && validate(metric)).toBe(true);
    expect(metric?.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
    // Every original read counts in BytesIn, a rejected one too (its bytes came in all the same).
    const bytes = lines.find((l) => '_aws' in l && 'BytesIn' in l);
    expect(bytes && validate(bytes)).toBe(true);
    expect(bytes?.BytesIn).toBe(garbage.length);
  });
});

describe('a read of an image that does not exist', () => {
  it('is refused with a line that names the image; a malformed id names none, and no later line keeps it', async () => {
    const id = 'AbCdEfGhIjKlMnOpQrStUv'; // an image id's shape, no such image
    const malformed = 'not-an-id';
    const before = printed().length;
    expect((await client.get(id)).status).toBe(404);
    expect((await client.get(malformed)).status).toBe(404);
    const refused = await waitFor(
      async () => {
        const found = printed()
          .slice(before)
          .filter((l) => l.fn === 'images' && l.message === 'request refused');
        return found.length >= 2 ? found : undefined;
      },
      30_000,
      'the two refusals',
    );
    const [named, unnamed] = refused;
    expect(named).toMatchObject({ imageId: id, status: 404, detail: `no image ${id}` });
    // A malformed id is not an image's (its detail does not echo it either), and the id of the request
    // before is not kept: the logger's keys are reset with each invocation.
    expect(unnamed).toMatchObject({ status: 404 });
    expect(unnamed?.imageId).toBeUndefined();
  });
});

describe('a second DELETE of an image while its purge is pending', () => {
  it('queues a second purge that does nothing: a duplicate step, no second PurgeTime', async () => {
    const upload = await client.uploadDirect(await solidJpeg('#993366', 160, 100), 'image/jpeg');
    expect(upload.status).toBe(202);
    const { id, deleteToken } = upload.body;
    expect((await client.waitUntilSettled(id)).status).toBe('ready');
    const before = printed().length;
    // Both accepted: the token route, then the key route (the image is `deleting`; the purge is re-queued).
    expect((await client.delete(id, deleteToken)).status).toBe(202);
    expect((await client.delete(id)).status).toBe(202);
    const purgeSteps = (found: Line[]) => found.filter((l) => l.step === 'purge' && l.imageId === id);
    const lines = await waitFor(
      async () => {
        const found = printed().slice(before);
        const done = purgeSteps(found).length >= 2 && found.some((l) => 'PurgeTime' in l);
        return done ? found : undefined;
      },
      30_000,
      'two purge steps and PurgeTime',
    );
    // Let a second invocation's metrics (if any) be flushed before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = printed().slice(before);
    const steps = purgeSteps(after);
    expect(steps.filter((l) => l.outcome !== 'duplicate')).toHaveLength(1);
    expect(steps.filter((l) => l.outcome === 'duplicate').length).toBe(steps.length - 1);
    expect(after.filter((l) => l.message === 'image purged' && l.imageId === id)).toHaveLength(1);
    const skipped = after.filter((l) => l.message === 'purge skipped: image already purged');
    expect(skipped.length).toBe(steps.length - 1);
    for (const line of skipped)
      expect(line).toMatchObject({ imageId: id, uploadRequestId: steps[0]?.uploadRequestId });
    // One PurgeTime value in all (a value is a number or, for several in one flush, an array of them).
    const values = after
      .filter((l) => '_aws' in l && 'PurgeTime' in l)
      .flatMap((l) => (Array.isArray(l.PurgeTime) ? l.PurgeTime : [l.PurgeTime]));
    expect(values).toHaveLength(1);
    expect(lines.length).toBeGreaterThan(0);
  });
});

describe('a message that can never succeed', () => {
  it('is parked in its DLQ and counted as MessagesParked by queue and reason', async () => {
    const ingest = cloud.model.queues.find((q) => /^PipelineIngestQueue/.test(q.logicalId));
    const sqs = new SQSClient({
      region: cloud.region,
      endpoint: cloud.urls.aws,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: ingest?.url, MessageBody: '{"not":"an S3 event"' }));
    const parked = await waitFor(
      async () => printed().find((l) => '_aws' in l && 'MessagesParked' in l),
      30_000,
      'the MessagesParked metric',
    );
    expect(validate(parked)).toBe(true);
    expect(parked).toMatchObject({ queue: 'ingest', reason: 'MALFORMED_MESSAGE', MessagesParked: 1 });
  });
});
