import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type ProxyRequest, proxyEvent } from '#local/apigateway/proxy-event.ts';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { scaleRetryBackoff } from '#local/cloud.ts';
import { lambdaContext, sqsRecord } from '#local/lambda/events.ts';
import { objectCreatedEvent } from '#local/s3/events.ts';
import { redriveRoute } from '#local/sqs/move-tasks.ts';
import { synthesize } from '#local/template/assembly.ts';
import { provision } from '#local/template/provision.ts';
import { buildStackModel, type LocalFunction, type LocalQueue } from '#local/template/stack-model.ts';
import { readAssembly, type StackTemplate } from '#local/template/template.ts';
import { type FaultProxy, startFaultProxy } from './fault-proxy.ts';
import { imagesBucket, ROOT } from './local-cloud.ts';

// biome-ignore lint/suspicious/noExplicitAny: handlers are middy functions with varied event types.
type AnyHandler = (event: any, context: Context) => Promise<any>;

const REGION = 'us-east-1';
/** Queue visibility and retry backoff × 0.01: retries come back after a second instead of minutes. */
const VISIBILITY_SCALE = 0.01;
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
  handlers: Record<'upload' | 'images' | 'delete' | 'metadata' | 'thumbnail' | 'purge', AnyHandler>;
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
    fn: 'metadata' | 'thumbnail' | 'purge',
  ): Promise<{ received: number; failed: number }>;
  /** Number of messages (visible + in flight) in a queue. */
  depth(queue: keyof Pipeline['queues']): Promise<number>;
  /** Keys under a prefix in the bucket. */
  keys(prefix: string): Promise<string[]>;
  /** The handlers' fault proxy (with `startPipeline(…, { faultProxy: true })`): their calls, and faults. */
  faults: FaultProxy | undefined;
  /** The queues' ARNs (what event source mappings and StartMessageMoveTask name). */
  arns: Record<QueueName | `${QueueName}Dlq`, string>;
  close(): Promise<void>;
}

/** Test API key: API Gateway would have validated it and put its id in the request context. */
export const TEST_KEY = { id: 'key-owner-1', value: 'test-api-key-value-0001' };
export const OTHER_KEY = { id: 'key-owner-2', value: 'test-api-key-value-0002' };

let assembly: Promise<StackTemplate> | undefined;

/** The app's synthesized template, once per test file (no bundling: the handlers run from source here). */
function synthesizedStack(): Promise<StackTemplate> {
  assembly ??= (async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'pictura-handlers-'));
    await synthesize(ROOT, outdir);
    const stack = readAssembly(outdir)[0];
    rmSync(outdir, { recursive: true, force: true });
    if (!stack) throw new Error('the CDK app synthesized no stack');
    // Its staged assets (the upload page) went with the folder: the handlers' tests deploy no page.
    return { ...stack, assets: undefined };
  })();
  return assembly;
}

/**
 * Starts the emulators, provisions the stack's buckets, queues and table from the synthesized template (the
 * same path the local cloud takes, so there is no second list of resources), and imports each handler with
 * the environment the template gives its function, plus `settings` (limits the tests shrink).
 */
export async function startPipeline(
  settings: Record<string, string> = {},
  options: { faultProxy?: boolean } = {},
): Promise<Pipeline> {
  const endpoint = await startAwsEndpoint({ port: 0 });
  // The handlers' calls go through the proxy (the tests' own calls do not), so faults reach only them.
  const faults = options.faultProxy ? await startFaultProxy(endpoint.url) : undefined;
  const common = {
    region: REGION,
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sqs = new SQSClient(common);
  const model = buildStackModel(await synthesizedStack(), {
    region: REGION,
    accountId: '000000000000',
    awsEndpoint: endpoint.url,
    apiHost: 'api.test',
    cdnHost: 'cdn.test',
  });
  // Retries come back after a second instead of the template's minutes.
  await provision(
    model,
    { s3, sqs, dynamo: new DynamoDBClient(common) },
    { visibilityScale: VISIBILITY_SCALE },
  );
  // StartMessageMoveTask (redrive), which the local cloud's edge serves and fauxqs lacks.
  endpoint.addRoute(redriveRoute(sqs));

  const fn = (label: string): LocalFunction => {
    const found = model.functions.find((f) => f.label === label);
    if (!found) throw new Error(`the template has no function ${label}`);
    return found;
  };
  // Each consumer's queue is the one its event source mapping reads; its DLQ is that queue's redrive target.
  const fedQueue = (label: string): LocalQueue => {
    const arn = model.mappings.find((m) => m.functionName === fn(label).name)?.queueArn;
    const queue = model.queues.find((q) => q.arn === arn);
    if (!queue) throw new Error(`no queue feeds ${label}`);
    return queue;
  };
  const deadLetterOf = (queue: LocalQueue): LocalQueue => {
    const target = JSON.parse(queue.attributes.RedrivePolicy ?? '{}').deadLetterTargetArn;
    const dlq = model.queues.find((q) => q.arn === target);
    if (!dlq) throw new Error(`${queue.name} has no DLQ`);
    return dlq;
  };
  const consumers = {
    ingest: fedQueue('metadata'),
    render: fedQueue('thumbnail'),
    purge: fedQueue('purge'),
  };
  const queues = {} as Pipeline['queues'];
  const arns = {} as Pipeline['arns'];
  for (const name of QUEUES) {
    queues[name] = consumers[name].url;
    queues[`${name}Dlq`] = deadLetterOf(consumers[name]).url;
    arns[name] = consumers[name].arn;
    arns[`${name}Dlq`] = deadLetterOf(consumers[name]).arn;
  }
  const bucket = imagesBucket({ model });

  const base: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: faults?.url ?? endpoint.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // Parked messages log at ERROR by design; the tests assert on the DLQ instead of reading logs.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  // Config is read at import (cold start): give each handler its function's environment as it loads.
  const load = async (label: string): Promise<AnyHandler> => {
    // The consumers' retry backoff scaled like the queues' visibility, as the local cloud does.
    const [scaled] = scaleRetryBackoff([fn(label)], VISIBILITY_SCALE);
    Object.assign(process.env, base, scaled?.environment, settings, {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const module = (await import(`../../functions/${label}/handler.ts`)) as { handler: AnyHandler };
    return module.handler;
  };
  const handlers: Pipeline['handlers'] = {
    upload: await load('upload'),
    images: await load('images'),
    metadata: await load('metadata'),
    thumbnail: await load('thumbnail'),
    delete: await load('delete'),
    purge: await load('purge'),
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
      const event: SQSEvent = { Records: Messages.map((m) => sqsRecord(m, arns[queue], REGION)) };
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
    faults,
    arns,
    close: async () => {
      await faults?.close();
      await endpoint.close();
    },
  };
  return pipeline;
}

/** Headers of a caller holding an API key (API Gateway validated it; `apiKeyId` is set alongside). */
export function withKey(
  key = TEST_KEY,
): Pick<ProxyRequest, 'apiKeyId'> & { headers: Record<string, string> } {
  return { apiKeyId: key.id, headers: { 'x-api-key': key.value } };
}

/**
 * POST /v1/images as a key holder sends it: `body` bytes go up directly (binary, base64 in the event, as API
 * Gateway delivers binary media types); a string is the JSON asking for a presigned POST. `headers` add to or
 * override the key and content type.
 */
export function uploadRequest(
  contentType: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): ProxyRequest {
  return {
    method: 'POST',
    resource: '/v1/images',
    path: '/v1/images',
    ...withKey(),
    headers: { ...withKey().headers, 'content-type': contentType, ...headers },
    body,
    ...(Buffer.isBuffer(body) ? { binary: true } : {}),
  };
}

/** The JSON upload request (`{ contentType, contentLength }`) that answers with a presigned POST form. */
export function presignRequest(contentType: string, contentLength: number): ProxyRequest {
  return uploadRequest('application/json', JSON.stringify({ contentType, contentLength }));
}

/** DELETE /v1/images/{id}/token with the delete token the upload returned (no API key: the token is the proof). */
/** DELETE /v1/images/{id} as the image's owner sends it (with the API key). */
export function ownerDeleteRequest(id: string): ProxyRequest {
  return {
    method: 'DELETE',
    resource: '/v1/images/{id}',
    path: `/v1/images/${id}`,
    pathParameters: { id },
    ...withKey(),
  };
}

export function tokenDeleteRequest(id: string, token: string): ProxyRequest {
  return {
    method: 'DELETE',
    resource: '/v1/images/{id}/token',
    path: `/v1/images/${id}/token`,
    pathParameters: { id },
    headers: { authorization: `Bearer ${token}` },
  };
}
