/**
 * What the local cloud sees of the functions, as CloudWatch would: their logs (local/logs, read with
 * `FilterLogEvents` and `DescribeLogGroups` on the AWS endpoint) and the metrics in their EMF lines
 * (local/metrics, served at `/_pictura/metrics` and charted at `/_pictura/metrics.html`).
 */
import { join } from 'node:path';
import type { AwsEndpoint } from './aws-endpoint.ts';
import type { FunctionLogEvent } from './lambda/runtime/function-runtime.ts';
import { logGroupOf } from './lambda/runtime/report.ts';
import { logsRoute } from './logs/provider.ts';
import { LogStore } from './logs/store.ts';
import { MetricStore } from './metrics/aggregator.ts';
import { metricsRoute } from './metrics/views.ts';

export interface Observability {
  logs: LogStore;
  metrics: MetricStore;
  /** What the function runtime calls for every log line (`RuntimeOptions.logEvents`). */
  logEvents: (event: FunctionLogEvent) => void;
  /** Writes pending log lines to the data folder. */
  close(): void;
}

/**
 * The log store (kept in `<dataDir>/logs` when there is a data folder, its metrics rebuilt from it on
 * start) and the metric store fed by it, with their routes on the endpoint. Lambda's log group for a
 * function is `/aws/lambda/<function name>`.
 */
export function startObservability(
  endpoint: AwsEndpoint,
  where: { region: string; account: string; dataDir: string | undefined; functionNames: string[] },
): Observability {
  const metrics = new MetricStore();
  const logs = new LogStore({
    dir: where.dataDir ? join(where.dataDir, 'logs') : undefined,
    onEvent: (event) => metrics.ingest(event.message, event.ingestionTime),
  });
  for (const name of where.functionNames) logs.createGroup(logGroupOf(name));
  endpoint.addRoute(logsRoute(logs, where.region, where.account));
  endpoint.addRoute(metricsRoute({ metrics, logGroups: () => logs.groups() }));
  return {
    logs,
    metrics,
    logEvents: (event) =>
      logs.put(logGroupOf(event.functionName), event.logStreamName, event.timestamp, event.message),
    close: () => logs.close(),
  };
}
