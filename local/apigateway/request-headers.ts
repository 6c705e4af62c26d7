import { randomBytes } from 'node:crypto';
import { HOP_BY_HOP_HEADERS } from '../http-util.ts';

/** The connection a request came in on, for the `X-Forwarded-*` headers API Gateway adds. */
export interface ClientConnection {
  /** The client's address (`requestContext.identity.sourceIp`). */
  sourceIp: string;
  /** The port the client connected to. */
  port: number;
  /** `http` locally; `https` on AWS, whose endpoints are TLS only. */
  protocol: 'http' | 'https';
}

/**
 * Headers that never reach the integration. Hop-by-hop headers (RFC 9110 §7.6.1: Connection and the headers
 * it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade) describe the client's connection to
 * API Gateway, not the request. The others API Gateway drops as well: LocalStack's list, checked against
 * AWS by its snapshot tests (localstack/services/apigateway/next_gen/execute_api/header_utils.py); the events
 * recorded on AWS in tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json have no
 * Content-Length even with a body.
 */
const DROPPED = new Set([
  ...HOP_BY_HOP_HEADERS,
  'content-length',
  'content-md5',
  'expect',
  'max-forwards',
  'server',
  'www-authenticate',
]);

/** Headers API Gateway writes itself; the client's copies are replaced (X-Forwarded-For is appended to). */
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto']);

/** Header names the `Connection` header lists: hop-by-hop for this request too. */
function connectionListed(rawHeaders: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[i + 1] ?? '').split(','))
      if (token.trim()) listed.add(token.trim().toLowerCase());
  }
  return listed;
}

/**
 * The client's spelling of a header name. API Gateway keeps it, except `Authorization`, which it always
 * spells so: recorded on AWS (test_apigateway_lambda.snapshot.json: `tEsT-HEADeR` stays, `aUThorization`
 * becomes `Authorization`).
 */
function spelling(name: string): string {
  return name.toLowerCase() === 'authorization' ? 'Authorization' : name;
}

function add(headers: Map<string, { name: string; values: string[] }>, name: string, value: string): void {
  const key = name.toLowerCase();
  const entry = headers.get(key);
  if (entry) entry.values.push(value);
  else headers.set(key, { name: spelling(name), values: [value] });
}

/**
 * The headers API Gateway hands to a Lambda proxy integration, from Node's `req.rawHeaders` (name, value,
 * name, value…): names keep the client's spelling (repeats of a name under other spellings join the first),
 * every value of a repeated header is kept in order (the event's `headers` gets the last, as
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 * shows), hop-by-hop headers are dropped, and `X-Forwarded-For` (the client's chain plus its address),
 * `X-Forwarded-Port` and `X-Forwarded-Proto` are set as API Gateway sets them (AWS SAM's sample event,
 * samcli/lib/generated_sample_events/events/apigateway/AwsProxy.json), with an `X-Amzn-Trace-Id` when the
 * client sent none.
 */
export function invocationHeaders(
  rawHeaders: readonly string[],
  connection: ClientConnection,
): Record<string, string[]> {
  const dropped = connectionListed(rawHeaders);
  const headers = new Map<string, { name: string; values: string[] }>();
  const forwardedFor: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    const key = name.toLowerCase();
    if (DROPPED.has(key) || dropped.has(key)) continue;
    if (key === 'x-forwarded-for') forwardedFor.push(value);
    if (FORWARDED.has(key)) continue;
    add(headers, name, value);
  }
  add(headers, 'X-Forwarded-For', [...forwardedFor, connection.sourceIp].join(', '));
  add(headers, 'X-Forwarded-Port', String(connection.port));
  add(headers, 'X-Forwarded-Proto', connection.protocol);
  if (!headers.has('x-amzn-trace-id')) add(headers, 'X-Amzn-Trace-Id', newTraceId());
  return Object.fromEntries([...headers.values()].map(({ name, values }) => [name, values]));
}

/**
 * An X-Ray trace header, which API Gateway adds when the client sent none (it is in every event recorded on
 * AWS): `Root=1-{epoch seconds, hex}-{96 random bits, hex}`
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).
 */
function newTraceId(): string {
  const seconds = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')}`;
}

/** The last value of a header, looked up case-insensitively (HTTP names are case-insensitive). */
export function lastHeaderValue(
  headers: Record<string, string | readonly string[]>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    return typeof value === 'string' ? value : value.at(-1);
  }
  return undefined;
}
