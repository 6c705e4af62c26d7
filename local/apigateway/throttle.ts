import type {
  LocalMethodThrottle,
  LocalQuota,
  LocalThrottle,
  LocalThrottling,
  LocalUsagePlan,
} from '../template/model/throttling.ts';

/**
 * A token bucket as API Gateway throttles with: it holds up to `burstLimit` tokens, starts full, refills at
 * `rateLimit` tokens per second, and each request takes one or is throttled.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 */
export class TokenBucket {
  readonly settings: LocalThrottle;
  #tokens: number;
  #last: number;

  constructor(settings: LocalThrottle, now: number) {
    this.settings = settings;
    this.#tokens = settings.burstLimit;
    this.#last = now;
  }

  /** Takes a token at time `now` (ms); `false` when the bucket is empty (the request is throttled). */
  take(now: number): boolean {
    const { rateLimit, burstLimit } = this.settings;
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#tokens = Math.min(burstLimit, this.#tokens + elapsed * rateLimit);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * The start (ms since the epoch) of the quota period containing `now`: midnight UTC for DAY, Monday
 * 00:00 UTC for WEEK, the first of the month 00:00 UTC for MONTH. (AWS does not document where its
 * periods begin; UTC calendar periods are the local choice.)
 */
export function quotaPeriodStart(period: LocalQuota['period'], now: number): number {
  const date = new Date(now);
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  if (period === 'DAY') return day;
  if (period === 'WEEK') return day - ((date.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** A key's request count in the current quota period; the first period allows `offset` fewer requests. */
class QuotaCounter {
  readonly quota: LocalQuota;
  #periodStart: number;
  #used: number;

  constructor(quota: LocalQuota, now: number) {
    this.quota = quota;
    this.#periodStart = quotaPeriodStart(quota.period, now);
    this.#used = quota.offset;
  }

  /** Counts a request at `now`; `false` when the period's limit is already used up. */
  take(now: number): boolean {
    const start = quotaPeriodStart(this.quota.period, now);
    if (start !== this.#periodStart) {
      this.#periodStart = start;
      this.#used = 0;
    }
    if (this.#used >= this.quota.limit) return false;
    this.#used += 1;
    return true;
  }
}

/** The most specific stage method setting for a route: exact method and path beat `*` and `/*`. */
export function stageThrottleFor(
  settings: readonly LocalMethodThrottle[],
  resource: string,
  method: string,
): LocalMethodThrottle | undefined {
  const score = (s: LocalMethodThrottle) =>
    (s.resourcePath === resource ? 2 : s.resourcePath === '/*' ? 0 : -10) +
    (s.httpMethod === method ? 1 : s.httpMethod === '*' ? 0 : -10);
  return settings.filter((s) => score(s) >= 0).sort((a, b) => score(b) - score(a))[0];
}

export type ThrottleVerdict = 'THROTTLED' | 'QUOTA_EXCEEDED' | undefined;

/**
 * API Gateway's throttling of one stage, from the template (model/throttling.ts):
 *
 * - per key, its usage plan's throttle (a method's own entry in the plan's `ApiStages[].Throttle` wins),
 *   then its quota: 429 `THROTTLED` or `QUOTA_EXCEEDED`;
 * - per method, the stage's `MethodSettings` throttle, shared by every caller of that method, keyed or
 *   not: "per-API, per-stage throttling limits are applied at the API method level".
 *
 * A key belongs to the plans whose `UsagePlanKey`s name its id; a key the template does not know (the
 * local cloud's own keys) belongs to the first plan covering the stage, as the template's key does.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 * and https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
 */
export class ApiThrottle {
  readonly #throttling: LocalThrottling;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #quotas = new Map<string, QuotaCounter>();

  constructor(throttling: LocalThrottling, clock: () => number = Date.now) {
    this.#throttling = throttling;
    this.#clock = clock;
  }

  /** The usage plan of an API key id, or `undefined` when the stage has none. */
  planOf(keyId: string): LocalUsagePlan | undefined {
    const plans = this.#throttling.usagePlans;
    return plans.find((plan) => plan.keyIds.includes(keyId)) ?? plans[0];
  }

  /** Admits one request to a route (`resource` as in the template, e.g. `/v1/images/{id}`), or says why not. */
  admit(route: { resource: string; method: string }, apiKeyId: string | undefined): ThrottleVerdict {
    const now = this.#clock();
    const plan = apiKeyId === undefined ? undefined : this.planOf(apiKeyId);
    if (plan && apiKeyId !== undefined) {
      const methodKey = `${route.resource}/${route.method}`;
      const own = plan.methodThrottles[methodKey];
      const throttle = own ?? plan.throttle;
      const bucketId = own ? `key ${apiKeyId} ${methodKey}` : `key ${apiKeyId}`;
      if (throttle && !this.#bucket(bucketId, throttle, now).take(now)) return 'THROTTLED';
      if (plan.quota && !this.#quota(`${plan.id} ${apiKeyId}`, plan.quota, now).take(now))
        return 'QUOTA_EXCEEDED';
    }
    const stage = stageThrottleFor(this.#throttling.methodSettings, route.resource, route.method);
    if (stage && !this.#bucket(`stage ${route.resource} ${route.method}`, stage, now).take(now))
      return 'THROTTLED';
    return undefined;
  }

  #bucket(id: string, settings: LocalThrottle, now: number): TokenBucket {
    const bucket = this.#buckets.get(id) ?? new TokenBucket(settings, now);
    this.#buckets.set(id, bucket);
    return bucket;
  }

  #quota(id: string, quota: LocalQuota, now: number): QuotaCounter {
    const counter = this.#quotas.get(id) ?? new QuotaCounter(quota, now);
    this.#quotas.set(id, counter);
    return counter;
  }
}
