import { S3Schema, S3SqsEventNotificationSchema } from '@aws-lambda-powertools/parser/schemas';
import { CopyObjectCommand, CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { createS3Notifier } from '#local/s3/notifications.ts';
import type { LocalQueue } from '#local/template/stack-model.ts';
import { createPresignedPost } from '#shared/presigned-post.ts';

// S3 → SQS as the local cloud delivers it: per the bucket's notification configuration, with the event
// name of the call that wrote the object, on real fauxqs requests.
let endpoint: AwsEndpoint;
let s3: S3Client;
let sqs: SQSClient;
const bucket = 'notify-bucket';
const queues: Record<'all' | 'posts' | 'jpegs', LocalQueue> = {} as never;

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0 });
  const common = {
    region: 'us-east-1',
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  };
  s3 = new S3Client({ ...common, forcePathStyle: true });
  sqs = new SQSClient(common);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const name of ['all', 'posts', 'jpegs'] as const) {
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `notify-${name}` }));
    queues[name] = {
      logicalId: name,
      name,
      url: QueueUrl,
      arn: `arn:aws:sqs:us-east-1:000000000000:notify-${name}`,
      attributes: {},
    };
  }
  endpoint.onS3Event(
    createS3Notifier({
      buckets: [
        {
          logicalId: 'Bucket',
          name: bucket,
          notifications: [
            { queueArn: queues.all.arn, events: ['s3:ObjectCreated:*'], prefix: 'originals/', suffix: '' },
            { queueArn: queues.posts.arn, events: ['s3:ObjectCreated:Post'], prefix: '', suffix: '' },
            { queueArn: queues.jpegs.arn, events: ['s3:ObjectCreated:*'], prefix: '', suffix: '.jpg' },
          ],
        },
      ],
      queues: Object.values(queues),
      s3,
      sqs,
      region: 'us-east-1',
      onError: (error) => {
        throw error;
      },
    }),
  );
});
afterAll(() => endpoint?.close());

/** Receives from `queue` until `count` events arrived (delivery is asynchronous), then checks for extras. */
async function drain(queue: LocalQueue, count: number): Promise<Array<{ eventName: string; key: string }>> {
  const events: Array<{ eventName: string; key: string }> = [];
  const receive = async (wait: number) => {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: wait,
        VisibilityTimeout: 60,
      }),
    );
    for (const m of Messages as Message[]) {
      const record = JSON.parse(m.Body ?? '{}').Records[0];
      events.push({ eventName: record.eventName, key: record.s3.object.key });
    }
    return Messages.length;
  };
  const deadline = Date.now() + 15_000;
  while (events.length < count && Date.now() < deadline) await receive(1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  while ((await receive(0)) > 0);
  return events.sort((a, b) => a.key.localeCompare(b.key));
}

describe('S3 event notifications', () => {
  it('names each event after the call that wrote the object, and applies prefix and suffix filters', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'originals/put one', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'variants/skip.webp', Body: 'x' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'originals/copy.jpg',
        CopySource: `${bucket}/originals/put one`,
      }),
    );
    const post = await createPresignedPost(s3, {
      bucket,
      key: 'originals/posted',
      contentType: 'image/png',
      maxBytes: 100,
      expiresSeconds: 60,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'f');
    expect((await fetch(post.url, { method: 'POST', body: form })).status).toBe(204);

    expect(await drain(queues.all, 3)).toEqual([
      { eventName: 'ObjectCreated:Copy', key: 'originals/copy.jpg' },
      { eventName: 'ObjectCreated:Post', key: 'originals/posted' },
      { eventName: 'ObjectCreated:Put', key: 'originals/put+one' },
    ]);
    expect(await drain(queues.posts, 1)).toEqual([
      { eventName: 'ObjectCreated:Post', key: 'originals/posted' },
    ]);
    expect(await drain(queues.jpegs, 1)).toEqual([
      { eventName: 'ObjectCreated:Copy', key: 'originals/copy.jpg' },
    ]);
  });

  // "The object key name value is URL encoded. For example, "red flower.jpg" becomes "red+flower.jpg" (Amazon S3
  // returns "application/x-www-form-urlencoded" …)"
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html): form encoding,
  // so `( ) ~ ! '` are percent-encoded (encodeURIComponent leaves them), `*` stays, and `/` stays as S3 keeps it.
  it("encodes ( ) ~ ! ' and spaces in the key as S3 does, in a body that validates as S3 sends it to SQS", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "originals/my photo (1)~!'*.jpg", Body: 'x' }));
    let message: Message | undefined;
    for (let i = 0; i < 30 && !message; i++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queues.all.url,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      message = Messages[0];
    }
    const record = S3Schema.parse(JSON.parse(message?.Body ?? '{}')).Records[0];
    expect(record?.s3.object.key).toBe('originals/my+photo+%281%29%7E%21%27*.jpg');
    expect(record?.eventName).toBe('ObjectCreated:Put');
    // The same message as Lambda's SQS event source hands it to a function (Powertools' S3-over-SQS schema).
    const lambdaEvent = {
      Records: [
        {
          messageId: message?.MessageId,
          receiptHandle: message?.ReceiptHandle,
          body: message?.Body,
          attributes: message?.Attributes,
          messageAttributes: {},
          md5OfBody: message?.MD5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: queues.all.arn,
          awsRegion: 'us-east-1',
        },
      ],
    };
    const parsed = S3SqsEventNotificationSchema.parse(lambdaEvent);
    expect(parsed.Records[0]?.body.Records[0]?.s3.object.key).toBe(
      'originals/my+photo+%281%29%7E%21%27*.jpg',
    );
  });

  // `a/../b` is a key of its own on S3 (keys are not paths); the edge must name the write by that literal key,
  // or a CopyObject to it is reported as a Put (URL parsing resolves `..`).
  it('names a write to a key with .. segments after its call (CopyObject stays Copy)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'variants/src', Body: 'x' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'originals/a/../c.jpg',
        CopySource: `${bucket}/variants/src`,
      }),
    );
    expect(await drain(queues.all, 1)).toEqual([
      { eventName: 'ObjectCreated:Copy', key: 'originals/a/../c.jpg' },
    ]);
    await drain(queues.jpegs, 1);
  });
});
