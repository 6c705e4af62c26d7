import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import { pathPatternMatches } from '#local/cloudfront/path-pattern.ts';
import {
  COMMON_OUTPUTS,
  functionNamed,
  type Json,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

const distribution = (): Json =>
  resourcesOfType(aws.json, 'AWS::CloudFront::Distribution')[0]?.[1].Properties.DistributionConfig;
const origin = (id: string): Json => distribution().Origins.find((o: Json) => o.Id === id);
const only = <T>(items: [string, T][]): [string, T] => {
  expect(items).toHaveLength(1);
  return items[0] as [string, T];
};

/** Logical ids a value refers to (Ref, Fn::GetAtt), anywhere inside it. */
function references(value: Json, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) references(item, into);
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'Ref' && typeof inner === 'string' && !inner.startsWith('AWS::')) into.add(inner);
      else if (key === 'Fn::GetAtt') into.add((inner as string[])[0] as string);
      else references(inner, into);
    }
  }
  return into;
}

/** Every resource each resource depends on: references plus DependsOn. */
function dependencyGraph(json: Json): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(json.Resources as Record<string, Json>)) {
    const deps = references(resource.Properties ?? {});
    for (const dep of [resource.DependsOn ?? []].flat()) deps.add(dep);
    graph.set(id, deps);
  }
  return graph;
}

function dependsOnTransitively(graph: Map<string, Set<string>>, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    for (const dep of graph.get(stack.pop() as string) ?? []) {
      if (!seen.has(dep)) {
        seen.add(dep);
        stack.push(dep);
      }
    }
  }
  return seen;
}

/** The cache behaviour for a path pattern. */
const behaviourFor = (pattern: string): Json =>
  distribution().CacheBehaviors.find((b: Json) => b.PathPattern === pattern);
/** The stack's cache policy whose comment starts with `prefix`. */
const cachePolicy = (prefix: string): [string, Json] =>
  only(
    resourcesOfType(aws.json, 'AWS::CloudFront::CachePolicy').filter(([, p]) =>
      String(p.Properties.CachePolicyConfig.Comment).startsWith(prefix),
    ),
  );
/** The upload page's bucket (infra/constructs/site.ts). */
const siteBucketId = (): string =>
  only(resourcesOfType(aws.json, 'AWS::S3::Bucket').filter(([id]) => id.startsWith('CdnSiteBucket')))[0];
/** The images bucket's policy (the log bucket has its own, for the log delivery service). */
const imagesBucketPolicy = (): Json =>
  only(
    resourcesOfType(aws.json, 'AWS::S3::BucketPolicy').filter(([, p]) =>
      JSON.stringify(p.Properties.Bucket).includes('StorageBucket'),
    ),
  )[1];

describe('distribution', () => {
  it('serves /variants/* from S3: OAC-signed, HTTPS, GET/HEAD, immutable cache policy', () => {
    const [oacId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::OriginAccessControl'));
    const [cachePolicyId] = cachePolicy('Pictura variants');
    const behaviour = behaviourFor('/variants/*');
    expect(behaviour).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD'],
      CachePolicyId: { Ref: cachePolicyId },
    });
    const s3 = origin(behaviour.TargetOriginId);
    expect(s3.DomainName).toEqual({ 'Fn::GetAtt': [expect.any(String), 'RegionalDomainName'] });
    expect(s3.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(s3.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(s3.OriginPath ?? '').toBe('');
    aws.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    });
  });

  it('caches variants for a year, keyed on the path alone', () => {
    aws.template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: {
        DefaultTTL: 365 * 24 * 3600,
        MaxTTL: 365 * 24 * 3600,
        MinTTL: 24 * 3600,
        ParametersInCacheKeyAndForwardedToOrigin: {
          QueryStringsConfig: { QueryStringBehavior: 'none' },
          HeadersConfig: { HeaderBehavior: 'none' },
          CookiesConfig: { CookieBehavior: 'none' },
        },
      },
    });
  });

  it('answers 404 for anything outside /variants/* and /v1/*: the default reads the site bucket, which holds only the page', () => {
    // originals/<id> must not be told apart from a missing key: the default behaviour never asks the images
    // bucket, only the upload page's own bucket, which answers NoSuchKey (404, with this distribution's
    // ListBucket) for every key the page does not have, whether an original of that name exists or not.
    const behaviour = distribution().DefaultCacheBehavior;
    const s3 = origin(behaviour.TargetOriginId);
    expect(s3.DomainName).toEqual({ 'Fn::GetAtt': [siteBucketId(), 'RegionalDomainName'] });
    expect(s3.OriginPath ?? '').toBe('');
    expect(s3.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(s3.OriginAccessControlId).toEqual(expect.objectContaining({ 'Fn::GetAtt': expect.any(Array) }));
    expect(behaviour.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(distribution().CacheBehaviors.map((b: Json) => b.PathPattern)).toEqual([
      '/v1/images/*',
      '/v1/*',
      '/variants/*',
    ]);
  });

  it('sends /v1/* to the API: all methods, caching disabled, every viewer header but Host', () => {
    const behaviour = behaviourFor('/v1/*');
    expect(behaviour).toMatchObject({
      PathPattern: '/v1/*',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: CACHING_DISABLED,
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      ViewerProtocolPolicy: 'https-only',
    });
  });

  it('caches GET /v1/images/{id} as the origin says, up to 10 s, one entry per path, never the listing', () => {
    const behaviour = behaviourFor('/v1/images/*');
    const [policyId, policy] = cachePolicy('Pictura GET /v1/images/{id}');
    expect(behaviour).toMatchObject({
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachedMethods: ['GET', 'HEAD'],
      CachePolicyId: { Ref: policyId },
      OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      ViewerProtocolPolicy: 'https-only',
      TargetOriginId: behaviourFor('/v1/*').TargetOriginId,
    });
    // MinTTL 0: a `no-store` answer (pending document, 404) is not cached; DefaultTTL 0: nor one without
    // Cache-Control; MaxTTL 10 caps `public, max-age=10`. CloudFront holds an object
    // max(MinTTL, min(max-age, MaxTTL)): https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
    expect(policy.Properties.CachePolicyConfig).toMatchObject({ MinTTL: 0, DefaultTTL: 0, MaxTTL: 10 });
    // The public document is the same for every caller: a made-up key or `?x=N` must not miss the cache.
    const key = policy.Properties.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
    expect(key.HeadersConfig).toEqual({ HeaderBehavior: 'none' });
    expect(key.QueryStringsConfig).toEqual({ QueryStringBehavior: 'none' });
    expect(key.CookiesConfig).toEqual({ CookieBehavior: 'none' });
    // The listing is /v1/images, which only /v1/* matches, and /v1/* caches nothing.
    expect(pathPatternMatches('/v1/images/*', '/v1/images')).toBe(false);
    expect(pathPatternMatches('/v1/images/*', '/v1/images/abc')).toBe(true);
  });

  it('sends the API its origin secret, from Secrets Manager, to the API functions too', () => {
    const [secretId, secret] = only(resourcesOfType(aws.json, 'AWS::SecretsManager::Secret'));
    expect(secret.Properties.GenerateSecretString).toMatchObject({
      PasswordLength: 48,
      ExcludePunctuation: true,
    });
    const reference = {
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']],
    };
    const api = origin(behaviourFor('/v1/*').TargetOriginId);
    expect(api.OriginCustomHeaders).toEqual([{ HeaderName: 'x-origin-verify', HeaderValue: reference }]);
    for (const name of ['upload', 'images', 'delete']) {
      expect(functionNamed(aws.json, name)[1].Properties.Environment.Variables.CDN_ORIGIN_SECRET).toEqual(
        reference,
      );
    }
    // The pipeline is not behind the CDN and never sees it.
    for (const name of ['metadata', 'thumbnail', 'purge', 'sweeper']) {
      expect(
        functionNamed(aws.json, name)[1].Properties.Environment.Variables.CDN_ORIGIN_SECRET,
      ).toBeUndefined();
    }
    expect(JSON.stringify(aws.json)).not.toMatch(/"HeaderValue":"[A-Za-z0-9]{48}"/);
  });

  it('writes standard logs to the log bucket under cloudfront/', () => {
    const logging = distribution().Logging;
    expect(logging.Prefix).toBe('cloudfront/');
    expect(logging.IncludeCookies).toBe(false);
    expect(JSON.stringify(logging.Bucket)).toContain('StorageLogBucket');
  });

  it('uses the default certificate without a custom domain (TLSv1 allowed by CloudFront: see nag.test.ts)', () => {
    expect(distribution().ViewerCertificate).toBeUndefined();
  });

  it('reaches the API by id, region and stage, not through the deployment (no dependency cycle)', () => {
    const [apiId] = only(resourcesOfType(aws.json, 'AWS::ApiGateway::RestApi'));
    const api = origin(behaviourFor('/v1/*').TargetOriginId);
    expect(api.OriginPath).toBe('/prod');
    expect(api.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    expect(api.DomainName).toEqual({
      'Fn::Join': [
        '',
        [{ Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }],
      ],
    });
  });

  it('never maps / to a bucket listing', () => {
    expect(distribution().DefaultRootObject).toEqual(expect.any(String));
  });

  it('adds security headers (nosniff, frame deny, HSTS, CSP) to variants and API responses', () => {
    const policies = resourcesOfType(aws.json, 'AWS::CloudFront::ResponseHeadersPolicy').filter(
      ([, p]) => !String(p.Properties.ResponseHeadersPolicyConfig.Comment).startsWith('Pictura upload page'),
    );
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig).toMatchObject({
        ContentTypeOptions: { Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
        StrictTransportSecurity: {
          AccessControlMaxAgeSec: 730 * 24 * 3600,
          IncludeSubdomains: true,
          Override: true,
        },
        ContentSecurityPolicy: {
          ContentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
          Override: true,
        },
        ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
      });
    }
    const ids = distribution().CacheBehaviors.map((b: Json) => b.ResponseHeadersPolicyId);
    expect(new Set(ids.map((id: Json) => id.Ref))).toEqual(new Set(policies.map(([id]) => id)));
  });
});

describe('the upload page', () => {
  const sitePolicy = (): [string, Json] =>
    only(
      resourcesOfType(aws.json, 'AWS::CloudFront::ResponseHeadersPolicy').filter(([, p]) =>
        String(p.Properties.ResponseHeadersPolicyConfig.Comment).startsWith('Pictura upload page'),
      ),
    );

  it('is the default root object, from the default behaviour: GET/HEAD, HTTPS, compressed', () => {
    expect(distribution().DefaultRootObject).toBe('index.html');
    expect(distribution().DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD'],
      Compress: true,
      ResponseHeadersPolicyId: { Ref: sitePolicy()[0] },
    });
  });

  it('has a CSP for its own script and styles, the API on this domain and the presigned POST to the images bucket, and nothing inline', () => {
    const headers = sitePolicy()[1].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = headers.ContentSecurityPolicy;
    expect(csp.Override).toBe(true);
    // The bucket's regional domain (a token) is joined into the policy: the upload function signs its
    // presigned POSTs for https://<bucket>.s3.<region>.amazonaws.com (shared/presigned-post.ts).
    expect(csp.ContentSecurityPolicy).toEqual({
      'Fn::Join': [
        '',
        [
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' https://",
          { 'Fn::GetAtt': [expect.stringMatching(/^StorageBucket/), 'RegionalDomainName'] },
          "; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
        ],
      ],
    });
    expect(headers).toMatchObject({
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      StrictTransportSecurity: { IncludeSubdomains: true, Override: true },
    });
  });

  it('lives in a private, TLS-only bucket of its own that this distribution alone may read (and list, for 404s)', () => {
    const [distributionId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::Distribution'));
    aws.template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { LogFilePrefix: 's3-site/' },
    });
    const [, policy] = only(
      resourcesOfType(aws.json, 'AWS::S3::BucketPolicy').filter(([, p]) =>
        JSON.stringify(p.Properties.Bucket).includes(siteBucketId()),
      ),
    );
    const statements: Json[] = policy.Properties.PolicyDocument.Statement;
    const cdn = statements.filter((s) => s.Principal?.Service === 'cloudfront.amazonaws.com');
    expect(cdn.map((s) => s.Action).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
    for (const statement of cdn) {
      expect(JSON.stringify(statement.Condition)).toContain(JSON.stringify({ Ref: distributionId }));
    }
    expect(
      statements.filter((s) => s.Effect === 'Allow' && s.Principal?.Service !== 'cloudfront.amazonaws.com'),
    ).toEqual([]);
  });

  it('is deployed from site/ with the ThumbHash decoder, pruned, cached 5 minutes, and invalidated on deploy', () => {
    const [distributionId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::Distribution'));
    const [, deployment] = only(resourcesOfType(aws.json, 'Custom::CDKBucketDeployment'));
    expect(deployment.Properties).toMatchObject({
      DestinationBucketName: { Ref: siteBucketId() },
      Prune: true,
      RetainOnDelete: false,
      SystemMetadata: { 'cache-control': 'public, max-age=300' },
      DistributionId: { Ref: distributionId },
      DistributionPaths: ['/*'],
    });
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(2);
  });

  it("gives CDK's deployment helper a role of its own, without AWS's managed policy", () => {
    const [, fn] = only(
      resourcesOfType(aws.json, 'AWS::Lambda::Function').filter(([id]) =>
        id.startsWith('CustomCDKBucketDeployment'),
      ),
    );
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    expect(roleId).toMatch(/^CdnSiteDeployRole/);
    expect(aws.json.Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe('bucket access for the CDN', () => {
  const cdnStatements = (): Json[] =>
    imagesBucketPolicy().Properties.PolicyDocument.Statement.filter(
      (s: Json) => s.Principal?.Service === 'cloudfront.amazonaws.com',
    );

  it('lets this distribution read variants/* and nothing else', () => {
    const [distributionId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::Distribution'));
    const reads = cdnStatements().filter((s) => [s.Action].flat().includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/variants/*']] },
    });
    expect(JSON.stringify(reads[0].Condition)).toContain(JSON.stringify({ Ref: distributionId }));
    expect(JSON.stringify(cdnStatements())).not.toContain('originals/');
  });

  it('answers 404, not 403, for a missing variant (ListBucket for this distribution only)', () => {
    const lists = cdnStatements().filter((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(lists).toHaveLength(1);
    expect(lists[0].Resource).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
    expect(lists[0].Condition).toEqual({ StringEquals: { 'AWS:SourceArn': expect.anything() } });
    // No blanket 403→404 rewrite: it would also rewrite the API's own 403s.
    expect(distribution().CustomErrorResponses).toBeUndefined();
  });
});

describe('wiring', () => {
  it('has no dependency cycle anywhere in the template', () => {
    const graph = dependencyGraph(aws.json);
    const cyclic = [...graph.keys()].filter((id) => dependsOnTransitively(graph, id).has(id));
    expect(cyclic).toEqual([]);
  });

  it('builds CDN_BASE_URL from the distribution, and the distribution depends on no function', () => {
    const [distributionId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::Distribution'));
    const cdnBaseUrl = { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] };
    for (const name of ['images', 'thumbnail']) {
      expect(functionNamed(aws.json, name)[1].Properties.Environment.Variables.CDN_BASE_URL).toEqual(
        cdnBaseUrl,
      );
    }
    expect(functionNamed(aws.json, 'purge')[1].Properties.Environment.Variables.CDN_DISTRIBUTION_ID).toEqual({
      Ref: distributionId,
    });
    const upstream = dependsOnTransitively(dependencyGraph(aws.json), distributionId);
    for (const name of FUNCTION_NAMES) expect(upstream.has(functionNamed(aws.json, name)[0])).toBe(false);
    for (const type of ['AWS::ApiGateway::Deployment', 'AWS::ApiGateway::Stage', 'AWS::ApiGateway::Method']) {
      for (const [id] of resourcesOfType(aws.json, type)) expect(upstream.has(id)).toBe(false);
    }
  });

  it('outputs everything an operator or a test needs', () => {
    expect(Object.keys(aws.json.Outputs).sort()).toEqual(
      [...COMMON_OUTPUTS, 'CdnUrl', 'DistributionId'].sort(),
    );
    const [distributionId] = only(resourcesOfType(aws.json, 'AWS::CloudFront::Distribution'));
    aws.template.hasOutput('CdnUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] },
    });
    aws.template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
  });
});
