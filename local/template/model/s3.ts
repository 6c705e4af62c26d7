import { type ModelContext, type Properties, str } from './context.ts';

export interface QueueNotification {
  queueArn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

export interface LocalBucket {
  logicalId: string;
  name: string;
  notifications: QueueNotification[];
}

/** A filter rule as CloudFormation (`S3Key.Rules`) or the S3 API (`Key.FilterRules`) spells it. */
interface FilterRule {
  Name: string;
  Value: string;
}

/** One queue configuration, in either spelling: CloudFormation's (`Queue`, `Event`) or the API's. */
interface QueueConfiguration {
  QueueArn?: string;
  Queue?: string;
  Events?: string[];
  Event?: string;
  Filter?: { S3Key?: { Rules?: FilterRule[] }; Key?: { FilterRules?: FilterRule[] } };
}

/**
 * The queue notifications of a resolved `NotificationConfiguration`, read in both spellings: the
 * `AWS::S3::Bucket` property (`QueueConfigurations[].Queue`, `.Event`, `.Filter.S3Key.Rules`), and the
 * PutBucketNotificationConfiguration shape CDK's custom resource carries (`QueueArn`, `Events`,
 * `Filter.Key.FilterRules`). Rule names match case-insensitively; a missing prefix or suffix is ''.
 * Other targets (Lambda, SNS, EventBridge) are ignored: the local cloud delivers to queues only.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-notificationconfiguration.html
 * and https://docs.aws.amazon.com/AmazonS3/latest/API/API_QueueConfiguration.html
 */
export function queueNotifications(configuration: unknown): QueueNotification[] {
  const queueConfigurations =
    ((configuration ?? {}) as { QueueConfigurations?: unknown[] }).QueueConfigurations ?? [];
  return queueConfigurations.map((raw) => {
    const c = raw as QueueConfiguration;
    const rules = c.Filter?.S3Key?.Rules ?? c.Filter?.Key?.FilterRules ?? [];
    const rule = (name: string) => rules.find((r) => r.Name.toLowerCase() === name)?.Value ?? '';
    return {
      queueArn: str(c.QueueArn ?? c.Queue),
      events: c.Events ?? (c.Event ? [c.Event] : []),
      prefix: rule('prefix'),
      suffix: rule('suffix'),
    };
  });
}

/**
 * The stack's buckets (`AWS::S3::Bucket`) with their queue notifications: those of the bucket's own
 * `NotificationConfiguration`, then those of CDK's `Custom::S3BucketNotifications` resources, which
 * configure a bucket by `BucketName` (CDK uses a custom resource so it can merge with existing ones).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html
 * and https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_s3-readme.html#bucket-notifications
 */
export function buildBuckets(context: ModelContext): LocalBucket[] {
  const notifications = new Map<string, QueueNotification[]>();
  const add = (bucketName: string, configuration: unknown) => {
    notifications.set(bucketName, [
      ...(notifications.get(bucketName) ?? []),
      ...queueNotifications(configuration),
    ]);
  };
  const buckets = context.ofType('AWS::S3::Bucket');
  for (const [logicalId, resource] of buckets) {
    add(context.refOf(logicalId), context.resolve(resource.Properties?.NotificationConfiguration));
  }
  for (const [, resource] of context.ofType('Custom::S3BucketNotifications')) {
    const p: Properties = context.properties(resource);
    add(str(p.BucketName), p.NotificationConfiguration);
  }
  return buckets.map(([logicalId]) => ({
    logicalId,
    name: context.refOf(logicalId),
    notifications: notifications.get(context.refOf(logicalId)) ?? [],
  }));
}
