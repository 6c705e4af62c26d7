import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { EventType, type IBucket } from 'aws-cdk-lib/aws-s3';
import { SqsDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ORIGINALS_PREFIX } from './storage.ts';

/** The three work queues of the pipeline. */
export type Stage = 'ingest' | 'render' | 'purge';
export const STAGES: readonly Stage[] = ['ingest', 'render', 'purge'];

/**
 * How each stage is consumed. SQS hides a message for the visibility timeout once a consumer takes it.
 * AWS advises at least six times the function's timeout, plus the batching window, so that a batch Lambda
 * retries after a throttle is not handed to a second consumer meanwhile.
 */
export interface StageSettings {
  /** Timeout of the function that consumes the stage; the queue's visibility is sized from it. */
  consumerTimeout: Duration;
  batchSize: number;
  maxBatchingWindow: Duration;
  /** Receives before a message is moved to the stage's DLQ. */
  maxReceiveCount: number;
  /** Most concurrent invocations the event source starts (2 at least); unlimited when absent. */
  maxConcurrency?: number;
}

export const VISIBILITY_TIMEOUT_FACTOR = 6;

export interface PipelineProps {
  bucket: IBucket;
  stages: Record<Stage, StageSettings>;
  /** E-mail address subscribed to the alarm topic, if any. */
  alarmEmail: string | undefined;
}

/**
 * The asynchronous half of Pictura: S3 `ObjectCreated` under `originals/` → `ingest` → metadata →
 * `render` → thumbnail; delete → `purge` → purge. Every queue has a DLQ, every consumer
 * reports partial batch failures, and a message in a DLQ or a crashing consumer raises an alarm.
 *
 * The queues are created first (the functions need their URLs); the consumers are attached with
 * {@link Pipeline.attachConsumers} once the functions exist.
 */
export class Pipeline extends Construct {
  readonly queues: Record<Stage, Queue>;
  readonly deadLetterQueues: Record<Stage, Queue>;
  /** Every alarm of the pipeline notifies this topic; subscribe a pager, chat or e-mail to it. */
  readonly alarmTopic: Topic;
  /** The action every alarm takes: notify {@link alarmTopic} (infra/constructs/observability.ts uses it too). */
  readonly alarmAction: SnsAction;
  /** Its alarms (DLQ depth, consumer errors), for the dashboard's alarm status widget (observability.ts). */
  readonly alarms: Alarm[] = [];
  private readonly stages: Record<Stage, StageSettings>;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.stages = props.stages;
    // enforceSSL: the topic policy denies sns:Publish over plain HTTP (aws:SecureTransport false).
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Pictura alarms', enforceSSL: true });
    if (props.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    }
    this.alarmAction = new SnsAction(this.alarmTopic);
    const queues: Partial<Record<Stage, Queue>> = {};
    const deadLetterQueues: Partial<Record<Stage, Queue>> = {};
    for (const stage of STAGES) {
      const settings = props.stages[stage];
      const dlq = new Queue(this, `${capitalise(stage)}Dlq`, {
        // The longest SQS allows: two weeks to notice the alarm, fix the cause and redrive.
        retentionPeriod: Duration.days(14),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      queues[stage] = new Queue(this, `${capitalise(stage)}Queue`, {
        visibilityTimeout: visibilityTimeoutFor(settings),
        retentionPeriod: Duration.days(4),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: settings.maxReceiveCount },
      });
      deadLetterQueues[stage] = dlq;
      this.alarmOnDepth(stage, dlq);
    }
    this.queues = queues as Record<Stage, Queue>;
    this.deadLetterQueues = deadLetterQueues as Record<Stage, Queue>;

    // Every new original, whichever way it arrived (presigned POST, the upload function, a multipart
    // upload), is announced to ingest. The prefix keeps variants written by the pipeline from looping back.
    props.bucket.addEventNotification(EventType.OBJECT_CREATED, new SqsDestination(this.queues.ingest), {
      prefix: ORIGINALS_PREFIX,
    });
    suppressNotificationHelperFindings(Stack.of(this));
  }

  /** Connects each stage to the function that consumes it, and alarms when that function errors. */
  attachConsumers(consumers: Record<Stage, LambdaFunction>): void {
    for (const stage of STAGES) {
      const consumer = consumers[stage];
      const settings = this.stages[stage];
      const timeout = consumer.timeout ?? Duration.seconds(3);
      if (timeout.toSeconds() !== settings.consumerTimeout.toSeconds()) {
        throw new Error(
          `The ${stage} consumer's timeout (${timeout.toSeconds()} s) differs from the one the queue was ` +
            `sized for (${settings.consumerTimeout.toSeconds()} s)`,
        );
      }
      // What the consumer needs to back a failed record off and to know its last receive
      // (shared/queue/consumer.ts). ChangeMessageVisibility is granted by the event source, with the rest of
      // the consume actions.
      for (const [name, value] of Object.entries(consumerEnvironment(settings))) {
        consumer.addEnvironment(name, value);
      }
      consumer.addEnvironment('SOURCE_QUEUE_URL', this.queues[stage].queueUrl);
      consumer.addEventSource(
        new SqsEventSource(this.queues[stage], {
          batchSize: settings.batchSize,
          maxBatchingWindow: settings.maxBatchingWindow,
          ...(settings.maxConcurrency !== undefined ? { maxConcurrency: settings.maxConcurrency } : {}),
          // A failed record is retried on its own; the rest of the batch is deleted.
          reportBatchItemFailures: true,
        }),
      );
      // Errors counts invocations that threw or timed out, not records reported as failed: a crash, an
      // out-of-memory or a timeout is always worth a look, and the DLQ alarm covers failing records.
      const alarm = new Alarm(this, `${capitalise(stage)}ConsumerErrors`, {
        alarmDescription: `The ${stage} consumer crashed or timed out`,
        metric: consumer.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(this.alarmAction);
      this.alarms.push(alarm);
    }
  }

  private alarmOnDepth(stage: Stage, dlq: Queue): void {
    const alarm = new Alarm(this, `${capitalise(stage)}DlqDepth`, {
      alarmDescription: `Messages are waiting in the ${stage} dead-letter queue`,
      metric: dlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.alarmAction);
    this.alarms.push(alarm);
  }
}

/**
 * CDK writes the bucket's notification configuration with a singleton helper function (a custom resource
 * at the stack's root, `BucketNotificationsHandler<hash>`) whose role uses the AWS-managed
 * AWSLambdaBasicExecutionRole (cdk-nag IAM4). CDK offers no way to give it another role; it runs only
 * during deploys, and its one other permission is s3:PutBucketNotification on this bucket.
 */
function suppressNotificationHelperFindings(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
    NagSuppressions.addResourceSuppressions(
      child,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            "CDK's bucket-notification helper (a deploy-time custom resource CDK creates, with no option to " +
            'pass a role) uses the AWS-managed AWSLambdaBasicExecutionRole for its own logs; its only other ' +
            'permission is s3:PutBucketNotification on the Pictura bucket.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
          ],
        },
      ],
      true,
    );
  }
}

/**
 * How a stage's consumer backs off a record that failed (shared/queue/backoff.ts): its visibility timeout
 * becomes `base × 2^(receiveCount − 1)` (with jitter), at most `max`.
 *
 * - base = the consumer's timeout: the first retry comes no sooner than one more attempt could take, and
 *   sooner than the queue's own visibility (six timeouts), which Lambda sizes for throttled invocations,
 *   not for a record the function already reported failed.
 * - max = the queue's visibility timeout (far under SQS's 12 h): a message still gives up within
 *   `maxReceiveCount × visibility timeout`, the bound the redrive policy states and the sweeper's deadlines
 *   are sized against, while the first retries come sooner and later ones spread out. Ingest reaches its
 *   DLQ after at most 13 min (60 + 120 + 240 + 360 s), render 6 min (120 + 240 s), purge 53 min
 *   (30 + 60 + 120 + 16 × 185 s).
 */
export function consumerEnvironment(settings: StageSettings): Record<string, string> {
  const base = settings.consumerTimeout.toSeconds();
  const max = Math.min(visibilityTimeoutFor(settings).toSeconds(), 43_200 - 900);
  return {
    MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
    RETRY_BACKOFF_BASE_SECONDS: String(base),
    RETRY_BACKOFF_MAX_SECONDS: String(max),
  };
}

/** Six times the consumer's timeout plus the batching window, as AWS recommends for SQS event sources. */
export function visibilityTimeoutFor(settings: StageSettings): Duration {
  return Duration.seconds(
    settings.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR + settings.maxBatchingWindow.toSeconds(),
  );
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
