import { ConfigError } from './errors.ts';
import { DEFAULT_VARIANTS, parseVariantSpecs, type VariantSpec } from './variants.ts';

/** Byte and pixel limits enforced on every upload path. */
export interface Limits {
  /** Largest original accepted through a presigned POST (and re-checked on ingest). */
  maxUploadBytes: number;
  /** Largest original accepted as a raw request body (API Gateway and Lambda cap payloads near 6 MB). */
  maxDirectUploadBytes: number;
  /** Largest width × height decoded; checked from the header before any full decode. */
  maxInputPixels: number;
}

/**
 * The sweeper's deadlines (seconds) and bound; see `shared/sweeper.ts`. Parsed by every function (one
 * config module), used by the sweeper only.
 */
export interface SweeperSettings {
  /** A `pending_upload` expires this long after its upload form did (`PRESIGNED_POST_EXPIRES_SECONDS`). */
  pendingUploadGraceSeconds: number;
  /** An `uploaded` or `processing` record untouched this long is re-queued. */
  processingStalledSeconds: number;
  /** A `deleting` record untouched this long gets its purge re-queued. */
  deletingStalledSeconds: number;
  /** Records handled at most per run (the rest wait for the next run). */
  maxRecordsPerRun: number;
}

/** The validated configuration of one function instance. */
export interface Config {
  region: string;
  /** Custom AWS endpoint (local cloud, LocalStack); `undefined` on AWS. */
  endpoint: string | undefined;
  bucketName: string;
  tableName: string;
  limits: Limits;
  variants: readonly VariantSpec[];
  presignedPostExpiresSeconds: number;
  pendingUploadTtlSeconds: number;
  sweeper: SweeperSettings;
  /** Origin browsers may call the API from (`Access-Control-Allow-Origin` on every API response). */
  corsAllowOrigin: string;
  /** Settings only some functions need; each function asks for its own with {@link loadConfig}. */
  ingestQueueUrl?: string;
  renderQueueUrl?: string;
  purgeQueueUrl?: string;
  deadLetterQueueUrl?: string;
  cdnBaseUrl?: string;
  /** Public base URL of the API for links (`API_PUBLIC_URL`, e.g. the CDN's); else API Gateway's domain. */
  apiPublicUrl?: string;
  /** CloudFront distribution to invalidate on delete; absent where there is no CDN (LocalStack). */
  cdnDistributionId?: string;
  /**
   * API functions: the secret CloudFront adds to requests for the API (`CDN_ORIGIN_SECRET`); requests
   * without it are refused (shared/http/origin-verify.ts). Absent where there is no CDN.
   */
  cdnOriginSecret?: string;
  /** SQS consumers: the queue their event source mapping reads (for ChangeMessageVisibility). */
  sourceQueueUrl?: string;
  /** SQS consumers: receives before SQS moves a message to the DLQ (the queue's redrive policy); 0 unknown. */
  maxReceiveCount: number;
  /** SQS consumers: a failed record's visibility timeout, base × 2^(receive − 1) up to max (seconds). */
  retryBackoff: { baseSeconds: number; maxSeconds: number };
}

/** Settings a function can declare it needs; they are then required and typed as present. */
export type NeededSetting =
  | 'ingestQueueUrl'
  | 'renderQueueUrl'
  | 'purgeQueueUrl'
  | 'deadLetterQueueUrl'
  | 'cdnBaseUrl'
  | 'sourceQueueUrl';

const NEEDED_ENV: Record<NeededSetting, string> = {
  ingestQueueUrl: 'INGEST_QUEUE_URL',
  renderQueueUrl: 'RENDER_QUEUE_URL',
  purgeQueueUrl: 'PURGE_QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  cdnBaseUrl: 'CDN_BASE_URL',
  sourceQueueUrl: 'SOURCE_QUEUE_URL',
};

type Env = Readonly<Record<string, string | undefined>>;

const MiB = 1024 * 1024;

/**
 * Reads and validates a configuration from `env`. Every problem is collected and reported at once, so a
 * broken deployment is fixed in one pass. Pure: tests pass their own `env`.
 */
export function parseConfig<K extends NeededSetting = never>(
  env: Env,
  needs: readonly K[] = [],
): Config & Required<Pick<Config, K>> {
  const problems: string[] = [];

  const text = (name: string, required: boolean): string | undefined => {
    const value = env[name]?.trim();
    if (!value) {
      if (required) problems.push(`${name} is required`);
      return undefined;
    }
    return value;
  };
  const url = (name: string, required: boolean): string | undefined => {
    const value = text(name, required);
    if (value === undefined) return undefined;
    try {
      const parsed = new URL(value);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
      return value.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL, got "${value}"`);
      return undefined;
    }
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const value = text(name, false);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}, got "${value}"`);
      return fallback;
    }
    return parsed;
  };

  const limits: Limits = {
    maxUploadBytes: integer('MAX_UPLOAD_BYTES', 25 * MiB, 1, 5 * 1024 * MiB),
    // 4 MiB decoded is about 5.6 MB base64-encoded: under Lambda's 6 MB synchronous payload limit.
    maxDirectUploadBytes: integer('MAX_DIRECT_UPLOAD_BYTES', 4 * MiB, 1, 4 * MiB),
    maxInputPixels: integer('MAX_INPUT_PIXELS', 100_000_000, 1, 1_000_000_000),
  };

  let variants: readonly VariantSpec[] = DEFAULT_VARIANTS;
  const variantsJson = text('VARIANTS', false);
  if (variantsJson !== undefined) {
    try {
      variants = parseVariantSpecs(variantsJson);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  const config: Config = {
    region: text('AWS_REGION', false) ?? text('AWS_DEFAULT_REGION', false) ?? 'us-east-1',
    endpoint: url('AWS_ENDPOINT_URL', false),
    bucketName: text('BUCKET_NAME', true) ?? '',
    tableName: text('TABLE_NAME', true) ?? '',
    limits,
    variants,
    presignedPostExpiresSeconds: integer('PRESIGNED_POST_EXPIRES_SECONDS', 900, 60, 7 * 24 * 3600),
    pendingUploadTtlSeconds: integer('PENDING_UPLOAD_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600),
    sweeper: {
      pendingUploadGraceSeconds: integer('SWEEP_PENDING_UPLOAD_GRACE_SECONDS', 3600, 0, 30 * 24 * 3600),
      processingStalledSeconds: integer('SWEEP_PROCESSING_AFTER_SECONDS', 3600, 60, 30 * 24 * 3600),
      deletingStalledSeconds: integer('SWEEP_DELETING_AFTER_SECONDS', 7200, 60, 30 * 24 * 3600),
      maxRecordsPerRun: integer('SWEEP_MAX_RECORDS', 500, 1, 10_000),
    },
    corsAllowOrigin: text('CORS_ALLOW_ORIGIN', false) ?? '*',
    // SQS allows 1–1,000 receives in a redrive policy, and visibility timeouts up to 12 h (43,200 s).
    maxReceiveCount: integer('MAX_RECEIVE_COUNT', 0, 0, 1000),
    retryBackoff: {
      baseSeconds: integer('RETRY_BACKOFF_BASE_SECONDS', 30, 1, 43_200),
      maxSeconds: integer('RETRY_BACKOFF_MAX_SECONDS', 3_600, 1, 43_200),
    },
  };
  for (const setting of Object.keys(NEEDED_ENV) as NeededSetting[]) {
    const value = url(NEEDED_ENV[setting], (needs as readonly NeededSetting[]).includes(setting));
    if (value !== undefined) config[setting] = value;
  }
  const apiPublicUrl = url('API_PUBLIC_URL', false);
  if (apiPublicUrl !== undefined) config.apiPublicUrl = apiPublicUrl;
  const cdnOriginSecret = text('CDN_ORIGIN_SECRET', false);
  if (cdnOriginSecret !== undefined) config.cdnOriginSecret = cdnOriginSecret;
  const distributionId = text('CDN_DISTRIBUTION_ID', false);
  if (distributionId !== undefined) config.cdnDistributionId = distributionId;

  if (limits.maxDirectUploadBytes > limits.maxUploadBytes) {
    problems.push('MAX_DIRECT_UPLOAD_BYTES must not exceed MAX_UPLOAD_BYTES');
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return config as Config & Required<Pick<Config, K>>;
}

/**
 * Reads the process environment once, at cold start. The only place in the product that touches
 * `process.env`; a function that cannot be configured fails before it takes any traffic.
 */
export function loadConfig<K extends NeededSetting = never>(
  needs: readonly K[] = [],
): Config & Required<Pick<Config, K>> {
  return parseConfig(process.env, needs);
}
