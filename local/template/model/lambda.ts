import type { CfnResource } from '../template.ts';
import { localiseUrl, type ModelContext, type Properties, str } from './context.ts';

export interface LocalFunction {
  logicalId: string;
  name: string;
  /** Short name for logs (the `pictura:name` metadata, else the logical id). */
  label: string;
  arn: string;
  /** Source entry relative to the project root (from the `pictura:entry` metadata). */
  entry: string;
  handlerExport: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  runtime: string;
  architecture: string;
  /**
   * `naive` (the `pictura:packaging` metadata) for the cold-start benchmark's naive baselines, which the
   * local cloud must build the naive way too; absent for the project's own packaging.
   */
  packaging?: 'naive';
}

export interface LocalEventSourceMapping {
  functionName: string;
  queueArn: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  maxConcurrency: number;
  enabled: boolean;
}

/**
 * The function name in a function reference: a name, a function ARN (possibly with a version or alias),
 * or an API Gateway integration URI ending in `function:<name>`.
 */
export function functionNameOf(reference: string): string {
  return /function:([^:/]+)/.exec(reference)?.[1] ?? reference;
}

/**
 * One `AWS::Lambda::Function` with Pictura's `pictura:entry` metadata (what the local cloud runs), from its
 * resolved properties: `Handler` (the export after the last dot), `Environment.Variables` (with local CDN
 * and API URLs made http), `Timeout` (3 s), `MemorySize` (128 MB) and `Architectures[0]` (`x86_64`), with CloudFormation's
 * defaults in parentheses; `Runtime` and `Handler` fall back to `nodejs24.x` and `index.handler`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html
 */
export function localFunction(
  context: ModelContext,
  logicalId: string,
  resource: CfnResource,
): LocalFunction {
  const p = context.properties(resource);
  const variables = ((p.Environment as { Variables?: Properties } | undefined)?.Variables ??
    {}) as Properties;
  const environment = Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [key, localiseUrl(str(value), context.addresses)]),
  );
  const handler = str(p.Handler, 'index.handler');
  return {
    logicalId,
    name: context.refOf(logicalId),
    label: str(resource.Metadata?.['pictura:name'], logicalId),
    arn: context.attributeOf(logicalId, 'Arn'),
    entry: str(resource.Metadata?.['pictura:entry']),
    handlerExport: handler.slice(handler.lastIndexOf('.') + 1) || 'handler',
    environment,
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMb: Number(p.MemorySize ?? 128),
    runtime: str(p.Runtime, 'nodejs24.x'),
    architecture: str((p.Architectures as string[] | undefined)?.[0], 'x86_64'),
    ...(resource.Metadata?.['pictura:packaging'] === 'naive' ? { packaging: 'naive' as const } : {}),
  };
}

/** The stack's functions the local cloud runs: those with a `pictura:entry` (its source) in their metadata. */
export function buildFunctions(context: ModelContext): LocalFunction[] {
  return context
    .ofType('AWS::Lambda::Function')
    .filter(([, resource]) => typeof resource.Metadata?.['pictura:entry'] === 'string')
    .map(([logicalId, resource]) => localFunction(context, logicalId, resource));
}

/**
 * One SQS event source mapping from an `AWS::Lambda::EventSourceMapping`'s resolved properties, with
 * CloudFormation's defaults: `BatchSize` 10, `MaximumBatchingWindowInSeconds` 0, `Enabled` true;
 * `ScalingConfig.MaximumConcurrency` defaults to 5 locally (on AWS, no limit below the function's own).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html
 */
export function sqsEventSourceMapping(p: Properties): LocalEventSourceMapping {
  const responseTypes = (p.FunctionResponseTypes as string[] | undefined) ?? [];
  const scaling = p.ScalingConfig as { MaximumConcurrency?: number } | undefined;
  return {
    functionName: functionNameOf(str(p.FunctionName)),
    queueArn: str(p.EventSourceArn),
    batchSize: Number(p.BatchSize ?? 10),
    maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
    reportBatchItemFailures: responseTypes.includes('ReportBatchItemFailures'),
    maxConcurrency: Number(scaling?.MaximumConcurrency ?? 5),
    enabled: p.Enabled !== false && p.Enabled !== 'false',
  };
}

/** The stack's event source mappings from SQS queues (other sources are not emulated). */
export function buildEventSourceMappings(context: ModelContext): LocalEventSourceMapping[] {
  return context
    .ofType('AWS::Lambda::EventSourceMapping')
    .map(([, resource]) => context.properties(resource))
    .filter((p) => str(p.EventSourceArn).startsWith('arn:aws:sqs:'))
    .map(sqsEventSourceMapping);
}
