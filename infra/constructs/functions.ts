import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { API_FUNCTION_NAMES, type FunctionName, PicturaFunction } from './pictura-function.ts';
import type { Stage } from './pipeline.ts';
import { HEALTH_PROBE_PREFIX, ORIGINALS_PREFIX, TABLE_SCHEMA, VARIANTS_PREFIX } from './storage.ts';
import { SWEEPER_SETTINGS } from './sweeper.ts';

const MiB = 1024 * 1024;

/**
 * Limits handed to the functions (they read them in `shared/config.ts`). Set explicitly so that the
 * template, which the local cloud and operators read, states them.
 */
export const LIMITS = {
  /** Largest original accepted through a presigned POST; re-checked by metadata on ingest. */
  maxUploadBytes: 25 * MiB,
  /**
   * Largest raw-body upload. API Gateway accepts 10 MB, but a Lambda event is capped at 6 MB and a binary
   * body arrives base64-encoded (4/3 larger): 4 MiB decoded is about 5.6 MB encoded.
   */
  maxDirectUploadBytes: 4 * MiB,
  /** Width × height decoded at most: 100 Mpx covers any camera while bounding a render's memory. */
  maxInputPixels: 100_000_000,
  /** A presigned POST is used right away by the client that asked for it. */
  presignedPostExpiresSeconds: 15 * 60,
  /** A pending record whose upload never arrived disappears (DynamoDB TTL) a day later. */
  pendingUploadTtlSeconds: 24 * 60 * 60,
} as const;

/**
 * Memory (which also buys CPU: Lambda allocates it in proportion, one full vCPU at 1,769 MB) and timeout
 * of each function.
 */
export const FUNCTION_SIZING: Record<FunctionName, { memorySize: number; timeout: Duration }> = {
  // API functions are I/O-bound (DynamoDB, S3, presigning). 512 MB rather than 128–256 MB because init
  // (loading and parsing the bundle) is CPU-bound, and at low traffic most requests meet a cold start.
  // 10 s is far above their normal latency and well under API Gateway's 29 s integration limit.
  upload: { memorySize: 512, timeout: Duration.seconds(10) },
  images: { memorySize: 512, timeout: Duration.seconds(10) },
  delete: { memorySize: 512, timeout: Duration.seconds(10) },
  // purge drains the purge queue (S3 list/delete and a CloudFront invalidation per image, ten images a
  // batch): I/O-bound like the API, but a batch needs more than an API call.
  purge: { memorySize: 512, timeout: Duration.seconds(30) },
  // metadata hashes the whole original (up to 25 MiB) and decodes it for the placeholder and dominant
  // colour; 1,536 MB is close to one full vCPU and leaves room for libvips' buffers.
  metadata: { memorySize: 1536, timeout: Duration.seconds(60) },
  // thumbnail decodes up to 100 Mpx once and encodes every variant (WebP, AVIF where it pays): the
  // heaviest work in the system. 2,048 MB gives a little more than one vCPU, which libvips' threads use,
  // and the memory a large decode needs; 120 s bounds a pathological image without cutting off a real one.
  thumbnail: { memorySize: 2048, timeout: Duration.seconds(120) },
  // sweeper: a few hundred conditional writes and sends a run at most (SWEEPER_SETTINGS.maxRecordsPerRun),
  // I/O-bound; it stops taking pages with 10 s left, so 60 s is plenty and nobody waits on its cold start.
  sweeper: { memorySize: 256, timeout: Duration.seconds(60) },
};

/**
 * Reserved concurrency of the API functions: each always has this many instances available, whatever the
 * pipeline is doing, and never more (a flood is throttled by Lambda, which API Gateway answers 5xx/429,
 * instead of taking the account's whole pool). Sized from the stage throttle (100 rps, burst 200) and warm
 * latencies: reads and health take tens of ms, so 40 covers a full burst at about 200 ms each; an upload
 * holds an instance for a whole direct upload (up to 4 MiB received and stored), hence 20; a delete is one
 * read, one conditional write and one send. 70 in all, leaving 930 of the default 1,000 to the pipeline
 * (at most 22 by the event sources' maxConcurrency) and the sweeper. An account still at a new account's
 * lower concurrency quota cannot reserve this much: deploying needs the default quota (docs/deploy.md).
 */
export const API_RESERVED_CONCURRENCY: Record<'upload' | 'images' | 'delete', number> = {
  upload: 20,
  images: 40,
  delete: 10,
};

/** Environment variable holding the CDN's origin secret (shared/http/origin-verify.ts reads it). */
export const ORIGIN_SECRET_VARIABLE = 'CDN_ORIGIN_SECRET';

export interface FunctionsProps {
  bucket: IBucket;
  table: ITable;
  queues: Record<Stage, IQueue>;
  deadLetterQueues: Record<Stage, IQueue>;
  /** Base URL of variant links (`${cdnBaseUrl}/variants/...`). */
  cdnBaseUrl: string;
  /**
   * Base URL of the API's own links (`links.self`, `Location`): the CDN's where there is one, since the API
   * answers only through it. Absent: API Gateway's domain and stage (shared/http/request.ts).
   */
  apiPublicUrl?: string;
  /** The CDN whose cache delete invalidates; absent where there is none (LocalStack). */
  distribution: IDistribution | undefined;
  retainData: boolean;
  /** Origin browsers may call the API from; the HTTP functions put it on every response. */
  corsAllowOrigin: string;
  /** Add the cold-start benchmark's baseline functions (settings `benchBaselines`). */
  benchBaselines?: boolean;
  /**
   * The secret CloudFront sends the API origin (a Secrets Manager dynamic reference, resolved by
   * CloudFormation at deploy); the API functions refuse requests without it. Absent without a CDN.
   */
  originSecret?: string;
}

/** The benchmark's empty handler, relative to the repository root. */
export const BENCH_EMPTY_ENTRY = 'bench/fixtures/empty-handler.ts';

/**
 * The five functions, each with exactly the environment it reads and the permissions it uses. Nothing is
 * granted through CDK's `grant*` helpers on purpose: they grant families of actions (`s3:GetObject*`,
 * `dynamodb:BatchGetItem`, …), and the point here is to list what each function actually calls.
 */
export class Functions extends Construct {
  readonly upload: PicturaFunction;
  readonly images: PicturaFunction;
  readonly delete: PicturaFunction;
  readonly purge: PicturaFunction;
  readonly metadata: PicturaFunction;
  readonly thumbnail: PicturaFunction;
  readonly sweeper: PicturaFunction;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { bucket, table, queues, deadLetterQueues } = props;
    const logRemovalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const environments = {} as Record<FunctionName, Record<string, string>>;
    const common: Record<string, string> = {
      BUCKET_NAME: bucket.bucketName,
      TABLE_NAME: table.tableName,
      POWERTOOLS_SERVICE_NAME: 'pictura',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Every function validates the whole set of limits at cold start (one config module), so every
      // function gets the same values: a limit changed here cannot leave one function on a default.
      MAX_UPLOAD_BYTES: String(LIMITS.maxUploadBytes),
      MAX_DIRECT_UPLOAD_BYTES: String(LIMITS.maxDirectUploadBytes),
      MAX_INPUT_PIXELS: String(LIMITS.maxInputPixels),
    };
    const make = (
      name: FunctionName,
      description: string,
      environment: Record<string, string>,
      usesSharp: boolean,
    ): PicturaFunction => {
      environments[name] = { ...common, ...environment };
      return new PicturaFunction(this, capitalise(name), {
        name,
        description,
        ...FUNCTION_SIZING[name],
        environment: environments[name],
        usesSharp,
        logRemovalPolicy,
      });
    };

    const originals = bucket.arnForObjects(`${ORIGINALS_PREFIX}*`);
    const variants = bucket.arnForObjects(`${VARIANTS_PREFIX}*`);
    const ownerIndex = `${table.tableArn}/index/${TABLE_SCHEMA.ownerIndex}`;

    const apiLinks: Record<string, string> = props.apiPublicUrl ? { API_PUBLIC_URL: props.apiPublicUrl } : {};
    this.upload = make(
      'upload',
      'POST /v1/images: presigned POST or direct upload of an original',
      {
        PRESIGNED_POST_EXPIRES_SECONDS: String(LIMITS.presignedPostExpiresSeconds),
        PENDING_UPLOAD_TTL_SECONDS: String(LIMITS.pendingUploadTtlSeconds),
        CORS_ALLOW_ORIGIN: props.corsAllowOrigin,
        ...apiLinks,
      },
      false,
    );
    // PutObject also covers the presigned POST, which S3 authorises as the function's role.
    // DeleteObject: a direct upload whose put failed half-way removes what may have landed.
    allow(this.upload, ['s3:PutObject', 's3:DeleteObject'], [originals]);
    allow(this.upload, ['dynamodb:PutItem'], [table.tableArn]);

    this.images = make(
      'images',
      'GET /v1/images, GET /v1/images/{id}, GET /v1/health',
      { CDN_BASE_URL: props.cdnBaseUrl, CORS_ALLOW_ORIGIN: props.corsAllowOrigin, ...apiLinks },
      false,
    );
    // GetItem is also the health check's table probe. The bucket probe lists one fixed, empty prefix
    // (shared/health.ts): the condition lets this function list nothing else, so it learns no key.
    allow(this.images, ['dynamodb:GetItem', 'dynamodb:Query'], [table.tableArn, ownerIndex]);
    allow(this.images, ['s3:ListBucket'], [bucket.bucketArn], {
      StringEquals: { 's3:prefix': HEALTH_PROBE_PREFIX },
    });

    // The API half of a delete: authorise, mark `deleting`, queue the purge. It touches no object, so it
    // loads neither S3 nor CloudFront (a faster cold start where a client waits) and may delete nothing.
    this.delete = make(
      'delete',
      'DELETE /v1/images/{id}: authorises, marks the image deleting, queues its purge',
      { PURGE_QUEUE_URL: queues.purge.queueUrl, CORS_ALLOW_ORIGIN: props.corsAllowOrigin },
      false,
    );
    allow(this.delete, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(this.delete, ['sqs:SendMessage'], [queues.purge.queueArn]);

    this.purge = make(
      'purge',
      "Purge consumer: removes a deleted image's objects, its CDN cache entries, then its record",
      {
        DEAD_LETTER_QUEUE_URL: deadLetterQueues.purge.queueUrl,
        ...(props.distribution ? { CDN_DISTRIBUTION_ID: props.distribution.distributionId } : {}),
      },
      false,
    );
    // UpdateItem: a purge that gave up (its last receive) records its failure on the `deleting` record.
    allow(this.purge, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [table.tableArn]);
    allow(this.purge, ['sqs:SendMessage'], [deadLetterQueues.purge.queueArn]);
    // Listing is needed to find an image's variants; it is limited to the variants prefix.
    allow(this.purge, ['s3:ListBucket'], [bucket.bucketArn], {
      StringLike: { 's3:prefix': `${VARIANTS_PREFIX}*` },
    });
    allow(this.purge, ['s3:DeleteObject'], [originals, variants]);
    if (props.distribution) {
      allow(this.purge, ['cloudfront:CreateInvalidation'], [props.distribution.distributionArn]);
    }

    this.metadata = make(
      'metadata',
      'Ingest consumer: validates an original, records its metadata, queues the render',
      {
        RENDER_QUEUE_URL: queues.render.queueUrl,
        DEAD_LETTER_QUEUE_URL: deadLetterQueues.ingest.queueUrl,
      },
      true,
    );
    // DeleteObject: a rejected upload's original is removed.
    allow(this.metadata, ['s3:GetObject', 's3:DeleteObject'], [originals]);
    allow(this.metadata, ['s3:ListBucket'], [bucket.bucketArn]);
    allow(this.metadata, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(this.metadata, ['sqs:SendMessage'], [queues.render.queueArn, deadLetterQueues.ingest.queueArn]);

    this.thumbnail = make(
      'thumbnail',
      'Render consumer: renders every variant of an image from one decode',
      {
        CDN_BASE_URL: props.cdnBaseUrl,
        DEAD_LETTER_QUEUE_URL: deadLetterQueues.render.queueUrl,
      },
      true,
    );
    allow(this.thumbnail, ['s3:GetObject'], [originals]);
    // ListBucket: a missing original reads as NoSuchKey (see below), and a render that lost the race to a
    // delete lists the image's variants to remove what it (or a failed attempt) left.
    allow(this.thumbnail, ['s3:ListBucket'], [bucket.bucketArn]);
    // DeleteObject on variants: that clean-up; on originals: an image rejected while rendering (one that
    // cannot be encoded, or whose original was replaced after ingest) loses its original, as at ingest.
    allow(this.thumbnail, ['s3:PutObject'], [variants]);
    allow(this.thumbnail, ['s3:DeleteObject'], [variants, originals]);
    allow(this.thumbnail, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table.tableArn]);
    allow(this.thumbnail, ['sqs:SendMessage'], [deadLetterQueues.render.queueArn]);

    // Scheduled by the Sweeper construct (infra/constructs/sweeper.ts): expires abandoned uploads (record,
    // then any late bytes) and re-queues stalled work. It reads only the KEYS_ONLY status index and writes
    // records conditionally; it never reads an object, and removes originals only.
    this.sweeper = make(
      'sweeper',
      'Scheduled: expires abandoned uploads and their late bytes, re-queues stalled ingest, render and purge work',
      {
        INGEST_QUEUE_URL: queues.ingest.queueUrl,
        RENDER_QUEUE_URL: queues.render.queueUrl,
        PURGE_QUEUE_URL: queues.purge.queueUrl,
        PRESIGNED_POST_EXPIRES_SECONDS: String(LIMITS.presignedPostExpiresSeconds),
        SWEEP_PENDING_UPLOAD_GRACE_SECONDS: String(SWEEPER_SETTINGS.pendingUploadGrace.toSeconds()),
        SWEEP_PROCESSING_AFTER_SECONDS: String(SWEEPER_SETTINGS.processingStalledAfter.toSeconds()),
        SWEEP_DELETING_AFTER_SECONDS: String(SWEEPER_SETTINGS.deletingStalledAfter.toSeconds()),
        SWEEP_MAX_RECORDS: String(SWEEPER_SETTINGS.maxRecordsPerRun),
      },
      false,
    );
    allow(this.sweeper, ['dynamodb:Query'], [`${table.tableArn}/index/${TABLE_SCHEMA.statusIndex}`]);
    allow(this.sweeper, ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'], [table.tableArn]);
    allow(this.sweeper, ['s3:DeleteObject'], [originals]);
    allow(
      this.sweeper,
      ['sqs:SendMessage'],
      [queues.ingest.queueArn, queues.render.queueArn, queues.purge.queueArn],
    );

    for (const name of API_FUNCTION_NAMES) {
      (this[name].node.defaultChild as CfnFunction).reservedConcurrentExecutions =
        API_RESERVED_CONCURRENCY[name];
      if (props.originSecret !== undefined) {
        this[name].addEnvironment(ORIGIN_SECRET_VARIABLE, props.originSecret);
        // The benchmark's naive copies run with the same environment.
        environments[name][ORIGIN_SECRET_VARIABLE] = props.originSecret;
      }
    }

    // The only wildcards in the roles are object-key prefixes (cdk-nag IAM5): objects are named
    // `originals/<id>` and `variants/<id>/<name>` after ids created at run time, so the prefix is the
    // narrowest resource an ARN can name; the actions are listed one by one, never `s3:*` or `s3:Get*`.
    NagSuppressions.addResourceSuppressions(
      this,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object-key prefixes only: Pictura names objects originals/<id> and variants/<id>/<name> after ' +
            'ids made at run time, so <bucket>/originals/* and <bucket>/variants/* are the narrowest ' +
            'resources; every action is listed explicitly (test/infra/iam.test.ts).',
          appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>\\/(originals|variants)\\/\\*$/g' }],
        },
      ],
      true,
    );

    if (props.benchBaselines) this.addBenchBaselines(environments, logRemovalPolicy);
  }

  /** The seven functions by name (the dashboard graphs each). */
  byName(): Record<FunctionName, PicturaFunction> {
    const { upload, images, delete: remove, purge, metadata, thumbnail, sweeper } = this;
    return { upload, images, delete: remove, purge, metadata, thumbnail, sweeper };
  }

  /**
   * The cold-start benchmark's baselines, measured in the same run as the functions (bench/cold-start.ts).
   * The floor is an empty handler packaged like the functions, sized like the API functions (memory buys
   * CPU, and init is CPU-bound). Each naive copy runs the same entry with the same environment, sizing and
   * role as its function (so it may make the same calls; only the write grant on its own log group is
   * added to that role), packaged the naive way; no route or queue reaches them, they are only invoked
   * through the Lambda API.
   */
  private addBenchBaselines(
    environments: Record<FunctionName, Record<string, string>>,
    logRemovalPolicy: RemovalPolicy,
  ): void {
    new PicturaFunction(this, 'BenchEmpty', {
      name: 'bench-empty',
      entryPath: BENCH_EMPTY_ENTRY,
      description: 'Cold-start benchmark floor: an empty handler',
      ...FUNCTION_SIZING.images,
      environment: {},
      usesSharp: false,
      logRemovalPolicy,
    });
    for (const name of API_FUNCTION_NAMES) {
      new PicturaFunction(this, `Naive${capitalise(name)}`, {
        name: `naive-${name}`,
        entryPath: this[name].entryPath,
        packaging: 'naive',
        role: this[name].role,
        description: `Cold-start benchmark baseline: ${name} packaged the naive way`,
        ...FUNCTION_SIZING[name],
        environment: environments[name],
        usesSharp: false,
        logRemovalPolicy,
      });
    }
  }
}

/*
 * Why the pipeline functions may list the bucket: without s3:ListBucket, S3 answers a GET for a missing key
 * with 403 AccessDenied (so as not to reveal whether it exists), and the pipeline must tell "the original is
 * gone" (a delete won the race, a duplicate event) from a real permission error. The grant has no s3:prefix
 * condition because S3 makes that check without a prefix in the request context, where a prefix condition
 * would never match and the 403 would stay.
 */

function allow(
  fn: PicturaFunction,
  actions: string[],
  resources: string[],
  conditions?: Record<string, Record<string, string>>,
): void {
  fn.addToRolePolicy(new PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) }));
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
