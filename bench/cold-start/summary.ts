/** Turns the benchmark's samples into per-function figures, ratios to the floor, and the goal's verdicts. */
import { median, percentile, round } from '../lib/stats.ts';
import type { BundleFacts } from './bundles.ts';
import type { InitProfile } from './init-profile.ts';
import { type BenchFunction, FLOOR, type Kind, type Sample } from './lambda.ts';

/** The goal: each API function's cold init median within this multiple of the floor's. */
export const GOAL_RATIO = 2;

export interface FunctionSummary {
  label: string;
  name: string;
  kind: Kind;
  mirrors?: string;
  packaging: 'optimized' | 'naive';
  memoryMb: number;
  bundleBytes: number;
  sdkBytes: number;
  sdkClients: string[];
  topPackages: Array<{ name: string; bytes: number }>;
  codeSizeBytes?: number;
  /** Invocations that reported an Init Duration. */
  coldStarts: number;
  /** Forced cold invocations that reported none (Lambda may have initialised the environment ahead). */
  coldWithoutInit: number;
  /** `Init Duration` of the REPORT line. */
  initMs: { p50: number; p95: number; max: number };
  /** Init plus the first invocation's Duration. */
  coldTotalMs: { p50: number };
  /** What the caller waited for the cold Invoke, process start and transport included. */
  coldLatencyMs: { p50: number; p95: number };
  warm: { samples: number; durationP50: number; latencyP50: number };
  maxMemoryUsedMb: number;
  /** Responses by API status code (`200`, `401`, …), `ok` for non-API results, `error` for failures. */
  responses: Record<string, number>;
  errors: string[];
  vsFloor: { init: number; coldLatency: number };
  /** For a naive baseline: its figures divided by the function it mirrors. */
  vsOptimized?: { init: number; coldLatency: number; bundle: number };
}

export interface GoalVerdict {
  function: string;
  initP50: number;
  floorInitP50: number;
  ratio: number;
  limit: number;
  met: boolean;
  /** By how much the median misses the limit, in ms (0 when met). */
  overByMs: number;
}

export interface Summary {
  benchmark: 'cold-start';
  target: string;
  endpoint: string;
  date: string;
  machine: string;
  command: string;
  runs: number;
  warmPerRound: number;
  concurrency: number;
  warmupRounds: number;
  /** Load average and CPU pressure (Linux PSI, % of the last minute) when measuring started and ended. */
  machineLoad: Record<'start' | 'end', { loadAverage1m: number; cpuPressureAvg60?: number }>;
  functions: FunctionSummary[];
  goal: { description: string; verdicts: GoalVerdict[] };
  initProfile?: InitProfile;
}

const ratio = (a: number, b: number): number => (b > 0 ? Math.round((a / b) * 100) / 100 : Number.NaN);

export function summariseFunction(
  fn: BenchFunction,
  samples: readonly Sample[],
  bundle: BundleFacts,
): Omit<FunctionSummary, 'vsFloor' | 'vsOptimized'> {
  const mine = samples.filter((s) => s.label === fn.label);
  const cold = mine.filter((s) => s.report?.initMs !== undefined);
  const warm = mine.filter((s) => s.report && s.report.initMs === undefined && !s.forced);
  const init = cold.map((s) => s.report?.initMs ?? 0);
  const responses: Record<string, number> = {};
  for (const s of mine) {
    const key = s.error ? 'error' : s.statusCode !== undefined ? String(s.statusCode) : 'ok';
    responses[key] = (responses[key] ?? 0) + 1;
  }
  return {
    label: fn.label,
    name: fn.name,
    kind: fn.kind,
    ...(fn.mirrors ? { mirrors: fn.mirrors } : {}),
    packaging: fn.packaging,
    memoryMb: fn.memoryMb,
    bundleBytes: bundle.bytes,
    sdkBytes: bundle.sdkBytes,
    sdkClients: bundle.sdkClients,
    topPackages: bundle.packages,
    ...(fn.codeSizeBytes ? { codeSizeBytes: fn.codeSizeBytes } : {}),
    coldStarts: cold.length,
    coldWithoutInit: mine.filter((s) => s.forced && s.report && s.report.initMs === undefined).length,
    initMs: { p50: round(median(init)), p95: round(percentile(init, 95)), max: round(Math.max(...init)) },
    coldTotalMs: {
      p50: round(median(cold.map((s) => (s.report?.initMs ?? 0) + (s.report?.durationMs ?? 0)))),
    },
    coldLatencyMs: {
      p50: round(median(cold.map((s) => s.latencyMs))),
      p95: round(
        percentile(
          cold.map((s) => s.latencyMs),
          95,
        ),
      ),
    },
    warm: {
      samples: warm.length,
      durationP50: round(median(warm.map((s) => s.report?.durationMs ?? 0))),
      latencyP50: round(median(warm.map((s) => s.latencyMs))),
    },
    maxMemoryUsedMb: Math.max(0, ...mine.map((s) => s.report?.maxMemoryUsedMb ?? 0)),
    responses,
    errors: [...new Set(mine.flatMap((s) => (s.error ? [s.error] : [])))].slice(0, 3),
  };
}

/** Adds the ratios (to the floor; a naive baseline's to its function) and the goal's verdicts. */
export function compare(partial: ReadonlyArray<Omit<FunctionSummary, 'vsFloor' | 'vsOptimized'>>): {
  functions: FunctionSummary[];
  verdicts: GoalVerdict[];
} {
  const floor = partial.find((f) => f.label === FLOOR);
  if (!floor) throw new Error('no floor measured');
  const byLabel = new Map(partial.map((f) => [f.label, f]));
  const functions = partial.map((f): FunctionSummary => {
    const mirrored = f.mirrors ? byLabel.get(f.mirrors) : undefined;
    return {
      ...f,
      vsFloor: {
        init: ratio(f.initMs.p50, floor.initMs.p50),
        coldLatency: ratio(f.coldLatencyMs.p50, floor.coldLatencyMs.p50),
      },
      ...(mirrored
        ? {
            vsOptimized: {
              init: ratio(f.initMs.p50, mirrored.initMs.p50),
              coldLatency: ratio(f.coldLatencyMs.p50, mirrored.coldLatencyMs.p50),
              bundle: ratio(f.bundleBytes, mirrored.bundleBytes),
            },
          }
        : {}),
    };
  });
  const verdicts = functions
    .filter((f) => f.kind === 'api')
    .map((f): GoalVerdict => {
      const limitMs = GOAL_RATIO * floor.initMs.p50;
      return {
        function: f.label,
        initP50: f.initMs.p50,
        floorInitP50: floor.initMs.p50,
        ratio: f.vsFloor.init,
        limit: GOAL_RATIO,
        met: f.initMs.p50 <= limitMs,
        overByMs: round(Math.max(0, f.initMs.p50 - limitMs)),
      };
    });
  return { functions, verdicts };
}
