import { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';
import { traceAwsClient } from '../observability/tracer.ts';
import { clientOptions } from './options.ts';

/**
 * The S3 client. With a custom endpoint (local cloud, LocalStack) buckets are addressed path-style,
 * because `bucket.localhost` does not resolve; on AWS the SDK's defaults apply. Its calls are traced (shared/observability/tracer.ts).
 */
export function createS3Client(config: Pick<Config, 'region' | 'endpoint'>): S3Client {
  return traceAwsClient(
    new S3Client({ ...clientOptions(config), forcePathStyle: config.endpoint !== undefined }),
  );
}
