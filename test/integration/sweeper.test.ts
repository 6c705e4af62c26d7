import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imagesBucket, ROOT, startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

const run = promisify(execFile);
const invocations: { fn: string; event: unknown }[] = [];
let cloud: TestCloud;
let sqs: SQSClient;

beforeAll(async () => {
  cloud = await startTestCloud({
    // The sweeper's rate(15 minutes) every 0.9 s.
    scheduleScale: 0.001,
    onInvoke: (fn, event) => invocations.push({ fn, event }),
  });
  sqs = new SQSClient({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 120_000);
afterAll(() => cloud?.stop());

const fnLabel = (name: string) => cloud.model.functions.find((f) => f.name === name)?.label;

describe('schedules from the template', () => {
  it('fire the sweeper on its rule, with a Scheduled Event that validates against EventBridgeSchema', async () => {
    const rule = cloud.model.schedules[0];
    expect(cloud.model.schedules).toHaveLength(1);
    expect(rule?.schedule).toEqual({ kind: 'rate', expression: 'rate(15 minutes)', periodMs: 900_000 });
    const fired = await waitFor(
      async () => invocations.find((i) => fnLabel(i.fn) === 'sweeper'),
      15_000,
      'a scheduled sweeper invocation',
    );
    // Powertools' schema, written by AWS from the events EventBridge sends; the sample event of
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html has these values.
    const event = EventBridgeSchema.parse(JSON.parse(JSON.stringify(fired.event)));
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      region: cloud.region,
      resources: [rule?.arn],
      detail: {},
    });
    expect(rule?.arn).toMatch(/^arn:aws:events:us-east-1:000000000000:rule\/.+/);
    expect((fired.event as { time: string }).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // The sweep ran to its end and reported (its structured log line).
    await waitFor(
      async () => (cloud.logs.some((line) => line.includes('sweep finished')) ? true : undefined),
      15_000,
      'the sweeper to report',
    );
    // Periodic: it fires again.
    await waitFor(
      async () => ((cloud.schedules.fired.get(rule?.name ?? '') ?? 0) >= 2 ? true : undefined),
      15_000,
      'a second run',
    );
  });
});

describe('npm run redrive against the local cloud', () => {
  const stageQueue = (stage: string) => {
    const queue = cloud.model.queues.find((q) => q.name.toLowerCase().includes(`${stage}queue`));
    const dlqArn = JSON.parse(queue?.attributes.RedrivePolicy ?? '{}').deadLetterTargetArn;
    const dlq = cloud.model.queues.find((q) => q.arn === dlqArn);
    if (!queue || !dlq) throw new Error(`no ${stage} queue and DLQ`);
    return { queue, dlq };
  };
  const redrive = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [join(ROOT, 'scripts/redrive.ts'), '--endpoint', cloud.urls.aws, ...args],
        { cwd: ROOT },
      );
      return { code: 0, json: JSON.parse(stdout), stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, json: undefined, stderr: failed.stderr };
    }
  };
  const depth = async (url: string) => {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible)
    );
  };

  it('dry run: counts the DLQ by reason and moves nothing; then moves the messages back and ingest takes them', async () => {
    const { dlq } = stageQueue('ingest');
    // Two parked ingest messages: one a consumer parked with its reason, one SQS moved after the receive limit.
    // Both are S3 events for a key that is no original, which ingest acknowledges and leaves alone.
    const marker = `originals/redrive-marker-${Date.now()}`;
    const body = JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: imagesBucket(cloud) }, object: { key: marker, size: 1 } },
        },
      ],
    });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: body,
        MessageAttributes: { 'pictura-error-code': { DataType: 'String', StringValue: 'TEST_PARKED' } },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: body }));

    const dry = await redrive('--queue', 'ingest', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({
      queue: 'ingest',
      dryRun: true,
      waiting: 2,
      deadLetterQueue: dlq.url,
      reasons: { TEST_PARKED: 1, 'receive-limit': 1 },
    });
    expect(await depth(dlq.url)).toBe(2);

    const moved = await redrive('--queue', 'ingest');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json).toMatchObject({ queue: 'ingest', status: 'COMPLETED', moved: 2 });
    expect(moved.stderr).toMatch(/redrive: COMPLETED 2/);
    expect(await depth(dlq.url)).toBe(0);
    const seenByIngest = () =>
      invocations.filter((i) => fnLabel(i.fn) === 'metadata' && JSON.stringify(i.event).includes(marker))
        .length;
    await waitFor(
      async () => (seenByIngest() >= 2 ? true : undefined),
      15_000,
      'ingest to take both messages',
    );

    const again = await redrive('--queue', 'ingest');
    expect(again.json).toMatchObject({ moved: 0, status: 'NOTHING_TO_MOVE' });
  });

  it('refuses bad arguments (exit 2) and says when there are no queues to find (exit 3)', async () => {
    expect((await redrive('--queue', 'thumbnails')).code).toBe(2);
    expect((await redrive('--queue', 'ingest', '--target', 'gcp')).code).toBe(2);
    expect((await redrive('--queue', 'ingest', '--surprise')).code).toBe(2);
    const empty = await startTestCloud({ app: 'test/integration/fixtures/mini-app.ts', scheduleScale: 0 });
    try {
      const result = await run(process.execPath, [
        join(ROOT, 'scripts/redrive.ts'),
        '--queue',
        'render',
        '--endpoint',
        empty.urls.aws,
      ]).catch((error: { code: number; stderr: string }) => error);
      expect((result as { code: number }).code).toBe(3);
      expect((result as { stderr: string }).stderr).toMatch(/no render queue with a DLQ/);
    } finally {
      await empty.stop();
    }
  });
});
