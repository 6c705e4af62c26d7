import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { REPO_ROOT } from '../bundling.ts';

/** The upload page's files (site/index.html, app.js, style.css), deployed as they are: no build step. */
export const SITE_DIR = join(REPO_ROOT, 'site');

/**
 * The ThumbHash decoder the page draws placeholders with, deployed from the `thumbhash` package the
 * functions encode with (one implementation on both sides), as `vendor/thumbhash.js`.
 */
export const THUMBHASH_MODULE = join(
  dirname(createRequire(import.meta.url).resolve('thumbhash/package.json')),
  'thumbhash.js',
);

/** How long browsers and the edge keep a page file; every deploy also invalidates `/*`. */
export const SITE_MAX_AGE = Duration.minutes(5);

export interface SiteProps {
  /** Where the site bucket's S3 server access logs go (under `s3-site/`). */
  logBucket: IBucket;
  removalPolicy: RemovalPolicy;
}

/**
 * The upload page's own private bucket. It holds nothing but the page, so that the CDN's default behaviour
 * can read all of it while the images bucket stays readable under `variants/` only: the page never shares a
 * bucket, a policy or a prefix with originals.
 */
export class Site extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: SiteProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 's3-site/',
      removalPolicy: props.removalPolicy,
    });
  }

  /**
   * Copies site/ (and the ThumbHash decoder) into the bucket on every deploy, removes files that left the
   * repository (`prune`), and invalidates `/*` in `distribution` so the new page is served at once.
   */
  deploy(distribution: IDistribution): BucketDeployment {
    const deployment = new BucketDeployment(this, 'Deploy', {
      sources: [
        Source.asset(SITE_DIR),
        Source.data('vendor/thumbhash.js', readFileSync(THUMBHASH_MODULE, 'utf8')),
      ],
      destinationBucket: this.bucket,
      prune: true,
      // The page is the repository's, not data: deleting the stack empties the bucket so it can go too.
      retainOnDelete: false,
      cacheControl: [CacheControl.setPublic(), CacheControl.maxAge(SITE_MAX_AGE)],
      distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
    });
    suppressDeploymentHelperFindings(Stack.of(this));
    return deployment;
  }
}

/**
 * BucketDeployment runs a CDK-provided singleton function at the stack's root
 * (`Custom::CDKBucketDeployment<uuid>`) during deploys only. CDK sets its runtime, its role's managed policy
 * and its grants (read the CDK assets bucket, write the site bucket, create invalidations), and offers no
 * way to narrow them; it serves no request.
 */
function suppressDeploymentHelperFindings(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    NagSuppressions.addResourceSuppressions(
      child,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            "CDK's BucketDeployment helper (a deploy-time custom resource, no option to pass a role) uses the " +
            'AWS-managed AWSLambdaBasicExecutionRole for its own logs only.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
          ],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            "CDK's BucketDeployment helper is granted s3:GetObject*/List* on the CDK assets bucket and " +
            's3:*Object*/List* on the site bucket (which holds only the page), plus cloudfront:CreateInvalidation ' +
            'for the /* invalidation after each deploy: the grants CDK writes for it (aws-s3-deployment), not editable.',
        },
        {
          id: 'AwsSolutions-L1',
          reason:
            "CDK's BucketDeployment helper runs the Python runtime CDK pins for its handler (it bundles the AWS CLI " +
            'as a layer for that runtime); it runs only during deploys and serves no request.',
        },
      ],
      true,
    );
  }
}
