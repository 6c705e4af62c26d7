import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import type { ImageRepository } from './repository.ts';

/** What the health check probes. */
export interface HealthDeps {
  config: Pick<Config, 'bucketName'>;
  s3: S3Client;
  images: ImageRepository;
}

/** Health of one dependency. */
export type CheckStatus = 'ok' | 'down';

/** The health report of `GET /v1/health`. */
export interface Health {
  status: 'ok' | 'degraded';
  checks: { table: CheckStatus; bucket: CheckStatus };
}

async function probe(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckStatus> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return 'ok';
  } catch {
    return 'down';
  }
}

/**
 * The prefix the bucket probe lists: it holds no object, and it is the only one the images function may
 * list (infra/constructs/storage.ts `HEALTH_PROBE_PREFIX`, an `s3:prefix` condition on its ListBucket).
 */
export const HEALTH_PROBE_PREFIX = 'health-check/';

/**
 * Probes the table and the bucket, each with a short timeout, in parallel. The bucket probe is a
 * ListObjectsV2 of {@link HEALTH_PROBE_PREFIX} (at most one key): it proves the bucket exists and the
 * function's credentials reach it, with a grant that reveals no key, instead of HeadBucket, which needs
 * ListBucket on the whole bucket.
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html#condition-key-bucket-ops-2
 */
export async function checkHealth(deps: HealthDeps, timeoutMs = 2000): Promise<Health> {
  const [table, bucket] = await Promise.all([
    probe(() => deps.images.get('health-check-probe'), timeoutMs),
    probe(
      () =>
        deps.s3.send(
          new ListObjectsV2Command({
            Bucket: deps.config.bucketName,
            Prefix: HEALTH_PROBE_PREFIX,
            MaxKeys: 1,
          }),
        ),
      timeoutMs,
    ),
  ]);
  return { status: table === 'ok' && bucket === 'ok' ? 'ok' : 'degraded', checks: { table, bucket } };
}
