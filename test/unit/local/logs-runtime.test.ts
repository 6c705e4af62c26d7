import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionLogEvent, FunctionRuntime } from '#local/lambda/runtime/function-runtime.ts';
import { localFunction, startFixtureRuntime } from '#test/support/functions.ts';

let runtime: FunctionRuntime | undefined;
afterEach(async () => {
  await runtime?.close(1000);
  runtime = undefined;
});

/** Lambda's stream name: YYYY/MM/DD/[$LATEST] and the environment's id (monitoring-cloudwatchlogs.html). */
const STREAM = /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/;

function start(environment: Record<string, string> = {}) {
  const events: FunctionLogEvent[] = [];
  const consoleLines: string[] = [];
  runtime = startFixtureRuntime(
    [localFunction({ name: 'logs-fixture', entry: 'test/unit/local/fixtures/logs-handler.ts', environment })],
    { logEvents: (e) => events.push(e), logSink: (_fn, line) => consoleLines.push(line) },
  );
  return { runtime, events, consoleLines };
}

describe('the runtime’s log events (what the local CloudWatch Logs stores)', () => {
  it('sends START, the function’s lines, END and REPORT of each invocation, in one stream per instance', async () => {
    const { runtime, events, consoleLines } = start();
    const first = await runtime.invoke('logs-fixture', {});
    const second = await runtime.invoke('logs-fixture', {});
    const messages = events.map((e) =>
      e.message.split('\t')[0]?.replace(/RequestId: \S+/, 'RequestId: <id>'),
    );
    expect(messages).toEqual([
      'START RequestId: <id> Version: $LATEST',
      '{"message":"hello from the fixture"}',
      'END RequestId: <id>',
      'REPORT RequestId: <id>',
      'START RequestId: <id> Version: $LATEST',
      '{"message":"hello from the fixture"}',
      'END RequestId: <id>',
      'REPORT RequestId: <id>',
    ]);
    // The cold start's REPORT carries Init Duration; the warm one does not.
    expect(events[3]?.message).toMatch(/\tInit Duration: [\d.]+ ms/);
    expect(events[7]?.message).not.toContain('Init Duration');
    expect(new Set(events.map((e) => e.logStreamName)).size).toBe(1);
    expect(events[0]?.logStreamName).toMatch(STREAM);
    expect(events.every((e) => e.functionName === 'logs-fixture' && Number.isFinite(e.timestamp))).toBe(true);
    // The stream is the one the function sees in its environment, as on Lambda.
    expect((first.payload as { logStream: string }).logStream).toBe(events[0]?.logStreamName);
    expect((second.payload as { logGroup: string }).logGroup).toBe('/aws/lambda/logs-fixture');
    // The console keeps showing only what the function printed (the runtime's own lines stay out of it).
    expect(consoleLines).toEqual([
      '{"message":"hello from the fixture"}',
      '{"message":"hello from the fixture"}',
    ]);
  });

  it('puts every line the function printed before END, however much it printed just before answering', async () => {
    const { runtime, events } = start();
    const burst = 2000;
    for (let round = 0; round < 3; round += 1) {
      events.length = 0;
      await runtime.invoke('logs-fixture', { burst });
      const messages = events.map((e) => e.message);
      const end = messages.findIndex((m) => m.startsWith('END RequestId:'));
      expect(end, 'END is logged').toBeGreaterThan(0);
      expect(messages.slice(0, end).filter((m) => /^(out|err) \d+$/.test(m))).toHaveLength(2 * burst);
      // The runtime's end-of-output markers never reach the log.
      expect(messages.some((m) => m.includes('pictura-output-end'))).toBe(false);
    }
  });

  it('gives concurrent instances their own streams', async () => {
    const { runtime, events } = start();
    await Promise.all([runtime.invoke('logs-fixture', {}), runtime.invoke('logs-fixture', {})]);
    expect(new Set(events.map((e) => e.logStreamName)).size).toBe(2);
  });

  it('turns Powertools tracing off in every local function, whatever the template says', async () => {
    const { runtime } = start({ POWERTOOLS_TRACE_ENABLED: 'true' });
    const { payload } = await runtime.invoke('logs-fixture', {});
    expect((payload as { traceEnabled: string }).traceEnabled).toBe('false');
  });
});
