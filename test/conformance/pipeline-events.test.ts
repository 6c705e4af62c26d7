// Every event the local cloud hands to a function in a real flow, held to the Powertools parser's zod schemas
// (`@aws-lambda-powertools/parser/schemas`, written by AWS from the events its services send): API Gateway
// proxy events (APIGatewayProxyEventSchema), SQS event source mapping batches (SqsSchema), and, for the
// queues S3 notifies, the S3 notification inside each message body (S3SqsEventNotificationSchema). The flow
// is a client's: a presigned upload and a direct one through the API, processing to `ready`, reads, a delete
// with its token, and an upload by the AWS CLI straight to the bucket.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  APIGatewayProxyEventSchema,
  S3SqsEventNotificationSchema,
  SqsSchema,
} from '@aws-lambda-powertools/parser/schemas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { awsCli } from '#test/support/aws-cli.ts';
import { orientedJpeg, pngWithAlpha } from '#test/support/images.ts';
import { startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

interface Captured {
  functionName: string;
  event: Record<string, unknown>;
  /** The event as Lambda would deliver it: JSON (the local runtime's IPC could carry more). */
  json: unknown;
}

let cloud: TestCloud;
let client: PicturaClient;
let scratch: string;
const captured: Captured[] = [];

/** Queue ARNs that S3 notifies: their messages' bodies are S3 events. */
let s3FedQueues: Set<string>;
let cliKey: string;

beforeAll(async () => {
  cloud = await startTestCloud({
    onInvoke: (functionName, event) =>
      captured.push({
        functionName,
        event: event as Record<string, unknown>,
        json: JSON.parse(JSON.stringify(event)),
      }),
  });
  client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
  s3FedQueues = new Set(cloud.model.buckets.flatMap((b) => b.notifications.map((n) => n.queueArn)));
  scratch = mkdtempSync(join(tmpdir(), 'pictura-pipeline-events-'));

  // The flow: presigned POST, processing to ready, reads, a delete with the token.
  const jpeg = await orientedJpeg(6);
  const presigned = await client.presign('image/jpeg', jpeg.length);
  const upload = presigned.body.upload;
  if (!upload) throw new Error(`presign answered ${presigned.status}`);
  expect(await client.postForm(upload, jpeg, 'image/jpeg')).toBe(204);
  const id = presigned.body.id;
  expect((await client.waitUntilSettled(id)).status).toBe('ready');
  expect((await client.list({ limit: '5' })).status).toBe(200);
  // A direct upload (a binary body through the API).
  const direct = await client.uploadDirect(await pngWithAlpha(64, 48), 'image/png');
  expect(direct.status).toBe(202);
  expect((await client.waitUntilSettled(direct.body.id)).status).toBe('ready');
  expect((await client.delete(id, presigned.body.deleteToken)).status).toBe(202);
  await waitFor(async () => ((await client.get(id)).status === 404 ? true : undefined), 30_000, 'the delete');

  // The AWS CLI writes straight to the bucket, under the notified prefix: S3 notifies the queue for it too.
  const bucket = cloud.model.buckets.find((b) => b.notifications.length > 0);
  const prefix = bucket?.notifications[0]?.prefix ?? '';
  cliKey = `${prefix}${randomUUID()}`;
  const file = join(scratch, 'cli.jpg');
  writeFileSync(file, jpeg);
  const cli = await awsCli(['s3', 'cp', file, `s3://${bucket?.name}/${cliKey}`], {
    endpoint: cloud.urls.aws,
    check: true,
  });
  await waitFor(async () => (s3Keys().includes(cliKey) ? true : undefined), 30_000, 'the CLI upload').catch(
    (error: Error) => {
      throw new Error(`${error.message} (${cli.stderr}); keys notified: ${JSON.stringify(s3Keys())}`);
    },
  );
});
afterAll(async () => {
  await cloud?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const apiEvents = () => captured.filter((c) => 'httpMethod' in c.event);
const sqsEvents = () =>
  captured.filter(
    (c) => (c.event.Records as Array<{ eventSource?: string }> | undefined)?.[0]?.eventSource === 'aws:sqs',
  );
const s3FedEvents = () =>
  sqsEvents().filter((c) =>
    (c.event.Records as Array<{ eventSourceARN: string }>).every((r) => s3FedQueues.has(r.eventSourceARN)),
  );
function s3Keys(): string[] {
  return s3FedEvents().flatMap((c) =>
    (c.event.Records as Array<{ body: string }>).flatMap((r) =>
      (JSON.parse(r.body).Records ?? []).map((s: { s3: { object: { key: string } } }) => s.s3.object.key),
    ),
  );
}

/** Zod's issues, one line each, so a failure names the field. */
function issues(result: {
  success: boolean;
  error?: { issues: Array<{ path: PropertyKey[]; message: string }> };
}) {
  return (result.error?.issues ?? []).map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describe('events handed to functions in a real flow', () => {
  it('captured every kind: API, SQS, and S3 notifications through SQS, and nothing else', () => {
    expect(apiEvents().length).toBeGreaterThanOrEqual(6);
    expect(s3FedEvents().length).toBeGreaterThanOrEqual(2);
    expect(sqsEvents().length).toBeGreaterThan(s3FedEvents().length);
    // Every event is one of the kinds the template wires; none is something else.
    expect(captured.length).toBe(apiEvents().length + sqsEvents().length);
  });

  it('hands each event over as Lambda does, as JSON: nothing that JSON would drop or change', () => {
    for (const { functionName, event, json } of captured) expect(json, functionName).toStrictEqual(event);
  });

  it('gives every API function an event valid against APIGatewayProxyEventSchema', () => {
    // Another part of this issue fixes the proxy event (requestTime, requestTimeEpoch, …); this holds it.
    const failures = apiEvents()
      .map((c) => ({ c, result: APIGatewayProxyEventSchema.safeParse(c.json) }))
      .filter(({ result }) => !result.success)
      .map(
        ({ c, result }) =>
          `${c.functionName} ${(c.event as { httpMethod: string }).httpMethod} ${(c.event as { path: string }).path}: ${issues(result).join('; ')}`,
      );
    expect(failures).toEqual([]);
  });

  it('gives every queue consumer a batch valid against SqsSchema, from the queue its mapping names', () => {
    const mappings = new Map(cloud.model.mappings.map((m) => [m.functionName, m]));
    for (const c of sqsEvents()) {
      const result = SqsSchema.safeParse(c.json);
      expect(issues(result), c.functionName).toEqual([]);
      const mapping = [...mappings.values()].find((m) => c.functionName === m.functionName);
      const records = c.event.Records as Array<{
        eventSourceARN: string;
        awsRegion: string;
        body: string;
        md5OfBody: string;
      }>;
      expect(records.length).toBeLessThanOrEqual(mapping?.batchSize ?? 10);
      for (const record of records) {
        expect(record.eventSourceARN).toBe(mapping?.queueArn);
        expect(record.awsRegion).toBe(cloud.region);
      }
    }
  });

  it('gives the S3-fed consumers messages whose bodies are valid S3 notifications (S3SqsEventNotificationSchema)', () => {
    for (const c of s3FedEvents()) {
      const result = S3SqsEventNotificationSchema.safeParse(c.json);
      expect(issues(result), c.functionName).toEqual([]);
    }
    // The AWS CLI's upload reached the consumer as an S3 event, its key as the CLI wrote it.
    expect(s3Keys()).toContain(cliKey);
  });
});
