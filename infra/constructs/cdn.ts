import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IRestApi } from 'aws-cdk-lib/aws-apigateway';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
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
  SecurityPolicyProtocol,
  Signing,
  SSLMethod,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { Site } from './site.ts';
import { VARIANTS_PREFIX } from './storage.ts';

export interface CdnProps {
  bucket: IBucket;
  restApi: IRestApi;
  /** The API's stage, which becomes the API origin's path. */
  stageName: string;
  /** Where CloudFront's standard logs go (under `cloudfront/`). */
  logBucket: IBucket;
  /**
   * A custom domain and its ACM certificate (in us-east-1), both or neither (settings `cdnDomainName`,
   * `cdnCertificateArn`). Only with a certificate of its own does a distribution enforce TLS 1.2.
   */
  customDomain?: { domainName: string; certificateArn: string };
  /** The AWS WAF web ACL (scope CLOUDFRONT) in front of the distribution: its ARN, or none. */
  webAclId?: string;
}

/**
 * The header CloudFront adds to every request it sends the API origin, carrying {@link Cdn.originSecret};
 * the API functions refuse a request without it (shared/http/origin-verify.ts), so execute-api is only
 * useful through the CDN (its WAF rule, its cache). CloudFront overwrites a viewer's header of that name.
 */
export const ORIGIN_SECRET_HEADER = 'x-origin-verify';

/**
 * The longest the CDN keeps `GET /v1/images/{id}` (its `MaxTTL`); `MinTTL` and `DefaultTTL` are 0, so the
 * origin's `Cache-Control` decides: a ready image's document says `public, max-age=10`
 * (functions/images/handler.ts, READY_CACHE_CONTROL) and is held 10 s, while pending, processing or failed
 * documents and errors (404, …) say `no-store` and are never cached. Ten seconds turn a flood of reads of
 * one ready image into one origin request per edge per 10 s; a delete invalidates the path.
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
 */
export const API_READ_TTL = Duration.seconds(10);

/**
 * The upload page's Content-Security-Policy: its own script, styles and images (variants are served from
 * this same domain; placeholders are `data:` PNGs drawn from the ThumbHash), the API on this same domain
 * (`/v1/*`), and the presigned POST to the images bucket (`connect-src`, the URL the upload function signs:
 * `https://<bucket>.s3.<region>.amazonaws.com`). No inline script or style, no forms posted, no frames.
 * See https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Content-Security-Policy
 */
export function siteContentSecurityPolicy(bucketUploadUrl: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${bucketUploadUrl}`,
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Security headers on every CDN response but the upload page's. The CSP forbids everything because
 * nothing served under `/variants/*` or `/v1/*` is a document: images and JSON must never run script or be
 * framed, even if a browser is tricked into rendering them.
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
 * CloudFront in front of everything public: the upload page at `/` (site.ts), the variants (from S3,
 * through Origin Access Control) and the API under `/v1/*`. One domain for all three, so the page (or any
 * browser app served here) needs no CORS to call the API or read the variant URLs it returns.
 */
export class Cdn extends Construct {
  readonly distribution: Distribution;
  /** `https://<distribution domain>`: the base of every variant URL. */
  readonly baseUrl: string;
  /**
   * The origin secret, as a Secrets Manager dynamic reference (`{{resolve:secretsmanager:…}}`) that
   * CloudFormation resolves at deploy into the origin header and the API functions' environment: the
   * value is generated once per stack by Secrets Manager and never appears in the template or the
   * cloud assembly.
   */
  readonly originSecret: string;

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

    // Secrets Manager rather than a value generated at synth: the template, the snapshot and the cloud
    // assembly stay free of it, and it costs $0.40 a month with no API call at run time (CloudFormation
    // resolves the reference at deploy). Rotating it: put a new value, then redeploy with a changed
    // description so that CloudFormation resolves it again (docs/deploy.md).
    const secret = new Secret(this, 'OriginSecret', {
      description: 'Pictura: header CloudFront sends the API origin; the API refuses requests without it',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    this.originSecret = secret.secretValue.unsafeUnwrap();
    NagSuppressions.addResourceSuppressions(secret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'The origin secret is read by CloudFormation at deploy (dynamic reference), not by code at run ' +
          'time: an automatic rotation would not reach CloudFront or the functions until the next deploy ' +
          'and would lock the CDN out of the API meanwhile. It is rotated with a deploy (docs/deploy.md).',
      },
    ]);

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
        customHeaders: { [ORIGIN_SECRET_HEADER]: this.originSecret },
      },
    );
    // Reads of one image: the route answers the same public document whatever the caller sends, so the
    // cache key holds neither x-api-key nor query strings (a made-up key or `?x=N` must not miss the
    // cache). They still reach the API: the origin request policy (ALL_VIEWER_EXCEPT_HOST_HEADER below)
    // forwards every viewer header and query string, which the keyed methods of `/v1/images/*` need.
    // The listing (`/v1/images`) does not match `/v1/images/*` and is never cached.
    const imageReads = new CachePolicy(this, 'ImageReads', {
      comment: 'Pictura GET /v1/images/{id}: public document, cached as its Cache-Control says, up to 10 s',
      defaultTtl: Duration.seconds(0),
      maxTtl: API_READ_TTL,
      minTtl: Duration.seconds(0),
      queryStringBehavior: CacheQueryStringBehavior.none(),
      headerBehavior: CacheHeaderBehavior.none(),
      cookieBehavior: CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });
    const apiBehavior = {
      origin: apiOrigin,
      // No redirect: a redirected POST or DELETE loses its body or method in many clients.
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      // Everything the viewer sent (x-api-key, Authorization, query strings, body) except Host, which
      // must name the execute-api domain for API Gateway to route the request.
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      responseHeadersPolicy: apiHeaders,
      compress: true,
    };
    const variantsOrigin = new PrivateBucketOrigin(bucket, accessControl);
    const variantsBehavior = {
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachedMethods: CachedMethods.CACHE_GET_HEAD,
      cachePolicy: immutable,
      responseHeadersPolicy: variantHeaders,
      compress: false,
    };
    const domain = props.customDomain;

    // The upload page, from a bucket of its own that holds nothing else: anything outside `/variants/*` and
    // `/v1/*` (`/originals/<id>` included) asks the site bucket, which answers 404 for what the page does
    // not have; the images bucket is never asked for a key outside variants/.
    const site = new Site(this, 'Site', { logBucket: props.logBucket, removalPolicy: RemovalPolicy.DESTROY });
    const siteHeaders = new ResponseHeadersPolicy(this, 'SiteHeaders', {
      comment: 'Pictura upload page: security headers, CSP for its own script, the API and S3 uploads',
      securityHeadersBehavior: {
        ...SECURITY_HEADERS,
        contentSecurityPolicy: {
          contentSecurityPolicy: siteContentSecurityPolicy(`https://${bucket.bucketRegionalDomainName}`),
          override: true,
        },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Pictura: upload page, variants and API',
      defaultBehavior: {
        origin: new PrivateBucketOrigin(site.bucket, accessControl),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachedMethods: CachedMethods.CACHE_GET_HEAD,
        // The files say how long (SITE_MAX_AGE); a deploy invalidates /*.
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: siteHeaders,
        compress: true,
      },
      additionalBehaviors: {
        // First match wins: the image reads before the rest of the API.
        '/v1/images/*': {
          ...apiBehavior,
          cachePolicy: imageReads,
          cachedMethods: CachedMethods.CACHE_GET_HEAD,
        },
        '/v1/*': { ...apiBehavior, cachePolicy: CachePolicy.CACHING_DISABLED },
        '/variants/*': { origin: variantsOrigin, ...variantsBehavior },
      },
      // CloudFront standard logs (legacy logging to S3): every viewer request with its IP, method, path,
      // status and edge result. Free apart from storage (docs/deploy.md, "Trail").
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/',
      logIncludesCookies: false,
      ...(domain
        ? {
            domainNames: [domain.domainName],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
            sslSupportMethod: SSLMethod.SNI,
          }
        : {}),
      // `/` is the upload page. Without a root object, `/` would reach the bucket's root, which S3 answers
      // with a listing of keys (the distribution may list, see below).
      defaultRootObject: 'index.html',
      // North America and Europe edges only: the cheapest price class. Widen it for a global audience.
      priceClass: PriceClass.PRICE_CLASS_100,
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
      ...(props.webAclId !== undefined ? { webAclId: props.webAclId } : {}),
    });
    this.baseUrl = `https://${domain ? domain.domainName : this.distribution.distributionDomainName}`;
    NagSuppressions.addResourceSuppressions(
      this.distribution,
      distributionSuppressions(domain !== undefined),
    );

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
    // The site bucket holds the page and nothing else: the distribution reads all of it, and lists it so
    // that a missing file is 404 as for variants.
    site.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CdnReadsSite',
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [site.bucket.arnForObjects('*')],
        conditions: fromThisDistribution,
      }),
    );
    site.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CdnAnswers404ForMissingSiteFiles',
        principals: [new ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:ListBucket'],
        resources: [site.bucket.bucketArn],
        conditions: fromThisDistribution,
      }),
    );
    site.deploy(this.distribution);
  }
}

/** The distribution's cdk-nag (AwsSolutions) findings that are decisions, each with its evidence. */
function distributionSuppressions(hasCertificate: boolean) {
  return [
    {
      id: 'AwsSolutions-CFR1',
      reason:
        'No geo restriction: Pictura serves shared images to anyone, anywhere; abuse is limited per IP by ' +
        'the web ACL, not by country.',
    },
    ...(hasCertificate
      ? []
      : [
          {
            id: 'AwsSolutions-CFR4',
            reason:
              'Without a custom domain the distribution uses the default *.cloudfront.net certificate, with ' +
              'which CloudFront always allows TLSv1 whatever MinimumProtocolVersion says (CloudFront ' +
              'Developer Guide, secure-connections-supported-viewer-protocols-ciphers.html). Setting ' +
              '-c cdnDomainName and -c cdnCertificateArn gives the distribution its own certificate and ' +
              'TLSv1.2_2021, and this suppression is then not applied (docs/deploy.md).',
          },
        ]),
  ];
}

/**
 * A private bucket as a CloudFront origin, signed by Origin Access Control. CDK's `S3BucketOrigin` would
 * also write the bucket policy, but for every object (`bucket/*`); here the policies are written by
 * {@link Cdn}, and the images bucket's reaches only `variants/*`.
 */
class PrivateBucketOrigin extends OriginBase implements IOrigin {
  private readonly accessControlId: string;

  constructor(bucket: IBucket, accessControl: S3OriginAccessControl) {
    super(bucket.bucketRegionalDomainName, {});
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
