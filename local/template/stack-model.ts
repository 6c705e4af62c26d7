import { buildApi, type LocalApi } from './model/apigateway.ts';
import { buildDistribution, type LocalDistribution } from './model/cloudfront.ts';
import { type LocalAddresses, localiseUrl, ModelContext, str } from './model/context.ts';
import { buildTables, type LocalTable } from './model/dynamodb.ts';
import { buildSchedules, type LocalSchedule } from './model/events.ts';
import {
  buildEventSourceMappings,
  buildFunctions,
  type LocalEventSourceMapping,
  type LocalFunction,
} from './model/lambda.ts';
import { physicalResources } from './model/names.ts';
import {
  buildBucketDeployments,
  buildBuckets,
  type LocalBucket,
  type LocalBucketDeployment,
} from './model/s3.ts';
import { buildQueues, type LocalQueue } from './model/sqs.ts';
import type { StackTemplate } from './template.ts';

// The model of each service lives in model/<service>.ts; its types are re-exported here, where the rest of
// the local cloud imports them from.
export type { LocalApi, LocalGatewayResponse, LocalRoute } from './model/apigateway.ts';
export type { LocalCacheBehavior, LocalDistribution, ReadableObjects } from './model/cloudfront.ts';
export { type LocalAddresses, localiseUrl } from './model/context.ts';
export type { LocalTable } from './model/dynamodb.ts';
export type { LocalSchedule, LocalScheduleExpression, LocalScheduleTarget } from './model/events.ts';
export type { LocalEventSourceMapping, LocalFunction } from './model/lambda.ts';
export type { CorsRule, LocalBucket, LocalBucketDeployment, QueueNotification } from './model/s3.ts';
export type { LocalQueue } from './model/sqs.ts';

/** Everything the local cloud runs, derived from one synthesized stack. */
export interface StackModel {
  stackName: string;
  buckets: LocalBucket[];
  /** Files copied into buckets at provisioning (CDK BucketDeployments: the upload page). */
  bucketDeployments: LocalBucketDeployment[];
  queues: LocalQueue[];
  tables: LocalTable[];
  functions: LocalFunction[];
  mappings: LocalEventSourceMapping[];
  /** Scheduled EventBridge rules and their Lambda targets. */
  schedules: LocalSchedule[];
  api: LocalApi | undefined;
  distribution: LocalDistribution | undefined;
  outputs: Record<string, string>;
}

/**
 * The stack's `Outputs`, resolved, with local CDN and API URLs made http. An output that references
 * something the local cloud does not run is simply not shown.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/outputs-section-structure.html
 */
function resolveOutputs(stack: StackTemplate, context: ModelContext): Record<string, string> {
  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(stack.outputs)) {
    try {
      outputs[name] = localiseUrl(str(context.resolve(output.Value)), context.addresses);
    } catch {
      // Not shown (see above): the rest of the stack still runs.
    }
  }
  return outputs;
}

/**
 * Builds the local model of a stack: physical names and URLs for every resource the local cloud emulates
 * (model/names.ts), then, service by service, every property that matters resolved against them. Resources
 * it does not emulate (IAM, alarms, custom resources) still get placeholder values so references to them
 * resolve. Resources whose `Condition` is false are left out.
 *
 * Throws when a property it reads references something that cannot be resolved locally (an unknown
 * `Ref`, an unsupported intrinsic), naming it.
 */
export function buildStackModel(stack: StackTemplate, addresses: LocalAddresses): StackModel {
  const context = new ModelContext(stack, addresses, physicalResources(stack, addresses));
  const queues = buildQueues(context);
  const buckets = buildBuckets(context);
  const bucketDeployments = buildBucketDeployments(context, stack.assets);
  const tables = buildTables(context);
  const functions = buildFunctions(context);
  const mappings = buildEventSourceMappings(context);
  const schedules = buildSchedules(context);
  const api = buildApi(context);
  const distribution = buildDistribution(context);
  const outputs = resolveOutputs(stack, context);
  return {
    stackName: stack.stackName,
    buckets,
    bucketDeployments,
    queues,
    tables,
    functions,
    mappings,
    schedules,
    api,
    distribution,
    outputs,
  };
}
