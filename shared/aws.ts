import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config.ts';

/** The AWS clients a function uses, created once per container and passed to the code that needs them. */
export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  cloudfront: CloudFrontClient;
}

/**
 * Creates the clients for `config`. With a custom endpoint (local cloud, LocalStack) S3 is addressed
 * path-style, because `bucket.localhost` does not resolve; on AWS the SDK defaults apply. Clients are
 * cheap until first use, so creating all four costs nothing for a function that needs one.
 */
export function createAwsClients(config: Pick<Config, 'region' | 'endpoint'>): AwsClients {
  const common = { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  return {
    s3: new S3Client({ ...common, forcePathStyle: config.endpoint !== undefined }),
    sqs: new SQSClient(common),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient(common), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    // CloudFront's API lives in us-east-1 whatever the stack's region; the local cloud's edge serves its
    // CreateInvalidation on the same endpoint as everything else.
    cloudfront: new CloudFrontClient({ ...common, region: 'us-east-1' }),
  };
}
