// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are CloudFormation Fn::Sub strings, not JS templates.
import { describe, expect, it } from 'vitest';
import { pathPatternMatches } from '#local/cloudfront/distribution.ts';
import { acknowledged } from '#local/lambda/sqs-poller.ts';
import { eventMatches } from '#local/s3/notifications.ts';
import {
  gatewayResponse,
  mappedHeaders,
  methodRoute,
  resourcePaths,
  routePattern,
} from '#local/template/model/apigateway.ts';
import {
  behaviorOrigin,
  corsSettings,
  readableObjects,
  securityHeaders,
} from '#local/template/model/cloudfront.ts';
import { tableDefinition } from '#local/template/model/dynamodb.ts';
import { sqsEventSourceMapping } from '#local/template/model/lambda.ts';
import { localName, physicalResources } from '#local/template/model/names.ts';
import { queueNotifications } from '#local/template/model/s3.ts';
import { queueAttributes } from '#local/template/model/sqs.ts';
import { buildStackModel, type LocalAddresses } from '#local/template/stack-model.ts';
import { type PhysicalResource, Resolver, type StackTemplate } from '#local/template/template.ts';

const physical = new Map<string, PhysicalResource>([
  ['Queue', { ref: 'http://q', attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:q', QueueName: 'q' } }],
  ['Bucket', { ref: 'bkt', attributes: { Arn: 'arn:aws:s3:::bkt' } }],
]);
const resolver = new Resolver(
  physical,
  { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '000000000000' },
  {
    IsProd: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
  },
);

describe('Resolver', () => {
  it.each([
    [{ Ref: 'Queue' }, 'http://q'],
    [{ 'Fn::GetAtt': ['Queue', 'Arn'] }, 'arn:aws:sqs:us-east-1:000000000000:q'],
    [{ 'Fn::GetAtt': 'Queue.QueueName' }, 'q'],
    [{ 'Fn::Join': ['/', [{ Ref: 'Bucket' }, 'variants', '*']] }, 'bkt/variants/*'],
    [{ 'Fn::Sub': 'arn:aws:s3:::${Bucket}/x-${AWS::Region}' }, 'arn:aws:s3:::bkt/x-us-east-1'],
    [{ 'Fn::Sub': ['${A}-${Queue.QueueName}', { A: { Ref: 'Bucket' } }] }, 'bkt-q'],
    [{ 'Fn::Sub': 'literal ${!NotAVariable}' }, 'literal ${NotAVariable}'],
    [{ 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }, 'aws'],
    [{ 'Fn::If': ['IsProd', 'yes', 'no'] }, 'yes'],
    [{ nested: [{ Ref: 'Bucket' }] }, { nested: ['bkt'] }],
  ])('resolves %j', (input, expected) => {
    expect(resolver.resolve(input)).toEqual(expected);
  });

  it('fails loudly on what it cannot resolve', () => {
    expect(() => resolver.resolve({ Ref: 'Nope' })).toThrow(/Ref to Nope/);
    expect(() => resolver.resolve({ 'Fn::GetAtt': ['Queue', 'Nope'] })).toThrow(/Queue.Nope/);
    expect(() => resolver.resolve({ 'Fn::FindInMap': ['M', 'a', 'b'] })).toThrow(
      /Fn::FindInMap is not supported/,
    );
  });
});

describe('event source rules', () => {
  const messages = [{ MessageId: 'a' }, { MessageId: 'b' }, { MessageId: 'c' }];

  it('deletes everything but the reported failures', () => {
    const done = acknowledged(
      messages,
      { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'b' }] } },
      true,
    );
    expect(done.map((m) => m.MessageId)).toEqual(['a', 'c']);
  });

  it('deletes nothing when the function failed or named an id not in the batch', () => {
    expect(acknowledged(messages, { failed: true, payload: null }, true)).toEqual([]);
    expect(
      acknowledged(
        messages,
        { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'z' }] } },
        true,
      ),
    ).toEqual([]);
    expect(acknowledged(messages, { failed: false, payload: { batchItemFailures: [{}] } }, true)).toEqual([]);
  });

  it('ignores batchItemFailures when the mapping does not report them', () => {
    expect(
      acknowledged(
        messages,
        { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'b' }] } },
        false,
      ),
    ).toHaveLength(3);
  });

  it('matches S3 event names and CloudFront path patterns', () => {
    expect(eventMatches(['s3:ObjectCreated:*'], 'ObjectCreated:Put')).toBe(true);
    expect(eventMatches(['s3:ObjectCreated:Post'], 'ObjectCreated:Put')).toBe(false);
    expect(eventMatches(['s3:ObjectRemoved:*'], 'ObjectCreated:Put')).toBe(false);
    expect(pathPatternMatches('/v1/*', '/v1/images/abc')).toBe(true);
    expect(pathPatternMatches('/v1/*', '/variants/x.webp')).toBe(false);
    expect(pathPatternMatches('*', '/anything')).toBe(true);
    expect(pathPatternMatches('variants/*.webp', '/variants/a/thumb.webp')).toBe(true);
  });
});

// The readers of local/template/model/: each pins what the CloudFormation resource reference
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-<service>-<type>.html)
// says a property means, on the shape `cdk synth` writes.
const addresses: LocalAddresses = {
  region: 'eu-west-1',
  accountId: '123456789012',
  awsEndpoint: 'http://localhost:4566',
  cdnHost: 'localhost:3001',
  apiHost: 'localhost:3000',
};
const stackOf = (
  resources: StackTemplate['resources'],
  extra: Partial<StackTemplate> = {},
): StackTemplate => ({
  stackName: 'Test',
  resources,
  outputs: {},
  conditions: {},
  ...extra,
});

describe('physical names (model/names.ts)', () => {
  it('names unnamed resources <stack>-<logicalId>, within each service limit, deterministically', () => {
    const long = `Q${'x'.repeat(120)}`;
    const physical = physicalResources(
      stackOf({
        Bucket: { Type: 'AWS::S3::Bucket' },
        [long]: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } },
        Named: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'jobs' } },
      }),
      addresses,
    );
    // S3 bucket names are lower case (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    expect(physical.get('Bucket')?.ref).toBe('test-bucket');
    // AWS::SQS::Queue: Ref is the queue URL; a FIFO queue's name ends in .fifo, 80 characters in all.
    const fifo = physical.get(long)?.attributes.QueueName ?? '';
    expect(fifo).toMatch(/^Test-Qx+-[0-9a-f]{8}\.fifo$/);
    expect(fifo.length).toBeLessThanOrEqual(80);
    expect(
      physicalResources(
        stackOf({ [long]: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } } }),
        addresses,
      ).get(long)?.attributes.QueueName,
    ).toBe(fifo);
    expect(physical.get('Named')?.ref).toBe('http://sqs.eu-west-1.localhost:4566/123456789012/jobs');
    expect(physical.get('Named')?.attributes.Arn).toBe('arn:aws:sqs:eu-west-1:123456789012:jobs');
    expect(localName('S', 'y'.repeat(100), 64)).toHaveLength(64);
  });

  it('gives any other type (even one named like an Object method) a placeholder ARN for every attribute', () => {
    const physical = physicalResources(
      stackOf({ Role: { Type: 'AWS::IAM::Role' }, Odd: { Type: 'toString' } }),
      addresses,
    );
    expect(physical.get('Role')?.ref).toBe('Role');
    expect(physical.get('Role')?.attributes.Arn).toBe('arn:aws:local:eu-west-1:123456789012:Role/Arn');
    expect(physical.get('Odd')?.attributes.Anything).toBe(
      'arn:aws:local:eu-west-1:123456789012:Odd/Anything',
    );
  });
});

describe('conditions', () => {
  it('leaves out resources whose Condition is false, and fails on a condition the template lacks', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
    const resources = {
      Always: { Type: 'AWS::SQS::Queue' },
      OnlyInProd: { Type: 'AWS::SQS::Queue', Condition: 'IsProd' },
    };
    const conditions = { IsProd: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } };
    const queues = buildStackModel(stackOf(resources, { conditions }), addresses).queues;
    expect(queues.map((q) => q.logicalId)).toEqual(['Always']);
    const inProd = buildStackModel(stackOf(resources, { conditions }), { ...addresses, region: 'us-east-1' });
    expect(inProd.queues.map((q) => q.logicalId)).toEqual(['Always', 'OnlyInProd']);
    expect(() => buildStackModel(stackOf(resources), addresses)).toThrow(/unknown condition IsProd/);
  });
});

describe('queues and bucket notifications (model/sqs.ts, model/s3.ts)', () => {
  it('passes queue properties as CreateQueue attributes, the RedrivePolicy as JSON', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
    const redrive = { deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:dlq', maxReceiveCount: 3 };
    expect(
      queueAttributes({ VisibilityTimeout: 30, FifoQueue: true, RedrivePolicy: redrive, Tags: [] }),
    ).toEqual({
      VisibilityTimeout: '30',
      FifoQueue: 'true',
      RedrivePolicy: JSON.stringify(redrive),
    });
  });

  it('merges a bucket NotificationConfiguration with the CDK custom resource, both spellings', () => {
    const model = buildStackModel(
      stackOf({
        Queue: { Type: 'AWS::SQS::Queue' },
        Bucket: {
          Type: 'AWS::S3::Bucket',
          Properties: {
            // AWS::S3::Bucket QueueConfiguration: Event (singular), Queue, Filter.S3Key.Rules
            // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-queueconfiguration.html)
            NotificationConfiguration: {
              QueueConfigurations: [
                {
                  Event: 's3:ObjectRemoved:*',
                  Queue: { 'Fn::GetAtt': ['Queue', 'Arn'] },
                  Filter: { S3Key: { Rules: [{ Name: 'Suffix', Value: '.jpg' }] } },
                },
              ],
            },
          },
        },
        // What aws-cdk-lib's Bucket.addEventNotification synthesizes: the PutBucketNotificationConfiguration
        // shape (https://docs.aws.amazon.com/AmazonS3/latest/API/API_QueueConfiguration.html).
        Notifications: {
          Type: 'Custom::S3BucketNotifications',
          Properties: {
            ServiceToken: { 'Fn::GetAtt': ['Handler', 'Arn'] },
            BucketName: { Ref: 'Bucket' },
            NotificationConfiguration: {
              QueueConfigurations: [
                {
                  Events: ['s3:ObjectCreated:*'],
                  Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'originals/' }] } },
                  QueueArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
                },
              ],
            },
            Managed: true,
          },
        },
        Handler: { Type: 'AWS::Lambda::Function', Properties: {} },
      }),
      addresses,
    );
    const arn = 'arn:aws:sqs:eu-west-1:123456789012:Test-Queue';
    expect(model.buckets).toEqual([
      {
        logicalId: 'Bucket',
        name: 'test-bucket',
        notifications: [
          { queueArn: arn, events: ['s3:ObjectRemoved:*'], prefix: '', suffix: '.jpg' },
          { queueArn: arn, events: ['s3:ObjectCreated:*'], prefix: 'originals/', suffix: '' },
        ],
      },
    ]);
    // A function without pictura:entry metadata (CDK's notifications handler) is not run locally.
    expect(model.functions).toEqual([]);
  });

  it('reads no notifications from a configuration without queues, or none at all', () => {
    expect(queueNotifications(undefined)).toEqual([]);
    expect(queueNotifications({ LambdaConfigurations: [{ Function: 'f' }] })).toEqual([]);
  });
});

describe('tables and functions (model/dynamodb.ts, model/lambda.ts)', () => {
  it('keeps only CreateTable fields of a global secondary index', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-globalsecondaryindex.html
    const index = {
      IndexName: 'byOwner',
      KeySchema: [],
      Projection: {},
      ContributorInsightsSpecification: {},
    };
    const definition = tableDefinition('t', { KeySchema: [], GlobalSecondaryIndexes: [index] });
    expect(definition.GlobalSecondaryIndexes).toEqual([
      { IndexName: 'byOwner', KeySchema: [], Projection: {} },
    ]);
    expect(definition.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it("applies CloudFormation's defaults to an SQS event source mapping", () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventsourcemapping.html
    expect(
      sqsEventSourceMapping({
        FunctionName: 'arn:aws:lambda:eu-west-1:123456789012:function:render:live',
        EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:q',
      }),
    ).toEqual({
      functionName: 'render',
      queueArn: 'arn:aws:sqs:eu-west-1:123456789012:q',
      batchSize: 10,
      maxBatchingWindowSeconds: 0,
      reportBatchItemFailures: false,
      maxConcurrency: 5,
      enabled: true,
    });
    expect(sqsEventSourceMapping({ Enabled: 'false' }).enabled).toBe(false);
  });
});

describe('REST API (model/apigateway.ts)', () => {
  it('resolves nested resource paths whatever their order in the template', () => {
    // AWS::ApiGateway::Resource: ParentId is another resource's id or the API's RootResourceId.
    const resources = [
      { logicalId: 'Id', p: { ParentId: 'Images', PathPart: '{id}' } },
      { logicalId: 'Images', p: { ParentId: 'V1', PathPart: 'images' } },
      { logicalId: 'V1', p: { ParentId: 'Api#root', PathPart: 'v1' } },
    ];
    const expected = { V1: '/v1', Images: '/v1/images', Id: '/v1/images/{id}' };
    for (const order of [resources, [...resources].reverse()]) {
      const paths = resourcePaths('Api', order);
      expect(Object.fromEntries([...paths].filter(([id]) => id !== 'Api#root'))).toEqual(expected);
    }
  });

  it('gives no path to a resource whose parents never reach the root (a cycle or another API)', () => {
    const paths = resourcePaths('Api', [
      { logicalId: 'A', p: { ParentId: 'B', PathPart: 'a' } },
      { logicalId: 'B', p: { ParentId: 'A', PathPart: 'b' } },
      { logicalId: 'C', p: { ParentId: 'Other#root', PathPart: 'c' } },
    ]);
    expect([...paths.keys()]).toEqual(['Api#root']);
  });

  it('matches {name} to one segment, {name+} to the rest, and everything else literally', () => {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
    const one = routePattern('/v1/images/{id}');
    expect(one.parameterNames).toEqual(['id']);
    expect(one.pattern.exec('/v1/images/abc/')?.[1]).toBe('abc');
    expect(one.pattern.test('/v1/images/a/b')).toBe(false);
    const greedy = routePattern('/files/{proxy+}');
    expect(greedy.parameterNames).toEqual(['proxy']);
    expect(greedy.pattern.exec('/files/a/b/c')?.[1]).toBe('a/b/c');
    expect(routePattern('/v1.0/(x)').pattern.test('/v1x0/(x)')).toBe(false);
    expect(routePattern('/v1.0/(x)').pattern.test('/v1.0/(x)')).toBe(true);
  });

  it('reads a MOCK integration answer and a proxy integration target', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigateway-method-integration.html
    const paths = new Map([['Images', '/v1/images']]);
    const preflight = methodRoute(
      {
        HttpMethod: 'options',
        ResourceId: 'Images',
        Integration: {
          Type: 'MOCK',
          IntegrationResponses: [
            {
              StatusCode: '204',
              ResponseParameters: {
                'method.response.header.Access-Control-Allow-Origin': "'*'",
                'method.response.header.Access-Control-Allow-Methods': "'OPTIONS,GET'",
                'method.request.header.X-Ignored': "'no'",
              },
            },
          ],
        },
      },
      paths,
    );
    expect(preflight).toMatchObject({
      method: 'OPTIONS',
      resource: '/v1/images',
      apiKeyRequired: false,
      mock: {
        statusCode: 204,
        headers: { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'OPTIONS,GET' },
      },
    });
    expect(preflight.functionName).toBeUndefined();
    const root = methodRoute(
      {
        HttpMethod: 'GET',
        ResourceId: 'Api#root',
        ApiKeyRequired: 'true',
        Integration: {
          Type: 'AWS_PROXY',
          Uri: 'arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:Test-Images/invocations',
        },
      },
      paths,
    );
    expect(root).toMatchObject({ resource: '/', functionName: 'Test-Images', apiKeyRequired: true });
  });

  it('reads a gateway response: status, static headers, the JSON template with $context left in', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-gatewayresponse.html
    const template = '{"detail":$context.error.messageString}';
    expect(
      gatewayResponse({
        ResponseType: 'DEFAULT_4XX',
        StatusCode: '400',
        ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
        ResponseTemplates: { 'application/json': template, 'text/html': '<p>' },
      }),
    ).toEqual({ statusCode: 400, headers: { 'Content-Type': 'application/problem+json' }, template });
    expect(gatewayResponse({ ResponseType: 'THROTTLED' })).toEqual({ headers: {} });
    expect(mappedHeaders({ gatewayresponseXheaderXa: "'x'" }, 'gatewayresponse')).toEqual({});
  });
});

describe('distribution (model/cloudfront.ts)', () => {
  it('reads the prefixes an OAC bucket policy lets CloudFront read, and nothing granted to others', () => {
    // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    const cloudfront = { Service: 'cloudfront.amazonaws.com' };
    expect(
      readableObjects({
        Statement: [
          {
            Effect: 'Allow',
            Principal: cloudfront,
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/variants/*',
          },
          {
            Effect: 'Deny',
            Principal: cloudfront,
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/originals/*',
          },
          {
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::b/all/*',
          },
          { Effect: 'Allow', Principal: cloudfront, Action: ['s3:ListBucket'], Resource: 'arn:aws:s3:::b' },
        ],
      }),
    ).toEqual([{ bucket: 'b', prefix: 'variants/' }]);
    expect(readableObjects(undefined)).toEqual([]);
  });

  it('tells S3 origins from the API origin', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-origin.html
    expect(behaviorOrigin({ DomainName: 'pics.s3.eu-west-1.amazonaws.com', S3OriginConfig: {} })).toEqual({
      kind: 's3',
      bucket: 'pics',
      originPath: '',
    });
    expect(
      behaviorOrigin({ DomainName: 'abc.execute-api.eu-west-1.amazonaws.com', OriginPath: '/prod' }),
    ).toEqual({
      kind: 'api',
      originPath: '/prod',
    });
  });

  it('turns a response headers policy into headers and CORS origins', () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html
    const policy = {
      SecurityHeadersConfig: {
        ContentTypeOptions: { Override: true },
        FrameOptions: { FrameOption: 'DENY', Override: true },
        StrictTransportSecurity: {
          AccessControlMaxAgeSec: 63072000,
          IncludeSubdomains: true,
          Override: true,
        },
        XSSProtection: { Protection: false, Override: true },
      },
      CustomHeadersConfig: { Items: [{ Header: 'X-Frame-Options', Value: 'SAMEORIGIN', Override: true }] },
      CorsConfig: { AccessControlAllowOrigins: { Items: ['https://example.com'] }, OriginOverride: true },
    };
    expect(securityHeaders(policy)).toEqual({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'strict-transport-security': 'max-age=63072000; includeSubDomains',
      'x-xss-protection': '0',
    });
    expect(corsSettings(policy)).toEqual({ cors: { allowOrigins: ['https://example.com'] } });
    expect(corsSettings({})).toEqual({});
  });

  it("orders behaviours specific first, default last, with the policies' TTLs (none for CachingDisabled)", () => {
    // https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
    const model = buildStackModel(
      stackOf({
        Cache: {
          Type: 'AWS::CloudFront::CachePolicy',
          Properties: { CachePolicyConfig: { DefaultTTL: 60 } },
        },
        Cdn: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: {
            DistributionConfig: {
              Origins: [
                { Id: 'api', DomainName: 'x.execute-api.eu-west-1.amazonaws.com' },
                { Id: 's3', DomainName: 'b.s3.eu-west-1.amazonaws.com', S3OriginConfig: {} },
              ],
              CacheBehaviors: [
                {
                  PathPattern: '/v1/*',
                  TargetOriginId: 'api',
                  CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
                },
              ],
              DefaultCacheBehavior: { TargetOriginId: 's3', CachePolicyId: { Ref: 'Cache' } },
            },
          },
        },
      }),
      addresses,
    );
    expect(
      model.distribution?.behaviors.map((b) => [b.pathPattern, b.origin.kind, b.defaultTtl, b.maxTtl]),
    ).toEqual([
      ['/v1/*', 'api', 0, 0],
      ['*', 's3', 60, 31536000],
    ]);
    expect(model.distribution?.id).toMatch(/^E[0-9A-F]{8}LOCAL$/);
  });
});
