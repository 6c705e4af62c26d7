import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { MetricStore, percentile } from '#local/metrics/aggregator.ts';
import { MAX_DIMENSION_SETS, MAX_VALUES_PER_LINE, readEmf } from '#local/metrics/emf.ts';

// The EMF document shape and its rules: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
const T0 = Date.parse('2026-11-30T10:00:00.000Z');

/** A line as Powertools Metrics writes it (the contract's namespace and service dimension). */
function powertoolsLine(build: (m: Metrics) => void, at = T0): string {
  const metrics = new Metrics({ namespace: 'Pictura', serviceName: 'pictura' });
  build(metrics);
  const emf = metrics.serializeMetrics();
  emf._aws.Timestamp = at;
  return JSON.stringify(emf);
}

/** A hand-made EMF line: one directive, the given root members. */
function line(aws: unknown, members: Record<string, unknown> = {}): string {
  return JSON.stringify({ _aws: aws, ...members });
}

const directive = (
  metrics: unknown[] = [{ Name: 'ImagesReady', Unit: 'Count' }],
  dimensions: unknown = [['service']],
) => ({
  Timestamp: T0,
  CloudWatchMetrics: [{ Namespace: 'Pictura', Dimensions: dimensions, Metrics: metrics }],
});

describe('readEmf: the metrics in one line', () => {
  it('reads a Powertools line: namespace, metric, unit, the service dimension, the timestamp and the value', () => {
    const result = readEmf(
      powertoolsLine((m) => m.addMetric('UploadToReady', MetricUnit.Milliseconds, 1234)),
    );
    expect(result).toEqual({
      kind: 'metrics',
      data: [
        {
          namespace: 'Pictura',
          metricName: 'UploadToReady',
          unit: 'Milliseconds',
          dimensions: [{ Name: 'service', Value: 'pictura' }],
          timestamp: T0,
          values: [1234],
        },
      ],
    });
  });

  it('reads a dimension besides service (a Powertools single metric with mode)', () => {
    const result = readEmf(
      powertoolsLine((m) => {
        m.addDimension('mode', 'direct');
        m.addMetric('UploadsAccepted', MetricUnit.Count, 1);
      }),
    );
    expect(result.kind === 'metrics' && result.data[0]?.dimensions).toEqual([
      { Name: 'service', Value: 'pictura' },
      { Name: 'mode', Value: 'direct' },
    ]);
  });

  it('reads an array member as several values of one metric', () => {
    const result = readEmf(
      line(directive([{ Name: 'RenderTime', Unit: 'Milliseconds' }]), {
        service: 'x',
        RenderTime: [1, 2, 3],
      }),
    );
    expect(result.kind === 'metrics' && result.data[0]?.values).toEqual([1, 2, 3]);
  });

  it('names no unit as None (the specification default)', () => {
    const result = readEmf(line(directive([{ Name: 'Foo' }]), { service: 'x', Foo: 1 }));
    expect(result.kind === 'metrics' && result.data[0]?.unit).toBe('None');
  });

  it('publishes one metric per dimension set of a directive', () => {
    const result = readEmf(
      line(directive(undefined, [['service'], ['service', 'code'], []]), {
        service: 's',
        code: 'C',
        ImagesReady: 1,
      }),
    );
    expect(result.kind === 'metrics' && result.data.map((d) => d.dimensions.length)).toEqual([1, 2, 0]);
  });

  it.each([
    ['not JSON', '{"_aws": nope'],
    ['a plain message', 'START RequestId: 1 Version: $LATEST'],
    ['a JSON line without _aws', '{"message":"step","imageId":"abc"}'],
    ['a JSON array', '[{"_aws":{}}]'],
    ['JSON with text around it', 'INFO {"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}'],
  ])('ignores %s (not an EMF document)', (_what, text) => {
    expect(readEmf(text)).toEqual({ kind: 'none' });
  });

  it.each([
    ['_aws not an object', line('x')],
    ['no Timestamp', line({ CloudWatchMetrics: [] })],
    ['a Timestamp that is a string', line({ Timestamp: '2026-11-30', CloudWatchMetrics: [] })],
    ['CloudWatchMetrics not an array', line({ Timestamp: T0, CloudWatchMetrics: {} })],
    ['a directive that is not an object', line({ Timestamp: T0, CloudWatchMetrics: [1] })],
    [
      'an empty Namespace',
      line({ Timestamp: T0, CloudWatchMetrics: [{ Namespace: '', Dimensions: [], Metrics: [] }] }),
    ],
    [
      'a Namespace over 255 characters',
      line({
        Timestamp: T0,
        CloudWatchMetrics: [{ Namespace: 'N'.repeat(256), Dimensions: [], Metrics: [] }],
      }),
    ],
    [
      'a wrong unit',
      line(directive([{ Name: 'ImagesReady', Unit: 'Fortnights' }]), { service: 'x', ImagesReady: 1 }),
    ],
    [
      'a unit of the wrong case',
      line(directive([{ Name: 'ImagesReady', Unit: 'milliseconds' }]), { service: 'x', ImagesReady: 1 }),
    ],
    [
      'a StorageResolution of 5',
      line(directive([{ Name: 'ImagesReady', StorageResolution: 5 }]), { service: 'x', ImagesReady: 1 }),
    ],
    ['a value that is a string', line(directive(), { service: 'x', ImagesReady: '1' })],
    ['a missing value', line(directive(), { service: 'x' })],
    ['a value that is null', line(directive(), { service: 'x', ImagesReady: null })],
    ['an empty value array', line(directive(), { service: 'x', ImagesReady: [] })],
    ['101 values', line(directive(), { service: 'x', ImagesReady: Array(101).fill(1) })],
    ['a dimension with no member', line(directive(), { ImagesReady: 1 })],
    ['a dimension whose value is a number', line(directive(), { service: 7, ImagesReady: 1 })],
    [
      'a dimension value over 1024 characters',
      line(directive(), { service: 'v'.repeat(1025), ImagesReady: 1 }),
    ],
    [
      '31 dimensions in a set',
      line(directive(undefined, [Array.from({ length: 31 }, (_, i) => `d${i}`)]), { ImagesReady: 1 }),
    ],
    [
      '101 metrics',
      line(directive(Array.from({ length: 101 }, (_, i) => ({ Name: `M${i}` }))), { service: 'x' }),
    ],
  ])('rejects an EMF line with %s, whole', (_what, text) => {
    expect(readEmf(text).kind).toBe('rejected');
  });

  it('rejects an EMF line over 1 MB without parsing it', () => {
    const huge = line(directive(), { service: 'x', ImagesReady: 1, padding: 'p'.repeat(1_100_000) });
    expect(readEmf(huge)).toEqual({ kind: 'rejected', reason: 'larger than 1 MB' });
  });

  it('rejects non-finite values that JSON cannot carry but a huge exponent can', () => {
    expect(readEmf(`{"_aws":${JSON.stringify(directive())},"service":"x","ImagesReady":1e999}`).kind).toBe(
      'rejected',
    );
  });

  it('does not take inherited members as values (a metric named __proto__ or toString)', () => {
    expect(readEmf(line(directive([{ Name: 'toString' }]), { service: 'x' })).kind).toBe('rejected');
    expect(readEmf(line(directive(undefined, [['constructor']]), { ImagesReady: 1 })).kind).toBe('rejected');
  });
});

describe('readEmf: what one line may expand to', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i);
  const metrics = Array.from({ length: 100 }, (_, i) => ({ Name: `M${i}` }));
  const members = Object.fromEntries(metrics.map((m) => [m.Name, hundred]));

  it('counts identical dimension sets once (2,000 copies publish one set, not 200,000 metrics)', () => {
    const sets = Array.from({ length: 2000 }, (_, i) => (i % 2 ? ['service', 'code'] : ['code', 'service']));
    const result = readEmf(line(directive(metrics, sets), { service: 's', code: 'C', ...members }));
    expect(result.kind).toBe('metrics');
    if (result.kind !== 'metrics') return;
    expect(result.data).toHaveLength(100);
    expect(result.data.reduce((n, d) => n + d.values.length, 0)).toBe(10_000);
  });

  it(`accepts ${MAX_DIMENSION_SETS} distinct dimension sets in a directive and rejects one more`, () => {
    const names = Array.from({ length: MAX_DIMENSION_SETS + 1 }, (_, i) => `d${i}`);
    const values = Object.fromEntries(names.map((n) => [n, 'v']));
    const sets = (n: number) => names.slice(0, n).map((name) => [name]);
    expect(
      readEmf(line(directive(undefined, sets(MAX_DIMENSION_SETS)), { ...values, ImagesReady: 1 })).kind,
    ).toBe('metrics');
    expect(
      readEmf(line(directive(undefined, sets(MAX_DIMENSION_SETS + 1)), { ...values, ImagesReady: 1 })),
    ).toEqual({
      kind: 'rejected',
      reason: `a directive has more than ${MAX_DIMENSION_SETS} distinct dimension sets`,
    });
  });

  it(`rejects a line whose directives expand to more than ${MAX_VALUES_PER_LINE} values, and the store counts it`, () => {
    const one = { Namespace: 'Pictura', Dimensions: [[]], Metrics: metrics };
    const many = line({ Timestamp: T0, CloudWatchMetrics: Array.from({ length: 11 }, () => one) }, members);
    expect(readEmf(many)).toEqual({
      kind: 'rejected',
      reason: `expands to more than ${MAX_VALUES_PER_LINE} values`,
    });
    const store = new MetricStore();
    store.ingest(many, T0);
    expect(store.snapshot().rejected).toMatchObject({
      lines: 1,
      reasons: { [`expands to more than ${MAX_VALUES_PER_LINE} values`]: 1 },
    });
    expect(store.snapshot().metrics).toEqual([]);
  });
});

describe('MetricStore: per metric, per minute, as CloudWatch aggregates', () => {
  it('rejects datapoints more than two weeks old or two hours ahead of when the line was received (PutMetricData)', () => {
    const store = new MetricStore();
    const at = (ms: number) => powertoolsLine((m) => m.addMetric('ImagesReady', MetricUnit.Count, 1), ms);
    store.ingest(at(T0 - 15 * 24 * 3_600_000), T0);
    store.ingest(at(T0 + 3 * 3_600_000), T0);
    store.ingest(at(T0 - 13 * 24 * 3_600_000), T0);
    store.ingest(at(T0 + 3_600_000), T0);
    const { metrics, rejected } = store.snapshot();
    expect(metrics[0]?.Total.SampleCount).toBe(2);
    expect(rejected.lines).toBe(2);
  });

  const ready = (ms: number, at = T0) =>
    powertoolsLine((m) => {
      m.addMetric('ImagesReady', MetricUnit.Count, 1);
      m.addMetric('UploadToReady', MetricUnit.Milliseconds, ms);
    }, at);

  it('counts, sums, min, max, average and percentiles per minute and in total', () => {
    const store = new MetricStore();
    for (const ms of [100, 200, 300, 400]) store.ingest(ready(ms), T0);
    store.ingest(ready(1000, T0 + 61_000), T0);
    const latency = store.snapshot({ metricName: 'UploadToReady' }).metrics;
    expect(latency).toHaveLength(1);
    const [series] = latency;
    expect(series?.Dimensions).toEqual([{ Name: 'service', Value: 'pictura' }]);
    expect(
      series?.Datapoints.map((d) => [d.Timestamp, d.SampleCount, d.Sum, d.Minimum, d.Maximum, d.Average]),
    ).toEqual([
      ['2026-11-30T10:00:00.000Z', 4, 1000, 100, 400, 250],
      ['2026-11-30T10:01:00.000Z', 1, 1000, 1000, 1000, 1000],
    ]);
    expect(series?.Datapoints[0]?.ExtendedStatistics).toEqual({ p50: 200, p95: 400, p99: 400 });
    expect(series?.Total).toMatchObject({
      SampleCount: 5,
      Sum: 2000,
      Minimum: 100,
      Maximum: 1000,
      Unit: 'Milliseconds',
    });
    expect(store.snapshot({ metricName: 'ImagesReady' }).metrics[0]?.Total.Sum).toBe(5);
  });

  it('keeps metrics with different dimension values apart', () => {
    const store = new MetricStore();
    for (const mode of ['direct', 'presigned', 'direct'])
      store.ingest(
        powertoolsLine((m) => {
          m.addDimension('mode', mode);
          m.addMetric('UploadsAccepted', MetricUnit.Count, 1);
        }),
        T0,
      );
    const sums = store.snapshot().metrics.map((s) => [s.Dimensions.at(-1)?.Value, s.Total.Sum]);
    expect(sums).toEqual([
      ['direct', 2],
      ['presigned', 1],
    ]);
  });

  it('counts rejected lines by reason, ignores other lines, and keeps the reasons bounded', () => {
    const store = new MetricStore();
    store.ingest('plain text');
    store.ingest('{"message":"step"}');
    store.ingest(
      line(directive([{ Name: 'ImagesReady', Unit: 'Fortnights' }]), { service: 'x', ImagesReady: 1 }),
    );
    for (let i = 0; i < 200; i += 1)
      store.ingest(line(directive([{ Name: `M${i}`, Unit: `U${i}` }]), { service: 'x' }));
    const { rejected, metrics } = store.snapshot();
    expect(metrics).toEqual([]);
    expect(rejected.lines).toBe(201);
    expect(rejected.reasons['metric ImagesReady has an invalid Unit']).toBe(1);
    expect(Object.keys(rejected.reasons).length).toBeLessThanOrEqual(51);
  });

  it('stops adding metrics at maxSeries (high-cardinality dimensions) and counts what it dropped', () => {
    const store = new MetricStore({ maxSeries: 3 });
    for (let i = 0; i < 10; i += 1)
      store.ingest(line(directive(undefined, [['imageId']]), { imageId: `img-${i}`, ImagesReady: 1 }), T0);
    const { metrics, rejected } = store.snapshot();
    expect(metrics).toHaveLength(3);
    expect(rejected.droppedSeries).toBe(7);
  });

  it('keeps at most maxMinutes minutes per metric, dropping the oldest', () => {
    const store = new MetricStore({ maxMinutes: 2 });
    for (let minute = 0; minute < 5; minute += 1) store.ingest(ready(10, T0 + minute * 60_000), T0);
    const [series] = store.snapshot({ metricName: 'ImagesReady' }).metrics;
    expect(series?.Datapoints.map((d) => d.Timestamp)).toEqual([
      '2026-11-30T10:03:00.000Z',
      '2026-11-30T10:04:00.000Z',
    ]);
  });

  it('samples percentiles beyond maxSamplesPerMinute while counts, sums, min and max stay exact', () => {
    const store = new MetricStore({ maxSamplesPerMinute: 10, random: () => 0.99 });
    for (let v = 1; v <= 1000; v += 1) store.ingest(ready(v), T0);
    const [series] = store.snapshot({ metricName: 'UploadToReady' }).metrics;
    expect(series?.Total).toMatchObject({ SampleCount: 1000, Sum: 500_500, Minimum: 1, Maximum: 1000 });
    expect(series?.Total.ExtendedStatistics.p99).toBeLessThanOrEqual(1000);
  });
});

describe('MetricStore memory and work', () => {
  const timing = (values: number[], at = T0) =>
    line(
      { Timestamp: at, CloudWatchMetrics: [{ Namespace: 'P', Dimensions: [[]], Metrics: [{ Name: 'T' }] }] },
      { T: values },
    );

  it('keeps 1,000 values per minute for percentiles by default', () => {
    const store = new MetricStore();
    for (let i = 0; i < 50; i += 1) store.ingest(timing(Array.from({ length: 100 }, (_, v) => v)), T0);
    expect(store.heldSamples).toBe(1000);
    expect(store.snapshot().metrics[0]?.Datapoints[0]?.SampleCount).toBe(5000);
  });

  it('keeps at most maxSamples values in all, letting closed minutes keep only their percentiles', () => {
    const store = new MetricStore({ maxSamplesPerMinute: 10, maxSamples: 50 });
    for (let minute = 0; minute < 20; minute += 1) {
      const at = T0 + minute * 60_000;
      store.ingest(
        timing(
          Array.from({ length: 10 }, (_, v) => minute * 100 + v + 1),
          at,
        ),
        at,
      );
      expect(store.heldSamples).toBeLessThanOrEqual(50);
    }
    const points = store.snapshot().metrics[0]?.Datapoints ?? [];
    expect(points).toHaveLength(20);
    // Minute 3 was closed and let go of its samples; its percentiles were kept.
    expect(points[3]).toMatchObject({ SampleCount: 10, ExtendedStatistics: { p50: 305, p95: 310 } });
    expect(points[19]?.ExtendedStatistics.p50).toBe(1905);
  });

  it('sorts a minute once, not on every request', () => {
    const store = new MetricStore();
    store.ingest(timing(Array.from({ length: 100 }, (_, v) => 100 - v)), T0);
    store.snapshot();
    const sorts = [vi.spyOn(Array.prototype, 'sort'), vi.spyOn(Float64Array.prototype, 'sort')];
    try {
      for (let i = 0; i < 3; i += 1) store.snapshot();
      const sortedSamples = sorts
        .flatMap((spy) => spy.mock.contexts)
        .filter((c) => (c as number[]).length === 100);
      expect(sortedSamples).toEqual([]);
    } finally {
      for (const spy of sorts) spy.mockRestore();
    }
  });
});

describe('percentile (nearest rank)', () => {
  it('takes the smallest value with at least p% at or below it', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});
