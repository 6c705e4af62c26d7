/**
 * The fault-injection settings of the local cloud (`npm start -- --faults FILE`, or `PICTURA_LOCAL_FAULTS`
 * holding a path or inline JSON), validated with zod so that a typo fails the start instead of silently
 * injecting nothing. The format is documented in README.md ("Fault injection").
 */
import { readFileSync, statSync } from 'node:fs';
import * as DynamoDB from '@aws-sdk/client-dynamodb';
import * as SQS from '@aws-sdk/client-sqs';
import { z } from 'zod';

/** The error answers each service can give, by the code AWS names them with, plus `delay`. */
export const EDGE_KINDS = {
  s3: ['SlowDown', 'InternalError', 'delay'],
  dynamodb: ['ProvisionedThroughputExceededException', 'ThrottlingException', 'InternalServerError', 'delay'],
  sqs: ['RequestThrottled', 'ThrottlingException', 'InternalError', 'delay'],
} as const;
export type EdgeService = keyof typeof EDGE_KINDS;
export type EdgeKind<S extends EdgeService = EdgeService> = (typeof EDGE_KINDS)[S][number];

export const INVOCATION_KINDS = ['crash', 'timeout', 'partial'] as const;
export const NOTIFICATION_KINDS = ['duplicate', 'delay', 'reorder'] as const;

/**
 * The S3 operations the edge tells apart (see edge.ts `s3Operation`); an S3 rule may name only these.
 * DynamoDB and SQS name theirs in the request, so every operation their SDK clients have is accepted.
 */
export const S3_OPERATIONS = [
  'GetObject',
  'HeadObject',
  'PutObject',
  'CopyObject',
  'PostObject',
  'DeleteObject',
  'DeleteObjects',
  'ListObjectsV2',
  'ListObjects',
  'HeadBucket',
  'CreateBucket',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListBuckets',
  'Other',
] as const;

function sdkOperations(client: Record<string, unknown>): string[] {
  return Object.keys(client)
    .filter((name) => /^[A-Z][A-Za-z0-9]+Command$/.test(name))
    .map((name) => name.slice(0, -'Command'.length));
}

export const OPERATIONS: Record<EdgeService, readonly string[]> = {
  s3: S3_OPERATIONS,
  dynamodb: sdkOperations(DynamoDB),
  sqs: sdkOperations(SQS),
};

/** Longest delay any fault may add: a minute (beyond that a run looks hung, not slow). */
const MAX_DELAY_MS = 60_000;

const rate = z.number().min(0).max(1);
const milliseconds = z.number().int().min(0).max(MAX_DELAY_MS);
const delayRange = z
  .tuple([milliseconds, milliseconds])
  .refine(([min, max]) => min <= max, 'the first number (the shortest delay) must not exceed the second');

/** Relative weights of the kinds (absent kinds weigh 0); at least one must be above 0. */
function weights<const K extends readonly string[]>(kinds: K) {
  const shape = Object.fromEntries(kinds.map((k) => [k, z.number().min(0).max(1000).optional()]));
  return z
    .strictObject(shape as Record<K[number], z.ZodOptional<z.ZodNumber>>)
    .refine(
      (w) => Object.values(w).some((v) => (v as number) > 0),
      'at least one kind must weigh more than 0',
    );
}

function rule<const K extends readonly string[]>(kinds: K) {
  return z.strictObject({
    /** Fraction of calls (0–1) that get a fault. */
    rate,
    /** Which faults, by relative weight; every kind equally when absent. */
    kinds: weights(kinds).optional(),
    /** `[min, max]` ms for `delay` faults. */
    delayMs: delayRange.optional(),
  });
}

function serviceFaults<S extends EdgeService>(service: S) {
  const known = new Set(OPERATIONS[service]);
  return rule(EDGE_KINDS[service]).extend({
    /**
     * Per-operation rules: their own `rate` (0 exempts the operation); `kinds` and `delayMs` are the service's
     * unless the operation sets its own (see injector.ts `operationRule`).
     */
    operations: z
      .record(z.string(), rule(EDGE_KINDS[service]))
      .superRefine((operations, ctx) => {
        for (const name of Object.keys(operations)) {
          if (known.has(name)) continue;
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `not a ${service} operation the local cloud tells apart (e.g. ${OPERATIONS[service].slice(0, 3).join(', ')})`,
          });
        }
      })
      .optional(),
  });
}

export const faultConfigSchema = z.strictObject({
  /** Seeds every random decision (0 to 2³²−1); a random seed is drawn and reported when absent. */
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  s3: serviceFaults('s3').optional(),
  dynamodb: serviceFaults('dynamodb').optional(),
  sqs: serviceFaults('sqs').optional(),
  /** Function invocations: the instance crashes, hangs until it times out, or is killed part-way. */
  invocations: rule(INVOCATION_KINDS)
    .omit({ delayMs: true })
    .extend({
      /** Functions affected, by logical name (`thumbnail`) or function name; the SQS consumers when absent. */
      functions: z.array(z.string().min(1).max(140)).min(1).max(100).optional(),
      /** How long a hung invocation takes to time out; the function's own timeout when absent. */
      hangMs: z.number().int().min(1).max(900_000).optional(),
    })
    .optional(),
  /** S3 event notifications: sent twice, late, or after the next one. */
  notifications: rule(NOTIFICATION_KINDS).optional(),
  /** SQS event source mappings: a message also handed to a second, concurrent invocation. */
  deliveries: z.strictObject({ rate }).optional(),
});

export type FaultConfig = z.infer<typeof faultConfigSchema>;
export type FaultRule = z.infer<ReturnType<typeof rule>>;

/** A fault configuration that cannot be used; the message names the source and every problem. */
export class FaultConfigError extends Error {
  override name = 'FaultConfigError';
}

/**
 * Refuses `invocations.functions` entries that name none of `known` (the stack's function names and logical
 * names, known once the template is read): a typo would otherwise inject nothing, silently. Throws
 * `FaultConfigError` naming each unknown entry by its path (`invocations.functions[0]`) and a few known names.
 */
export function checkFaultTargets(config: FaultConfig, known: readonly string[]): void {
  const names = new Set(known);
  const unknown = (config.invocations?.functions ?? [])
    .map((name, index) => ({ name, index }))
    .filter(({ name }) => !names.has(name));
  if (unknown.length === 0) return;
  const problems = unknown.map(
    ({ name, index }) =>
      `  invocations.functions[${index}]: ${JSON.stringify(name)} is not a function of the stack`,
  );
  // Shortest first: the logical names (`thumbnail`) before the generated ones.
  const some = [...names]
    .sort((a, b) => a.length - b.length || a.localeCompare(b))
    .slice(0, 8)
    .join(', ');
  throw new FaultConfigError(
    `faults:\n${problems.join('\n')}\n  (its functions: ${some}${names.size > 8 ? ', …' : ''})`,
  );
}

/** Largest configuration accepted: a real one is a few hundred bytes. */
const MAX_CONFIG_BYTES = 64 * 1024;

/**
 * Reads and validates a fault configuration: `source` is inline JSON when it starts with `{` (or `[`), else a path.
 * Throws `FaultConfigError` for an unreadable or oversized file, invalid JSON, or a configuration the schema
 * refuses (unknown keys, rates outside 0–1, unknown kinds or operations, delays out of order or over a minute).
 */
export function loadFaultConfig(source: string): FaultConfig {
  const trimmed = source.trim();
  const inline = trimmed.startsWith('{') || trimmed.startsWith('[');
  const where = inline ? 'inline JSON' : trimmed;
  let text = trimmed;
  if (!inline) {
    try {
      if (statSync(trimmed).size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
      text = readFileSync(trimmed, 'utf8');
    } catch (error) {
      throw new FaultConfigError(`faults (${where}): cannot read: ${(error as Error).message}`);
    }
  } else if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) {
    throw new FaultConfigError(`faults (${where}): larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  let json: unknown;
  try {
    // zod drops a `__proto__` key silently; a configuration holding one is refused instead.
    json = JSON.parse(text, (key, value) => {
      if (key === '__proto__') throw new Error('the key "__proto__" is not allowed');
      return value;
    });
  } catch (error) {
    throw new FaultConfigError(`faults (${where}): not JSON: ${(error as Error).message}`);
  }
  const parsed = faultConfigSchema.safeParse(json);
  if (!parsed.success) throw new FaultConfigError(`faults (${where}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
