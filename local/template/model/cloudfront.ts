import { type ModelContext, type Properties, str } from './context.ts';
import { type LocalWebAcl, webAclOf } from './wafv2.ts';

export interface LocalCacheBehavior {
  pathPattern: string;
  origin:
    | { kind: 's3'; bucket: string; originPath: string }
    | { kind: 'api'; originPath: string; customHeaders?: Record<string, string> };
  defaultTtl: number;
  maxTtl: number;
  minTtl: number;
  headers: Record<string, string>;
  /** The response headers policy's CORS settings, applied to requests that carry an `Origin`. */
  cors?: { allowOrigins: string[] };
}

export interface LocalDistribution {
  id: string;
  /** Ordered: specific behaviours first, the default last. */
  behaviors: LocalCacheBehavior[];
  /**
   * What the distribution may read, bucket by bucket (from the OAC bucket policies): the images bucket's
   * `variants/`, the site bucket's every key. A grant on one bucket never opens another.
   */
  readable: ReadableObjects[];
  /** `DefaultRootObject`: what a request for `/` reads (the upload page's `index.html`). */
  defaultRootObject?: string;
  /** The stack's web ACL named by `WebACLId`, whose rate-based rules the local CDN applies (model/wafv2.ts). */
  webAcl?: LocalWebAcl;
}

/**
 * The id of the managed cache policy `CachingDisabled`.
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
 */
const MANAGED_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

/** What a cache behaviour refers to: the distribution's origins by `Id`, and the stack's policies by id. */
export interface BehaviorTargets {
  origins: Map<string, Properties>;
  /** Resolved properties of `AWS::CloudFront::CachePolicy` and `…::ResponseHeadersPolicy`, by `Ref`. */
  policies: Map<string, Properties>;
}

/**
 * The CORS settings of a `ResponseHeadersPolicyConfig`: its `CorsConfig.AccessControlAllowOrigins.Items`
 * (none without a `CorsConfig`).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-responseheaderspolicy-corsconfig.html
 */
export function corsSettings(policy: Properties): Pick<LocalCacheBehavior, 'cors'> {
  const cors = policy.CorsConfig as Record<string, { Items?: string[] } | number | boolean> | undefined;
  if (!cors) return {};
  const items = (name: string) => ((cors[name] as { Items?: string[] } | undefined)?.Items ?? []).map(String);
  return { cors: { allowOrigins: items('AccessControlAllowOrigins') } };
}

/** `Strict-Transport-Security` from `SecurityHeadersConfig.StrictTransportSecurity`. */
function strictTransportSecurity(sts: Properties): string {
  return [
    `max-age=${str(sts.AccessControlMaxAgeSec, '31536000')}`,
    sts.IncludeSubdomains ? 'includeSubDomains' : '',
    sts.Preload ? 'preload' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * The headers a `ResponseHeadersPolicyConfig` adds, lower-cased: those of `SecurityHeadersConfig`
 * (`ContentTypeOptions`, `FrameOptions`, `ReferrerPolicy`, `ContentSecurityPolicy`,
 * `StrictTransportSecurity`, `XSSProtection`), then `CustomHeadersConfig.Items` (which win on a clash).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html
 */
export function securityHeaders(policy: Properties): Record<string, string> {
  const headers: Record<string, string> = {};
  const security = (policy.SecurityHeadersConfig ?? {}) as Record<string, Properties | undefined>;
  if (security.ContentTypeOptions) headers['x-content-type-options'] = 'nosniff';
  if (security.FrameOptions?.FrameOption) headers['x-frame-options'] = str(security.FrameOptions.FrameOption);
  if (security.ReferrerPolicy?.ReferrerPolicy)
    headers['referrer-policy'] = str(security.ReferrerPolicy.ReferrerPolicy);
  if (security.ContentSecurityPolicy?.ContentSecurityPolicy) {
    headers['content-security-policy'] = str(security.ContentSecurityPolicy.ContentSecurityPolicy);
  }
  if (security.StrictTransportSecurity) {
    headers['strict-transport-security'] = strictTransportSecurity(security.StrictTransportSecurity);
  }
  if (security.XSSProtection) {
    headers['x-xss-protection'] = security.XSSProtection.Protection ? '1; mode=block' : '0';
  }
  const custom =
    ((policy.CustomHeadersConfig ?? {}) as { Items?: { Header: string; Value: string }[] }).Items ?? [];
  for (const item of custom) headers[item.Header.toLowerCase()] = item.Value;
  return headers;
}

/**
 * An origin's `OriginCustomHeaders` (`[{ HeaderName, HeaderValue }]`), by lower-cased name: the headers
 * CloudFront adds to every request it sends that origin, over any the viewer sent with the same name.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-origincustomheader.html
 */
export function originCustomHeaders(origin: Properties): Record<string, string> {
  const items = (origin.OriginCustomHeaders ?? []) as { HeaderName?: unknown; HeaderValue?: unknown }[];
  const headers: Record<string, string> = {};
  for (const item of Array.isArray(items) ? items : []) {
    const name = str(item.HeaderName).toLowerCase();
    if (name !== '') headers[name] = str(item.HeaderValue);
  }
  return headers;
}

/**
 * The origin a behaviour's `TargetOriginId` names: an S3 origin (an `S3OriginConfig`, or a domain like
 * `<bucket>.s3.<region>.amazonaws.com`) reads that bucket; any other is the local API, with the origin's
 * custom headers. Both keep `OriginPath`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-origin.html
 */
export function behaviorOrigin(origin: Properties): LocalCacheBehavior['origin'] {
  const domain = str(origin.DomainName);
  return origin.S3OriginConfig !== undefined || /\.s3[.-]/.test(domain)
    ? { kind: 's3', bucket: domain.split('.s3')[0] ?? '', originPath: str(origin.OriginPath) }
    : { kind: 'api', originPath: str(origin.OriginPath), ...customHeadersOf(origin) };
}

function customHeadersOf(origin: Properties): { customHeaders?: Record<string, string> } {
  const customHeaders = originCustomHeaders(origin);
  return Object.keys(customHeaders).length > 0 ? { customHeaders } : {};
}

/**
 * One cache behaviour (`CacheBehaviors[]` or `DefaultCacheBehavior`): its origin, the TTLs of its
 * `CachePolicyId` (CloudFront's defaults 86400/31536000/0 s when the policy leaves them out; all 0 for the
 * managed `CachingDisabled`), and the headers and CORS settings of its `ResponseHeadersPolicyId`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-cachebehavior.html
 */
export function cacheBehavior(
  raw: Properties,
  pathPattern: string,
  targets: BehaviorTargets,
): LocalCacheBehavior {
  const cachePolicyId = str(raw.CachePolicyId);
  const cache = (targets.policies.get(cachePolicyId)?.CachePolicyConfig ?? {}) as Properties;
  const disabled = cachePolicyId === MANAGED_CACHING_DISABLED;
  const headersPolicy = (targets.policies.get(str(raw.ResponseHeadersPolicyId))
    ?.ResponseHeadersPolicyConfig ?? {}) as Properties;
  return {
    pathPattern,
    origin: behaviorOrigin(targets.origins.get(str(raw.TargetOriginId)) ?? {}),
    defaultTtl: disabled ? 0 : Number(cache.DefaultTTL ?? 86400),
    maxTtl: disabled ? 0 : Number(cache.MaxTTL ?? 31536000),
    minTtl: disabled ? 0 : Number(cache.MinTTL ?? 0),
    headers: securityHeaders(headersPolicy),
    ...corsSettings(headersPolicy),
  };
}

/** Keys of one bucket that a distribution may read: those starting with `prefix`. */
export interface ReadableObjects {
  bucket: string;
  prefix: string;
}

/**
 * What a bucket policy (`AWS::S3::BucketPolicy` `PolicyDocument`) lets CloudFront read: the `Resource`s of
 * each `Allow` statement granting `s3:GetObject` to the `cloudfront.amazonaws.com` service principal (origin
 * access control), each as the bucket its ARN names and the key with a trailing `*` removed
 * (`arn:aws:s3:::b/variants/*` → `{ bucket: 'b', prefix: 'variants/' }`).
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
 */
export function readableObjects(policyDocument: unknown): ReadableObjects[] {
  const document = (policyDocument ?? {}) as { Statement?: unknown[] };
  const readable: ReadableObjects[] = [];
  for (const raw of document.Statement ?? []) {
    const statement = raw as {
      Effect?: string;
      Principal?: { Service?: unknown };
      Action?: unknown;
      Resource?: unknown;
    };
    const actions = [statement.Action].flat().map(String);
    if (statement.Effect !== 'Allow' || !actions.includes('s3:GetObject')) continue;
    if (!JSON.stringify(statement.Principal ?? {}).includes('cloudfront.amazonaws.com')) continue;
    for (const arn of [statement.Resource].flat().map(String)) {
      const [bucket = '', ...key] = arn.split(':::')[1]?.split('/') ?? [];
      readable.push({ bucket, prefix: key.join('/').replace(/\*$/, '') });
    }
  }
  return readable;
}

/**
 * A response header value with the stack's S3 bucket URLs (`https://<bucket>.s3.<region>.amazonaws.com`,
 * which the functions' presigned POSTs name on AWS) replaced by the local AWS endpoint, which serves every
 * bucket path-style: the upload page's `connect-src` must allow where its uploads really go.
 */
export function localiseBucketUrls(value: string, context: ModelContext): string {
  const { region, awsEndpoint } = context.addresses;
  let result = value;
  for (const [logicalId] of context.ofType('AWS::S3::Bucket')) {
    const name = context.refOf(logicalId);
    for (const host of [`${name}.s3.${region}.amazonaws.com`, `${name}.s3.amazonaws.com`])
      result = result.replaceAll(`https://${host}`, awsEndpoint);
  }
  return result;
}

/** The resolved cache and response headers policies of the stack, by the id a behaviour names them with. */
function policies(context: ModelContext): Map<string, Properties> {
  const byId = new Map<string, Properties>();
  for (const [logicalId, resource] of context.included) {
    if (
      resource.Type === 'AWS::CloudFront::CachePolicy' ||
      resource.Type === 'AWS::CloudFront::ResponseHeadersPolicy'
    ) {
      byId.set(context.refOf(logicalId), context.properties(resource));
    }
  }
  return byId;
}

/**
 * The stack's distribution (its first `AWS::CloudFront::Distribution`; undefined without one): its
 * `DistributionConfig`'s behaviours (`CacheBehaviors` in order, then `DefaultCacheBehavior` as `*`), its
 * `DefaultRootObject`, and the keys the stack's bucket policies let it read. Header values naming the stack's
 * buckets by their S3 URL are made to name the local endpoint (see {@link localiseBucketUrls}).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudfront-distribution.html
 */
export function buildDistribution(context: ModelContext): LocalDistribution | undefined {
  const found = context.ofType('AWS::CloudFront::Distribution')[0];
  if (!found) return undefined;
  const [logicalId, resource] = found;
  const config = (context.properties(resource).DistributionConfig ?? {}) as Properties;
  const origins = new Map<string, Properties>();
  for (const origin of (config.Origins as Properties[] | undefined) ?? [])
    origins.set(str(origin.Id), origin);
  const targets: BehaviorTargets = { origins, policies: policies(context) };
  const behaviors = ((config.CacheBehaviors as Properties[] | undefined) ?? []).map((raw) =>
    cacheBehavior(raw, str(raw.PathPattern), targets),
  );
  behaviors.push(cacheBehavior((config.DefaultCacheBehavior ?? {}) as Properties, '*', targets));
  for (const behavior of behaviors) {
    for (const [name, value] of Object.entries(behavior.headers))
      behavior.headers[name] = localiseBucketUrls(value, context);
  }
  const readable = context
    .ofType('AWS::S3::BucketPolicy')
    .flatMap(([, policy]) => readableObjects(context.properties(policy).PolicyDocument));
  const webAcl = webAclOf(context, config.WebACLId);
  const rootObject = str(config.DefaultRootObject);
  return {
    id: context.refOf(logicalId),
    behaviors,
    readable,
    ...(rootObject ? { defaultRootObject: rootObject } : {}),
    ...(webAcl ? { webAcl } : {}),
  };
}
