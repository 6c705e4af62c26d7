import { randomBytes } from 'node:crypto';
import type { LocalFunction } from '../../template/stack-model.ts';
import type { Invocation } from './function-runtime.ts';
import type { FunctionErrorShape, ResultMessage } from './protocol.ts';

/**
 * Lambda's answer when a function (or its init) runs out of time: `Sandbox.Timedout`, no trace (recorded on
 * AWS: LocalStack tests/aws/services/lambda_/test_lambda.snapshot.json).
 */
export function timeoutError(requestId: string, seconds: number): FunctionErrorShape {
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds.toFixed(2)} seconds`,
  };
}

/**
 * Lambda's answer when the runtime process exits: `Runtime.ExitError` with the exit status, no trace
 * (recorded on AWS: LocalStack tests/aws/services/lambda_/test_lambda.snapshot.json).
 */
export function exitError(
  requestId: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): FunctionErrorShape {
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with ${signal ? `signal: ${signal}` : `error: exit status ${code}`}`,
  };
}

/**
 * The `REPORT` line Lambda logs after an invocation, tab-separated; `Init Duration` only on a cold start,
 * and `extra` fields (`Status: error`, `Error Type: …`) after the figures.
 */
export function reportLine(requestId: string, report: Invocation['report'], extra: string[] = []): string {
  return [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${report.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${report.billedMs} ms`,
    `Memory Size: ${report.memoryMb} MB`,
    `Max Memory Used: ${report.maxMemoryUsedMb} MB`,
    ...(report.initMs === undefined ? [] : [`Init Duration: ${report.initMs.toFixed(2)} ms`]),
    ...extra,
  ].join('\t');
}

/**
 * The invocation an instance's result makes: the payload (the error when there is one, as Lambda returns
 * it), and the log closed with `END` and `REPORT`, which are appended to `lines` (the instance's log).
 */
export function completedInvocation(
  config: LocalFunction,
  requestId: string,
  result: ResultMessage,
  lines: string[],
  initMs: number | undefined,
): Invocation {
  const report = {
    durationMs: result.durationMs,
    billedMs: Math.ceil(result.durationMs),
    memoryMb: config.memoryMb,
    maxMemoryUsedMb: result.maxRssMb,
    ...(initMs === undefined ? {} : { initMs }),
  };
  lines.push(`END RequestId: ${requestId}`);
  lines.push(reportLine(requestId, report));
  return {
    requestId,
    payload: result.error ?? result.result ?? null,
    ...(result.error ? { functionError: 'Unhandled' as const, error: result.error } : {}),
    log: `${lines.join('\n')}\n`,
    report,
  };
}

/**
 * A new execution environment's log stream name, as Lambda names it: `YYYY/MM/DD/[$LATEST]` and 32 hex
 * digits (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html: "the log stream
 * name format is YYYY/MM/DD[Function version][Execution environment GUID]"), the date in UTC.
 */
export function logStreamName(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/**
 * Lambda's default log group of a function, `/aws/lambda/<function name>`: what the local Lambda API reports
 * in `LoggingConfig.LogGroup`, the runtime sets in `AWS_LAMBDA_LOG_GROUP_NAME` and the context's
 * `logGroupName`, and where the local CloudWatch Logs keeps its lines
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
 */
export function logGroupOf(functionName: string): string {
  return `/aws/lambda/${functionName}`;
}
