import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COMMON_OUTPUTS,
  functionNamed,
  imagesBucket,
  type Json,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './synth.ts';

let local: Synthesized;
let customEndpoint: Synthesized;
beforeAll(async () => {
  local = await synthesize({ target: 'localstack' });
  customEndpoint = await synthesize({
    target: 'localstack',
    localstackUrl: 'http://localstack.internal:4566/',
  });
});

describe('-c target=localstack', () => {
  it('leaves out CloudFront (not in LocalStack’s free tier)', () => {
    const types = new Set(Object.values(local.json.Resources as Record<string, Json>).map((r) => r.Type));
    expect([...types].filter((type) => type.startsWith('AWS::CloudFront::'))).toEqual([]);
  });

  it('still delivers ObjectCreated under originals/ to the ingest queue', () => {
    const [metadataId] = functionNamed(local.json, 'metadata');
    const mapping = resourcesOfType(local.json, 'AWS::Lambda::EventSourceMapping').find(
      ([, m]) => m.Properties.FunctionName.Ref === metadataId,
    )?.[1];
    const ingestId = mapping?.Properties.EventSourceArn['Fn::GetAtt'][0];
    expect(ingestId).toEqual(expect.any(String));
    local.template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'originals/' }] } },
            QueueArn: { 'Fn::GetAtt': [ingestId, 'Arn'] },
          },
        ],
      },
    });
  });

  it('points variant URLs at the object in LocalStack’s S3, path-style', () => {
    const [bucketId] = imagesBucket(local.json);
    const expected = { 'Fn::Join': ['', ['http://localhost:4566/', { Ref: bucketId }]] };
    for (const name of ['images', 'thumbnail']) {
      expect(functionNamed(local.json, name)[1].Properties.Environment.Variables.CDN_BASE_URL).toEqual(
        expected,
      );
    }
    const custom = functionNamed(customEndpoint.json, 'images')[1].Properties.Environment.Variables
      .CDN_BASE_URL;
    expect(custom['Fn::Join'][1][0]).toBe('http://localstack.internal:4566/');
  });

  it('lets browsers read variants straight from the bucket (CORS GET/HEAD as well as POST)', () => {
    local.template.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedMethods: ['POST', 'GET', 'HEAD'] })] },
    });
  });

  it('gives purge no distribution to invalidate', () => {
    const [, purgeFn] = functionNamed(local.json, 'purge');
    expect(purgeFn.Properties.Environment.Variables.CDN_DISTRIBUTION_ID).toBeUndefined();
    expect(JSON.stringify(local.json)).not.toContain('cloudfront:CreateInvalidation');
  });

  it('keeps everything else: seven functions, six queues, the table, the API with its key', () => {
    expect(
      resourcesOfType(local.json, 'AWS::Lambda::Function').filter(([, f]) => f.Metadata?.['pictura:name']),
    ).toHaveLength(7);
    expect(resourcesOfType(local.json, 'AWS::SQS::Queue')).toHaveLength(6);
    expect(resourcesOfType(local.json, 'AWS::DynamoDB::Table')).toHaveLength(1);
    expect(resourcesOfType(local.json, 'AWS::ApiGateway::UsagePlan')).toHaveLength(1);
    expect(resourcesOfType(local.json, 'AWS::Lambda::EventSourceMapping')).toHaveLength(3);
  });

  it('outputs the same, minus the CDN', () => {
    expect(Object.keys(local.json.Outputs).sort()).toEqual([...COMMON_OUTPUTS].sort());
  });
});
