import { type ModelContext, type Properties, str } from './context.ts';

export interface QueueNotification {
  queueArn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

/** One rule of a bucket's CORS configuration, as S3 evaluates it (local/s3/cors.ts). */
export interface CorsRule {
  allowedMethods: string[];
  allowedOrigins: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAgeSeconds?: number;
}

export interface LocalBucket {
  logicalId: string;
  name: string;
  notifications: QueueNotification[];
  /** The bucket's `CorsConfiguration.CorsRules`, in order (S3 applies the first that matches); absent without one. */
  cors?: CorsRule[];
}

/** A `Custom::CDKBucketDeployment`: folders the local cloud copies into a bucket when it provisions. */
export interface LocalBucketDeployment {
  bucket: string;
  /** `DestinationBucketKeyPrefix` ('' for the bucket's root). */
  prefix: string;
  /** The staged asset folders its `SourceObjectKeys` name, in order (a later file wins). */
  sources: string[];
  /** `Prune`: remove objects under the prefix that no source has (CDK's default: true). */
  prune: boolean;
  /** `SystemMetadata['cache-control']`, set on every object. */
  cacheControl?: string;
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
  return buckets.map(([logicalId, resource]) => {
    const cors = corsRules(context.resolve(resource.Properties?.CorsConfiguration));
    return {
      logicalId,
      name: context.refOf(logicalId),
      notifications: notifications.get(context.refOf(logicalId)) ?? [],
      ...(cors.length > 0 ? { cors } : {}),
    };
  });
}

/**
 * The rules of a resolved `CorsConfiguration` (`CorsRules[]`: `AllowedMethods`, `AllowedOrigins`,
 * `AllowedHeaders`, `ExposedHeaders`, `MaxAge`); none without one.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-corsrule.html
 */
export function corsRules(configuration: unknown): CorsRule[] {
  const rules = ((configuration ?? {}) as { CorsRules?: Properties[] }).CorsRules ?? [];
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return rules.map((rule) => ({
    allowedMethods: list(rule.AllowedMethods),
    allowedOrigins: list(rule.AllowedOrigins),
    allowedHeaders: list(rule.AllowedHeaders),
    exposedHeaders: list(rule.ExposedHeaders),
    ...(rule.MaxAge !== undefined ? { maxAgeSeconds: Number(rule.MaxAge) } : {}),
  }));
}

/**
 * The stack's `Custom::CDKBucketDeployment` resources (CDK's BucketDeployment), each with the assembly
 * folders its `SourceObjectKeys` name (`assets`, see template.ts). On AWS a Lambda function unzips them into
 * `DestinationBucketName` at deploy; locally the provisioner copies the folders. Throws when a source is
 * not a folder asset of the assembly (an external zip): the local cloud could not copy it. A template read
 * without its assembly (`assets` undefined) has nothing to copy: none are returned.
 * See https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_s3_deployment-readme.html
 */
export function buildBucketDeployments(
  context: ModelContext,
  assets: Record<string, string> | undefined,
): LocalBucketDeployment[] {
  if (!assets) return [];
  return context.ofType('Custom::CDKBucketDeployment').map(([logicalId, resource]) => {
    const p = context.properties(resource);
    const keys = (p.SourceObjectKeys as unknown[] | undefined) ?? [];
    const sources = keys.map((key) => {
      const folder = assets[str(key)];
      if (!folder) throw new Error(`${logicalId}: source ${str(key)} is not a folder asset of the assembly`);
      return folder;
    });
    const metadata = (p.SystemMetadata ?? {}) as Properties;
    return {
      bucket: str(p.DestinationBucketName),
      prefix: str(p.DestinationBucketKeyPrefix),
      sources,
      prune: p.Prune === undefined ? true : p.Prune === true || p.Prune === 'true',
      ...(metadata['cache-control'] !== undefined ? { cacheControl: str(metadata['cache-control']) } : {}),
    };
  });
}
