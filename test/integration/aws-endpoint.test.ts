import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { plainPng } from '#test/support/images.ts';
import { imagesBucket, startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

// The same calls the README shows with the AWS CLI (`aws --endpoint-url http://localhost:4566 …`), made
// through the SDK against the local cloud's one endpoint.
let cloud: TestCloud;
let sqs: SQSClient;
const queue = (pattern: RegExp) => {
  const found = cloud.model.queues.find((q) => pattern.test(q.logicalId));
  if (!found) throw new Error(`no queue matching ${pattern}`);
  return found;
};

beforeAll(async () => {
  cloud = await startTestCloud();
  sqs = new SQSClient(clientConfig());
});
afterAll(() => cloud?.stop());

function clientConfig() {
  return {
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

describe('the AWS endpoint', () => {
  it('lists the stack queues and DLQs with their redrive policies (sqs list-queues, get-queue-attributes)', async () => {
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    expect(QueueUrls.length).toBe(6);
    for (const name of ['Ingest', 'Render', 'Purge']) {
      const main = queue(new RegExp(`${name}Queue`));
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: main.url, AttributeNames: ['All'] }),
      );
      expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toMatchObject({
        deadLetterTargetArn: queue(new RegExp(`${name}Dlq`)).arn,
      });
    }
  });

  it('parks a poison message in the DLQ, shows it (receive-message) and redrives it (start-message-move-task)', async () => {
    const purge = queue(/PurgeQueue/);
    const dlq = queue(/PurgeDlq/);
    await sqs.send(new SendMessageCommand({ QueueUrl: purge.url, MessageBody: '{"type":"purge","v":1}' }));
    const parked = await waitFor(
      async () => {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlq.url,
            MessageAttributeNames: ['All'],
            VisibilityTimeout: 1,
          }),
        );
        return Messages[0];
      },
      20_000,
      'the malformed message in the purge DLQ',
    );
    expect(parked.Body).toBe('{"type":"purge","v":1}');
    expect(parked.MessageAttributes?.['pictura-error-code']?.StringValue).toBe('MALFORMED_MESSAGE');

    // A valid job that sits in the DLQ (as after an outage) goes back and is processed.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const { Messages: leftovers = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10 }),
    );
    for (const m of leftovers)
      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: m.ReceiptHandle }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: JSON.stringify({ type: 'purge', v: 1, id: 'AAAAAAAAAAAAAAAAAAAAAA' }),
      }),
    );
    const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    expect(task.TaskHandle).toEqual(expect.any(String));
    await waitFor(
      async () => {
        const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
        return Results[0]?.Status === 'COMPLETED' ? Results[0] : undefined;
      },
      10_000,
      'the move task to complete',
    );
    await waitFor(
      async () => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: purge.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        const dlqDepth = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: dlq.url,
            AttributeNames: ['ApproximateNumberOfMessages'],
          }),
        );
        const pending =
          Number(Attributes.ApproximateNumberOfMessages) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible) +
          Number(dlqDepth.Attributes?.ApproximateNumberOfMessages);
        return pending === 0 ? true : undefined;
      },
      20_000,
      'the redriven purge job to be consumed',
    );
  });

  it('serves S3 listing and DynamoDB scans of what the API stored (s3 ls, dynamodb scan)', async () => {
    const client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
    const upload = await client.uploadDirect(await plainPng(300, 200), 'image/png');
    expect((await client.waitUntilSettled(upload.body.id)).status).toBe('ready');
    const s3 = new S3Client({ ...clientConfig(), forcePathStyle: true });
    const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: imagesBucket(cloud) }));
    expect(Contents.map((o) => o.Key)).toContain(`originals/${upload.body.id}`);
    const dynamo = new DynamoDBClient(clientConfig());
    const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: cloud.model.tables[0]?.name }));
    expect(Items.map((item) => item.id?.S)).toContain(upload.body.id);
  });

  it('invokes functions through the Lambda API with a REPORT tail, cold after a configuration change', async () => {
    const lambda = new LambdaClient(clientConfig());
    const { Functions = [] } = await lambda.send(new ListFunctionsCommand({}));
    // Every function of the template, once: upload, images, delete, metadata, thumbnail, purge, sweeper.
    expect(Functions.map((fn) => fn.FunctionName).sort()).toEqual(
      cloud.model.functions.map((fn) => fn.name).sort(),
    );
    expect(Functions).toHaveLength(7);
    const images = cloud.model.functions.find((f) => f.label === 'images');
    const name = images?.name ?? '';
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    expect(got.Configuration?.Environment?.Variables?.CDN_BASE_URL).toBe(cloud.urls.cdn);

    const event = {
      httpMethod: 'GET',
      resource: '/v1/health',
      path: '/v1/health',
      headers: {},
      requestContext: {},
    };
    const invoke = () =>
      lambda.send(new InvokeCommand({ FunctionName: name, LogType: 'Tail', Payload: JSON.stringify(event) }));
    const tail = (result: Awaited<ReturnType<typeof invoke>>) =>
      Buffer.from(result.LogResult ?? '', 'base64').toString();

    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        Environment: {
          Variables: { ...got.Configuration?.Environment?.Variables, COLD: String(Date.now()) },
        },
      }),
    );
    const cold = await invoke();
    expect(JSON.parse(Buffer.from(cold.Payload ?? new Uint8Array()).toString()).statusCode).toBe(200);
    expect(tail(cold)).toMatch(
      /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: \d+ MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms/,
    );
    const warm = await invoke();
    expect(tail(warm)).toMatch(/REPORT RequestId/);
    expect(tail(warm)).not.toMatch(/Init Duration/);
  });
});
