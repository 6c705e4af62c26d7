/**
 * CloudWatch Logs on the AWS endpoint, the read side only: `FilterLogEvents` and `DescribeLogGroups` over the
 * local log store, on the AWS JSON 1.1 protocol (`X-Amz-Target: Logs_20140328.<Operation>`), so the AWS CLI
 * (`aws logs filter-log-events`, `aws logs tail`) and SDK clients read the functions' logs as on AWS.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { AwsApiError, BodyTooLargeError, readBody, sendJson } from '../http-util.ts';
import { compileFilterPattern, FilterPatternError, type Matcher } from './filter-pattern.ts';
import type { LogEvent, LogStore } from './store.ts';

const TARGET_PREFIX = 'Logs_20140328.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** A request of these operations is a few hundred bytes; 1 MiB is far beyond any real one. */
const MAX_REQUEST_BYTES = 1024 * 1024;
/** "returns up to 1 MB (up to 10,000 log events)" per call (API_FilterLogEvents.html, Request Parameters, limit). */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * The route: answers every `Logs_20140328.*` call; other requests pass on. A call a browser made for a page's
 * script is refused (see {@link pageScriptReason}).
 */
export function logsRoute(store: LogStore, region: string, account: string): EdgeRoute {
  return (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!target.startsWith(TARGET_PREFIX)) return false;
    const refused = pageScriptReason(req);
    if (refused) {
      req.resume();
      send(res, 400, { __type: 'AccessDeniedException', message: refused });
      return true;
    }
    void answer(req, res, target.slice(TARGET_PREFIX.length), store, { region, account });
    return true;
  };
}

/**
 * Why a logs call comes from a web page's script, or `undefined` for a tool. The endpoint already refuses
 * cross-site calls (security/request-guards.ts); a page of the local cloud's own CDN is same-site and may
 * drive S3 (its presigned POST), but no page needs the functions' logs, which carry API key ids and source
 * addresses. Browsers send `Origin` on a script's POST and `Sec-Fetch-Site` on every request (to secure
 * contexts, which localhost is); the AWS CLI and SDKs send neither. The answer is CloudWatch Logs'
 * `AccessDeniedException`, 400 (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html).
 */
export function pageScriptReason(req: IncomingMessage): string | undefined {
  if (req.headers.origin === undefined && req.headers['sec-fetch-site'] === undefined) return undefined;
  return 'The local CloudWatch Logs API is not for scripts on web pages (the request has Origin or Sec-Fetch-Site); read the logs with the AWS CLI, an SDK or npm run trace.';
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  operation: string,
  store: LogStore,
  where: { region: string; account: string },
): Promise<void> {
  try {
    const body = await readBody(req, MAX_REQUEST_BYTES);
    const input = parseInput(body);
    const output =
      operation === 'FilterLogEvents'
        ? filterLogEvents(store, input)
        : operation === 'DescribeLogGroups'
          ? describeLogGroups(store, input, where)
          : unknownOperation(operation);
    send(res, 200, output);
  } catch (error) {
    if (error instanceof AwsApiError)
      send(res, error.status, { __type: error.errorType, message: error.message });
    else if (error instanceof BodyTooLargeError)
      send(res, 413, { __type: 'SerializationException', message: error.message });
    else send(res, 500, { __type: 'ServiceUnavailableException', message: (error as Error).message });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });
}

function unknownOperation(operation: string): never {
  throw new AwsApiError(
    400,
    'UnknownOperationException',
    `The local cloud's CloudWatch Logs answers FilterLogEvents and DescribeLogGroups, not ${operation.slice(0, 64)}.`,
  );
}

type Input = Record<string, unknown>;

function parseInput(body: Buffer): Input {
  let value: unknown;
  try {
    value = JSON.parse(body.length > 0 ? body.toString('utf8') : '{}');
  } catch {
    throw new AwsApiError(400, 'SerializationException', 'The request body is not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AwsApiError(400, 'SerializationException', 'The request body is not a JSON object.');
  return value as Input;
}

function invalid(message: string): AwsApiError {
  return new AwsApiError(400, 'InvalidParameterException', message);
}

/** AWS's validation message for a number out of range (recorded on AWS, see the tests). */
function checkRange(input: Input, member: string, min: number, max: number): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new AwsApiError(400, 'SerializationException', `${member} must be an integer.`);
  if (value > max)
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    );
  if (value < min)
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
    );
  return value;
}

function optionalString(input: Input, member: string, maxLength: number): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new AwsApiError(400, 'SerializationException', `${member} must be a string.`);
  if (value.length > maxLength)
    throw invalid(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${maxLength}`,
    );
  return value;
}

/** The group a `logGroupName` or `logGroupIdentifier` (a name or an ARN, `…:log-group:NAME[:*]`) names. */
function groupOf(input: Input): string {
  const name = optionalString(input, 'logGroupName', 512);
  const identifier = optionalString(input, 'logGroupIdentifier', 2048);
  if (name !== undefined && identifier !== undefined)
    throw invalid('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  const group =
    name ??
    (identifier === undefined ? undefined : (/:log-group:([^:]+)/.exec(identifier)?.[1] ?? identifier));
  if (group === undefined) throw invalid('Should provide either name or ARN of the log group.');
  return group;
}

/** The token resumes after an event: the group and the last event id returned, base64url. */
function encodeToken(group: string, eventId: string): string {
  return Buffer.from(JSON.stringify([group, eventId])).toString('base64url');
}

function decodeToken(token: string | undefined, group: string): string | undefined {
  if (token === undefined) return undefined;
  try {
    const [tokenGroup, eventId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (tokenGroup === group && typeof eventId === 'string' && /^\d{20}$/.test(eventId)) return eventId;
  } catch {
    // Not one of ours: refused below, as AWS refuses a token it did not issue.
  }
  throw invalid('The specified nextToken is invalid.');
}

/**
 * `FilterLogEvents`: the group's events in order of time written, narrowed by `logStreamNames` or
 * `logStreamNamePrefix`, `startTime`/`endTime` (inclusive, epoch ms) and `filterPattern` (the subset in
 * filter-pattern.ts), `limit` per page (1–10,000, default 10,000) and at most 1 MB, then `nextToken`.
 * Errors: `ResourceNotFoundException` for an unknown group; `InvalidParameterException` for a limit out of
 * range, a token not issued for this group, or a pattern the subset cannot read.
 */
export function filterLogEvents(store: LogStore, input: Input) {
  const group = groupOf(input);
  const limit = checkRange(input, 'limit', 1, 10_000) ?? 10_000;
  const startTime = checkRange(input, 'startTime', 0, Number.MAX_SAFE_INTEGER);
  const endTime = checkRange(input, 'endTime', 0, Number.MAX_SAFE_INTEGER);
  const pattern = optionalString(input, 'filterPattern', 1024);
  const prefix = optionalString(input, 'logStreamNamePrefix', 512);
  const names = input.logStreamNames;
  if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string')))
    throw new AwsApiError(400, 'SerializationException', 'logStreamNames must be a list of strings.');
  if (names !== undefined && prefix !== undefined)
    throw invalid('Cannot specify both logStreamNames and logStreamNamePrefix.');
  const after = decodeToken(optionalString(input, 'nextToken', 4096), group);
  if (!store.has(group))
    throw new AwsApiError(400, 'ResourceNotFoundException', 'The specified log group does not exist.');
  const matches = matcherOf(pattern);
  const streams = names === undefined ? undefined : new Set(names as string[]);
  const selected = (event: LogEvent) =>
    (after === undefined || event.eventId > after) &&
    (streams === undefined || streams.has(event.logStreamName)) &&
    (prefix === undefined || event.logStreamName.startsWith(prefix)) &&
    (startTime === undefined || event.timestamp >= startTime) &&
    (endTime === undefined || event.timestamp <= endTime) &&
    matches(event.message);
  return page(store.events(group).filter(selected), limit, group);
}

function matcherOf(pattern: string | undefined): Matcher {
  try {
    return compileFilterPattern(pattern);
  } catch (error) {
    if (error instanceof FilterPatternError) throw invalid(error.message);
    throw error;
  }
}

function page(events: LogEvent[], limit: number, group: string) {
  const out: Array<Omit<LogEvent, 'logGroupName'>> = [];
  let bytes = 0;
  for (const { logGroupName: _, ...event } of events) {
    bytes += Buffer.byteLength(event.message) + 26;
    if (out.length >= limit || (out.length > 0 && bytes > MAX_RESPONSE_BYTES)) break;
    out.push(event);
  }
  const last = out.at(-1);
  return {
    events: out,
    // Deprecated by AWS ("the response is always an empty list" since interleaving became the default).
    searchedLogStreams: [],
    ...(last && out.length < events.length ? { nextToken: encodeToken(group, last.eventId) } : {}),
  };
}

/**
 * `DescribeLogGroups`: the groups (every function that has logged), by name, narrowed by
 * `logGroupNamePrefix`, `limit` 1–50 (default 50) per page.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html
 */
export function describeLogGroups(store: LogStore, input: Input, where: { region: string; account: string }) {
  const limit = checkRange(input, 'limit', 1, 50) ?? 50;
  const prefix = optionalString(input, 'logGroupNamePrefix', 512) ?? '';
  const token = optionalString(input, 'nextToken', 4096);
  const groups = store.groups().filter((g) => g.logGroupName.startsWith(prefix));
  let start = 0;
  if (token !== undefined) {
    start = groups.findIndex((g) => Buffer.from(g.logGroupName).toString('base64url') === token) + 1;
    if (start === 0) throw invalid('The specified nextToken is invalid.');
  }
  const slice = groups.slice(start, start + limit);
  const last = slice.at(-1);
  const arn = (name: string) => `arn:aws:logs:${where.region}:${where.account}:log-group:${name}`;
  return {
    logGroups: slice.map((g) => ({
      logGroupName: g.logGroupName,
      creationTime: g.creationTime,
      metricFilterCount: 0,
      arn: `${arn(g.logGroupName)}:*`,
      logGroupArn: arn(g.logGroupName),
      storedBytes: g.storedBytes,
      logGroupClass: 'STANDARD',
    })),
    ...(last && start + limit < groups.length
      ? { nextToken: Buffer.from(last.logGroupName).toString('base64url') }
      : {}),
  };
}
