import { randomUUID } from 'node:crypto';
import type { LocalSchedule } from '../template/stack-model.ts';

/** EventBridge's Scheduled Event, as a scheduled rule hands it to a Lambda target. */
export interface ScheduledEvent {
  version: '0';
  id: string;
  'detail-type': 'Scheduled Event';
  source: 'aws.events';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, never>;
}

/**
 * The event a scheduled rule sends at `time`: `time` in whole seconds (`2015-10-08T16:53:06Z`), the rule's
 * ARN as the only resource, an empty `detail`.
 * See https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html (the sample event)
 */
export function scheduledEvent(
  rule: LocalSchedule,
  time: Date,
  region: string,
  account: string,
): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account,
    time: `${time.toISOString().slice(0, 19)}Z`,
    region,
    resources: [rule.arn],
    detail: {},
  };
}

export interface ScheduleRunnerOptions {
  schedules: LocalSchedule[];
  /** Invokes a function (the function runtime's `invoke`); an error result is logged, not retried. */
  invoke(functionName: string, event: unknown): Promise<{ functionError?: string }>;
  /** Multiplies every period (0.001 makes 15 minutes 0.9 s); 0 runs no schedule. */
  scale: number;
  region: string;
  account: string;
  log: (line: string) => void;
}

export interface ScheduleRunner {
  /** Invocations started, by rule name. */
  readonly fired: Map<string, number>;
  stop(): Promise<void>;
}

/** Shortest local period, whatever the scale: a timer tighter than this only burns CPU. */
const MIN_PERIOD_MS = 50;

/**
 * Runs the template's `rate(...)` rules: each enabled rule fires every period (scaled) after the cloud starts,
 * as EventBridge starts a rate schedule when the rule is created, and sends its Scheduled Event (or the
 * target's constant `Input`) to each Lambda target. `cron(...)` rules, and targets that are not Lambda or
 * that transform their input, are refused by name in the log and not run.
 *
 * Differences from AWS, on purpose: a tick is skipped while the previous invocation of the same target is
 * still running (at a small scale, ticks would otherwise pile up), and a failed invocation is logged
 * rather than retried under the target's retry policy.
 */
export function startSchedules(options: ScheduleRunnerOptions): ScheduleRunner {
  const fired = new Map<string, number>();
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const busy = new Set<string>();
  if (!Number.isFinite(options.scale) || options.scale < 0) {
    throw new Error(`schedule scale must be a number ≥ 0, got ${options.scale}`);
  }
  if (options.scale === 0) return { fired, stop: async () => {} };
  for (const rule of options.schedules) {
    for (const reason of rule.unsupported)
      options.log(`events: rule ${rule.name}: ${reason}; not run locally`);
    if (!rule.enabled) continue;
    if (rule.schedule.kind !== 'rate') {
      options.log(
        `events: rule ${rule.name}: ${rule.schedule.expression} is not run locally (only rate(...))`,
      );
      continue;
    }
    const period = Math.max(MIN_PERIOD_MS, rule.schedule.periodMs * options.scale);
    const tick = () => {
      for (const target of rule.targets) {
        const key = `${rule.name}/${target.id}`;
        if (busy.has(key)) continue;
        busy.add(key);
        fired.set(rule.name, (fired.get(rule.name) ?? 0) + 1);
        const event = target.input
          ? JSON.parse(target.input)
          : scheduledEvent(rule, new Date(), options.region, options.account);
        const work = options
          .invoke(target.functionName, event)
          .then((result) => {
            if (result.functionError) options.log(`events: ${key} → ${target.functionName} failed`);
          })
          .catch((error: Error) => options.log(`events: ${key} → ${target.functionName}: ${error.message}`))
          .finally(() => {
            busy.delete(key);
            running.delete(work);
          });
        running.add(work);
      }
    };
    timers.push(setInterval(tick, period));
  }
  return {
    fired,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
