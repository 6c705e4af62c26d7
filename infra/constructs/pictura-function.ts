import { join } from 'node:path';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IRole, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { HANDLER_EXPORT, LOCK_FILE, type Packaging, packagingOptions, REPO_ROOT } from '../bundling.ts';

/** The functions; each lives in `functions/<name>/handler.ts` and exports `handler`. */
export const FUNCTION_NAMES = [
  'upload',
  'images',
  'delete',
  'metadata',
  'thumbnail',
  'purge',
  'sweeper',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** The API functions: the ones a client waits on, whose cold start the benchmark holds to a goal. */
export const API_FUNCTION_NAMES = ['upload', 'images', 'delete'] as const;
export type ApiFunctionName = (typeof API_FUNCTION_NAMES)[number];

/**
 * The cold-start benchmark's baselines (`-c benchBaselines=true`): the empty handler (the floor) and each
 * API function packaged the naive way.
 */
export type BaselineName = 'bench-empty' | `naive-${ApiFunctionName}`;

/** Template metadata keys the local cloud reads to run a function's TypeScript source on the host. */
export const ENTRY_METADATA_KEY = 'pictura:entry';
export const NAME_METADATA_KEY = 'pictura:name';
/** Present (`naive`) only on a function packaged the naive way, so the local cloud builds it that way too. */
export const PACKAGING_METADATA_KEY = 'pictura:packaging';

export interface PicturaFunctionProps {
  name: FunctionName | BaselineName;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  /** sharp is installed for linux-arm64 next to the bundle; only the image-processing functions need it. */
  usesSharp: boolean;
  /** What happens to the function's log group when the stack is deleted. */
  logRemovalPolicy: RemovalPolicy;
  /** Entry relative to the repository root; `functions/<name>/handler.ts` by default. */
  entryPath?: string;
  /** `optimized` (default) or the benchmark's `naive` baseline. */
  packaging?: Packaging;
  /** An existing role to run as (a baseline shares its real function's); a new empty one by default. */
  role?: IRole;
}

/**
 * One Pictura Lambda function: Node.js 24 on arm64 (Graviton is 20% cheaper per GB-second than x86),
 * bundled on its own from `functions/<name>/handler.ts`.
 *
 * Each function gets its own role that starts empty, and its own log group with a retention: the role can
 * only write to that log group, instead of the managed AWSLambdaBasicExecutionRole's
 * `logs:CreateLogGroup` on `*`. Everything else a function may do is granted explicitly by the stack.
 *
 * X-Ray active tracing is on for every function: Lambda samples and starts a trace per invocation, and the
 * function's Powertools Tracer (shared/observability/tracer.ts) adds its handler and AWS-call subsegments.
 */
export class PicturaFunction extends NodejsFunction {
  /** Path of the entry relative to the repository root, e.g. `functions/upload/handler.ts`. */
  readonly entryPath: string;

  constructor(scope: Construct, id: string, props: PicturaFunctionProps) {
    const entryPath = props.entryPath ?? `functions/${props.name}/handler.ts`;
    const packaging = props.packaging ?? 'optimized';
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      // A month is enough to debug an incident; longer retention is paid per GB stored.
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy,
    });
    const role =
      props.role ??
      new Role(scope, `${id}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Pictura ${props.name} function`,
      });
    super(scope, id, {
      description: props.description,
      entry: join(REPO_ROOT, entryPath),
      handler: HANDLER_EXPORT,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      environment: props.environment,
      role,
      logGroup,
      tracing: Tracing.ACTIVE,
      bundling: packagingOptions(packaging, {
        name: props.name,
        usesSharp: props.usesSharp,
        // Entries outside functions/ (the benchmark's empty handler) are not in the source digest.
        ...(entryPath.startsWith('functions/') ? {} : { extraSources: [entryPath] }),
      }),
    });
    logGroup.grantWrite(role);
    this.entryPath = entryPath;
    // Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords on `*` (cdk-nag IAM5): X-Ray
    // has no resource-level permissions for them, so `*` is the only resource these actions take.
    NagSuppressions.addResourceSuppressions(
      role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
            'permissions, so their resource is * (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).',
          appliesTo: ['Resource::*'],
        },
      ],
      true,
    );

    // The local cloud runs functions from their TypeScript source built for the host, not from the
    // arm64 asset; these entries tell it which source belongs to which function in the template.
    const cfn = this.node.defaultChild as CfnFunction;
    cfn.addMetadata(ENTRY_METADATA_KEY, entryPath);
    cfn.addMetadata(NAME_METADATA_KEY, props.name);
    if (packaging !== 'optimized') cfn.addMetadata(PACKAGING_METADATA_KEY, packaging);
  }
}
