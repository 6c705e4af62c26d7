import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { lambdaContext, type ProxyRequest, proxyEvent, sqsRecord } from '#local/lambda-events.ts';
import { objectCreatedEvent } from '#local/s3-events.ts';

// biome-ignore lint/suspicious/noExplicitAny: handlers are middy functions with varied event types.
type AnyHandler = (event: any, context: Context) => Promise<any>;

const REGION = 'us-east-1';
const QUEUES = ['ingest', 'render', 'purge'] as const;
type QueueName = (typeof QUEUES)[number];

/**
 * The functions wired to real emulators (fauxqs for S3 and SQS, dynalite for DynamoDB) behind one endpoint,
 * driven step by step: each `deliver` receives real messages from a real queue and hands them to the real
 * handler, deleting what it acknowledged, the way Lambda's event source mapping does.
 */
export interface Pipeline {
  endpoint: AwsEndpoint;
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queues: Record<QueueName | `${QueueName}Dlq`, string>;
  handlers: Record<'upload' | 'images' | 'delete' | 'metadata' | 'thumbnail', AnyHandler>;
  /** Calls an HTTP function with a proxy event; parses a JSON body. */
  http(
    fn: 'upload' | 'images' | 'delete',
    request: ProxyRequest,
  ): Promise<APIGatewayProxyResult & { json: Record<string, unknown> }>;
  /** Sends the S3 event notification for an object that exists (what S3 → SQS does on AWS). */
  announce(key: string, api?: 'Put' | 'Post'): Promise<void>;
  /** Receives up to 10 messages from `queue`, invokes `fn` once with them, deletes what it acknowledged. */
  deliver(
    queue: QueueName,
    fn: 'metadata' | 'thumbnail' | 'delete',
  ): Promise<{ received: number; failed: number }>;
  /** Number of messages (visible + in flight) in a queue. */
  depth(queue: keyof Pipeline['queues']): Promise<number>;
  /** Keys under a prefix in the bucket. */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Test API key: API Gateway would have validated it and put its id in the request context. */
export const TEST_KEY = { id: 'key-owner-1', value: 'test-api-key-value-0001' };
export const OTHER_KEY = { id: 'key-owner-2', value: 'test-api-key-value-0002' };

/** Starts the emulators, creates the resources, configures the environment and imports the handlers. */
export async function startPipeline(settings: Record<string, string> = {}): Promise<Pipeline> {
  const endpoint = await startAwsEndpoint({ port: 0 });
  const common = {
    region: REGION,
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sqs = new SQSClient(common);
  const dynamo = new DynamoDBClient(common);
  const bucket = 'pictura-test-bucket';
  const table = 'pictura-test-images';

  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await dynamo.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'ownerId', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byOwner',
          KeySchema: [
            { AttributeName: 'ownerId', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  const queues = {} as Pipeline['queues'];
  const arns = {} as Record<string, string>;
  for (const name of QUEUES) {
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const dlqUrl = dlq.QueueUrl ?? '';
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: '1',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
        },
      }),
    );
    queues[name] = queue.QueueUrl ?? '';
    queues[`${name}Dlq`] = dlqUrl;
    arns[name] = `arn:aws:sqs:${REGION}:000000000000:${name}`;
  }

  const env: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: endpoint.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    BUCKET_NAME: bucket,
    TABLE_NAME: table,
    CDN_BASE_URL: 'http://cdn.test',
    RENDER_QUEUE_URL: queues.render,
    PURGE_QUEUE_URL: queues.purge,
    // Parked messages log at ERROR by design; the tests assert on the DLQ instead of reading logs.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...settings,
  };
  Object.assign(process.env, env);
  // Each consumer has its own DLQ; config is read at import (cold start), so set it per import.
  const load = async (name: string, dlq?: string): Promise<AnyHandler> => {
    if (dlq) process.env.DEAD_LETTER_QUEUE_URL = dlq;
    const module = (await import(`../../functions/${name}/handler.ts`)) as { handler: AnyHandler };
    return module.handler;
  };
  const handlers: Pipeline['handlers'] = {
    upload: await load('upload'),
    images: await load('images'),
    metadata: await load('metadata', queues.ingestDlq),
    thumbnail: await load('thumbnail', queues.renderDlq),
    delete: await load('delete', queues.purgeDlq),
  };

  const pipeline: Pipeline = {
    endpoint,
    s3,
    sqs,
    bucket,
    queues,
    handlers,
    async http(fn, request) {
      const result = (await handlers[fn](
        proxyEvent({ ...request, headers: { host: 'api.test', ...request.headers } }),
        lambdaContext(fn, 30_000),
      )) as APIGatewayProxyResult;
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(result.body) as Record<string, unknown>;
      } catch {
        // Not JSON: the assertions on `body` will say so.
      }
      return { ...result, json: parsed };
    },
    async announce(key, api = 'Put') {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.ingest,
          MessageBody: objectCreatedEvent({
            bucket,
            key,
            size: head.ContentLength ?? 0,
            eTag: head.ETag ?? '',
            region: REGION,
            api,
          }),
        }),
      );
    },
    async deliver(queue, fn) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queues[queue],
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) return { received: 0, failed: 0 };
      const event: SQSEvent = { Records: Messages.map((m) => sqsRecord(m, arns[queue] ?? '', REGION)) };
      const response = (await handlers[fn](event, lambdaContext(fn, 60_000))) as SQSBatchResponse;
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      for (const message of Messages) {
        if (!failed.has(message.MessageId ?? '')) {
          await sqs.send(
            new DeleteMessageCommand({ QueueUrl: queues[queue], ReceiptHandle: message.ReceiptHandle }),
          );
        }
      }
      return { received: Messages.length, failed: failed.size };
    },
    async depth(queue) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queues[queue],
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    },
    async keys(prefix) {
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return Contents.map((object) => object.Key ?? '');
    },
    close: () => endpoint.close(),
  };
  return pipeline;
}

/** Headers of a caller holding an API key (API Gateway validated it; `apiKeyId` is set alongside). */
export function withKey(
  key = TEST_KEY,
): Pick<ProxyRequest, 'apiKeyId'> & { headers: Record<string, string> } {
  return { apiKeyId: key.id, headers: { 'x-api-key': key.value } };
}
