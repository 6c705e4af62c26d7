import type { Config } from '../config.ts';

/**
 * Attempts per AWS call, the first included. The SDK's `standard` retry mode retries throttling, 5xx and
 * network errors with exponential backoff and full jitter (base 100 ms, 500 ms for throttling), under a
 * retry quota that stops retrying when most calls fail, so one sick dependency is not hammered
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Three attempts, its
 * documented default, stated here because the pipeline retries on top of it: a record that still fails
 * comes back through SQS with a growing visibility timeout (shared/queue/backoff.ts), five or three times
 * more. More SDK attempts would multiply the load on a dependency that is already failing and spend the
 * function's timeout waiting; fewer would turn a single dropped connection into an SQS retry minutes
 * later. `adaptive` mode is not used: AWS recommends it only for a client that reaches one throttled
 * resource, and these clients reach several (originals and variants, the table and its index).
 */
export const MAX_ATTEMPTS = 3;

/**
 * A connection not made in 3 s, or a socket idle for 10 s, fails the attempt (as a retryable timeout)
 * instead of waiting out the function's timeout: S3, SQS and DynamoDB answer in milliseconds, and 10 s of
 * silence is a hung dependency, not a slow transfer (a 25 MiB original keeps its socket busy).
 */
const REQUEST_HANDLER = { connectionTimeout: 3_000, socketTimeout: 10_000 } as const;

/** The settings every AWS client shares: region, off AWS the custom endpoint, retries and timeouts. */
export function clientOptions(config: Pick<Config, 'region' | 'endpoint'>): {
  region: string;
  endpoint?: string;
  retryMode: 'standard';
  maxAttempts: number;
  requestHandler: typeof REQUEST_HANDLER;
} {
  return {
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    retryMode: 'standard',
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: REQUEST_HANDLER,
  };
}
