import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALARM_THRESHOLDS } from '#infra/constructs/observability.ts';
import { FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import { functionNamed, type Json, resourcesOfType, type Synthesized, single, synthesize } from './synth.ts';

/**
 * Issue 14 in the template: X-Ray active tracing on every function, one CloudWatch dashboard for the
 * pipeline, and the alarms on queue age, API 5xx rate and upload→ready p95 (beside the DLQ-depth and
 * consumer-error alarms), each to the alarm topic with its threshold explained in the construct.
 */
let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

const alarms = (): [string, Json][] => resourcesOfType(aws.json, 'AWS::CloudWatch::Alarm');
const alarmNamed = (prefix: string): Json => {
  const found = alarms().filter(([id]) => id.startsWith(`Observability${prefix}`));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]?.[1].Properties;
};
const topicRef = (): Json => ({ Ref: single(aws.json, 'AWS::SNS::Topic')[0] });

describe('tracing', () => {
  it('is active on every function, the benchmark baselines included', () => {
    for (const name of FUNCTION_NAMES) {
      expect(functionNamed(aws.json, name)[1].Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    for (const [, fn] of resourcesOfType(aws.json, 'AWS::Lambda::Function')) {
      if (fn.Metadata?.['pictura:name'] === undefined) continue; // CDK's own helper functions
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('is on for the API stage, so the API request starts the trace its function joins', () => {
    const [, stage] = single(aws.json, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.TracingEnabled).toBe(true);
  });
});

/** The dashboard body as JSON, each CloudFormation reference rendered as `{logicalId}`. */
function dashboardBody(): Json {
  const [, dashboard] = single(aws.json, 'AWS::CloudWatch::Dashboard');
  const parts: Json[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
  const text = parts
    .map((part) =>
      typeof part === 'string' ? part : `{${part.Ref ?? part['Fn::GetAtt']?.[0] ?? JSON.stringify(part)}}`,
    )
    .join('');
  return JSON.parse(text);
}

/** Every metric line of the dashboard's graphs: `[namespace, name, ...dimensions, options]` or an expression. */
type Line = { namespace?: string; name?: string; dimensions: string[]; stat?: string; expression?: string };
function graphLines(title: RegExp): Line[] {
  const widgets: Json[] = dashboardBody().widgets.filter(
    (w: Json) => w.type === 'metric' && title.test(w.properties.title),
  );
  expect(widgets.length, `no graph titled ${title}`).toBeGreaterThan(0);
  return widgets.flatMap((w: Json) =>
    w.properties.metrics.map((line: Json[]) => {
      const options = (typeof line.at(-1) === 'object' ? line.at(-1) : {}) as Json;
      if (options.expression) return { dimensions: [], expression: options.expression };
      const [namespace, name, ...rest] = line.filter((x) => typeof x === 'string') as string[];
      return { namespace, name, dimensions: rest, stat: options.stat ?? 'Average' };
    }),
  );
}

describe('the dashboard', () => {
  it('graphs each queue’s depth and age of oldest message, and each DLQ’s depth', () => {
    const queueIds = (pattern: RegExp) =>
      resourcesOfType(aws.json, 'AWS::SQS::Queue')
        .map(([id]) => `{${id}}`)
        .filter((id) => pattern.test(id));
    const queuesOf = (lines: Line[], name: string) =>
      lines.filter((l) => l.namespace === 'AWS/SQS' && l.name === name).map((l) => l.dimensions[1]);
    expect(queuesOf(graphLines(/^Queue depth/), 'ApproximateNumberOfMessagesVisible').sort()).toEqual(
      queueIds(/Queue[0-9A-F]{8}}$/).sort(),
    );
    expect(queuesOf(graphLines(/^Age of oldest/), 'ApproximateAgeOfOldestMessage').sort()).toEqual(
      queueIds(/Queue[0-9A-F]{8}}$/).sort(),
    );
    expect(queuesOf(graphLines(/^DLQ depth/), 'ApproximateNumberOfMessagesVisible').sort()).toEqual(
      queueIds(/Dlq[0-9A-F]{8}}$/).sort(),
    );
    expect(queueIds(/./)).toHaveLength(6);
  });

  it('graphs errors, throttles and durations of all seven functions', () => {
    const functions = FUNCTION_NAMES.map((name) => `{${functionNamed(aws.json, name)[0]}}`).sort();
    for (const [title, metric] of [
      [/^Function errors/, 'Errors'],
      [/^Function throttles/, 'Throttles'],
      [/^Function duration/, 'Duration'],
    ] as const) {
      const lines = graphLines(title).filter((l) => l.namespace === 'AWS/Lambda' && l.name === metric);
      expect(lines.map((l) => l.dimensions[1]).sort()).toEqual(functions);
    }
  });

  it('graphs every custom metric, upload→ready at p50 and p95, and never an image id', () => {
    const lines = dashboardBody().widgets.flatMap((w: Json) =>
      w.type === 'metric' ? graphLines(new RegExp(`^${literal(w.properties.title)}$`)) : [],
    ) as Line[];
    const named = (name: string) =>
      lines.filter(
        (l) => (l.namespace === 'Pictura' && l.name === name) || l.expression?.includes(`"${name}"`),
      );
    for (const metric of [
      'UploadsAccepted',
      'ImagesReady',
      'ImagesRejected',
      'UploadToReady',
      'RenderTime',
      'ImageRenderTime',
      'BytesIn',
      'BytesOut',
      'MessagesParked',
      'PurgeTime',
      'ColdStart',
    ]) {
      expect(named(metric).length, metric).toBeGreaterThan(0);
    }
    expect(named('UploadToReady').map((l) => [l.dimensions, l.stat])).toEqual([
      [['service', 'pictura'], 'p50'],
      [['service', 'pictura'], 'p95'],
    ]);
    expect(JSON.stringify(dashboardBody().widgets.filter((w: Json) => w.type === 'metric'))).not.toContain(
      'imageId',
    );
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('the alarms', () => {
  it('alarm on the age of the oldest message of each queue: 10 minutes, the purge queue 90 minutes', () => {
    expect(ALARM_THRESHOLDS.ageOfOldestMessageSeconds).toBe(600);
    expect(ALARM_THRESHOLDS.purgeAgeOfOldestMessageSeconds).toBe(5_400);
    for (const [stage, seconds] of [
      ['Ingest', 600],
      ['Render', 600],
      ['Purge', 5_400],
    ] as const) {
      const alarm = alarmNamed(`${stage}QueueAge`);
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Statistic: 'Maximum',
        Period: 60,
        Threshold: seconds,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      const queue = alarm.Dimensions[0].Value['Fn::GetAtt'][0];
      expect(queue).toMatch(new RegExp(`^Pipeline${stage}Queue`));
    }
  });

  it('alarm on the API 5xx rate over 5% (the Average of 5XXError) on the deployed stage', () => {
    const alarm = alarmNamed('Api5xxRate');
    expect(alarm).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Period: 60,
      Threshold: 0.05,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    expect(alarm.Dimensions.map((d: Json) => d.Name).sort()).toEqual(['ApiName', 'Stage']);
  });

  it('alarm on upload→ready p95 over 60 s for three 5-minute periods', () => {
    expect(alarmNamed('UploadToReadyP95')).toMatchObject({
      Namespace: 'Pictura',
      MetricName: 'UploadToReady',
      ExtendedStatistic: 'p95',
      Dimensions: [{ Name: 'service', Value: 'pictura' }],
      Period: 300,
      Threshold: 60_000,
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it('all notify the alarm topic, beside the DLQ-depth and consumer-error alarms that stay', () => {
    const ids = alarms().map(([id]) => id);
    for (const kept of ['DlqDepth', 'ConsumerErrors']) {
      expect(ids.filter((id) => id.includes(kept))).toHaveLength(3);
    }
    for (const [id, alarm] of alarms()) {
      expect({ id, actions: alarm.Properties.AlarmActions }).toEqual({ id, actions: [topicRef()] });
    }
  });

  it('all show on the dashboard, in its alarm status widget: the pipeline alarms and the five new ones', () => {
    const widgets = dashboardBody().widgets.filter((w: Json) => w.type === 'alarm');
    expect(widgets).toHaveLength(1);
    // Each alarm is named by its ARN, a `Fn::GetAtt` rendered as `{logicalId}` (see dashboardBody).
    const shown = (widgets[0].properties.alarms as string[]).slice().sort();
    const all = alarms()
      .map(([id]) => `{${id}}`)
      .sort();
    expect(all).toHaveLength(11);
    expect(shown).toEqual(all);
  });

  it('each threshold is explained where it is set (a comment saying why that number)', () => {
    const source = readFileSync(new URL('../../infra/constructs/observability.ts', import.meta.url), 'utf8');
    for (const key of Object.keys(ALARM_THRESHOLDS)) {
      const explained = new RegExp(`/\\*\\*(?:(?!\\*/)[\\s\\S]){200,}\\*/\\s*${key}:`);
      expect(source, `${key} has no explanation of at least a few sentences`).toMatch(explained);
    }
  });
});
