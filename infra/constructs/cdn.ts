import { Aws, Duration } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CacheCookieBehavior,
  CachedMethods,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  type CfnDistribution,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  type IOrigin,
  OriginBase,
  type OriginBindConfig,
  type OriginBindOptions,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  type ResponseSecurityHeadersBehavior,
  S3OriginAccessControl,
  Signing,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { VARIANTS_PREFIX } from './storage.ts';

export interface CdnProps {
  bucket: IBucket;
  restApi: IRestApi;
  /** The API's stage, which becomes the API origin's path. */
  stageName: string;
  /** The AWS WAF web ACL (scope CLOUDFRONT) in front of the distribution: its ARN, or none. */
  webAclId?: string;
}

/**
 * Security headers on every CDN response. The CSP forbids everything because nothing served here is a
 * document: images and JSON must never run script or be framed, even if a browser is tricked into
 * rendering them.
 */
const SECURITY_HEADERS: ResponseSecurityHeadersBehavior = {
  contentTypeOptions: { override: true },
  frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
  referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
  strictTransportSecurity: {
    accessControlMaxAge: Duration.days(730),
    includeSubdomains: true,
    override: true,
  },
  contentSecurityPolicy: {
    contentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
    override: true,
  },
};

/**
 * CloudFront in front of everything public: the variants (from S3, through Origin Access Control) and the
 * API under `/v1/*`. One domain for both, so a browser app needs no CORS to read variant URLs the API
 * returns.
 */
export class Cdn extends Construct {
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the base of every variant URL. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: CdnProps) {
    super(scope, id);
    const { bucket } = props;

    // Variants never change once written (a new render writes under a new image id, and delete
    // invalidates), so they are cached for a year at the edge. Nothing varies the response: no query
    // strings, headers or cookies in the key, which also means none reach S3. No compression: WebP and
    // AVIF are already compressed.
    const immutable = new CachePolicy(this, 'ImmutableVariants', {
      comment: 'Pictura variants: immutable, cached for a year',
      defaultTtl: Duration.days(365),
      maxTtl: Duration.days(365),
      minTtl: Duration.days(1),
      queryStringBehavior: CacheQueryStringBehavior.none(),
      headerBehavior: CacheHeaderBehavior.none(),
      cookieBehavior: CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: false,
      enableAcceptEncodingBrotli: false,
    });

    const variantHeaders = new ResponseHeadersPolicy(this, 'VariantHeaders', {
      comment: 'Pictura variants: security headers, readable cross-origin',
      securityHeadersBehavior: SECURITY_HEADERS,
      // Any site may draw a variant on a canvas or fetch it; there are no credentials to protect.
      corsBehavior: {
        accessControlAllowOrigins: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowHeaders: ['*'],
        accessControlAllowCredentials: false,
        accessControlMaxAge: Duration.hours(2),
        originOverride: true,
      },
    });
    const apiHeaders = new ResponseHeadersPolicy(this, 'ApiHeaders', {
      comment: 'Pictura API: security headers (CORS stays with the API)',
      securityHeadersBehavior: SECURITY_HEADERS,
    });

    const accessControl = new S3OriginAccessControl(this, 'VariantsAccess', {
      description: 'Pictura CDN reads variants',
      signing: Signing.SIGV4_ALWAYS,
    });

    // The API origin is addressed by the REST API's id, region and stage, not by `restApi.url`: the URL
    // hangs off the deployment, which depends on every method, which depends on the functions, and the
    // functions need this distribution's domain (CDN_BASE_URL). The id alone has no such dependency.
    const apiOrigin = new HttpOrigin(
      `${props.restApi.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`,
      {
        originPath: `/${props.stageName}`,
        protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
      },
    );

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Pictura: variants and API',
      defaultBehavior: {
        origin: new VariantsOrigin(bucket, accessControl),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: CachedMethods.CACHE_GET_HEAD,
        cachePolicy: immutable,
        responseHeadersPolicy: variantHeaders,
        compress: false,
      },
      additionalBehaviors: {
        '/v1/*': {
          origin: apiOrigin,
          // No redirect: a redirected POST or DELETE loses its body or method in many clients.
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // Everything the viewer sent (x-api-key, Authorization, query strings, body) except Host, which
          // must name the execute-api domain for API Gateway to route the request.
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: apiHeaders,
          compress: true,
        },
      },
      // A request for `/` would otherwise reach the bucket's root, which S3 answers with a listing of
      // keys (the distribution may list, see below). Any object name works; none exists.
      defaultRootObject: 'index.html',
      // North America and Europe edges only: the cheapest price class. Widen it for a global audience.
      priceClass: PriceClass.PRICE_CLASS_100,
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      ...(props.webAclId !== undefined ? { webAclId: props.webAclId } : {}),
    });
    this.baseUrl = `https://${this.distribution.distributionDomainName}`;

    // The distribution may read variants and nothing else: originals stay private.
    const fromThisDistribution = {
      StringEquals: { 'AWS:SourceArn': this.distribution.distributionArn },
    };
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CdnReadsVariants',
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${VARIANTS_PREFIX}*`)],
        conditions: fromThisDistribution,
      }),
    );
    // Without ListBucket, S3 answers 403 for a missing key (so as not to reveal whether it exists), and
    // viewers would see 403 for a variant that is not (or no longer) there. With it, S3 answers 404. A
    // custom error response cannot fix this instead: it would apply to the API's own 403s as well. The
    // grant lets the distribution learn nothing more: it only ever asks for keys (the root object above
    // keeps `/` from being a list request, and query strings such as `?list-type=2` never reach S3).
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CdnAnswers404ForMissingVariants',
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: fromThisDistribution,
      }),
    );
  }
}

/**
 * The bucket as a CloudFront origin, signed by Origin Access Control. CDK's `S3BucketOrigin` would also
 * write the bucket policy, but for every object (`bucket/*`); here the policy is written by {@link Cdn}
 * and reaches only `variants/*`.
 */
class VariantsOrigin extends OriginBase implements IOrigin {
  private readonly accessControlId: string;

  constructor(bucket: IBucket, accessControl: S3OriginAccessControl) {
    super(bucket.bucketRegionalDomainName);
    this.accessControlId = accessControl.originAccessControlId;
  }

  override bind(scope: Construct, options: OriginBindOptions): OriginBindConfig {
    const config = super.bind(scope, options);
    const origin = config.originProperty as CfnDistribution.OriginProperty;
    return { ...config, originProperty: { ...origin, originAccessControlId: this.accessControlId } };
  }

  // An S3 origin with OAC carries an empty origin access identity.
  protected override renderS3OriginConfig(): CfnDistribution.S3OriginConfigProperty {
    return { originAccessIdentity: '' };
  }
}
