import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';
import { traceAwsClient } from '../observability/tracer.ts';
import { clientOptions } from './options.ts';

/**
 * The DynamoDB document client (plain JavaScript values in and out; `undefined` fields are dropped). The base
 * client is traced before it is wrapped: the document client sends through the base client's middleware.
 */
export function createDynamoClient(config: Pick<Config, 'region' | 'endpoint'>): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(traceAwsClient(new DynamoDBClient(clientOptions(config))), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
