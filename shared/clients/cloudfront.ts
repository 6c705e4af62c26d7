import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import type { Config } from '../config.ts';
import { traceAwsClient } from '../observability/tracer.ts';
import { clientOptions } from './options.ts';

/**
 * The CloudFront client. Its API lives in us-east-1 whatever the stack's region; the local cloud's edge
 * serves its CreateInvalidation on the same endpoint as everything else.
 */
export function createCloudFrontClient(config: Pick<Config, 'region' | 'endpoint'>): CloudFrontClient {
  return traceAwsClient(new CloudFrontClient({ ...clientOptions(config), region: 'us-east-1' }));
}
