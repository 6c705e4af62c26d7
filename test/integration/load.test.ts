import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { plainPng } from '#test/support/images.ts';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(() => cloud?.stop());

it('takes 50 concurrent uploads to ready: none lost, DLQs empty', async () => {
  const client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
  const images = await Promise.all(Array.from({ length: 5 }, (_, i) => plainPng(400 + i * 40, 300)));
  const uploads = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const bytes = images[i % images.length] ?? Buffer.alloc(0);
      if (i % 2 === 0) return (await client.uploadDirect(bytes, 'image/png')).body.id;
      const presigned = await client.presign('image/png', bytes.length);
      const upload = presigned.body.upload;
      if (!upload) throw new Error(`no presigned form: ${JSON.stringify(presigned.body)}`);
      expect(await client.postForm(upload, bytes, 'image/png')).toBe(204);
      return presigned.body.id;
    }),
  );
  expect(new Set(uploads).size).toBe(50);
  const settled = await Promise.all(uploads.map((id) => client.waitUntilSettled(id, 240_000)));
  expect(settled.filter((doc) => doc.status === 'ready').length).toBe(50);

  const sqs = new SQSClient({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  for (const queue of cloud.model.queues) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(
      Number(Attributes.ApproximateNumberOfMessages) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible),
      queue.name,
    ).toBe(0);
  }
}, 300_000);
