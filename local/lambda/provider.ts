import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AwsApiError, BodyTooLargeError, readBody } from '../http-util.ts';
import type { LocalFunction } from '../template/stack-model.ts';
import { checkEnvironment, type EnvironmentRefusal as Refusal } from './environment.ts';
import { configuration, deployedRecords, type FunctionRecord, lastModified } from './models.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';

/** Lambda returns at most the last 4 KB of the log with `LogType: Tail`. */
const TAIL_BYTES = 4096;
/** Invoke's synchronous payload limit, 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const INVOKE_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** ListFunctions' `MaxItems` range and its default page (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html). */
const MAX_ITEMS = { min: 1, max: 10_000, default: 50 };

/** An answer of the Lambda API: a JSON body, or none (`body` absent) as for asynchronous and dry-run invokes. */
export interface LambdaResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A refusal in the Lambda API's terms; the router sends it (see `sendError` in api.ts). */
export class LambdaApiError extends AwsApiError {}

/** Tail of a log as Lambda returns it: the last 4 KB, base64. */
export function logTail(log: string): string {
  const bytes = Buffer.from(log, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('base64');
}

/**
 * The Lambda API's operations on the local cloud's functions, one method per operation, in the shape of
 * LocalStack's providers: it reads and checks the input, changes the runtime and the records (models.ts),
 * and returns the answer or throws a `LambdaApiError`. Which request is which operation is the router's
 * business (api.ts).
 */
export class LambdaProvider {
  readonly #runtime: FunctionRuntime;
  readonly #log: (line: string) => void;
  readonly #records: Map<string, FunctionRecord>;

  constructor(runtime: FunctionRuntime, log: (line: string) => void) {
    this.#runtime = runtime;
    this.#log = log;
    this.#records = deployedRecords(runtime.list());
  }

  /** One function by name or ARN, or `undefined`. */
  find(nameOrArn: string): LocalFunction | undefined {
    return this.#runtime.get(nameOrArn);
  }

  /** GetFunction (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html). */
  getFunction(fn: LocalFunction): LambdaResponse {
    return {
      status: 200,
      body: {
        Configuration: this.#configuration(fn),
        Code: { RepositoryType: 'Local', Location: fn.entry },
        Tags: {},
      },
    };
  }

  /** GetFunctionConfiguration (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html). */
  getFunctionConfiguration(fn: LocalFunction): LambdaResponse {
    return { status: 200, body: this.#configuration(fn) };
  }

  /**
   * ListFunctions, sorted by name, `MaxItems` per page, `NextMarker` naming where the next page starts; a
   * `Marker` this API did not hand out is refused (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html).
   */
  listFunctions(query: URLSearchParams): LambdaResponse {
    const maxItems = maxItemsOf(query.get('MaxItems'));
    const all = this.#runtime.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const after = markerName(query.get('Marker'), all);
    const rest = after === undefined ? all : all.filter((fn) => fn.name > after);
    const page = rest.slice(0, maxItems);
    const last = page.at(-1);
    return {
      status: 200,
      body: {
        Functions: page.map((fn) => this.#configuration(fn)),
        ...(rest.length > page.length && last
          ? { NextMarker: Buffer.from(last.name).toString('base64url') }
          : {}),
      },
    };
  }

  /**
   * UpdateFunctionConfiguration (environment, timeout, memory): answers at once with `LastUpdateStatus:
   * InProgress`, which becomes `Successful` once the old instances are gone
   * (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html).
   */
  async updateFunctionConfiguration(fn: LocalFunction, req: IncomingMessage): Promise<LambdaResponse> {
    const record = this.#record(fn);
    const patch = await jsonObject(req);
    if (!patch)
      throw new LambdaApiError(
        400,
        'InvalidRequestContentException',
        'Could not parse request body into json',
      );
    // A second update while one is applying is refused, as on AWS (recorded: LocalStack
    // test_lambda_api.snapshot.json, `update-during-in-progress-update-exc`).
    if (record.lastUpdateStatus === 'InProgress') {
      throw new LambdaApiError(
        409,
        'ResourceConflictException',
        `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`,
      );
    }
    const refusal = validateUpdate(patch, record, fn);
    if (refusal) throw new LambdaApiError(refusal.status, refusal.errorType, refusal.message);
    this.#applyUpdate(fn, patch, record);
    return { status: 200, body: configuration(this.#runtime.get(fn.name) ?? fn, record) };
  }

  /**
   * Invoke (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): `DryRun` answers 204,
   * `Event` 202 before the function runs, `RequestResponse` the function's result, with the last 4 KB of
   * its log when `LogType: Tail`.
   */
  async invoke(fn: LocalFunction, req: IncomingMessage): Promise<LambdaResponse> {
    const event = await invokeEvent(req);
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') return { status: 204 };
    if (type === 'Event') {
      this.#runtime
        .invoke(fn.name, event)
        .catch((error: Error) => this.#log(`lambda: async invoke of ${fn.name}: ${error.message}`));
      return { status: 202, headers: { 'x-amzn-requestid': randomUUID() } };
    }
    return this.#invokeAndWait(fn, event, String(req.headers['x-amz-log-type'] ?? '') === 'Tail');
  }

  /** A function error, an init failure included, is HTTP 200 with X-Amz-Function-Error (API_Invoke). */
  async #invokeAndWait(fn: LocalFunction, event: unknown, tail: boolean): Promise<LambdaResponse> {
    const invocation = await this.#runtime.invoke(fn.name, event);
    const headers: Record<string, string> = {
      'x-amz-executed-version': '$LATEST',
      'x-amzn-requestid': invocation.requestId,
    };
    if (invocation.functionError) headers['x-amz-function-error'] = invocation.functionError;
    if (tail) headers['x-amz-log-result'] = logTail(invocation.log);
    return { status: 200, body: invocation.payload ?? null, headers };
  }

  /** Hands the patch to the runtime and marks the record `InProgress` until the runtime has applied it. */
  #applyUpdate(fn: LocalFunction, patch: Record<string, unknown>, record: FunctionRecord): void {
    const environment = patch.Environment as { Variables?: Record<string, string> } | undefined;
    const applied = this.#runtime.update(fn.name, {
      ...(environment ? { environment: { ...(environment.Variables ?? {}) } } : {}),
      ...(typeof patch.Timeout === 'number' ? { timeoutSeconds: patch.Timeout } : {}),
      ...(typeof patch.MemorySize === 'number' ? { memoryMb: patch.MemorySize } : {}),
    });
    record.lastModified = lastModified();
    record.revisionId = randomUUID();
    record.lastUpdateStatus = 'InProgress';
    applied
      ?.catch((error: Error) => this.#log(`lambda: applying the update of ${fn.name}: ${error.message}`))
      .finally(() => {
        record.lastUpdateStatus = 'Successful';
      });
  }

  #record(fn: LocalFunction): FunctionRecord {
    return this.#records.get(fn.name) as FunctionRecord;
  }

  #configuration(fn: LocalFunction) {
    return configuration(fn, this.#record(fn));
  }
}

/**
 * The function name a ListFunctions `Marker` stands for (the `NextMarker` of an earlier page: the base64url of
 * the last name listed), or `undefined` without one (an empty one counts as none). A marker that is not one of those is refused with 400
 * `InvalidParameterValueException`, the error API_ListFunctions documents for "One of the parameters in the
 * request is not valid", where it was read as an empty page (and a client looping on pages stopped quietly).
 * AWS's markers are opaque tokens it also refuses when it did not issue them; its message is not recorded.
 */
function markerName(marker: string | null, functions: readonly LocalFunction[]): string | undefined {
  if (marker === null || marker === '') return undefined;
  const name = Buffer.from(marker, 'base64url').toString('utf8');
  if (Buffer.from(name).toString('base64url') === marker && functions.some((fn) => fn.name === name))
    return name;
  throw new LambdaApiError(400, 'InvalidParameterValueException', `Invalid marker: ${marker.slice(0, 100)}`);
}

/** ListFunctions' `MaxItems`, or the ValidationException AWS answers for a value out of its range. */
function maxItemsOf(param: string | null): number {
  const maxItems = param === null ? MAX_ITEMS.default : Number(param);
  if (Number.isInteger(maxItems) && maxItems >= MAX_ITEMS.min && maxItems <= MAX_ITEMS.max) return maxItems;
  const bound =
    maxItems > MAX_ITEMS.max
      ? `less than or equal to ${MAX_ITEMS.max}`
      : `greater than or equal to ${MAX_ITEMS.min}`;
  throw new LambdaApiError(
    400,
    'ValidationException',
    `1 validation error detected: Value '${param}' at 'maxItems' failed to satisfy constraint: Member must have value ${bound}`,
  );
}

/** Invoke's payload as JSON (`{}` when empty), refused over 6 MB or when it does not parse. */
async function invokeEvent(req: IncomingMessage): Promise<unknown> {
  let body: string;
  try {
    body = (await readBody(req, INVOKE_PAYLOAD_LIMIT)).toString('utf8');
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    // API_Invoke: RequestTooLargeException, HTTP 413.
    throw new LambdaApiError(
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${INVOKE_PAYLOAD_LIMIT} bytes for the InvokeFunction operation`,
    );
  }
  try {
    return body.length > 0 ? JSON.parse(body) : {};
  } catch {
    throw new LambdaApiError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
  }
}

/** The request body as a JSON object, or `undefined` when it is not one. */
async function jsonObject(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const text = (await readBody(req, 1024 * 1024)).toString('utf8');
  try {
    const value: unknown = text.length > 0 ? JSON.parse(text) : {};
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The checks `UpdateFunctionConfiguration` makes before changing anything (API_UpdateFunctionConfiguration). */
function validateUpdate(
  patch: Record<string, unknown>,
  record: FunctionRecord,
  fn: LocalFunction,
): Refusal | undefined {
  const ranges: Array<[string, string, number, number]> = [
    ['Timeout', 'timeout', 1, 900],
    ['MemorySize', 'memorySize', 128, 10_240],
  ];
  for (const [field, member, min, max] of ranges) {
    const value = patch[field];
    if (value === undefined) continue;
    const refusal = rangeRefusal(value, member, min, max);
    if (refusal) return refusal;
  }
  const fixed = fixedSettingsRefusal(patch, fn);
  if (fixed) return fixed;
  const environment = patch.Environment;
  if (environment === undefined) return undefined;
  if (typeof environment !== 'object' || environment === null)
    return {
      status: 400,
      errorType: 'ValidationException',
      message:
        "1 validation error detected: Value at 'environment' failed to satisfy constraint: Member must be a structure",
    };
  const variables = (environment as { Variables?: unknown }).Variables ?? {};
  return checkEnvironment(variables, record.deployed);
}

/**
 * AWS's `ValidationException` for a member that is not an integer in `min`–`max`, naming the bound it
 * broke (the lower one for anything but a number above `max`); `undefined` when the value is in range.
 */
function rangeRefusal(value: unknown, member: string, min: number, max: number): Refusal | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return undefined;
  const bound =
    typeof value === 'number' && value > max
      ? `less than or equal to ${max}`
      : `greater than or equal to ${min}`;
  return {
    status: 400,
    errorType: 'ValidationException',
    message: `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must have value ${bound}`,
  };
}

/** Refused: the local cloud runs the template's code on this host and cannot change how. */
const fixedSetting = (field: string, why: string): Refusal => ({
  status: 400,
  errorType: 'InvalidParameterValueException',
  message: `The local cloud cannot change ${field}: ${why}. Change it in the template and restart the local cloud.`,
});

/**
 * `Handler`, `Runtime`, `Layers` and `EphemeralStorage`, which the local cloud cannot honour: it runs the
 * template's handler from source in this machine's Node.js, with no layers and the host's /tmp. Each is accepted
 * when it asks for what is already so (a tool sending a whole configuration back), and otherwise refused with
 * 400 `InvalidParameterValueException` rather than answered 200 and ignored. `EphemeralStorage.Size` is first
 * held to AWS's range, 512–10240 MB (API_EphemeralStorage), as AWS's ValidationException.
 */
function fixedSettingsRefusal(patch: Record<string, unknown>, fn: LocalFunction): Refusal | undefined {
  const handler = `index.${fn.handlerExport}`;
  if (patch.Handler !== undefined && patch.Handler !== handler)
    return fixedSetting('Handler', `it runs the template's handler (${handler}) from source`);
  if (patch.Runtime !== undefined && patch.Runtime !== fn.runtime)
    return fixedSetting('Runtime', `functions run in this machine's Node.js, reported as ${fn.runtime}`);
  if (patch.Layers !== undefined && !(Array.isArray(patch.Layers) && patch.Layers.length === 0))
    return fixedSetting('Layers', 'functions run from source with their own node_modules, without layers');
  if (patch.EphemeralStorage === undefined) return undefined;
  const size = (patch.EphemeralStorage as { Size?: unknown } | null)?.Size;
  const outOfRange = rangeRefusal(size, 'ephemeralStorage.size', 512, 10_240);
  if (outOfRange) return outOfRange;
  if (size !== 512)
    return fixedSetting(
      'EphemeralStorage',
      "functions use this machine's /tmp, which has no size of its own",
    );
  return undefined;
}
