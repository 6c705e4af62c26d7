import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/** Key prefixes, as in `shared/keys.ts` (infra does not import product code: it is bundled separately). */
export const ORIGINALS_PREFIX = 'originals/';
export const VARIANTS_PREFIX = 'variants/';
/**
 * The health check's bucket probe lists this prefix (shared/health.ts), which holds no object; the images
 * function may list it and nothing else.
 */
export const HEALTH_PROBE_PREFIX = 'health-check/';

/** Table layout the repository (`shared/`) relies on. */
export const TABLE_SCHEMA = {
  partitionKey: 'id',
  ttlAttribute: 'expiresAt',
  ownerIndex: 'byOwner',
  ownerIndexPartitionKey: 'ownerId',
  ownerIndexSortKey: 'createdAt',
  statusIndex: 'byStatus',
  statusIndexPartitionKey: 'status',
  statusIndexSortKey: 'updatedAt',
} as const;

export interface StorageProps {
  /** Keep bucket and table when the stack is deleted. */
  retainData: boolean;
  /** Origin allowed to POST uploads straight to the bucket from a browser. */
  corsAllowOrigin: string;
  /** Also allow browsers to GET from the bucket: on LocalStack the variants are served by S3 itself. */
  allowBrowserReads: boolean;
}

/** How long access logs (S3 server access logs, CloudFront standard logs) are kept. */
export const ACCESS_LOG_RETENTION = Duration.days(90);

/**
 * Where images and their records live: one private bucket and one table; and the log bucket that
 * receives the trail (the bucket's server access logs under `s3/`, CloudFront's standard logs under
 * `cloudfront/`).
 */
export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly table: Table;
  readonly logBucket: Bucket;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    // The trail (docs/deploy.md, "Trail"). Private, TLS only, SSE-S3 (S3's log delivery cannot write to
    // a bucket encrypted with a customer KMS key without extra grants, and SSE-KMS would bill each log
    // object). ACLs stay possible (BUCKET_OWNER_PREFERRED) because CloudFront's standard logging writes
    // with the awslogsdelivery account's ACL; S3 server access logs use the bucket policy CDK adds.
    // Expired after ACCESS_LOG_RETENTION: enough to investigate an abuse report, and logs are paid by size.
    this.logBucket = new Bucket(this, 'LogBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      versioned: false,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: ACCESS_LOG_RETENTION }],
      removalPolicy,
    });
    // The log bucket's own access would be logged into itself (a loop AWS advises against) or into a
    // third bucket with the same question; its writers are AWS's log delivery services.
    NagSuppressions.addResourceSuppressions(this.logBucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'This is the access-log bucket itself: logging it into itself loops (AWS advises against it, ' +
          'https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html) and its only writers ' +
          'are the S3 and CloudFront log delivery services.',
      },
    ]);

    this.bucket = new Bucket(this, 'Bucket', {
      // Originals may carry GPS data and variants are served only through the CDN: nothing is public.
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // Server access logs: who read, wrote or deleted which object, from which IP (best effort, within
      // hours). S3 server access logs rather than CloudTrail data events ($0.10 per 100,000 events): they
      // cost only their storage (docs/deploy.md, "Trail").
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/',
      // SSE-S3 rather than SSE-KMS: CloudFront's OAC reads it without a key policy, and there is no
      // per-request KMS charge on every render and CDN miss.
      encryption: BucketEncryption.S3_MANAGED,
      // No versioning: deleting an image must really delete its bytes (privacy), and the table's
      // point-in-time recovery already protects the records.
      versioned: false,
      cors: [
        {
          // Browsers upload with the presigned POST the API returns (a multipart form POST to the bucket).
          allowedMethods: props.allowBrowserReads
            ? [HttpMethods.POST, HttpMethods.GET, HttpMethods.HEAD]
            : [HttpMethods.POST],
          allowedOrigins: [props.corsAllowOrigin],
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag', 'Location'],
          maxAge: 3600,
        },
      ],
      lifecycleRules: [
        {
          // The only upload debris S3 itself can hold: parts of multipart uploads that never completed
          // (large SDK or CLI uploads). Presigned POSTs are single requests and leave nothing behind when
          // they are never used; the pending record then expires through the table's TTL.
          //
          // Originals are deliberately not expired by age: a ready image needs its original for as long
          // as it lives, and an age rule cannot tell a ready image's original from an abandoned one.
          // The pipeline removes the originals it rejects, and delete removes the rest.
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
      // No autoDeleteObjects: it adds a custom-resource Lambda allowed to delete every object. To destroy a
      // dev stack, empty the bucket first (docs/deploy.md).
    });

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      // On demand: traffic is spiky (uploads in bursts) and a small deployment idles most of the time.
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Pending uploads that never arrive expire on their own.
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      deletionProtection: props.retainData,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      // A key's images, newest first: ISO-8601 `createdAt` sorts chronologically as a string.
      indexName: TABLE_SCHEMA.ownerIndex,
      partitionKey: { name: TABLE_SCHEMA.ownerIndexPartitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.ownerIndexSortKey, type: AttributeType.STRING },
      // ALL: a listing returns whole image documents without a second read per item.
      projectionType: ProjectionType.ALL,
    });
    this.table.addGlobalSecondaryIndex({
      // The sweeper's view: the records in one state, least recently changed first, so "stalled since
      // before T" is a key condition (`updatedAt < T`), never a scan. KEYS_ONLY: the sweeper needs only
      // the id and the two keys it conditions its writes on; ISO-8601 `updatedAt` sorts as time.
      indexName: TABLE_SCHEMA.statusIndex,
      partitionKey: { name: TABLE_SCHEMA.statusIndexPartitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.statusIndexSortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
  }
}
