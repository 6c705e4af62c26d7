import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { clientOptions } from './options.ts';

/** The SQS client. */
export function createSqsClient(config: Pick<Config, 'region' | 'endpoint'>): SQSClient {
  return new SQSClient(clientOptions(config));
}
