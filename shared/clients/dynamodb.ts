import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';
import { clientOptions } from './options.ts';

/** The DynamoDB document client (plain JavaScript values in and out; `undefined` fields are dropped). */
export function createDynamoClient(config: Pick<Config, 'region' | 'endpoint'>): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientOptions(config)), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
