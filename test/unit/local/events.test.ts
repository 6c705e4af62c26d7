import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { describe, expect, it } from 'vitest';
import { scheduledEvent, startSchedules } from '#local/events/schedules.ts';
import { parseScheduleExpression } from '#local/template/model/events.ts';
import type { LocalSchedule } from '#local/template/stack-model.ts';

// Rate syntax: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
describe('parseScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(15 minutes)', 900_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 days)', 172_800_000],
  ])('%s is a period of %i ms', (expression, periodMs) => {
    expect(parseScheduleExpression(expression)).toEqual({ kind: 'rate', expression, periodMs });
  });

  it('recognises cron(...) without running it', () => {
    expect(parseScheduleExpression('cron(0 12 * * ? *)')).toEqual({
      kind: 'cron',
      expression: 'cron(0 12 * * ? *)',
    });
  });

  it.each([
    'rate(0 minutes)',
    'rate(1 minutes)',
    'rate(5 minute)',
    'rate(-1 hours)',
    'rate(5 seconds)',
    'rate(1.5 hours)',
    'rate(99999999999999999999 days)',
    'rate( 5 minutes)',
    'every 5 minutes',
    '',
  ])('refuses %j', (expression) => {
    expect(() => parseScheduleExpression(expression)).toThrow(/ScheduleExpression/);
  });
});

const rule: LocalSchedule = {
  logicalId: 'SweeperSchedule',
  name: 'Pictura-SweeperSchedule',
  arn: 'arn:aws:events:us-east-1:000000000000:rule/Pictura-SweeperSchedule',
  schedule: { kind: 'rate', expression: 'rate(1 minute)', periodMs: 60_000 },
  enabled: true,
  targets: [{ id: 'Target0', functionName: 'sweeper' }],
  unsupported: [],
};

describe('scheduledEvent', () => {
  it('is the Scheduled Event of AWS’s sample (eb-run-lambda-schedule.html), valid for EventBridgeSchema', () => {
    const event = scheduledEvent(rule, new Date('2015-10-08T16:53:06.123Z'), 'us-east-1', '000000000000');
    expect(EventBridgeSchema.parse(event)).toMatchObject({
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2015-10-08T16:53:06Z',
      resources: [rule.arn],
      detail: {},
    });
  });
});

describe('startSchedules', () => {
  const base = { region: 'us-east-1', account: '000000000000', log: () => {} };

  it('refuses a scale that is not a number ≥ 0', () => {
    for (const scale of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => startSchedules({ ...base, schedules: [rule], scale, invoke: async () => ({}) })).toThrow(
        /scale/,
      );
    }
  });

  it('fires each period, skips a tick while the previous run is busy, names the cron rules it will not run', async () => {
    const lines: string[] = [];
    let calls = 0;
    let release: () => void = () => {};
    const runner = startSchedules({
      ...base,
      log: (line) => lines.push(line),
      schedules: [
        rule,
        { ...rule, name: 'nightly', schedule: { kind: 'cron', expression: 'cron(0 3 * * ? *)' } },
      ],
      scale: 0.001, // 60 ms
      invoke: () => {
        calls += 1;
        return new Promise((resolve) => {
          release = () => resolve({});
        });
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(1); // still busy: later ticks skipped
    release();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(calls).toBe(2);
    release();
    await runner.stop();
    expect(lines).toEqual([expect.stringMatching(/nightly: cron\(0 3 \* \* \? \*\) is not run locally/)]);
  });

  it('runs nothing at scale 0', async () => {
    let calls = 0;
    const runner = startSchedules({
      ...base,
      schedules: [rule],
      scale: 0,
      invoke: async () => {
        calls += 1;
        return {};
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runner.stop();
    expect(calls).toBe(0);
  });
});
