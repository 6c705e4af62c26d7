import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Aws, DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IDistribution } from 'aws-cdk-lib/aws-cloudfront';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
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
   *
   * CDK's deployment helper would get AWS's managed AWSLambdaBasicExecutionRole, `s3:GetObject*`/`s3:List*`/
   * `s3:DeleteObject*`… on both buckets and `cloudfront:CreateInvalidation` on `*`; it gets instead a role of
   * its own that CDK may not add to ({@link deploymentRole}), with exactly what `aws s3 sync --delete` and
   * one invalidation need.
   */
  deploy(distribution: IDistribution): BucketDeployment {
    const logGroup = new LogGroup(this, 'DeployLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = this.deploymentRole(distribution, logGroup);
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
      role: role.withoutPolicyUpdates(),
      logGroup,
    });
    suppressDeploymentHelperFindings(Stack.of(this));
    return deployment;
  }

  /**
   * The deployment helper's role: read the CDK assets bucket's objects (the default synthesizer's
   * `cdk-<qualifier>-assets-<account>-<region>`, where `cdk deploy` publishes the zipped site), list, write
   * and delete the site bucket's objects, invalidate this distribution, write its own log group.
   */
  private deploymentRole(distribution: IDistribution, logGroup: LogGroup): Role {
    const stack = Stack.of(this);
    const role = new Role(this, 'DeployRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Pictura: copies the upload page into its bucket at deploy',
    });
    const assetsBucket = `arn:${Aws.PARTITION}:s3:::${Fn.sub(
      DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the synthesizer's own placeholder, filled here
        '${Qualifier}',
        DefaultStackSynthesizer.DEFAULT_QUALIFIER,
      ),
    )}`;
    const statements = [
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [`${assetsBucket}/*`] }),
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [this.bucket.arnForObjects('*')],
      }),
      new PolicyStatement({
        actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
        resources: [
          stack.formatArn({
            service: 'cloudfront',
            region: '',
            resource: 'distribution',
            resourceName: distribution.distributionId,
          }),
        ],
      }),
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    ];
    const policy = new Policy(this, 'DeployPolicy', { roles: [role], statements });
    NagSuppressions.addResourceSuppressions(policy, [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Objects of two buckets: the CDK assets bucket, whose object keys (asset hashes) change with every ' +
          'edit of the page, and the site bucket, which holds the page and nothing else and is synced whole ' +
          '(aws s3 sync --delete); each action is listed one by one, never s3:* or s3:Get*.',
        appliesTo: [
          {
            regex:
              '/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\\/\\*$/g',
          },
          { regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>\\/\\*$/g' },
        ],
      },
    ]);
    return role;
  }
}

/**
 * BucketDeployment runs a CDK-provided singleton function at the stack's root
 * (`Custom::CDKBucketDeployment<uuid>`) during deploys only; CDK pins its runtime.
 */
function suppressDeploymentHelperFindings(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    NagSuppressions.addResourceSuppressions(child, [
      {
        id: 'AwsSolutions-L1',
        reason:
          "CDK's BucketDeployment helper runs the Python runtime CDK pins for its handler (it bundles the AWS " +
          'CLI as a layer for that runtime, and offers no option to change it); it runs only during deploys ' +
          'and serves no request.',
      },
    ]);
  }
}
