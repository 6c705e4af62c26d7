import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefixes, as in `shared/keys.ts` (infra does not import product code: it is bundled separately). */
export const ORIGINALS_PREFIX = 'originals/';
export const VARIANTS_PREFIX = 'variants/';

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

/** Where images and their records live: one private bucket and one table. */
export class Storage extends Construct {
  readonly bucket: Bucket;
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.bucket = new Bucket(this, 'Bucket', {
      // Originals may carry GPS data and variants are served only through the CDN: nothing is public.
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
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
