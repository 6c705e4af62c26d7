/**
 * The longest visibility timeout a consumer asks for. SQS takes 0–43,200 s (12 h) in ChangeMessageVisibility
 * and rejects a request that would keep a message invisible past 12 h
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html);
 * the call is made before the invocation ends, at most 15 min (Lambda's longest timeout) after the receive,
 * so 15 min are kept in hand.
 */
export const MAX_VISIBILITY_SECONDS = 43_200 - 900;

/** How a failed record backs off: `base × 2^(receiveCount − 1)` seconds, at most `max`. */
export interface BackoffSettings {
  baseSeconds: number;
  maxSeconds: number;
}

/**
 * The visibility timeout (whole seconds) for a record that failed on its `receiveCount`-th receive:
 * exponential in the receive count, capped, with "equal jitter" (half the delay fixed, half random), so
 * that records which failed together (one sick dependency, one batch) do not all come back at the same
 * second, while each retry still waits at least as long as the previous one could have (AWS Architecture
 * Blog, "Exponential Backoff And Jitter").
 */
export function backoffSeconds(
  receiveCount: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(receiveCount, 1) - 1, 30);
  const ceiling = Math.min(settings.baseSeconds * 2 ** exponent, settings.maxSeconds, MAX_VISIBILITY_SECONDS);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  cause?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Whether an error says a dependency is unhealthy rather than that this record is bad: throttling, a 5xx,
 * a timeout or a dropped connection — what the SDK's standard retry mode treats as transient
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Thrown after the SDK's
 * own attempts, so the dependency failed several times in a row. Follows `cause` a few levels.
 */
export function isDependencyFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const e = current as SdkErrorShape;
    const status = e.$metadata?.httpStatusCode;
    if (e.$retryable) return true;
    if (status !== undefined && (status >= 500 || status === 429)) return true;
    if (e.name !== undefined && THROTTLING_CODES.has(e.name)) return true;
    if (e.name === 'TimeoutError' || (e.code !== undefined && NETWORK_CODES.has(e.code))) return true;
    current = e.cause;
  }
  return false;
}
