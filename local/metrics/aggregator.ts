/**
 * The local CloudWatch metrics: the values of the EMF lines the functions log, kept per metric (namespace,
 * name, dimension set) and per minute, with the statistics CloudWatch gives a period
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic):
 * SampleCount, Sum, Minimum, Maximum, Average and the p50/p95/p99 percentiles. Bounded: at most
 * `maxSeries` metrics (a line adding more is counted as dropped), `maxMinutes` minutes each, a uniform
 * sample (reservoir) of `maxSamplesPerMinute` values per minute for its percentiles (counts, sums, minimum
 * and maximum stay exact), and `maxSamples` sampled values in all: past that, the minutes before the current
 * one keep their percentiles computed and let their samples go. Percentiles are computed once per minute
 * and kept until the minute takes another value, never re-sorted on every request.
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

/**
 * One metric with its per-minute datapoints (oldest first) and `Total`: the statistics of every value it had
 * since the store started (percentiles from a uniform sample of them), also those of minutes since dropped.
 */
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
  /** Values kept for percentiles per minute (and per series for its total), default 1,000. */
  maxSamplesPerMinute?: number;
  /** Values kept for percentiles in all the minutes of all series, default 2,000,000 (16 MB of numbers). */
  maxSamples?: number;
  /** Randomness for the percentile sample (tests make it deterministic). */
  random?: () => number;
}

/** A minute's (or a series' total) values: exact aggregates, a reservoir, and its percentiles once computed. */
interface Minute {
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  samples: number[];
  /** The percentiles of `samples`, until another value comes; kept alone once the samples are let go. */
  percentiles: Datapoint['ExtendedStatistics'] | undefined;
  /** The samples were let go (the store's `maxSamples`): later values update the exact aggregates only. */
  sealed: boolean;
}

interface Series {
  namespace: string;
  metricName: string;
  unit: string;
  dimensions: Array<{ Name: string; Value: string }>;
  minutes: Map<number, Minute>;
  total: Minute;
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
  readonly #maxTotalSamples: number;
  readonly #random: () => number;
  readonly #rejected = { lines: 0, reasons: {} as Record<string, number>, droppedSeries: 0 };
  /** Values held in the minutes' reservoirs. */
  #heldSamples = 0;
  /** The minute (start) the last sweep let go of samples before: one sweep per minute at most. */
  #sweptBefore = -Infinity;

  constructor(options: MetricStoreOptions = {}) {
    this.#maxSeries = options.maxSeries ?? 1000;
    this.#maxMinutes = options.maxMinutes ?? 24 * 60;
    this.#maxSamples = Math.max(1, options.maxSamplesPerMinute ?? 1000);
    this.#maxTotalSamples = Math.max(1, options.maxSamples ?? 2_000_000);
    this.#random = options.random ?? Math.random;
  }

  /** Values held for percentiles in all minutes (at most `maxSamples`). */
  get heldSamples(): number {
    return this.#heldSamples;
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
      else for (const datum of result.data) this.#add(datum, receivedAt);
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

  #add(datum: MetricDatum, receivedAt: number): void {
    const key = JSON.stringify([datum.namespace, datum.metricName, datum.unit, datum.dimensions]);
    let series = this.#series.get(key);
    if (!series) {
      if (this.#series.size >= this.#maxSeries) {
        this.#rejected.droppedSeries += 1;
        return;
      }
      series = { ...datum, minutes: new Map(), total: newMinute(0) };
      this.#series.set(key, series);
    }
    const start = Math.floor(datum.timestamp / MINUTE) * MINUTE;
    let minute = series.minutes.get(start);
    if (!minute) {
      minute = newMinute(start);
      series.minutes.set(start, minute);
      this.#trim(series);
    }
    for (const value of datum.values) {
      this.#record(minute, value, receivedAt, true);
      // A series' total sample is bounded by maxSeries × maxSamplesPerMinute, outside the minutes' budget.
      this.#record(series.total, value, receivedAt, false);
    }
  }

  /** Adds a value to the exact aggregates and to the reservoir (Algorithm R: each value seen has the same chance). */
  #record(minute: Minute, value: number, receivedAt: number, budgeted: boolean): void {
    minute.count += 1;
    minute.sum += value;
    minute.min = Math.min(minute.min, value);
    minute.max = Math.max(minute.max, value);
    if (minute.sealed) return;
    minute.percentiles = undefined;
    if (minute.samples.length < this.#maxSamples) {
      if (budgeted && !this.#roomForSample(receivedAt)) return;
      minute.samples.push(value);
      if (budgeted) this.#heldSamples += 1;
      return;
    }
    const slot = Math.floor(this.#random() * minute.count);
    if (slot < this.#maxSamples) minute.samples[slot] = value;
  }

  /** Whether one more sample fits; if not, lets the closed minutes' samples go first (once per minute). */
  #roomForSample(receivedAt: number): boolean {
    if (this.#heldSamples < this.#maxTotalSamples) return true;
    const current = Math.floor(receivedAt / MINUTE) * MINUTE;
    if (this.#sweptBefore >= current) return false;
    this.#sweptBefore = current;
    for (const series of this.#series.values())
      for (const minute of series.minutes.values()) if (minute.start < current) this.#seal(minute);
    return this.#heldSamples < this.#maxTotalSamples;
  }

  /** Keeps a minute's percentiles and lets its samples go. */
  #seal(minute: Minute): void {
    if (minute.sealed) return;
    minute.percentiles = percentilesOf(minute);
    this.#heldSamples -= minute.samples.length;
    minute.samples = [];
    minute.sealed = true;
  }

  /** Drops the oldest minutes beyond `maxMinutes`. */
  #trim(series: Series): void {
    if (series.minutes.size <= this.#maxMinutes) return;
    const starts = [...series.minutes.keys()].sort((a, b) => a - b);
    for (const start of starts.slice(0, starts.length - this.#maxMinutes)) {
      this.#heldSamples -= series.minutes.get(start)?.samples.length ?? 0;
      series.minutes.delete(start);
    }
  }

  #describe(series: Series): MetricSeries {
    const minutes = [...series.minutes.values()].sort((a, b) => a.start - b.start);
    const { Timestamp: _, ...Total } = statistics(series.total, series.unit);
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

function newMinute(start: number): Minute {
  return {
    start,
    count: 0,
    sum: 0,
    min: Infinity,
    max: -Infinity,
    samples: [],
    percentiles: undefined,
    sealed: false,
  };
}

/** The minute's percentiles: computed (one sort) when a value came since they last were, else as kept. */
function percentilesOf(minute: Minute): Datapoint['ExtendedStatistics'] {
  if (minute.percentiles) return minute.percentiles;
  const sorted = Float64Array.from(minute.samples).sort();
  minute.percentiles = {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
  return minute.percentiles;
}

function seriesOrder(s: MetricSeries): string {
  return `${s.Namespace}\u0000${s.MetricName}\u0000${JSON.stringify(s.Dimensions)}`;
}

function statistics(minute: Minute, unit: string): Datapoint {
  return {
    Timestamp: new Date(minute.start).toISOString(),
    SampleCount: minute.count,
    Sum: minute.sum,
    Minimum: minute.min,
    Maximum: minute.max,
    Average: minute.sum / minute.count,
    Unit: unit,
    ExtendedStatistics: { ...percentilesOf(minute) },
  };
}

/** The nearest-rank percentile of sorted values: the smallest value with at least p% of the values at or below it. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
