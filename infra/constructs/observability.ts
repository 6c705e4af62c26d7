import { Duration } from 'aws-cdk-lib';
import type { Stage as ApiStage, IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IAlarmAction,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, NAMESPACE, SERVICE } from '../../shared/observability/names.ts';
import type { FunctionName } from './pictura-function.ts';
import { STAGES, type Stage } from './pipeline.ts';

/**
 * The alarm thresholds, each with why that number. Evaluated on 1-minute (queues, API) or 5-minute
 * (latency) periods, and only on data: no uploads, no requests or an empty queue is never an alarm.
 */
export const ALARM_THRESHOLDS = {
  /**
   * Age of the oldest message in the ingest and render queues, seconds, 3 minutes in a row. An image is
   * normally ready seconds after its upload (bench/results/load.md: upload→ready p95 3.7 s under load), so
   * no healthy message is minutes old. One that is merely retrying gets there only after several failures
   * (its backoff starts at half the consumer's timeout and doubles: shared/queue/backoff.ts), when its
   * image has failed three times and the DLQ alarm (pipeline.ts) is close anyway. Ten minutes of age means
   * the consumer is throttled, its event source is off, it crashes on every batch, or a backlog outgrows it
   * — and a user has waited ten minutes for an image.
   */
  ageOfOldestMessageSeconds: 600,
  /**
   * The same for the purge queue: 90 minutes. Nobody waits on a purge, and bulk deletes queue up behind
   * CloudFront's invalidation limits on purpose (maxConcurrency 2). A failing purge retries for about 55
   * minutes (20 receives, backoff doubling from 15–30 s up to about 3 minutes) and then goes to its DLQ,
   * whose alarm fires; a message older than that plus half an hour is one nobody is consuming, or a bulk
   * delete far larger than the purge keeps up with.
   */
  purgeAgeOfOldestMessageSeconds: 5_400,
  /**
   * Share of API requests answered 5xx (API Gateway's `5XXError` with the Average statistic is that
   * rate), over 5 % for 3 minutes in a row: AWS's recommended alarm for a REST API stage
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Best_Practice_Recommended_Alarms_AWS_Services.html).
   * Pictura answers 5xx only for its own faults (a client's error is a 4xx problem), and a throttled
   * function (reserved concurrency, functions.ts) shows up here too.
   */
  api5xxRate: 0.05,
  /**
   * p95 of `UploadToReady`, milliseconds, over 5 minutes, three periods in a row. Measured from the
   * record's creation, so a presigned upload includes the client's own transfer (25 MiB at 10 Mbit/s is
   * 20 s); the pipeline itself takes seconds (p95 3.7 s under load on two cores). A p95 over a minute for
   * a quarter of an hour is the pipeline queueing or retrying, not slow clients.
   */
  uploadToReadyP95Ms: 60_000,
} as const;

export interface ObservabilityProps {
  functions: Record<FunctionName, IFunction>;
  queues: Record<Stage, IQueue>;
  deadLetterQueues: Record<Stage, IQueue>;
  restApi: IRestApi & { deploymentStage: ApiStage };
  /** Where every alarm goes: the pipeline's alarm topic. */
  alarmAction: IAlarmAction;
  /** The pipeline's own alarms (DLQ depth, consumer errors: pipeline.ts), shown beside these on the dashboard. */
  pipelineAlarms: readonly IAlarm[];
}

const MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** A Pictura custom metric (EMF, shared/observability/metrics.ts) with only the `service` dimension. */
export function picturaMetric(name: string, statistic: string, label?: string): Metric {
  return new Metric({
    namespace: NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE },
    statistic,
    period: FIVE_MINUTES,
    ...(label ? { label } : {}),
  });
}

/** Every series of a Pictura metric whatever its extra dimensions' values (`code`, `variant`, …). */
function picturaSearch(name: string, dimensions: string[], statistic: string, label: string): MathExpression {
  const schema = [NAMESPACE, 'service', ...dimensions].join(',');
  return new MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${name}"', '${statistic}', ${FIVE_MINUTES.toSeconds()})`,
    usingMetrics: {},
    label,
    period: FIVE_MINUTES,
  });
}

/**
 * One CloudWatch dashboard for the pipeline, and the alarms that go with it (beside the DLQ-depth and
 * consumer-error alarms of pipeline.ts), all to the alarm topic.
 */
export class Observability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly action: IAlarmAction;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.action = props.alarmAction;
    this.alarmOnQueueAge(props);
    this.alarmOnApi5xx(props);
    this.alarmOnUploadToReady();
    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new TextWidget({
            markdown:
              '# Pictura pipeline\nupload → ingest (metadata) → render (thumbnail) → ready; delete → purge. ' +
              'Custom metrics: namespace `Pictura` (README, "Observability"). One image: X-Ray filter ' +
              '`annotation.imageId = "<id>"`, or its `imageId` in the logs.',
            width: 24,
            height: 2,
          }),
        ],
        [
          new AlarmStatusWidget({
            title: 'Alarms',
            alarms: [...props.pipelineAlarms, ...this.alarms],
            width: 24,
            height: 4,
          }),
        ],
        this.pipelineRow(),
        this.queueRow(props),
        this.functionRow(props),
        this.workRow(),
        this.apiRow(props),
      ],
    });
  }

  private alarm(id: string, description: string, metric: IMetric, threshold: number, periods: number): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }

  private alarmOnQueueAge(props: ObservabilityProps): void {
    for (const stage of STAGES) {
      const seconds =
        stage === 'purge'
          ? ALARM_THRESHOLDS.purgeAgeOfOldestMessageSeconds
          : ALARM_THRESHOLDS.ageOfOldestMessageSeconds;
      this.alarm(
        `${capitalise(stage)}QueueAge`,
        `A message has waited over ${seconds / 60} minutes in the ${stage} queue (consumer stalled or overrun)`,
        props.queues[stage].metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: Stats.MAXIMUM }),
        seconds,
        3,
      );
    }
  }

  private alarmOnApi5xx(props: ObservabilityProps): void {
    this.alarm(
      'Api5xxRate',
      'Over 5% of API requests answered 5xx for 3 minutes',
      props.restApi.deploymentStage.metricServerError({ period: MINUTE, statistic: Stats.AVERAGE }),
      ALARM_THRESHOLDS.api5xxRate,
      3,
    );
  }

  private alarmOnUploadToReady(): void {
    this.alarm(
      'UploadToReadyP95',
      'Upload→ready p95 over 60 s for 15 minutes',
      picturaMetric(METRIC.uploadToReady, Stats.p(95)),
      ALARM_THRESHOLDS.uploadToReadyP95Ms,
      3,
    );
  }

  private pipelineRow(): GraphWidget[] {
    return [
      graph('Upload → ready (ms)', [
        picturaMetric(METRIC.uploadToReady, Stats.p(50), 'p50'),
        picturaMetric(METRIC.uploadToReady, Stats.p(95), 'p95'),
      ]),
      graph('Uploads accepted, images ready, rejected', [
        picturaSearch(METRIC.uploadsAccepted, ['mode'], 'Sum', 'accepted'),
        picturaMetric(METRIC.imagesReady, Stats.SUM, 'ready'),
        picturaSearch(METRIC.imagesRejected, ['code'], 'Sum', 'rejected'),
      ]),
      graph('Messages parked in DLQs, by queue and reason', [
        picturaSearch(METRIC.messagesParked, ['queue', 'reason'], 'Sum', 'parked'),
      ]),
    ];
  }

  private queueRow(props: ObservabilityProps): GraphWidget[] {
    const each = (pick: (queue: IQueue) => IMetric, queues: Record<Stage, IQueue>) =>
      STAGES.map((stage) => labelled(pick(queues[stage]), stage));
    return [
      graph(
        'Queue depth (visible messages)',
        each(
          (q) => q.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: Stats.MAXIMUM }),
          props.queues,
        ),
      ),
      graph(
        'Age of oldest message (s)',
        each(
          (q) => q.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: Stats.MAXIMUM }),
          props.queues,
        ),
      ),
      graph(
        'DLQ depth',
        each(
          (q) => q.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: Stats.MAXIMUM }),
          props.deadLetterQueues,
        ),
      ),
    ];
  }

  private functionRow(props: ObservabilityProps): GraphWidget[] {
    const fns = Object.entries(props.functions) as [FunctionName, IFunction][];
    return [
      graph(
        'Function errors',
        fns.map(([name, fn]) =>
          labelled(fn.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }), name),
        ),
        6,
      ),
      graph(
        'Function throttles',
        fns.map(([name, fn]) =>
          labelled(fn.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM }), name),
        ),
        6,
      ),
      graph(
        'Function duration p95 (ms)',
        fns.map(([name, fn]) =>
          labelled(fn.metricDuration({ period: FIVE_MINUTES, statistic: Stats.p(95) }), name),
        ),
        6,
      ),
      graph(
        'Cold starts (Powertools ColdStart)',
        [picturaSearch(METRIC.coldStart, ['function_name'], 'Sum', 'cold starts')],
        6,
      ),
    ];
  }

  private workRow(): GraphWidget[] {
    return [
      graph('Render time per variant p95 (ms)', [
        picturaSearch(METRIC.renderTime, ['variant'], 'p95', 'render'),
      ]),
      graph('Render time per image, purge time (ms)', [
        picturaMetric(METRIC.imageRenderTime, Stats.p(50), 'render p50'),
        picturaMetric(METRIC.imageRenderTime, Stats.p(95), 'render p95'),
        picturaMetric(METRIC.purgeTime, Stats.p(95), 'purge p95'),
      ]),
      graph('Bytes in (originals) and out (variants)', [
        picturaMetric(METRIC.bytesIn, Stats.SUM, 'in'),
        picturaMetric(METRIC.bytesOut, Stats.SUM, 'out'),
      ]),
    ];
  }

  private apiRow(props: ObservabilityProps): GraphWidget[] {
    const stage = props.restApi.deploymentStage;
    return [
      graph('API 5xx rate', [stage.metricServerError({ period: MINUTE, statistic: Stats.AVERAGE })]),
      graph('API requests and 4xx', [
        stage.metricCount({ period: MINUTE, statistic: Stats.SUM }),
        stage.metricClientError({ period: MINUTE, statistic: Stats.SUM }),
      ]),
      graph('API latency p95 (ms)', [stage.metricLatency({ period: MINUTE, statistic: Stats.p(95) })]),
    ];
  }
}

/** A graph; a dashboard row is 24 units wide (three graphs of 8, or four of 6). */
function graph(title: string, left: IMetric[], width = 8): GraphWidget {
  return new GraphWidget({ title, left, width, height: 6 });
}

function labelled(metric: IMetric, label: string): IMetric {
  return metric instanceof Metric ? metric.with({ label }) : metric;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
