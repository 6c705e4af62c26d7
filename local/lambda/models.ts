import { createHash, randomUUID } from 'node:crypto';
import type { LocalFunction } from '../template/stack-model.ts';
import { logGroupOf } from './runtime/report.ts';

/** What the Lambda API keeps about a function besides the runtime's configuration. */
export interface FunctionRecord {
  /** `FunctionConfiguration.LastModified`: ISO-8601 with milliseconds and `+0000`, as Lambda writes it. */
  lastModified: string;
  lastUpdateStatus: 'InProgress' | 'Successful';
  revisionId: string;
  /** The template's environment, which the unsafe-variable check trusts. */
  deployed: Readonly<Record<string, string>>;
}

/** `2024-01-01T00:00:00.000+0000` (API_FunctionConfiguration: "YYYY-MM-DDThh:mm:ss.sTZD"). */
export function lastModified(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * One record per deployed function, all modified at start-up and `Successful`; each keeps the template's
 * environment as deployed, since variables the template sets are trusted where a later update's are not.
 */
export function deployedRecords(functions: readonly LocalFunction[]): Map<string, FunctionRecord> {
  const started = lastModified();
  const records = new Map<string, FunctionRecord>();
  for (const fn of functions) {
    records.set(fn.name, {
      lastModified: started,
      lastUpdateStatus: 'Successful',
      revisionId: randomUUID(),
      deployed: { ...fn.environment },
    });
  }
  return records;
}

/**
 * A function's configuration as `GetFunctionConfiguration` answers it. While an update is in progress
 * Lambda adds the reason fields, recorded on AWS as `The function is being created.` / `Creating`
 * (LocalStack tests/aws/services/lambda_/test_lambda_api.snapshot.json, `update_func_conf_response`).
 */
export function configuration(fn: LocalFunction, record: FunctionRecord) {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: `arn:aws:iam::000000000000:role/${fn.name}-role`,
    Handler: `index.${fn.handlerExport}`,
    CodeSize: 0,
    Description: `local: ${fn.entry}`,
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memoryMb,
    LastModified: record.lastModified,
    CodeSha256: createHash('sha256').update(fn.entry).digest('base64'),
    Version: '$LATEST',
    Environment: { Variables: fn.environment },
    Architectures: [fn.architecture],
    // The default, the only size the local cloud reports (its functions use the host's /tmp; see provider.ts).
    EphemeralStorage: { Size: 512 },
    PackageType: 'Zip',
    // Where the local cloud keeps the function's logs (FilterLogEvents on the AWS endpoint): Lambda's default
    // group, in Lambda's default (plain text) format (API_LoggingConfig.html).
    LoggingConfig: { LogFormat: 'Text', LogGroup: logGroupOf(fn.name) },
    State: 'Active',
    RevisionId: record.revisionId,
    LastUpdateStatus: record.lastUpdateStatus,
    ...(record.lastUpdateStatus === 'InProgress'
      ? { LastUpdateStatusReason: 'The function is being created.', LastUpdateStatusReasonCode: 'Creating' }
      : {}),
  };
}
