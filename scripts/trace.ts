/**
 * Trace: one image's timeline from the functions' logs — upload, ingest, render, ready (or delete, purge,
 * rejected, failed) — with each step's function, start, duration, cold start and attempt.
 *
 *   npm run trace -- <image-id> [--json] [--since HOURS] [--target local|aws] [--endpoint URL]
 *                                [--stack NAME] [--region REGION]
 *   npm run trace -- --help
 *
 * Where the logs are: `local` (default) asks the running local cloud (`--endpoint`, else the discovery file
 * `npm start` writes, else http://localhost:4566) for its functions (Lambda `ListFunctions`); `aws` takes
 * the stack's functions (CloudFormation `DescribeStackResources`, default stack `Pictura`) and each one's log
 * group (`GetFunctionConfiguration` → `LoggingConfig.LogGroup`). Either way the lines come from CloudWatch
 * Logs `FilterLogEvents` with the pattern `{ $.imageId = "<id>" }`: each function writes one `step` line
 * per image when it is done (shared/observability/image-log.ts), with `durationMs`, `attempt`
 * (the message's receive count) and `cold_start`; a cold step's `Init Duration` comes from the invocation's
 * `REPORT` line.
 *
 * Each step is labelled with its outcome: `ok`; `duplicate` (the step done again by a redelivered or
 * concurrent message, which changed nothing); `retried` (an attempt that failed and was delivered again);
 * `error` (a failed attempt that was not, or the `failed` step); or the function's own word for other
 * outcomes (`deleted-meanwhile`, …). An attempt number a function skipped is an invocation that wrote no
 * step line: it crashed or timed out, and the trace says so. The summary adds only the `ok` steps up to
 * `ready` (never delete or purge, duplicates or failed attempts).
 *
 * Output: a table on stdout, or one JSON object with `--json`. Exit codes: 0 found, 1 no step of that image
 * in the logs (unknown id, or older than `--since`), 2 bad arguments, 3 an AWS call was refused (stack not
 * found, credentials, permissions), 4 the endpoint could not be reached.
 *
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  type FilteredLogEvent,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand, LambdaClient, paginateListFunctions } from '@aws-sdk/client-lambda';
import { readDiscovery } from '../local/discovery.ts';
import { ExitError, TARGET_OPTIONS } from './common.ts';

const EXIT = { ok: 0, notFound: 1, usage: 2, refused: 3, unreachable: 4 } as const;

/** One step of the timeline. */
interface TraceStep {
  step: string;
  function: string;
  logGroup: string;
  /** When the step began (its line's time less its duration), ISO 8601. */
  start: string;
  durationMs: number;
  attempt: number;
  coldStart: boolean;
  /** The instance's `Init Duration` from the invocation's REPORT line, on a cold start. */
  initDurationMs?: number;
  requestId?: string;
  /** `ok`, `duplicate`, `retried`, `error`, or the step line's own `outcome` word. */
  outcome: string;
  /** The step line's `outcome` field, when it had one. */
  lineOutcome?: string;
}

/** An attempt number a function skipped: that invocation wrote no step line (crashed or timed out). */
interface MissingAttempt {
  function: string;
  step: string;
  attempt: number;
}

interface Trace {
  imageId: string;
  uploadRequestId?: string;
  steps: TraceStep[];
  /** The durations of the `ok` steps up to `ready` (or of all `ok` pipeline steps without one). */
  workMs: number;
  /** From the first step's start to the end of the `ready` step, when there is one. */
  uploadToReadyMs?: number;
  missingAttempts: MissingAttempt[];
}

interface Options {
  imageId: string;
  json: boolean;
  sinceHours: number;
  target: 'local' | 'aws';
  endpoint: string | undefined;
  stack: string;
  region: string;
}

const USAGE = `Usage: npm run trace -- <image-id> [--json] [--since HOURS] [--target local|aws]
                              [--endpoint URL] [--stack NAME] [--region REGION]`;

const HELP = `${USAGE}

Prints one image's timeline from the functions' logs: upload, ingest, render, ready (or rejected, failed,
delete, purge), each step with its function, start, duration, cold start, attempt and outcome
(ok, duplicate, retried, error), and the attempts that left no step line (crashed or timed out).

Options:
  --json             one JSON object instead of the table
  --since HOURS      how far back to read the logs (default 24)
  --target local|aws the running local cloud (default) or the deployed stack
  --endpoint URL     the AWS endpoint (default: the one npm start wrote, else http://localhost:4566)
  --stack NAME       the stack on AWS (default Pictura)
  --region REGION    default AWS_REGION, else us-east-1
  -h, --help         this text

Exit codes:
  0  steps found
  1  no step of that image in the logs (unknown id, or older than --since)
  2  bad arguments
  3  an AWS call was refused (stack not found, credentials, permissions)
  4  the endpoint could not be reached`;

/** The options, or `undefined` when help was asked for. */
function parseOptions(argv: string[]): Options | undefined {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new ExitError(EXIT.usage, `${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  const [imageId] = positionals;
  // Ids are URL-safe (DESIGN.md); anything else is a typo, and must not reach the filter pattern.
  if (!imageId || positionals.length > 1 || !/^[A-Za-z0-9_-]{1,128}$/.test(imageId))
    throw new ExitError(EXIT.usage, `one image id (letters, digits, - and _) is needed\n${USAGE}`);
  const sinceHours = Number(values.since);
  if (!(sinceHours > 0 && sinceHours <= 24 * 366))
    throw new ExitError(EXIT.usage, '--since takes hours, more than 0');
  if (values.target !== 'local' && values.target !== 'aws')
    throw new ExitError(EXIT.usage, '--target is local or aws');
  return {
    imageId,
    json: values.json,
    sinceHours,
    target: values.target,
    endpoint: values.endpoint,
    stack: values.stack,
    region: values.region,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      json: { type: 'boolean', default: false },
      since: { type: 'string', default: '24' },
      ...TARGET_OPTIONS,
    },
  });
}

/** The AWS clients for the target: the local cloud's endpoint with any credentials, or AWS's defaults. */
function clients(options: Options) {
  const endpoint =
    options.target === 'local'
      ? (options.endpoint ?? readDiscovery()?.aws ?? 'http://localhost:4566')
      : options.endpoint;
  const config = {
    region: options.region,
    maxAttempts: 2,
    ...(endpoint ? { endpoint } : {}),
    ...(options.target === 'local' ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
  return {
    where: endpoint ?? `AWS (${options.region})`,
    logs: new CloudWatchLogsClient(config),
    lambda: new LambdaClient(config),
    cloudformation: new CloudFormationClient(config),
  };
}

type Clients = ReturnType<typeof clients>;

/** Each function's name and log group: all the local cloud's, or the stack's on AWS. */
async function functionLogGroups(options: Options, c: Clients): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  if (options.target === 'local') {
    for await (const page of paginateListFunctions({ client: c.lambda }, {}))
      for (const fn of page.Functions ?? [])
        if (fn.FunctionName)
          groups.set(fn.FunctionName, fn.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn.FunctionName}`);
    return groups;
  }
  const { StackResources = [] } = await c.cloudformation.send(
    new DescribeStackResourcesCommand({ StackName: options.stack }),
  );
  const names = StackResources.filter((r) => r.ResourceType === 'AWS::Lambda::Function').map(
    (r) => r.PhysicalResourceId ?? '',
  );
  for (const name of names.filter(Boolean)) {
    const config = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    groups.set(name, config.LoggingConfig?.LogGroup ?? `/aws/lambda/${name}`);
  }
  return groups;
}

/**
 * Every event of `logGroupName` matching `filterPattern` (all pages); none for a group that does not exist
 * yet. With `first`, paging stops at the first page holding an event (a page can be empty while
 * FilterLogEvents searches on, so it pages until one comes or the pages end).
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
 */
async function filterAll(
  c: Clients,
  input: {
    logGroupName: string;
    filterPattern: string;
    startTime?: number;
    logStreamNames?: string[];
    limit?: number;
  },
  options: { first?: boolean } = {},
): Promise<FilteredLogEvent[]> {
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  do {
    try {
      const page = await c.logs.send(new FilterLogEventsCommand({ ...input, nextToken }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return events;
      throw error;
    }
  } while (nextToken && !(options.first && events.length > 0));
  return events;
}

interface StepLine {
  message: string;
  step?: unknown;
  imageId?: unknown;
  uploadRequestId?: unknown;
  durationMs?: unknown;
  attempt?: unknown;
  cold_start?: unknown;
  function_request_id?: unknown;
  timestamp?: unknown;
  outcome?: unknown;
}

function stepLine(message: string | undefined, imageId: string): StepLine | undefined {
  try {
    const line = JSON.parse(message ?? '') as StepLine;
    return line && line.message === 'step' && line.imageId === imageId && typeof line.step === 'string'
      ? line
      : undefined;
  } catch {
    return undefined;
  }
}

/** The `Init Duration` of the REPORT line of `requestId` in `stream`, if the invocation was a cold start. */
async function initDuration(c: Clients, logGroupName: string, stream: string, requestId: string) {
  const [report] = await filterAll(
    c,
    {
      logGroupName,
      logStreamNames: [stream],
      filterPattern: `"REPORT RequestId: ${requestId}"`,
      limit: 1,
    },
    { first: true },
  );
  const ms = /Init Duration: ([\d.]+) ms/.exec(report?.message ?? '')?.[1];
  return ms === undefined ? undefined : Number(ms);
}

/** A step with the upload request id its line carried (reported once, for the whole trace). */
type Found = TraceStep & { uploadRequestId?: string };

async function stepsOf(c: Clients, fn: string, logGroupName: string, options: Options): Promise<Found[]> {
  const events = await filterAll(c, {
    logGroupName,
    filterPattern: `{ $.imageId = "${options.imageId}" }`,
    startTime: Date.now() - options.sinceHours * 3_600_000,
  });
  const steps: Found[] = [];
  for (const event of events) {
    const line = stepLine(event.message, options.imageId);
    if (!line) continue;
    const durationMs = typeof line.durationMs === 'number' ? line.durationMs : 0;
    const written = typeof line.timestamp === 'string' ? Date.parse(line.timestamp) : Number.NaN;
    const end = Number.isFinite(written) ? written : (event.timestamp ?? 0);
    const requestId = typeof line.function_request_id === 'string' ? line.function_request_id : undefined;
    const coldStart = line.cold_start === true;
    const init =
      coldStart && requestId && event.logStreamName
        ? await initDuration(c, logGroupName, event.logStreamName, requestId)
        : undefined;
    steps.push({
      step: line.step as string,
      function: fn,
      logGroup: logGroupName,
      start: new Date(end - durationMs).toISOString(),
      durationMs,
      attempt: typeof line.attempt === 'number' ? line.attempt : 1,
      coldStart,
      ...(init === undefined ? {} : { initDurationMs: init }),
      ...(requestId ? { requestId } : {}),
      outcome: 'ok',
      ...(typeof line.outcome === 'string' ? { lineOutcome: line.outcome.slice(0, 64) } : {}),
      ...(typeof line.uploadRequestId === 'string' ? { uploadRequestId: line.uploadRequestId } : {}),
    });
  }
  return steps;
}

/** The image's steps from every function's log group, in the order they ended (a `ready` after its `render`). */
async function trace(options: Options, c: Clients): Promise<Trace> {
  const groups = await functionLogGroups(options, c);
  const perFunction = await Promise.all([...groups].map(([fn, group]) => stepsOf(c, fn, group, options)));
  const order = ['upload', 'delete', 'ingest', 'render', 'rejected', 'failed', 'ready', 'purge'];
  const found = perFunction.flat().sort((a, b) => {
    return endOf(a) - endOf(b) || order.indexOf(a.step) - order.indexOf(b.step);
  });
  const uploadRequestId = found.map((s) => s.uploadRequestId).find(Boolean);
  const steps = labelOutcomes(found.map(({ uploadRequestId: _, ...step }) => step));
  const ready = steps.find((s) => s.step === 'ready' && s.outcome === 'ok');
  const first = steps[0];
  return {
    imageId: options.imageId,
    ...(uploadRequestId ? { uploadRequestId } : {}),
    steps,
    workMs: workOf(steps, ready),
    ...(ready && first ? { uploadToReadyMs: endOf(ready) - Date.parse(first.start) } : {}),
    missingAttempts: missingAttempts(steps),
  };
}

function endOf(step: TraceStep): number {
  return Date.parse(step.start) + step.durationMs;
}

/**
 * Labels each step (in end order): a failed attempt is `retried` when its function ran the image again
 * later, else `error` (as is the `failed` step); a step done a second time is a `duplicate` (the line said
 * so, or another attempt already did it: for `render`, the one that wrote `ready` is the real one).
 */
function labelOutcomes(steps: TraceStep[]): TraceStep[] {
  const readyRequest = steps.find((s) => s.step === 'ready')?.requestId;
  const done = new Set<string>();
  const realRender = steps.find(
    (s) => s.step === 'render' && !s.lineOutcome && readyRequest && s.requestId === readyRequest,
  );
  return steps.map((s) => {
    const later = steps.some((o) => o.function === s.function && o.attempt > s.attempt);
    let outcome = 'ok';
    if (s.lineOutcome === 'error' || s.step === 'failed')
      outcome = later && s.step !== 'failed' ? 'retried' : 'error';
    else if (s.lineOutcome === 'duplicate') outcome = 'duplicate';
    else if (s.lineOutcome) outcome = s.lineOutcome;
    else if (s.step === 'render' && realRender && s !== realRender) outcome = 'duplicate';
    else if (done.has(`${s.function}\u0000${s.step}`)) outcome = 'duplicate';
    if (outcome === 'ok') done.add(`${s.function}\u0000${s.step}`);
    return { ...s, outcome };
  });
}

/** The steps that made the image: everything but delete, purge and failure, and nothing after `ready`. */
const PIPELINE = new Set(['upload', 'ingest', 'render', 'ready', 'rejected']);

function workOf(steps: TraceStep[], ready: TraceStep | undefined): number {
  const until = ready ? endOf(ready) : Number.POSITIVE_INFINITY;
  return steps
    .filter((s) => s.outcome === 'ok' && PIPELINE.has(s.step) && endOf(s) <= until)
    .reduce((sum, s) => sum + s.durationMs, 0);
}

/** Per function, the attempt numbers below its highest that no step line carries. */
function missingAttempts(steps: TraceStep[]): MissingAttempt[] {
  const missing: MissingAttempt[] = [];
  for (const fn of new Set(steps.map((s) => s.function))) {
    const own = steps.filter((s) => s.function === fn);
    const seen = new Set(own.map((s) => s.attempt));
    const highest = Math.min(Math.max(...seen), 1000);
    const step = own.find((s) => s.step !== 'ready' && s.step !== 'failed')?.step ?? own[0]?.step ?? '';
    for (let attempt = 1; attempt < highest; attempt += 1)
      if (!seen.has(attempt)) missing.push({ function: fn, step, attempt });
  }
  return missing;
}

function table(result: Trace): string {
  const rows = result.steps.map((s) => [
    s.step,
    s.function,
    s.start,
    `${s.durationMs.toFixed(0)} ms`,
    s.coldStart
      ? `yes${s.initDurationMs === undefined ? '' : ` (init ${s.initDurationMs.toFixed(0)} ms)`}`
      : 'no',
    s.attempt > 1 ? `${s.attempt} (retried)` : String(s.attempt),
    s.outcome,
  ]);
  const header = ['step', 'function', 'start (UTC)', 'duration', 'cold start', 'attempt', 'outcome'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const work = result.workMs.toFixed(0);
  // A rejected or failed image has ended (or waits for a redrive): "no ready yet" would read as still working.
  const ended = result.steps.find(
    (s) => (s.step === 'rejected' || s.step === 'failed') && s.outcome === 'ok',
  );
  const summary =
    result.uploadToReadyMs === undefined
      ? `steps: ${work} ms of work (ok steps); ${ended ? `ended ${ended.step}, no ready` : 'no ready yet'}`
      : `steps up to ready: ${work} ms of work (ok steps only); upload → ready ${result.uploadToReadyMs.toFixed(0)} ms (the rest is queueing and delivery)`;
  return [
    `image ${result.imageId}${result.uploadRequestId ? ` (upload request ${result.uploadRequestId})` : ''}`,
    '',
    format(header),
    ...rows.map(format),
    '',
    ...result.missingAttempts.map(
      (m) => `attempt ${m.attempt} of ${m.step} (${m.function}) left no step line (crashed or timed out)`,
    ),
    summary,
  ].join('\n');
}

/** An SDK failure as the script's error: unreachable (4), or refused (3) with AWS's message. */
function classify(error: unknown, where: string): ExitError {
  if (error instanceof ExitError) return error;
  const e = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  const network = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'EAI_AGAIN'];
  if (
    network.includes(e.code ?? '') ||
    e.name === 'TimeoutError' ||
    /ECONNREFUSED|ENOTFOUND|socket hang up/.test(e.message)
  )
    return new ExitError(
      EXIT.unreachable,
      `cannot reach ${where}: ${e.code ?? e.message}${where.startsWith('http') ? ' (is the local cloud running? npm start)' : ''}`,
    );
  return new ExitError(EXIT.refused, `${where} refused the request: ${e.name}: ${e.message}`);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(HELP);
    return EXIT.ok;
  }
  const c = clients(options);
  let result: Trace;
  try {
    result = await trace(options, c);
  } catch (error) {
    throw classify(error, c.where);
  }
  if (result.steps.length === 0)
    throw new ExitError(
      EXIT.notFound,
      `no steps of image ${options.imageId} in the logs of ${c.where} in the last ${options.sinceHours} h (unknown id, or older: try --since)`,
    );
  console.log(options.json ? JSON.stringify(result, null, 2) : table(result));
  return EXIT.ok;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const e =
      error instanceof ExitError
        ? error
        : new ExitError(EXIT.refused, String((error as Error)?.message ?? error));
    console.error(`trace: ${e.message}`);
    process.exit(e.exitCode);
  },
);
