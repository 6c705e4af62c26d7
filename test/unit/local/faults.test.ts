import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueDepth } from '#bench/lib/queues.ts';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { type FaultConfig, FaultConfigError, loadFaultConfig } from '#local/faults/config.ts';
import { faultInterceptor, faultsStatusRoute, LOCAL_CLOUD_ACCESS_KEY_ID } from '#local/faults/edge.ts';
import { FaultInjector } from '#local/faults/injector.ts';
import { SeededRandom } from '#local/faults/random.ts';
import { SqsPoller } from '#local/lambda/sqs-poller.ts';
import { localFunction, startFixtureRuntime } from '#test/support/functions.ts';
import { ROOT } from '#test/support/local-cloud.ts';

describe('fault configuration', () => {
  it('accepts every example in bench/faults/', () => {
    const files = readdirSync(`${ROOT}/bench/faults`).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect(() => loadFaultConfig(`${ROOT}/bench/faults/${file}`), file).not.toThrow();
  });

  it('reads inline JSON as well as a file', () => {
    expect(loadFaultConfig(' {"s3": {"rate": 0.5}, "seed": 3} ')).toEqual({ s3: { rate: 0.5 }, seed: 3 });
  });

  it.each([
    ['a rate above 1', '{"s3": {"rate": 1.5}}', 's3.rate'],
    ['a negative rate', '{"sqs": {"rate": -0.1}}', 'sqs.rate'],
    ['a rate that is a string', '{"dynamodb": {"rate": "0.1"}}', 'dynamodb.rate'],
    ['a missing rate', '{"s3": {}}', 's3.rate'],
    ['an unknown service', '{"lambda": {"rate": 0.1}}', 'Unrecognized key: "lambda"'],
    ['a kind of another service', '{"s3": {"rate": 0.1, "kinds": {"ThrottlingException": 1}}}', 's3.kinds'],
    ['weights that are all zero', '{"sqs": {"rate": 0.1, "kinds": {"delay": 0}}}', 'at least one kind'],
    ['an unknown operation', '{"dynamodb": {"rate": 0, "operations": {"PutItm": {"rate": 1}}}}', 'PutItm'],
    [
      'an S3 operation the edge cannot tell',
      '{"s3": {"rate": 0, "operations": {"PutBucketPolicy": {"rate": 1}}}}',
      'PutBucketPolicy',
    ],
    ['delays out of order', '{"s3": {"rate": 0.1, "delayMs": [500, 100]}}', 'must not exceed'],
    [
      'a delay over a minute',
      '{"notifications": {"rate": 0.1, "delayMs": [0, 3600000]}}',
      'notifications.delayMs',
    ],
    ['a fractional seed', '{"seed": 1.5}', 'seed'],
    ['a seed beyond 32 bits', '{"seed": 4294967296}', 'seed'],
    [
      'an unknown invocation kind',
      '{"invocations": {"rate": 0.1, "kinds": {"oom": 1}}}',
      'invocations.kinds',
    ],
    ['an empty function list', '{"invocations": {"rate": 0.1, "functions": []}}', 'invocations.functions'],
    ['a __proto__ key', '{"s3": {"rate": 0.1, "__proto__": {"rate": 1}}}', '__proto__'],
    [
      'a nested __proto__ operation',
      '{"dynamodb": {"rate": 0, "operations": {"__proto__": {"rate": 1}}}}',
      '__proto__',
    ],
    ['an array', '[{"s3": {"rate": 0.1}}]', 'expected object'],
    ['a null service', '{"s3": null}', 's3'],
    ['broken JSON', '{"s3": ', 'not JSON'],
    ['a file that does not exist', '/nonexistent/faults.json', 'cannot read'],
    ['a directory', ROOT, 'cannot read'],
  ])('refuses %s with a message naming the problem', (_what, source, fragment) => {
    expect(() => loadFaultConfig(source)).toThrow(FaultConfigError);
    expect(() => loadFaultConfig(source)).toThrow(fragment);
  });

  it('stops npm start with the problem before anything listens (flag and environment alike)', () => {
    const start = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['local/main.ts', '--in-memory', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', ...env },
        timeout: 20_000,
      });
    const flag = start(['--faults', '{"s3": {"rate": 2}}']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain('s3.rate');
    const env = start([], { PICTURA_LOCAL_FAULTS: '{"sqs": {"rate": 0.1, "kinds": {"SlowDown": 1}}}' });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain('sqs.kinds');
  });

  it('refuses invocation targets the stack has no function for, by path, and accepts names and logical names', () => {
    const known = [
      'Pictura-FunctionsThumbnailE290A21A',
      'thumbnail',
      'Pictura-FunctionsUpload1AEECC4B',
      'upload',
    ];
    const injector = (functions: string[]) =>
      new FaultInjector({ invocations: { rate: 0.1, functions } }, { consumers: [], functions: known });
    expect(() => injector(['thumbnail', 'Pictura-FunctionsUpload1AEECC4B'])).not.toThrow();
    expect(() => injector(['thumbnail', 'nope'])).toThrow(FaultConfigError);
    expect(() => injector(['thumbnail', 'nope'])).toThrow(
      'invocations.functions[1]: "nope" is not a function',
    );
    expect(() => injector(['Thumbnail'])).toThrow('invocations.functions[0]');
    // Without the stack's names (unit tests of the runtime), nothing is checked.
    expect(
      () => new FaultInjector({ invocations: { rate: 0.1, functions: ['nope'] } }, { consumers: [] }),
    ).not.toThrow();
  });

  it('stops npm start with exit 2 when invocations name a function the template does not have', () => {
    const started = spawnSync(
      process.execPath,
      ['local/main.ts', '--in-memory', '--aws-port', '0', '--api-port', '0', '--cdn-port', '0'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          PICTURA_LOCAL_FAULTS: '{"invocations": {"rate": 0.1, "functions": ["thumbnail", "nope"]}}',
        },
        timeout: 60_000,
      },
    );
    expect(started.status).toBe(2);
    expect(started.stderr).toContain('invocations.functions[1]: "nope" is not a function of the stack');
    expect(started.stderr).not.toContain('functions[0]');
    expect(started.stdout).not.toContain('ready in');
  });

  it('refuses an oversized configuration before parsing it', () => {
    const huge = `{"seed": 1, "pad": "${'x'.repeat(70_000)}"}`;
    expect(() => loadFaultConfig(huge)).toThrow('larger than');
  });
});

describe('seeded randomness', () => {
  it('repeats its decisions for the same seed, and differs for another', () => {
    const draw = (seed: number) =>
      Array.from({ length: 20 }, () => new SeededRandom(seed)).map((r, i) => {
        for (let k = 0; k < i; k += 1) r.next();
        return r.next();
      });
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('never fires at rate 0, always at rate 1, and about as often as asked between', () => {
    const random = new SeededRandom(7);
    const hits = (rate: number) =>
      Array.from({ length: 10_000 }, () => random.chance(rate)).filter(Boolean).length;
    expect(hits(0)).toBe(0);
    expect(hits(1)).toBe(10_000);
    expect(hits(0.1)).toBeGreaterThan(850);
    expect(hits(0.1)).toBeLessThan(1150);
  });

  it('never picks a kind that weighs 0', () => {
    const random = new SeededRandom(1);
    const picks = new Set(Array.from({ length: 1000 }, () => random.pick({ a: 0, b: 1, c: 3 })));
    expect(picks).toEqual(new Set(['b', 'c']));
  });
});

describe('per-operation rules', () => {
  /** The kinds and delays of `calls` faults the injector gives `operation` under `config`. */
  const faults = (config: FaultConfig, service: 's3' | 'sqs', operation: string, calls = 200) => {
    const injector = new FaultInjector({ seed: 5, ...config }, { consumers: [] });
    return Array.from({ length: calls }, () => injector.edgeFault(service, operation)).filter(
      (f) => f !== undefined,
    );
  };

  it('inherit kinds and delayMs from their service unless they set their own', () => {
    const inherited = faults(
      { s3: { rate: 0, kinds: { InternalError: 1 }, operations: { DeleteObject: { rate: 1 } } } },
      's3',
      'DeleteObject',
    );
    expect(inherited).toHaveLength(200);
    expect(new Set(inherited.map((f) => f.kind))).toEqual(new Set(['InternalError']));

    const delays = faults(
      { sqs: { rate: 0, kinds: { delay: 1 }, delayMs: [5, 9], operations: { SendMessage: { rate: 1 } } } },
      'sqs',
      'SendMessage',
    );
    expect(delays.every((f) => f.kind === 'delay' && f.delayMs >= 5 && f.delayMs <= 9)).toBe(true);

    const own = faults(
      {
        sqs: {
          rate: 0,
          kinds: { InternalError: 1 },
          delayMs: [5, 9],
          operations: { SendMessage: { rate: 1, kinds: { delay: 1 }, delayMs: [20, 30] } },
        },
      },
      'sqs',
      'SendMessage',
    );
    expect(own.every((f) => f.kind === 'delay' && f.delayMs >= 20 && f.delayMs <= 30)).toBe(true);
  });

  it('take their own rate (0 exempts the operation), and other operations keep the service rule', () => {
    const config: FaultConfig = {
      s3: { rate: 1, kinds: { SlowDown: 1 }, operations: { GetObject: { rate: 0 } } },
    };
    expect(faults(config, 's3', 'GetObject')).toEqual([]);
    expect(new Set(faults(config, 's3', 'PutObject').map((f) => f.kind))).toEqual(new Set(['SlowDown']));
  });

  it('without kinds anywhere pick among all of the service’s kinds', () => {
    const kinds = faults({ s3: { rate: 0, operations: { PutObject: { rate: 1 } } } }, 's3', 'PutObject');
    expect(new Set(kinds.map((f) => f.kind))).toEqual(new Set(['SlowDown', 'InternalError', 'delay']));
  });
});

// The injected answers as the SDK sees them: the error it throws, and how its retry strategy classifies it
// (@smithy/core/retry: THROTTLING before TRANSIENT, as getRetryErrorType orders them).
describe('edge faults, through the AWS SDK', () => {
  let endpoint: AwsEndpoint;
  let injector: FaultInjector | undefined;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const own = { accessKeyId: LOCAL_CLOUD_ACCESS_KEY_ID, secretAccessKey: 'test' };
  let queueUrl = '';

  const clients = (keys = credentials, maxAttempts = 1) => {
    const common = { region, endpoint: endpoint.url, credentials: keys, maxAttempts };
    return {
      s3: new S3Client({ ...common, forcePathStyle: true }),
      sqs: new SQSClient(common),
      dynamo: new DynamoDBClient(common),
    };
  };
  const inject = (config: FaultConfig) => {
    injector = new FaultInjector(config, { consumers: [] });
    endpoint.intercept(faultInterceptor(injector));
    return injector;
  };
  const classify = (error: unknown) => {
    const e = error as Parameters<typeof isThrottlingError>[0];
    if (isThrottlingError(e)) return 'THROTTLING';
    return isTransientError(e) ? 'TRANSIENT' : 'NOT RETRIED';
  };
  const failure = async (work: Promise<unknown>) => {
    const error = (await work.then(
      () => undefined,
      (e: unknown) => e,
    )) as { name: string; $metadata: { httpStatusCode?: number; attempts?: number } } | undefined;
    if (!error) throw new Error('the call succeeded');
    return { name: error.name, status: error.$metadata.httpStatusCode, type: classify(error), error };
  };

  beforeAll(async () => {
    endpoint = await startAwsEndpoint({ port: 0 });
    endpoint.addRoute((req, res) => faultsStatusRoute(injector)(req, res));
    const { s3, sqs, dynamo } = clients(own);
    await s3.send(new CreateBucketCommand({ Bucket: 'faults' }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'faults' }))).QueueUrl ?? '';
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'faults',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  afterAll(() => endpoint?.close());

  const putObject = () =>
    clients().s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'a.txt', Body: 'a' }));
  const putItem = () =>
    clients().dynamo.send(new PutItemCommand({ TableName: 'faults', Item: { pk: { S: 'a' } } }));
  const sendMessage = () =>
    clients().sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'a' }));

  it.each([
    ['s3', 'SlowDown', 'SlowDown', 503, 'THROTTLING', putObject],
    ['s3', 'InternalError', 'InternalError', 500, 'TRANSIENT', putObject],
    [
      'dynamodb',
      'ProvisionedThroughputExceededException',
      'ProvisionedThroughputExceededException',
      400,
      'THROTTLING',
      putItem,
    ],
    ['dynamodb', 'ThrottlingException', 'ThrottlingException', 400, 'THROTTLING', putItem],
    ['dynamodb', 'InternalServerError', 'InternalServerError', 500, 'TRANSIENT', putItem],
    ['sqs', 'RequestThrottled', 'RequestThrottled', 403, 'THROTTLING', sendMessage],
    ['sqs', 'ThrottlingException', 'ThrottlingException', 400, 'THROTTLING', sendMessage],
    ['sqs', 'InternalError', 'InternalFailure', 500, 'TRANSIENT', sendMessage],
  ] as const)(
    '%s %s reaches the SDK as %s (%i), retried as %s',
    async (service, kind, name, status, type, call) => {
      inject({ [service]: { rate: 1, kinds: { [kind]: 1 } } });
      const seen = await failure(call());
      expect({ name: seen.name, status: seen.status, type: seen.type }).toEqual({ name, status, type });
      expect(injector?.snapshot().injected).toEqual({ [`${service}.${kind}`]: 1 });
    },
  );

  it('answers HEAD without a body, which the SDK still retries (by its 503 status, as on AWS)', async () => {
    inject({ s3: { rate: 1, kinds: { SlowDown: 1 } } });
    const seen = await failure(clients().s3.send(new HeadObjectCommand({ Bucket: 'faults', Key: 'a.txt' })));
    expect(seen.status).toBe(503);
    expect(seen.type).not.toBe('NOT RETRIED');
  });

  it('is retried by the SDK with its default strategy until its attempts run out', async () => {
    inject({ dynamodb: { rate: 1, kinds: { ThrottlingException: 1 } } });
    const { dynamo } = clients(credentials, 3);
    const seen = await failure(
      dynamo.send(new PutItemCommand({ TableName: 'faults', Item: { pk: { S: 'b' } } })),
    );
    expect(seen.error.$metadata.attempts).toBe(3);
    expect(injector?.snapshot().injected['dynamodb.ThrottlingException']).toBe(3);
  });

  it('spares operations whose own rule says rate 0, and the local cloud’s own calls', async () => {
    inject({ s3: { rate: 1, operations: { PutObject: { rate: 0 } } }, sqs: { rate: 1 } });
    await expect(putObject()).resolves.toBeDefined();
    await expect(
      clients(own).sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl })),
    ).resolves.toBeDefined();
    expect(injector?.snapshot().total).toBe(0);
  });

  it('delays a call by the configured time, then forwards it', async () => {
    inject({ sqs: { rate: 1, kinds: { delay: 1 }, delayMs: [400, 400] } });
    const started = performance.now();
    await expect(sendMessage()).resolves.toHaveProperty('MessageId');
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    expect(injector?.snapshot().injected).toEqual({ 'sqs.delay': 1 });
  });

  it('answers SQS query-protocol calls in the query XML error format, the body still reaching SQS when not faulted', async () => {
    inject({ sqs: { rate: 0, operations: { SendMessage: { rate: 1, kinds: { RequestThrottled: 1 } } } } });
    const form = (action: string) =>
      fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: new URLSearchParams({
          Action: action,
          QueueUrl: queueUrl,
          MessageBody: 'q',
          Version: '2012-11-05',
        }),
      });
    const throttled = await form('SendMessage');
    expect(throttled.status).toBe(403);
    const xml = await throttled.text();
    expect(xml).toMatch(/<ErrorResponse[^>]*><Error><Type>Sender<\/Type><Code>RequestThrottled<\/Code>/);
    const passed = await form('GetQueueUrl');
    expect(passed.status).not.toBe(403);
    expect(injector?.snapshot().injected).toEqual({ 'sqs.RequestThrottled': 1 });
  });

  it('serves its counters at GET /_pictura/faults', async () => {
    const counters = inject({ seed: 5, s3: { rate: 1, kinds: { InternalError: 1 } } });
    await failure(putObject());
    const response = await fetch(`${endpoint.url}/_pictura/faults`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      enabled: true,
      seed: 5,
      seen: { s3: 1 },
      injected: { 's3.InternalError': 1 },
      total: 1,
    });
    expect(counters.snapshot().total).toBe(1);
    expect((await fetch(`${endpoint.url}/_pictura/faults`, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('invocation faults', () => {
  const fn = localFunction({ name: 'consumer', entry: 'test/unit/local/fixtures/stateful-handler.ts' });
  const other = localFunction({ name: 'api', entry: 'test/unit/local/fixtures/stateful-handler.ts' });
  /** Children of this process that are stopped (SIGSTOP), from ps. */
  const frozenChildren = () =>
    execFileSync('ps', ['--ppid', String(process.pid), '-o', 'stat='], { encoding: 'utf8' })
      .split('\n')
      .filter((stat) => stat.trim().startsWith('T')).length;
  const run = async (config: FaultConfig, name = 'consumer', event: unknown = { sleepMs: 1500 }) => {
    const injector = new FaultInjector(config, { consumers: ['consumer'] });
    const runtime = startFixtureRuntime([fn, other], { faults: injector });
    try {
      const result = await runtime.invoke(name, event);
      // A timed-out instance is discarded at once (killed even though it was frozen), as Lambda does.
      await expect.poll(frozenChildren, { timeout: 2000 }).toBe(0);
      return { result, injected: injector.snapshot().injected };
    } finally {
      await runtime.close(100);
    }
  };

  it('crashes the instance at the start: Runtime.ExitError', async () => {
    const { result, injected } = await run({ invocations: { rate: 1, kinds: { crash: 1 } } });
    expect(result.functionError).toBe('Unhandled');
    expect(result.error?.errorType).toBe('Runtime.ExitError');
    expect(injected).toEqual({ 'invocations.crash': 1 });
  });

  it('kills the instance part-way through its work', async () => {
    const { result, injected } = await run({ invocations: { rate: 1, kinds: { partial: 1 } } });
    expect(result.error?.errorType).toBe('Runtime.ExitError');
    expect(result.report.durationMs).toBeLessThan(1500);
    expect(injected).toEqual({ 'invocations.partial': 1 });
  });

  it('freezes the instance and answers a timeout after hangMs', async () => {
    const started = performance.now();
    const { result, injected } = await run({ invocations: { rate: 1, kinds: { timeout: 1 }, hangMs: 1200 } });
    expect(result.error?.errorType).toBe('Sandbox.Timedout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(1150);
    expect(injected).toEqual({ 'invocations.timeout': 1 });
  });

  it('leaves functions that are not SQS consumers alone unless named', async () => {
    const spared = await run({ invocations: { rate: 1 } }, 'api', {});
    expect(spared.result.functionError).toBeUndefined();
    const named = await run({ invocations: { rate: 1, kinds: { crash: 1 }, functions: ['api'] } }, 'api', {});
    expect(named.result.error?.errorType).toBe('Runtime.ExitError');
  });
});

describe('notification faults', () => {
  const deliver = async (config: FaultConfig, count: number) => {
    const injector = new FaultInjector(config, { consumers: [] });
    const sent: number[] = [];
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        new Promise((r) => setTimeout(r, i * 50)).then(() =>
          injector.deliverNotification(async () => void sent.push(i)),
        ),
      ),
    );
    return { sent, injected: injector.snapshot().injected };
  };

  it('sends a duplicated notification twice', async () => {
    expect(await deliver({ notifications: { rate: 1, kinds: { duplicate: 1 } } }, 1)).toEqual({
      sent: [0, 0],
      injected: { 'notifications.duplicate': 1 },
    });
  });

  it('sends a reordered notification after the next one', async () => {
    const { sent } = await deliver(
      { notifications: { rate: 0.5, kinds: { reorder: 1 }, delayMs: [0, 2000] }, seed: 3 },
      6,
    );
    expect(sent).toHaveLength(6);
    expect(sent).not.toEqual([...sent].sort((a, b) => a - b));
  });

  it('holds a delayed notification for the configured time', async () => {
    const started = performance.now();
    await deliver({ notifications: { rate: 1, kinds: { delay: 1 }, delayMs: [300, 300] } }, 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('duplicate deliveries', () => {
  it('hands a message to two invocations and deletes it once', async () => {
    const endpoint = await startAwsEndpoint({ port: 0 });
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: endpoint.url,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'dupes' }));
    const seen: string[] = [];
    const fn = localFunction({ name: 'consumer', entry: 'test/unit/local/fixtures/stateful-handler.ts' });
    const injector = new FaultInjector({ deliveries: { rate: 1 } }, { consumers: ['consumer'] });
    const runtime = startFixtureRuntime([fn], {
      onInvoke: (_name, event) =>
        seen.push(...(event as { Records: Array<{ messageId: string }> }).Records.map((r) => r.messageId)),
    });
    const poller = new SqsPoller({
      mapping: {
        functionName: 'consumer',
        queueArn: 'arn:aws:sqs:us-east-1:000000000000:dupes',
        batchSize: 1,
        maxBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
        enabled: true,
      },
      queueUrl: QueueUrl,
      region: 'us-east-1',
      sqs,
      runtime,
      concurrency: 1,
      log: () => {},
      faults: injector,
    });
    try {
      const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{}' }));
      poller.start();
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
      expect(seen).toEqual([MessageId, MessageId]);
      await expect.poll(() => queueDepth(sqs, QueueUrl), { timeout: 10_000 }).toBe(0);
      expect(injector.snapshot().injected).toEqual({ 'deliveries.duplicate': 1 });
    } finally {
      await poller.stop();
      await runtime.close(1000);
      await endpoint.close();
    }
  });
});
