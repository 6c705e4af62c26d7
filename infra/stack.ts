import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Api, STAGE_NAME } from './constructs/api.ts';
import { Cdn } from './constructs/cdn.ts';
import { FUNCTION_SIZING, Functions } from './constructs/functions.ts';
import { Observability } from './constructs/observability.ts';
import { Pipeline, type Stage, type StageSettings } from './constructs/pipeline.ts';
import { Storage } from './constructs/storage.ts';
import { Sweeper } from './constructs/sweeper.ts';
import { Waf } from './constructs/waf.ts';
import type { Settings } from './settings.ts';

/**
 * How each queue is consumed.
 *
 * - ingest → metadata: batches of 5, no batching window. Each record is one image to inspect (seconds of
 *   CPU at most), so a few per invocation amortise the cold start without making one slow image hold up
 *   many; no window because a user is waiting for the image to become ready.
 * - render → thumbnail: one image per invocation. A render is the heaviest work in the system (one large
 *   decode, several encodes): concurrency comes from Lambda scaling out, not from batching, and one
 *   failing image never shares a timeout or memory with another. Three receives: a render that failed
 *   three times will fail again, and each attempt is the system's most expensive.
 * - purge → purge: batches of 10 within 5 s. Nobody waits for a purge, so records are gathered to cut
 *   invocations and CloudFront invalidation calls, and at most two batches run at once so that bulk
 *   deletes stay within CloudFront's limits on invalidations in progress.
 *
 * maxConcurrency (how many invocations the event source runs at once; 2 is SQS's minimum) is set on every
 * stage, so that a flood of uploads (or forged ingest messages) cannot scale the pipeline into the account's
 * whole concurrency pool and starve the API functions, whose concurrency is reserved (API_RESERVED_CONCURRENCY):
 * ingest 10 (10 × 1.5 GB; about 10 images a second at 1 s each, beyond the load benchmark's 8.8/s),
 * render 10 (10 × 2 GB; renders are the costliest work, a backlog waits in the queue instead of running up
 * the bill), purge 2 (CloudFront's invalidation limits, above). A message waiting for a slot is not
 * received, so it uses up no receive count.
 *
 * Twenty receives for purge (about an hour at its visibility timeout): a bulk delete can hold CloudFront's
 * 3,000 invalidation paths in progress for a while, and a purge that gives up leaves deleted images cached.
 * Five receives elsewhere ride out transient failures (throttling, a dependency's bad minute). Messages
 * that can never succeed are sent to the DLQ by the consumer itself and do not use up receives.
 */
const STAGE_SETTINGS: Record<Stage, StageSettings> = {
  ingest: {
    consumerTimeout: FUNCTION_SIZING.metadata.timeout,
    batchSize: 5,
    maxBatchingWindow: Duration.seconds(0),
    maxReceiveCount: 5,
    maxConcurrency: 10,
  },
  render: {
    consumerTimeout: FUNCTION_SIZING.thumbnail.timeout,
    batchSize: 1,
    maxBatchingWindow: Duration.seconds(0),
    maxReceiveCount: 3,
    maxConcurrency: 10,
  },
  purge: {
    consumerTimeout: FUNCTION_SIZING.purge.timeout,
    batchSize: 10,
    maxBatchingWindow: Duration.seconds(5),
    maxReceiveCount: 20,
    maxConcurrency: 2,
  },
};

/**
 * The distribution's web ACL (docs/deploy.md, "WAF"): `-c wafWebAclArn=<arn>` names one made in us-east-1
 * (CloudFront's ACLs live there only); without it the stack makes its own ({@link Waf}), which exists only
 * when the stack is deployed in us-east-1.
 */
function webAclId(stack: Stack): string {
  const arn = stack.node.tryGetContext('wafWebAclArn') as string | undefined;
  if (arn === undefined || arn === '') return new Waf(stack, 'Waf').webAclIdForDistribution;
  if (!/^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/[\w-]+\/[\w-]+$/.test(arn))
    throw new Error(
      `Context "wafWebAclArn" must be a CLOUDFRONT-scoped web ACL ARN in us-east-1, got "${arn}"`,
    );
  return arn;
}

export interface PicturaStackProps extends StackProps {
  settings: Settings;
}

/**
 * Pictura: storage, the pipeline, the functions, the API and (on AWS) the CDN. Environment-agnostic, so
 * that synth needs no credentials and one template deploys to any account and region.
 */
export class PicturaStack extends Stack {
  constructor(scope: Construct, id: string, props: PicturaStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const onAws = settings.target === 'aws';

    const storage = new Storage(this, 'Storage', {
      retainData: settings.retainData,
      corsAllowOrigin: settings.corsAllowOrigin,
      allowBrowserReads: !onAws,
    });
    const pipeline = new Pipeline(this, 'Pipeline', {
      bucket: storage.bucket,
      stages: STAGE_SETTINGS,
      alarmEmail: settings.alarmEmail,
    });

    // The REST API is created before the functions so that the CDN can be built from its id; its routes
    // need the functions and are added after them.
    const api = new Api(this, 'Api', {
      corsAllowOrigin: settings.corsAllowOrigin,
      logRemovalPolicy: settings.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    const cdn = onAws
      ? new Cdn(this, 'Cdn', {
          bucket: storage.bucket,
          restApi: api.restApi,
          stageName: STAGE_NAME,
          logBucket: storage.logBucket,
          ...(settings.cdnDomain ? { customDomain: settings.cdnDomain } : {}),
          webAclId: webAclId(this),
        })
      : undefined;

    const functions = new Functions(this, 'Functions', {
      bucket: storage.bucket,
      table: storage.table,
      queues: pipeline.queues,
      deadLetterQueues: pipeline.deadLetterQueues,
      // Without CloudFront (LocalStack), variant URLs point at the object in S3, path-style, on the
      // LocalStack endpoint the clients use: `<localstackUrl>/<bucket>/variants/<id>/<name>.<ext>`.
      // LocalStack does not enforce the bucket's Block Public Access, so such a URL loads in a browser.
      cdnBaseUrl: cdn ? cdn.baseUrl : `${settings.localstackUrl}/${storage.bucket.bucketName}`,
      // Links name the CDN, the API's only public door (the origin check refuses execute-api requests).
      ...(cdn ? { apiPublicUrl: cdn.baseUrl } : {}),
      distribution: cdn?.distribution,
      retainData: settings.retainData,
      corsAllowOrigin: settings.corsAllowOrigin,
      benchBaselines: settings.benchBaselines,
      ...(cdn ? { originSecret: cdn.originSecret } : {}),
    });
    api.addRoutes({ upload: functions.upload, images: functions.images, delete: functions.delete });
    pipeline.attachConsumers({
      ingest: functions.metadata,
      render: functions.thumbnail,
      purge: functions.purge,
    });
    new Sweeper(this, 'Sweeper', { fn: functions.sweeper });
    // The dashboard and the alarms on queue age, API 5xx and upload→ready, to the pipeline's alarm topic.
    new Observability(this, 'Observability', {
      functions: functions.byName(),
      queues: pipeline.queues,
      deadLetterQueues: pipeline.deadLetterQueues,
      restApi: api.restApi,
      alarmAction: pipeline.alarmAction,
      pipelineAlarms: pipeline.alarms,
    });

    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    output('ApiUrl', api.restApi.url, 'API base URL (stage included); routes are under v1/');
    if (cdn) {
      output('CdnUrl', cdn.baseUrl, 'CDN base URL: variants, and the API under /v1/');
      output('DistributionId', cdn.distribution.distributionId, 'CloudFront distribution id');
    }
    output('BucketName', storage.bucket.bucketName, 'Bucket holding originals/ and variants/');
    output('TableName', storage.table.tableName, 'Image records table');
    output(
      'ApiKeyId',
      api.apiKey.keyId,
      'Default API key id (aws apigateway get-api-key --api-key <id> --include-value)',
    );
    output('IngestQueueUrl', pipeline.queues.ingest.queueUrl, 'Ingest queue');
    output('RenderQueueUrl', pipeline.queues.render.queueUrl, 'Render queue');
    output('PurgeQueueUrl', pipeline.queues.purge.queueUrl, 'Purge queue');
    output('IngestDlqUrl', pipeline.deadLetterQueues.ingest.queueUrl, 'Ingest dead-letter queue');
    output('RenderDlqUrl', pipeline.deadLetterQueues.render.queueUrl, 'Render dead-letter queue');
    output('PurgeDlqUrl', pipeline.deadLetterQueues.purge.queueUrl, 'Purge dead-letter queue');
    output(
      'SweeperFunctionName',
      functions.sweeper.functionName,
      'Scheduled sweeper (aws lambda invoke --function-name <name> out.json runs it now)',
    );
  }
}
