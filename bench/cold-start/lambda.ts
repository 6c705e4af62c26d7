/**
 * The cold-start benchmark's Lambda side: finding the stack's functions behind any Lambda API endpoint,
 * forcing a cold start, invoking with a log tail and reading the `REPORT` line. Nothing here knows which
 * target it talks to: the local cloud, LocalStack and AWS all serve the same API.
 */
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  type LambdaClient,
  ListFunctionsCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { API_FUNCTION_NAMES, FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import type { StackTemplate } from '#local/template/template.ts';

/** The floor's label (`pictura:name` of the empty handler). */
export const FLOOR = 'bench-empty';
/** The environment variable whose change forces a cold start; removed again at the end of a run. */
export const COLD_MARKER = 'PICTURA_BENCH_COLD';

/** What a function is in the comparison. */
export type Kind = 'floor' | 'api' | 'naive' | 'sharp' | 'worker';

/** A function of the stack as the template describes it. */
export interface TemplateFunction {
  logicalId: string;
  label: string;
  entry: string;
  packaging: 'optimized' | 'naive';
}

/** A function of the stack, found on the target. */
export interface BenchFunction extends TemplateFunction {
  name: string;
  kind: Kind;
  /** For a naive baseline, the label of the function it mirrors. */
  mirrors?: string;
  memoryMb: number;
  /** The deployed package's size (`CodeSize`, a zip on AWS); `undefined` where the target reports none. */
  codeSizeBytes?: number;
  /** The environment as found, restored at the end of the run. */
  environment: Record<string, string>;
}

/** The functions in a synthesized stack (those carrying `pictura:name` and `pictura:entry`). */
export function templateFunctions(stack: StackTemplate): TemplateFunction[] {
  return Object.entries(stack.resources)
    .filter(
      ([, resource]) =>
        resource.Type === 'AWS::Lambda::Function' &&
        typeof resource.Metadata?.['pictura:name'] === 'string' &&
        typeof resource.Metadata?.['pictura:entry'] === 'string',
    )
    .map(([logicalId, resource]) => ({
      logicalId,
      label: String(resource.Metadata?.['pictura:name']),
      entry: String(resource.Metadata?.['pictura:entry']),
      packaging: resource.Metadata?.['pictura:packaging'] === 'naive' ? 'naive' : 'optimized',
    }));
}

/**
 * The deployed name of a template function. CloudFormation (AWS, LocalStack) names a function
 * `<stack>-<logicalId>-<suffix>`; the local cloud names it `<stack>-<logicalId>`. Logical ids carry an
 * 8-character hash, so one cannot be a prefix of another's name by accident.
 */
export function deployedName(
  stackName: string,
  logicalId: string,
  names: readonly string[],
): string | undefined {
  const prefix = `${stackName}-${logicalId}`;
  return (
    names.find((name) => name === prefix || name.startsWith(`${prefix}-`)) ??
    // Some emulators drop or shorten the stack part; the logical id (with its hash) is still unique.
    names.find((name) => name.includes(logicalId))
  );
}

/** The functions that load sharp (`usesSharp` in infra/constructs/functions.ts): the image processors. */
const SHARP_FUNCTIONS: readonly string[] = ['metadata', 'thumbnail'];

/** The floor, an API function, a naive copy, a sharp function, or another queue or scheduled worker. */
export function kindOf(label: string): Kind {
  if (label === FLOOR) return 'floor';
  if (label.startsWith('naive-')) return 'naive';
  if ((API_FUNCTION_NAMES as readonly string[]).includes(label)) return 'api';
  return SHARP_FUNCTIONS.includes(label) ? 'sharp' : 'worker';
}

async function listFunctionNames(client: LambdaClient): Promise<string[]> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const page = await client.send(new ListFunctionsCommand({ ...(marker ? { Marker: marker } : {}) }));
    for (const fn of page.Functions ?? []) if (fn.FunctionName) names.push(fn.FunctionName);
    marker = page.NextMarker;
  } while (marker);
  return names;
}

/**
 * Finds the selected functions (all of them by default) and the baselines they are compared with: the
 * floor always, and each selected API function's naive copy.
 */
export async function discover(
  client: LambdaClient,
  stack: StackTemplate,
  selected: readonly string[],
): Promise<BenchFunction[]> {
  const inTemplate = templateFunctions(stack);
  const labels = new Set(inTemplate.map((fn) => fn.label));
  if (!labels.has(FLOOR)) {
    throw new Error(
      `the template has no ${FLOOR} function: the baselines exist only with -c benchBaselines=true (deploy, or --template, with it)`,
    );
  }
  for (const label of selected) {
    if (!labels.has(label))
      throw new Error(`no function "${label}"; the stack has: ${[...labels].join(', ')}`);
  }
  const wanted = new Set(selected.length > 0 ? selected : [...FUNCTION_NAMES]);
  wanted.add(FLOOR);
  for (const label of [...wanted]) {
    if (kindOf(label) === 'api' && labels.has(`naive-${label}`)) wanted.add(`naive-${label}`);
  }

  const names = await listFunctionNames(client);
  const found: BenchFunction[] = [];
  for (const fn of inTemplate.filter((f) => wanted.has(f.label))) {
    const name = deployedName(stack.stackName, fn.logicalId, names);
    if (!name) {
      throw new Error(
        `${fn.label} (${fn.logicalId}) is not deployed on this target; deploy the stack with -c benchBaselines=true`,
      );
    }
    const configuration = await client.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    const environment = { ...(configuration.Environment?.Variables ?? {}) };
    delete environment[COLD_MARKER];
    const kind = kindOf(fn.label);
    found.push({
      ...fn,
      name,
      kind,
      ...(kind === 'naive' ? { mirrors: fn.label.slice('naive-'.length) } : {}),
      memoryMb: configuration.MemorySize ?? 128,
      ...(configuration.CodeSize ? { codeSizeBytes: configuration.CodeSize } : {}),
      environment,
    });
  }
  const order: Kind[] = ['floor', 'api', 'naive', 'sharp', 'worker'];
  return found.sort(
    (a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.label.localeCompare(b.label),
  );
}

/**
 * A benign event that runs the function's init and then a cheap path: cold init is what is measured, and
 * nothing may be written.
 */
export function benchEvent(label: string): unknown {
  const base = label.startsWith('naive-') ? label.slice('naive-'.length) : label;
  const proxy = (
    httpMethod: string,
    resource: string,
    path: string,
    extra: Record<string, unknown> = {},
  ) => ({
    httpMethod,
    resource,
    path,
    headers: { host: 'bench.invalid', 'x-forwarded-proto': 'https' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { path, identity: {}, requestId: 'bench' },
    ...extra,
  });
  switch (base) {
    case 'images':
      // The read clients wait on: a well-formed id that does not exist, one DynamoDB read, then 404.
      return proxy('GET', '/v1/images/{id}', '/v1/images/AAAAAAAAAAAAAAAAAAAAAA', {
        pathParameters: { id: 'AAAAAAAAAAAAAAAAAAAAAA' },
      });
    case 'upload':
      // No API key: a 401 from the handler's own check, before any call.
      return proxy('POST', '/v1/images', '/v1/images', {
        headers: { host: 'bench.invalid', 'x-forwarded-proto': 'https', 'content-type': 'application/json' },
        body: '{"contentType":"image/jpeg","contentLength":1024}',
      });
    case 'delete':
      // The token route, a well-formed id that does not exist: one DynamoDB read, then 404.
      return proxy('DELETE', '/v1/images/{id}/token', '/v1/images/AAAAAAAAAAAAAAAAAAAAAA/token', {
        pathParameters: { id: 'AAAAAAAAAAAAAAAAAAAAAA' },
        headers: { host: 'bench.invalid', 'x-forwarded-proto': 'https', authorization: 'Bearer bench-token' },
      });
    case 'metadata':
    case 'thumbnail':
    case 'purge':
      // An empty batch: the consumer starts, processes nothing and reports no failures.
      return { Records: [] };
    default:
      return {};
  }
}

/** The figures of one `REPORT` line. */
export interface Report {
  durationMs: number;
  maxMemoryUsedMb: number;
  memorySizeMb: number;
  /** Present only on an invocation that started a new execution environment. */
  initMs?: number;
}

/**
 * Reads the last `REPORT` line of a log tail. Its fields are tab-separated `Name: value unit` pairs; Lambda
 * adds fields over time (Restore Duration, XRAY), so each is read by name rather than by position.
 */
export function parseReport(log: string): Report | undefined {
  const line = log
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('REPORT RequestId:'));
  if (!line) return undefined;
  const fields = new Map<string, number>();
  for (const field of line.split('\t')) {
    const match = /^\s*([A-Za-z ]+): ([\d.]+)/.exec(field);
    if (match?.[1] && match[2]) fields.set(match[1].trim(), Number(match[2]));
  }
  const durationMs = fields.get('Duration');
  if (durationMs === undefined) return undefined;
  const initMs = fields.get('Init Duration');
  return {
    durationMs,
    maxMemoryUsedMb: fields.get('Max Memory Used') ?? 0,
    memorySizeMb: fields.get('Memory Size') ?? 0,
    ...(initMs === undefined ? {} : { initMs }),
  };
}

/** One invocation as the benchmark saw it. */
export interface Sample {
  label: string;
  round: number;
  /** Invoked right after a configuration change (a cold start was forced). */
  forced: boolean;
  /** Client-observed time of the Invoke call: what a caller waits, process start included. */
  latencyMs: number;
  report?: Report;
  /** `statusCode` of an API response, when there is one. */
  statusCode?: number;
  error?: string;
}

/** Changes the marker variable (keeping every other one) and waits until the change is live. */
export async function forceColdStart(client: LambdaClient, fn: BenchFunction, token: string): Promise<void> {
  await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: fn.name,
      Environment: { Variables: { ...fn.environment, [COLD_MARKER]: token } },
    }),
  );
  await waitUntilFunctionUpdatedV2(
    { client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 },
    { FunctionName: fn.name },
  );
}

/** Puts a function's environment back as it was found. */
export async function restoreEnvironment(client: LambdaClient, fn: BenchFunction): Promise<void> {
  await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: fn.name,
      Environment: { Variables: fn.environment },
    }),
  );
  await waitUntilFunctionUpdatedV2(
    { client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 },
    { FunctionName: fn.name },
  );
}

export async function invoke(
  client: LambdaClient,
  fn: BenchFunction,
  round: number,
  forced: boolean,
): Promise<Sample> {
  const payload = JSON.stringify(benchEvent(fn.label));
  const started = performance.now();
  try {
    const result = await client.send(
      new InvokeCommand({
        FunctionName: fn.name,
        LogType: 'Tail',
        Payload: new TextEncoder().encode(payload),
      }),
    );
    const latencyMs = performance.now() - started;
    const report = parseReport(Buffer.from(result.LogResult ?? '', 'base64').toString('utf8'));
    const body = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
    let statusCode: number | undefined;
    try {
      const parsed = JSON.parse(body) as { statusCode?: unknown };
      if (typeof parsed?.statusCode === 'number') statusCode = parsed.statusCode;
    } catch {
      // Not JSON: nothing to read a status from.
    }
    return {
      label: fn.label,
      round,
      forced,
      latencyMs,
      ...(report ? { report } : {}),
      ...(statusCode === undefined ? {} : { statusCode }),
      ...(result.FunctionError ? { error: `${result.FunctionError}: ${body.slice(0, 200)}` } : {}),
      ...(report ? {} : { error: 'no REPORT line in the log tail' }),
    };
  } catch (error) {
    return {
      label: fn.label,
      round,
      forced,
      latencyMs: performance.now() - started,
      error: (error as Error).message,
    };
  }
}
