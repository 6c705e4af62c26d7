/**
 * The local CloudWatch metrics: the values of the EMF lines the functions log, kept per metric (namespace,
 * name, dimension set) and per minute, with the statistics CloudWatch gives a period
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic):
 * SampleCount, Sum, Minimum, Maximum, Average and the p50/p95/p99 percentiles. Bounded: at most
 * `maxSeries` metrics (a line adding more is counted as dropped), `maxMinutes` minutes each, and
 * `maxSamplesPerMinute` values kept for percentiles per minute (a uniform sample beyond that; counts, sums,
 * minimum and maximum stay exact).
 */
import { type MetricDatum, readEmf } from './emf.ts';

/** One period's statistics, in the shape of CloudWatch's `Datapoint` (GetMetricStatistics). */
export interface Datapoint {
  /** The period's start (ISO 8601). */
  Timestamp: string;
  SampleCount: number;
  Sum: number;
  Minimum: number;
  Maximum: number;
  Average: number;
  Unit: string;
  ExtendedStatistics: { p50: number; p95: number; p99: number };
}

/** One metric with its per-minute datapoints (oldest first) and the statistics over all of them. */
export interface MetricSeries {
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: string }>;
  Unit: string;
  Datapoints: Datapoint[];
  Total: Omit<Datapoint, 'Timestamp'>;
}

export interface MetricsSnapshot {
  metrics: MetricSeries[];
  /** EMF lines rejected, by reason, and data dropped because of the bounds. */
  rejected: { lines: number; reasons: Record<string, number>; droppedSeries: number };
}

export interface MetricStoreOptions {
  maxSeries?: number;
  maxMinutes?: number;
  maxSamplesPerMinute?: number;
  /** Randomness for the percentile sample (tests make it deterministic). */
  random?: () => number;
}

interface Minute {
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  samples: number[];
}

interface Series {
  namespace: string;
  metricName: string;
  unit: string;
  dimensions: Array<{ Name: string; Value: string }>;
  minutes: Map<number, Minute>;
}

const MINUTE = 60_000;
/**
 * CloudWatch takes datapoints up to two weeks old and up to two hours ahead
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html: "Data points with
 * time stamps ... more than two weeks in the past and more than 2 hours in the future are rejected"); a line
 * from a wrong clock would otherwise stretch every chart.
 */
const MAX_AGE = 14 * 24 * 3_600_000;
const MAX_AHEAD = 2 * 3_600_000;
/** Distinct reasons kept for the rejected count (a hostile stream of odd lines cannot grow the map). */
const MAX_REASONS = 50;

export class MetricStore {
  readonly #series = new Map<string, Series>();
  readonly #maxSeries: number;
  readonly #maxMinutes: number;
  readonly #maxSamples: number;
  readonly #random: () => number;
  readonly #rejected = { lines: 0, reasons: {} as Record<string, number>, droppedSeries: 0 };

  constructor(options: MetricStoreOptions = {}) {
    this.#maxSeries = options.maxSeries ?? 1000;
    this.#maxMinutes = options.maxMinutes ?? 24 * 60;
    this.#maxSamples = options.maxSamplesPerMinute ?? 10_000;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Reads one log line received at `receivedAt` (epoch ms): its EMF metrics are added; a rejected EMF line,
   * or one whose timestamp is out of CloudWatch's range around `receivedAt`, is counted; anything else ignored.
   */
  ingest(line: string, receivedAt = Date.now()): void {
    const result = readEmf(line);
    if (result.kind === 'rejected') this.#reject(result.reason);
    else if (result.kind === 'metrics') {
      const timestamp = result.data[0]?.timestamp ?? receivedAt;
      if (timestamp < receivedAt - MAX_AGE || timestamp > receivedAt + MAX_AHEAD)
        this.#reject('_aws.Timestamp more than two weeks before or two hours after the line was received');
      else for (const datum of result.data) this.#add(datum);
    }
  }

  #reject(why: string): void {
    this.#rejected.lines += 1;
    const reasons = this.#rejected.reasons;
    const reason = why.slice(0, 200);
    if (reason in reasons || Object.keys(reasons).length < MAX_REASONS)
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    else reasons.other = (reasons.other ?? 0) + 1;
  }

  /** The metrics, optionally only those of `namespace` and/or named `metricName`, by name then dimensions. */
  snapshot(
    filter: { namespace?: string | undefined; metricName?: string | undefined } = {},
  ): MetricsSnapshot {
    const metrics = [...this.#series.values()]
      .filter((s) => (filter.namespace ?? s.namespace) === s.namespace)
      .filter((s) => (filter.metricName ?? s.metricName) === s.metricName)
      .map((s) => this.#describe(s))
      .sort((a, b) => seriesOrder(a).localeCompare(seriesOrder(b)));
    return { metrics, rejected: structuredClone(this.#rejected) };
  }

  #add(datum: MetricDatum): void {
    const key = JSON.stringify([datum.namespace, datum.metricName, datum.unit, datum.dimensions]);
    let series = this.#series.get(key);
    if (!series) {
      if (this.#series.size >= this.#maxSeries) {
        this.#rejected.droppedSeries += 1;
        return;
      }
      series = { ...datum, minutes: new Map() };
      this.#series.set(key, series);
    }
    const start = Math.floor(datum.timestamp / MINUTE) * MINUTE;
    let minute = series.minutes.get(start);
    if (!minute) {
      minute = { start, count: 0, sum: 0, min: Infinity, max: -Infinity, samples: [] };
      series.minutes.set(start, minute);
      this.#trim(series);
    }
    for (const value of datum.values) this.#record(minute, value);
  }

  #record(minute: Minute, value: number): void {
    minute.count += 1;
    minute.sum += value;
    minute.min = Math.min(minute.min, value);
    minute.max = Math.max(minute.max, value);
    if (minute.samples.length < this.#maxSamples) minute.samples.push(value);
    else {
      // Reservoir sampling (Algorithm R): every value seen has the same chance to be in the sample.
      const slot = Math.floor(this.#random() * minute.count);
      if (slot < this.#maxSamples) minute.samples[slot] = value;
    }
  }

  /** Drops the oldest minutes beyond `maxMinutes`. */
  #trim(series: Series): void {
    if (series.minutes.size <= this.#maxMinutes) return;
    const starts = [...series.minutes.keys()].sort((a, b) => a - b);
    for (const start of starts.slice(0, starts.length - this.#maxMinutes)) series.minutes.delete(start);
  }

  #describe(series: Series): MetricSeries {
    const minutes = [...series.minutes.values()].sort((a, b) => a.start - b.start);
    const total: Minute = { start: 0, count: 0, sum: 0, min: Infinity, max: -Infinity, samples: [] };
    for (const m of minutes) {
      total.count += m.count;
      total.sum += m.sum;
      total.min = Math.min(total.min, m.min);
      total.max = Math.max(total.max, m.max);
      for (const v of m.samples) total.samples.push(v);
    }
    const { Timestamp: _, ...Total } = statistics(total, series.unit);
    return {
      Namespace: series.namespace,
      MetricName: series.metricName,
      Dimensions: series.dimensions,
      Unit: series.unit,
      Datapoints: minutes.map((m) => statistics(m, series.unit)),
      Total,
    };
  }
}

function seriesOrder(s: MetricSeries): string {
  return `${s.Namespace}\u0000${s.MetricName}\u0000${JSON.stringify(s.Dimensions)}`;
}

function statistics(minute: Minute, unit: string): Datapoint {
  const sorted = [...minute.samples].sort((a, b) => a - b);
  return {
    Timestamp: new Date(minute.start).toISOString(),
    SampleCount: minute.count,
    Sum: minute.sum,
    Minimum: minute.min,
    Maximum: minute.max,
    Average: minute.sum / minute.count,
    Unit: unit,
    ExtendedStatistics: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
    },
  };
}

/** The nearest-rank percentile of sorted values: the smallest value with at least p% of the values at or below it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
