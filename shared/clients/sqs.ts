import { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from '../config.ts';
import { traceAwsClient } from '../observability/tracer.ts';
import { clientOptions } from './options.ts';

/** The SQS client; its calls are traced, and so carry the trace header onto the messages it sends. */
export function createSqsClient(config: Pick<Config, 'region' | 'endpoint'>): SQSClient {
  return traceAwsClient(new SQSClient(clientOptions(config)));
}
