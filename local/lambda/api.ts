import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { BodyTooLargeError, readBody, requestUrl, sendJson } from '../http-util.ts';
import type { LocalFunction } from '../template/stack-model.ts';
import { checkEnvironment } from './environment.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';

/** Lambda returns at most the last 4 KB of the log with `LogType: Tail`. */
const TAIL_BYTES = 4096;
/** Invoke's synchronous payload limit, 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const INVOKE_PAYLOAD_LIMIT = 6 * 1024 * 1024;
/** ListFunctions' `MaxItems` range and its default page (https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html). */
const MAX_ITEMS = { min: 1, max: 10_000, default: 50 };

/** What the Lambda API keeps about a function besides the runtime's configuration. */
interface FunctionRecord {
  /** `FunctionConfiguration.LastModified`: ISO-8601 with milliseconds and `+0000`, as Lambda writes it. */
  lastModified: string;
  lastUpdateStatus: 'InProgress' | 'Successful';
  revisionId: string;
  /** The template's environment, which the unsafe-variable check trusts. */
  deployed: Readonly<Record<string, string>>;
}

/** `2024-01-01T00:00:00.000+0000` (API_FunctionConfiguration: "YYYY-MM-DDThh:mm:ss.sTZD"). */
export function lastModified(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/**
 * A function's configuration as `GetFunctionConfiguration` answers it. While an update is in progress
 * Lambda adds the reason fields, recorded on AWS as `The function is being created.` / `Creating`
 * (LocalStack tests/aws/services/lambda_/test_lambda_api.snapshot.json, `update_func_conf_response`).
 */
function configuration(fn: LocalFunction, record: FunctionRecord) {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: `arn:aws:iam::000000000000:role/${fn.name}-role`,
    Handler: `index.${fn.handlerExport}`,
    CodeSize: 0,
    Description: `local: ${fn.entry}`,
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memoryMb,
    LastModified: record.lastModified,
    CodeSha256: createHash('sha256').update(fn.entry).digest('base64'),
    Version: '$LATEST',
    Environment: { Variables: fn.environment },
    Architectures: [fn.architecture],
    PackageType: 'Zip',
    State: 'Active',
    RevisionId: record.revisionId,
    LastUpdateStatus: record.lastUpdateStatus,
    ...(record.lastUpdateStatus === 'InProgress'
      ? { LastUpdateStatusReason: 'The function is being created.', LastUpdateStatusReasonCode: 'Creating' }
      : {}),
  };
}

/**
 * An error as the Lambda API sends it: the type in `x-amzn-errortype`, and a JSON body with `Type` and
 * `message` (`Message` for ResourceNotFoundException), as recorded on AWS in LocalStack's
 * tests/aws/services/lambda_/test_lambda_api.snapshot.json.
 */
function sendError(res: ServerResponse, status: number, errorType: string, message: string): void {
  const body =
    errorType === 'ResourceNotFoundException'
      ? { Type: 'User', Message: message }
      : { Type: 'User', message };
  sendJson(res, status, body, { 'x-amzn-errortype': errorType });
}

/** Tail of a log as Lambda returns it: the last 4 KB, base64. */
export function logTail(log: string): string {
  const bytes = Buffer.from(log, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('base64');
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

/**
 * The Lambda API on the AWS endpoint (REST-JSON under `/2015-03-31/functions`): `Invoke` (with `LogType:
 * Tail`), `GetFunction`, `GetFunctionConfiguration`, `ListFunctions` (paged with `MaxItems`/`Marker`) and
 * `UpdateFunctionConfiguration` (environment, timeout, memory; `LastUpdateStatus` goes `InProgress`, then
 * `Successful` once the old instances are gone), so the SDK, the AWS CLI (its `function-updated` waiter
 * included) and the cold-start benchmark work against the local cloud unchanged. Environment variables
 * that would run code on the host are refused (see `checkEnvironment`).
 */
export function lambdaApiRoute(runtime: FunctionRuntime, log: (line: string) => void): EdgeRoute {
  const started = lastModified();
  const records = new Map<string, FunctionRecord>();
  for (const fn of runtime.list()) {
    const deployed = { ...fn.environment };
    records.set(fn.name, {
      lastModified: started,
      lastUpdateStatus: 'Successful',
      revisionId: randomUUID(),
      deployed,
    });
  }
  const recordOf = (fn: LocalFunction) => records.get(fn.name) as FunctionRecord;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req);
    if (!url) {
      sendError(res, 404, 'ResourceNotFoundException', 'Function not found');
      return;
    }
    const parts = url.pathname
      .replace(/^\/2015-03-31\/functions\/?/, '')
      .split('/')
      .filter(Boolean);
    let rawName: string;
    try {
      rawName = decodeURIComponent(parts[0] ?? '');
    } catch {
      sendError(res, 400, 'ValidationException', 'The function name is not valid percent-encoding');
      return;
    }
    const action = parts[1];
    if (!rawName && req.method === 'GET') {
      listFunctions(url, res);
      return;
    }
    const fn = runtime.get(rawName);
    if (!fn) {
      sendError(res, 404, 'ResourceNotFoundException', `Function not found: ${rawName}`);
      return;
    }
    if (req.method === 'GET' && action === undefined) {
      sendJson(res, 200, {
        Configuration: configuration(fn, recordOf(fn)),
        Code: { RepositoryType: 'Local', Location: fn.entry },
        Tags: {},
      });
      return;
    }
    if (req.method === 'GET' && action === 'configuration') {
      sendJson(res, 200, configuration(fn, recordOf(fn)));
      return;
    }
    if (req.method === 'PUT' && action === 'configuration') {
      await updateConfiguration(fn, req, res);
      return;
    }
    if (req.method === 'POST' && action === 'invocations') {
      await invoke(fn, req, res);
      return;
    }
    sendJson(res, 404, { message: `unsupported Lambda API call ${req.method} ${url.pathname}` });
  };

  /** ListFunctions, sorted by name, `MaxItems` per page, `NextMarker` naming where the next page starts. */
  const listFunctions = (url: URL, res: ServerResponse) => {
    const maxItemsParam = url.searchParams.get('MaxItems');
    const maxItems = maxItemsParam === null ? MAX_ITEMS.default : Number(maxItemsParam);
    if (!Number.isInteger(maxItems) || maxItems < MAX_ITEMS.min || maxItems > MAX_ITEMS.max) {
      const bound =
        maxItems > MAX_ITEMS.max
          ? `less than or equal to ${MAX_ITEMS.max}`
          : `greater than or equal to ${MAX_ITEMS.min}`;
      sendError(
        res,
        400,
        'ValidationException',
        `1 validation error detected: Value '${maxItemsParam}' at 'maxItems' failed to satisfy constraint: Member must have value ${bound}`,
      );
      return;
    }
    const all = runtime.list().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const marker = url.searchParams.get('Marker');
    const after = marker === null ? undefined : Buffer.from(marker, 'base64url').toString('utf8');
    const rest = after === undefined ? all : all.filter((fn) => fn.name > after);
    const page = rest.slice(0, maxItems);
    const last = page.at(-1);
    sendJson(res, 200, {
      Functions: page.map((fn) => configuration(fn, recordOf(fn))),
      ...(rest.length > page.length && last
        ? { NextMarker: Buffer.from(last.name).toString('base64url') }
        : {}),
    });
  };

  const updateConfiguration = async (fn: LocalFunction, req: IncomingMessage, res: ServerResponse) => {
    const record = recordOf(fn);
    const patch = await jsonObject(req);
    if (!patch) {
      sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    // A second update while one is applying is refused, as on AWS (recorded: LocalStack
    // test_lambda_api.snapshot.json, `update-during-in-progress-update-exc`).
    if (record.lastUpdateStatus === 'InProgress') {
      sendError(
        res,
        409,
        'ResourceConflictException',
        `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`,
      );
      return;
    }
    const refusal = validateUpdate(patch, record);
    if (refusal) {
      sendError(res, refusal.status, refusal.errorType, refusal.message);
      return;
    }
    const environment = patch.Environment as { Variables?: Record<string, string> } | undefined;
    const applied = runtime.update(fn.name, {
      ...(environment ? { environment: { ...(environment.Variables ?? {}) } } : {}),
      ...(typeof patch.Timeout === 'number' ? { timeoutSeconds: patch.Timeout } : {}),
      ...(typeof patch.MemorySize === 'number' ? { memoryMb: patch.MemorySize } : {}),
    });
    record.lastModified = lastModified();
    record.revisionId = randomUUID();
    record.lastUpdateStatus = 'InProgress';
    applied
      ?.catch((error: Error) => log(`lambda: applying the update of ${fn.name}: ${error.message}`))
      .finally(() => {
        record.lastUpdateStatus = 'Successful';
      });
    sendJson(res, 200, configuration(runtime.get(fn.name) ?? fn, record));
  };

  const invoke = async (fn: LocalFunction, req: IncomingMessage, res: ServerResponse) => {
    let body: string;
    try {
      body = (await readBody(req, INVOKE_PAYLOAD_LIMIT)).toString('utf8');
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      // API_Invoke: RequestTooLargeException, HTTP 413.
      sendError(
        res,
        413,
        'RequestTooLargeException',
        `Request must be smaller than ${INVOKE_PAYLOAD_LIMIT} bytes for the InvokeFunction operation`,
      );
      return;
    }
    let event: unknown;
    try {
      event = body.length > 0 ? JSON.parse(body) : {};
    } catch {
      sendError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    if (type === 'Event') {
      runtime
        .invoke(fn.name, event)
        .catch((error: Error) => log(`lambda: async invoke of ${fn.name}: ${error.message}`));
      res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
      return;
    }
    // A function error, an init failure included, is HTTP 200 with X-Amz-Function-Error (API_Invoke).
    const invocation = await runtime.invoke(fn.name, event);
    const headers: Record<string, string> = {
      'x-amz-executed-version': '$LATEST',
      'x-amzn-requestid': invocation.requestId,
    };
    if (invocation.functionError) headers['x-amz-function-error'] = invocation.functionError;
    if (String(req.headers['x-amz-log-type'] ?? '') === 'Tail')
      headers['x-amz-log-result'] = logTail(invocation.log);
    sendJson(res, 200, invocation.payload ?? null, headers);
  };

  return (req, res) => {
    if (!(req.url ?? '').startsWith('/2015-03-31/functions')) return false;
    handle(req, res).catch((error: Error) => {
      log(`lambda api: ${error.message}`);
      if (!res.headersSent) sendError(res, 500, 'ServiceException', error.message);
    });
    return true;
  };
}

/** The checks `UpdateFunctionConfiguration` makes before changing anything (API_UpdateFunctionConfiguration). */
function validateUpdate(
  patch: Record<string, unknown>,
  record: FunctionRecord,
): { status: number; errorType: string; message: string } | undefined {
  const ranges: Array<[string, string, number, number]> = [
    ['Timeout', 'timeout', 1, 900],
    ['MemorySize', 'memorySize', 128, 10_240],
  ];
  for (const [field, member, min, max] of ranges) {
    const value = patch[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
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
  }
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
