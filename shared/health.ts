import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
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

/** Probes the table and the bucket, each with a short timeout, in parallel. */
export async function checkHealth(deps: HealthDeps, timeoutMs = 2000): Promise<Health> {
  const [table, bucket] = await Promise.all([
    probe(() => deps.images.get('health-check-probe'), timeoutMs),
    probe(() => deps.s3.send(new HeadBucketCommand({ Bucket: deps.config.bucketName })), timeoutMs),
  ]);
  return { status: table === 'ok' && bucket === 'ok' ? 'ok' : 'degraded', checks: { table, bucket } };
}
