import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionRuntime } from '#local/lambda/runtime/function-runtime.ts';
import type { LocalFunction } from '#local/template/stack-model.ts';
import { localFunction, startFixtureRuntime } from '#test/support/functions.ts';

const fixture = (overrides: Partial<LocalFunction> = {}): LocalFunction =>
  localFunction({
    name: 'fixture',
    entry: 'test/unit/local/fixtures/stateful-handler.ts',
    environment: { GREETING: 'hello' },
    timeoutSeconds: 5,
    ...overrides,
  });

let runtime: FunctionRuntime | undefined;
const logs: string[] = [];
function start(fn = fixture(), maxInstances = 4) {
  runtime = startFixtureRuntime([fn], {
    logSink: (name, line) => logs.push(`${name} ${line}`),
    maxInstancesPerFunction: maxInstances,
  });
  return runtime;
}
afterEach(async () => {
  await runtime?.close(1000);
  runtime = undefined;
  logs.length = 0;
});

type Payload = {
  invocations: number;
  loadedAt: number;
  greeting: string | null;
  leaked: string | null;
  pid: number;
};

describe('FunctionRuntime', () => {
  it('cold-starts once, then reuses the warm instance with its module state', async () => {
    const rt = start();
    const first = await rt.invoke('fixture', {});
    const second = await rt.invoke('fixture', {});
    expect(first.report.initMs).toBeGreaterThan(0);
    expect(second.report.initMs).toBeUndefined();
    expect((first.payload as Payload).invocations).toBe(1);
    expect((second.payload as Payload).invocations).toBe(2);
    expect((second.payload as Payload).pid).toBe((first.payload as Payload).pid);
    expect(first.log).toMatch(/^START RequestId: \S+ Version: \$LATEST\n/);
    expect(first.log).toContain('"message":"handled"');
    expect(first.log).toMatch(
      /REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\n$/,
    );
    expect(logs.some((line) => line.startsWith('fixture {'))).toBe(true);
  });

  it('runs concurrent invocations in separate instances, each with its own state', async () => {
    const rt = start();
    const results = await Promise.all([1, 2, 3].map(() => rt.invoke('fixture', { sleepMs: 300 })));
    const payloads = results.map((r) => r.payload as Payload);
    expect(new Set(payloads.map((p) => p.pid)).size).toBe(3);
    expect(payloads.map((p) => p.invocations)).toEqual([1, 1, 1]);
    expect(results.every((r) => r.report.initMs !== undefined)).toBe(true);
  });

  it('passes the function its environment and nothing of the parent', async () => {
    const rt = start();
    expect(process.env.VITEST).toBeDefined();
    const payload = (await rt.invoke('fixture', {})).payload as Payload;
    expect(payload.greeting).toBe('hello');
    expect(payload.leaked).toBeNull();
  });

  it('reports a thrown error as the Node.js runtime does, logs Invoke Error, and keeps the instance', async () => {
    const rt = start();
    const failed = await rt.invoke('fixture', { fail: true });
    expect(failed.functionError).toBe('Unhandled');
    // aws-lambda-nodejs-runtime-interface-client src/utils/error.ts `formatError`: the whole stack as
    // `trace`, its first line `Name: message`.
    const payload = failed.payload as { errorType: string; errorMessage: string; trace: string[] };
    expect(Object.keys(payload)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(payload).toMatchObject({ errorType: 'TypeError', errorMessage: 'asked to fail' });
    expect(payload.trace[0]).toBe('TypeError: asked to fail');
    expect(payload.trace[1]).toMatch(/^ {4}at .*stateful-handler\.ts/);
    // src/runtime/lifecycle-manager.ts `fail`: `structuredConsole.logError("Invoke Error", error)`.
    const line = failed.log.split('\n').find((l) => l.includes('Invoke Error'));
    expect(line).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${failed.requestId}\\tERROR\\tInvoke Error \\t\\{`,
      ),
    );
    expect(logs.some((l) => l.includes('Invoke Error'))).toBe(true);
    expect(((await rt.invoke('fixture', {})).payload as Payload).invocations).toBe(2);
  });

  it('enforces the timeout and discards the instance', async () => {
    const rt = start(fixture({ timeoutSeconds: 1 }));
    const timedOut = await rt.invoke('fixture', { sleepMs: 5000 });
    // Recorded on AWS: LocalStack tests/aws/services/lambda_/test_lambda.snapshot.json (no trace).
    expect(timedOut.payload).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${timedOut.requestId} Error: Task timed out after 1.00 seconds`,
    });
    const next = await rt.invoke('fixture', {});
    expect(next.report.initMs).toBeDefined();
    expect((next.payload as Payload).invocations).toBe(1);
  });

  it('survives an instance that exits mid-invocation', async () => {
    const rt = start();
    const crashed = await rt.invoke('fixture', { exit: true });
    // Recorded on AWS: LocalStack tests/aws/services/lambda_/test_lambda.snapshot.json.
    expect(crashed.payload).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: `RequestId: ${crashed.requestId} Error: Runtime exited with error: exit status 3`,
    });
    expect(((await rt.invoke('fixture', {})).payload as Payload).invocations).toBe(1);
  });

  it('retires warm instances when the configuration changes, as UpdateFunctionConfiguration does', async () => {
    const rt = start();
    const first = (await rt.invoke('fixture', {})).payload as Payload;
    await rt.update('fixture', { environment: { GREETING: 'changed' } });
    expect(() => process.kill(first.pid, 0)).toThrow();
    const after = await rt.invoke('fixture', {});
    expect(after.report.initMs).toBeDefined();
    expect((after.payload as Payload).greeting).toBe('changed');
  });

  it('lets in-flight work finish when closing', async () => {
    const rt = start();
    const inFlight = rt.invoke('fixture', { sleepMs: 800 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rt.close(5000);
    runtime = undefined;
    expect(((await inFlight).payload as Payload).invocations).toBe(1);
    await expect(rt.invoke('fixture', {})).rejects.toThrow(/shutting down/);
  });

  it('does not leave a waiting invocation hanging when an instance fails to initialise', async () => {
    const rt = start(fixture({ entry: 'test/unit/local/fixtures/missing.ts' }), 1);
    const results = await Promise.all([rt.invoke('fixture', {}), rt.invoke('fixture', {})]);
    expect(results.map((r) => r.functionError)).toEqual(['Unhandled', 'Unhandled']);
  });

  it('answers an init failure as a function error with the init error, and retries init next time', async () => {
    const rt = start(fixture({ entry: 'test/unit/local/fixtures/missing.ts' }));
    const first = await rt.invoke('fixture', {});
    expect(first.functionError).toBe('Unhandled');
    // The runtime's name for a module it cannot find (src/function/module-loader.ts), wrapping the original.
    expect(first.payload).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringMatching(/^Error.*: Cannot find module .*missing\.ts/),
    });
    expect((first.payload as { trace: string[] }).trace[0]).toMatch(/^Runtime\.ImportModuleError: Error/);
    expect(first.log).toMatch(
      /\tundefined\tERROR\tUncaught Exception \t\{"errorType":"Runtime\.ImportModuleError"/,
    );
    expect(first.log).toMatch(
      /INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime\.ImportModuleError/,
    );
    expect((await rt.invoke('fixture', {})).functionError).toBe('Unhandled');
  });

  it('names a missing handler export Runtime.HandlerNotFound, as the runtime does', async () => {
    const rt = start(fixture({ handlerExport: 'absent' }));
    const result = await rt.invoke('fixture', {});
    expect(result.payload).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'index.absent is undefined or not exported',
    });
  });
});
