import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  functionNamed,
  imagesBucket,
  type Json,
  resourcesOfType,
  type Synthesized,
  single,
  synthesize,
} from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

/** Logical id of the queue an intrinsic (`Ref` or `Fn::GetAtt`) points at. */
const target = (intrinsic: Json): string => intrinsic.Ref ?? intrinsic['Fn::GetAtt'][0];

/** The stage's queue: the one whose event source mapping feeds the named function. */
function mappingFor(functionName: string): { mapping: Json; queueId: string; fn: Json } {
  const [fnId, fn] = functionNamed(aws.json, functionName);
  const found = resourcesOfType(aws.json, 'AWS::Lambda::EventSourceMapping').find(
    ([, mapping]) => target(mapping.Properties.FunctionName) === fnId,
  );
  if (!found) throw new Error(`No event source for ${functionName}`);
  const [, mapping] = found;
  return { mapping, queueId: target(mapping.Properties.EventSourceArn), fn };
}

const CONSUMERS = [
  { stage: 'ingest', fn: 'metadata', batchSize: 5, window: 0, maxReceiveCount: 5 },
  { stage: 'render', fn: 'thumbnail', batchSize: 1, window: 0, maxReceiveCount: 3 },
  { stage: 'purge', fn: 'purge', batchSize: 10, window: 5, maxReceiveCount: 20 },
] as const;

describe('queues', () => {
  it('has three work queues and three DLQs, all encrypted and TLS-only', () => {
    const queues = resourcesOfType(aws.json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(6);
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    for (const [, policy] of resourcesOfType(aws.json, 'AWS::SQS::QueuePolicy')) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it.each(CONSUMERS)(
    '$stage redrives to its own DLQ after $maxReceiveCount receives; the DLQ keeps 14 days',
    ({ fn, maxReceiveCount }) => {
      const { queueId } = mappingFor(fn);
      const queue = aws.json.Resources[queueId];
      const redrive = queue.Properties.RedrivePolicy;
      expect(redrive.maxReceiveCount).toBe(maxReceiveCount);
      const dlq = aws.json.Resources[target(redrive.deadLetterTargetArn)];
      expect(dlq.Type).toBe('AWS::SQS::Queue');
      expect(dlq.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      expect(dlq.Properties.RedrivePolicy).toBeUndefined();
    },
  );

  it.each(CONSUMERS)('$stage: visibility timeout ≥ 6 × the $fn timeout + batching window', ({ fn }) => {
    const { mapping, queueId, fn: fnResource } = mappingFor(fn);
    const timeout: number = fnResource.Properties.Timeout;
    const window: number = mapping.Properties.MaximumBatchingWindowInSeconds ?? 0;
    const visibility: number = aws.json.Resources[queueId].Properties.VisibilityTimeout;
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout + window);
  });

  it('each consumer function is the DLQ sender of its own stage (DEAD_LETTER_QUEUE_URL)', () => {
    for (const { fn } of CONSUMERS) {
      const { queueId, fn: fnResource } = mappingFor(fn);
      const dlqId = target(aws.json.Resources[queueId].Properties.RedrivePolicy.deadLetterTargetArn);
      expect(fnResource.Properties.Environment.Variables.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: dlqId });
    }
  });
});

describe('event source mappings', () => {
  it.each(CONSUMERS)(
    '$fn consumes $stage in batches of $batchSize, window $window s, reporting item failures',
    ({ fn, batchSize, window }) => {
      const { mapping } = mappingFor(fn);
      expect(mapping.Properties).toMatchObject({
        BatchSize: batchSize,
        MaximumBatchingWindowInSeconds: window,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    },
  );

  it('runs at most two purge batches at once', () => {
    expect(mappingFor('purge').mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 2 });
  });

  it('caps every event source: ingest and render at 10 invocations at once (the API keeps its reserve)', () => {
    expect(mappingFor('metadata').mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    expect(mappingFor('thumbnail').mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: 10 });
    for (const [, mapping] of resourcesOfType(aws.json, 'AWS::Lambda::EventSourceMapping')) {
      expect(mapping.Properties.ScalingConfig?.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    }
  });

  it('wires metadata→render and delete→purge as producers', () => {
    const render = mappingFor('thumbnail').queueId;
    const purge = mappingFor('purge').queueId;
    expect(functionNamed(aws.json, 'metadata')[1].Properties.Environment.Variables.RENDER_QUEUE_URL).toEqual({
      Ref: render,
    });
    expect(functionNamed(aws.json, 'delete')[1].Properties.Environment.Variables.PURGE_QUEUE_URL).toEqual({
      Ref: purge,
    });
  });
});

describe('S3 notification', () => {
  it('sends ObjectCreated under originals/ to the ingest queue', () => {
    const ingest = mappingFor('metadata').queueId;
    const [bucketId] = imagesBucket(aws.json);
    aws.template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'originals/' }] } },
            QueueArn: { 'Fn::GetAtt': [ingest, 'Arn'] },
          },
        ],
      },
    });
  });

  it('lets only this bucket’s S3 events into the ingest queue', () => {
    const ingest = mappingFor('metadata').queueId;
    const [bucketId] = imagesBucket(aws.json);
    aws.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ingest }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } } },
          }),
        ]),
      },
    });
  });
});

describe('alarms', () => {
  const alarms = (): Json[] =>
    resourcesOfType(aws.json, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);

  it.each(CONSUMERS)('alarms as soon as a message lands in the $stage DLQ', ({ fn }) => {
    const { queueId } = mappingFor(fn);
    const dlqId = target(aws.json.Resources[queueId].Properties.RedrivePolicy.deadLetterTargetArn);
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it.each(CONSUMERS)('alarms when the $fn consumer errors', ({ fn }) => {
    const [fnId] = functionNamed(aws.json, fn);
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
  });

  it('notifies one SNS topic from every alarm', () => {
    const [topicId] = single(aws.json, 'AWS::SNS::Topic');
    // enforceSSL: publishing over plain HTTP is denied (cdk-nag SNS3).
    aws.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
    // Three DLQ-depth and three consumer-error alarms (this file), and five from the observability construct
    // (test/infra/observability.test.ts: three queue ages, the API 5xx rate, upload→ready p95).
    expect(alarms()).toHaveLength(11);
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});
