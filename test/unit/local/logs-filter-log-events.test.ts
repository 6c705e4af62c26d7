/**
 * The local CloudWatch Logs read API, called with the real SDK client over HTTP. Expected answers are AWS's:
 * the API reference (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html)
 * and LocalStack's recordings on AWS, tests/aws/services/logs/test_logs_filter_events.snapshot.json,
 * test_logs_events.snapshot.json and test_logs_metric_filters.snapshot.json (github:localstack/localstack),
 * and the behaviour its AWS-validated tests in test_logs_filter_events.py assert.
 */
import { createServer, request, type Server } from 'node:http';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  type FilterLogEventsCommandInput,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilterPattern } from '#local/logs/filter-pattern.ts';
import { logsRoute } from '#local/logs/provider.ts';
import { LogStore } from '#local/logs/store.ts';
import { listenOnFreePort } from '#test/support/functions.ts';

const GROUP = '/aws/lambda/Pictura-Upload';
const OTHER = '/aws/lambda/Pictura-Thumbnail';
const S1 = '2026/11/30/[$LATEST]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const S2 = '2026/11/30/[$LATEST]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const T0 = 1_790_000_000_000;

let server: Server;
let url: string;
let logs: CloudWatchLogsClient;
const store = new LogStore();

beforeAll(async () => {
  const route = logsRoute(store, 'us-east-1', '000000000000');
  server = createServer((req, res) => {
    if (!route(req, res)) res.writeHead(404).end();
  });
  ({ base: url } = await listenOnFreePort(server));
  logs = new CloudWatchLogsClient({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  for (let i = 0; i < 25; i += 1) store.put(GROUP, S1, T0 + i * 100, `Message number ${i}`);
  store.put(
    GROUP,
    S2,
    T0 + 5000,
    JSON.stringify({ message: 'step', step: 'upload', imageId: 'img-1', attempt: 1 }),
  );
  store.put(
    GROUP,
    S2,
    T0 + 5100,
    JSON.stringify({ message: 'step', step: 'upload', imageId: 'img-2', attempt: 3 }),
  );
  store.put(GROUP, S2, T0 + 5200, `REPORT RequestId: r-1\tDuration: 12.00 ms\tInit Duration: 300.00 ms`);
  store.createGroup(OTHER, T0);
});
afterAll(async () => {
  logs?.destroy();
  await new Promise((done) => server?.close(done));
});

const filter = (input: Partial<FilterLogEventsCommandInput>) =>
  logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, ...input }));

async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail');
}

describe('FilterLogEvents', () => {
  it('returns the events with their documented members, in order, as application/x-amz-json-1.1', async () => {
    // test_filter_log_events_response_header (validated on AWS) asserts this content type.
    const response = await new Promise<{ type: string | undefined; body: string }>((resolve, reject) => {
      const req = request(`${url}/`, {
        method: 'POST',
        headers: {
          'x-amz-target': 'Logs_20140328.FilterLogEvents',
          'content-type': 'application/x-amz-json-1.1',
        },
      });
      req.on('response', (res) => {
        let body = '';
        res
          .on('data', (c) => (body += c))
          .on('end', () => resolve({ type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ logGroupName: GROUP, limit: 1 }));
    });
    expect(response.type).toBe('application/x-amz-json-1.1');
    const page = await filter({ limit: 2 });
    // FilteredLogEvent: eventId, ingestionTime, logStreamName, message, timestamp (API_FilteredLogEvent.html).
    expect(Object.keys(page.events?.[0] ?? {}).sort()).toEqual([
      'eventId',
      'ingestionTime',
      'logStreamName',
      'message',
      'timestamp',
    ]);
    expect(page.events?.map((e) => [e.logStreamName, e.timestamp, e.message])).toEqual([
      [S1, T0, 'Message number 0'],
      [S1, T0 + 100, 'Message number 1'],
    ]);
  });

  it('pages 25 events with limit 20: 20, then the other 5 with nextToken (test_filter_log_events_pagination)', async () => {
    const first = await filter({ logStreamNames: [S1], limit: 20 });
    expect(first.events).toHaveLength(20);
    expect(first.nextToken).toBeTypeOf('string');
    const second = await filter({ logStreamNames: [S1], limit: 20, nextToken: first.nextToken });
    expect(second.events?.map((e) => e.message)).toEqual(
      [20, 21, 22, 23, 24].map((i) => `Message number ${i}`),
    );
    expect(second.nextToken).toBeUndefined();
  });

  it('narrows by logStreamNames, logStreamNamePrefix and an inclusive startTime/endTime', async () => {
    expect((await filter({ logStreamNames: [S2] })).events).toHaveLength(3);
    expect((await filter({ logStreamNamePrefix: '2026/11/30/[$LATEST]b' })).events).toHaveLength(3);
    const window = await filter({ logStreamNames: [S1], startTime: T0 + 200, endTime: T0 + 400 });
    expect(window.events?.map((e) => e.timestamp)).toEqual([T0 + 200, T0 + 300, T0 + 400]);
  });

  it('matches a JSON filter pattern on a member ({ $.imageId = "…" }) and on a number', async () => {
    const one = await filter({ filterPattern: '{ $.imageId = "img-2" }' });
    expect(one.events?.map((e) => JSON.parse(e.message ?? '{}').imageId)).toEqual(['img-2']);
    const retried = await filter({ filterPattern: '{ $.step = "upload" && $.attempt > 1 }' });
    expect(retried.events).toHaveLength(1);
  });

  it('matches a quoted term (the REPORT line of one request)', async () => {
    const report = await filter({ filterPattern: '"REPORT RequestId: r-1"' });
    expect(report.events?.map((e) => e.message?.startsWith('REPORT'))).toEqual([true]);
  });

  it('answers an empty list for an existing group with no events yet', async () => {
    const page = await logs.send(new FilterLogEventsCommand({ logGroupName: OTHER }));
    expect(page.events).toEqual([]);
  });

  it('accepts a log group ARN as logGroupIdentifier', async () => {
    const page = await logs.send(
      new FilterLogEventsCommand({
        logGroupIdentifier: `arn:aws:logs:us-east-1:000000000000:log-group:${GROUP}`,
        filterPattern: '{ $.imageId = "img-1" }',
      }),
    );
    expect(page.events).toHaveLength(1);
  });

  it('refuses limit 10001 with AWS’s validation message (test_logs_filter_events.snapshot.json)', async () => {
    expect(await errorOf(filter({ limit: 10001 }))).toEqual({
      name: 'InvalidParameterException',
      message:
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000",
      status: 400,
    });
  });

  it('refuses a nextToken it did not issue (test_logs_filter_events.snapshot.json, invalid-token)', async () => {
    expect(await errorOf(filter({ logStreamNames: [S1], limit: 20, nextToken: 'invalid-token' }))).toEqual({
      name: 'InvalidParameterException',
      message: 'The specified nextToken is invalid.',
      status: 400,
    });
    const fromOtherGroup = (await filter({ limit: 1 })).nextToken;
    expect(
      (
        await errorOf(
          logs.send(new FilterLogEventsCommand({ logGroupName: OTHER, nextToken: fromOtherGroup })),
        )
      ).name,
    ).toBe('InvalidParameterException');
  });

  it('answers an unknown group ResourceNotFoundException (test_logs_events.snapshot.json, error-log-group-does-not-exist)', async () => {
    expect(
      await errorOf(logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/nope' }))),
    ).toEqual({
      name: 'ResourceNotFoundException',
      message: 'The specified log group does not exist.',
      status: 400,
    });
  });

  it('refuses a filterPattern over 1024 characters (test_logs_metric_filters.snapshot.json: the same member constraint)', async () => {
    const long = 'X'.repeat(1025);
    expect(await errorOf(filter({ filterPattern: long }))).toEqual({
      name: 'InvalidParameterException',
      message: `1 validation error detected: Value '${long}' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024`,
      status: 400,
    });
  });

  it.each([
    '[ip, user, status]',
    '%ERROR%',
    '{ $.imageId = "x" ',
    '{ $.imageId == "x" }',
    '{ imageId = "x" }',
    '{ $.a > "text" }',
    '{ ($.a = 1 }',
    // Escapes JSON does not know: a 500 here was retried by the SDK and the CLI.
    '{ $.a = "\\x" }',
    '{ $.a = "\\u12" }',
  ])(
    'refuses a pattern the local subset cannot read (%s) with InvalidParameterException, never a wrong match',
    async (pattern) => {
      expect(await errorOf(filter({ filterPattern: pattern }))).toMatchObject({
        name: 'InvalidParameterException',
        status: 400,
      });
    },
  );

  it('answers a body that is not JSON SerializationException, and an unknown operation UnknownOperationException', async () => {
    const raw = (target: string, body: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { __type: string } }));
    expect(await raw('Logs_20140328.FilterLogEvents', '{nope')).toMatchObject({
      status: 400,
      body: { __type: 'SerializationException' },
    });
    expect(await raw('Logs_20140328.FilterLogEvents', '[]')).toMatchObject({
      status: 400,
      body: { __type: 'SerializationException' },
    });
    expect(await raw('Logs_20140328.DeleteLogGroup', '{}')).toMatchObject({
      status: 400,
      body: { __type: 'UnknownOperationException' },
    });
  });

  it('refuses a body over 1 MiB with 413 without reading it all', async () => {
    const status = await fetch(url, {
      method: 'POST',
      headers: { 'x-amz-target': 'Logs_20140328.FilterLogEvents' },
      body: 'x'.repeat(2 * 1024 * 1024),
    }).then(
      (r) => r.status,
      () => 413,
    );
    expect(status).toBe(413);
  });
});

/** A POST to the endpoint with exactly `headers` (node:http adds no Sec-Fetch or Origin of its own). */
function post(target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1', ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.end(JSON.stringify({ logGroupName: GROUP }));
  });
}

describe('the logs API refuses web pages', () => {
  // What a script on the local CDN's page sends (same-site: another port of localhost), and older or
  // partial variants of it. CloudWatch Logs answers an unauthorised call AccessDeniedException, 400
  // (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/CommonErrors.html).
  it.each<Record<string, string>>([
    { origin: 'http://localhost:3001', 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'cors' },
    { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
    { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
    { origin: 'http://localhost:3001' },
  ])('answers AccessDeniedException to %o, with no log data', async (headers) => {
    for (const target of ['Logs_20140328.FilterLogEvents', 'Logs_20140328.DescribeLogGroups']) {
      const { status, body } = await post(target, headers);
      expect(status).toBe(400);
      expect(JSON.parse(body)).toMatchObject({ __type: 'AccessDeniedException' });
      expect(body).not.toContain('Message number');
      expect(body).not.toContain(GROUP);
    }
  });

  it('answers a tool that sends neither header (the CLI, the SDK, node:http)', async () => {
    const { status, body } = await post('Logs_20140328.FilterLogEvents', {});
    expect(status).toBe(200);
    expect(body).toContain('Message number 0');
  });
});

describe('DescribeLogGroups', () => {
  it('lists the groups by name with their ARNs, narrowed by prefix and paged by limit', async () => {
    const all = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/Pictura-' }));
    expect(all.logGroups?.map((g) => g.logGroupName)).toEqual([OTHER, GROUP]);
    expect(all.logGroups?.[1]?.arn).toBe(`arn:aws:logs:us-east-1:000000000000:log-group:${GROUP}:*`);
    const first = await logs.send(new DescribeLogGroupsCommand({ limit: 1 }));
    const second = await logs.send(new DescribeLogGroupsCommand({ limit: 1, nextToken: first.nextToken }));
    expect([first.logGroups?.[0]?.logGroupName, second.logGroups?.[0]?.logGroupName]).toEqual([OTHER, GROUP]);
    expect((await errorOf(logs.send(new DescribeLogGroupsCommand({ limit: 51 })))).name).toBe(
      'InvalidParameterException',
    );
  });
});

describe('filter patterns (the local subset)', () => {
  const step = JSON.stringify({
    message: 'step',
    step: 'render',
    imageId: 'abc-123',
    attempt: 2,
    cold_start: true,
    nested: { list: [{ v: 'x' }] },
    nothing: null,
  });
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['   ', true],
    ['render', true],
    ['render missing', false],
    ['?missing ?render', true],
    ['"\\"step\\":\\"render\\""', true],
    ['{ $.imageId = "abc-123" }', true],
    ['{ $.imageId = "abc-*" }', true],
    ['{ $.imageId = "*-12" }', false],
    ['{ $.imageId != "abc-123" }', false],
    ['{ $.missing != "x" }', false],
    ['{ $.attempt = 2 }', true],
    ['{ $.attempt >= 2 && $.attempt < 3 }', true],
    ['{ $.attempt > 2 || $.step = render }', true],
    ['{ ($.attempt > 2 || $.step = "ingest") && $.imageId = "abc-123" }', false],
    ['{ $.cold_start IS TRUE }', true],
    ['{ $.cold_start IS FALSE }', false],
    ['{ $.nothing IS NULL }', true],
    ['{ $.gone NOT EXISTS }', true],
    ['{ $.nested.list[0].v = "x" }', true],
    ['{ $.nested.list[1].v = "x" }', false],
    ['{ $.constructor NOT EXISTS }', true],
    ['{ $.attempt = "2" }', false],
  ];
  it.each(cases)('%s → %s', (pattern, expected) => {
    expect(compileFilterPattern(pattern)(step)).toBe(expected);
  });

  it('tests JSON patterns against whole JSON events only', () => {
    const matches = compileFilterPattern('{ $.imageId = "abc" }');
    expect(matches('INFO {"imageId":"abc"}')).toBe(false);
    expect(matches('{"imageId":"abc"')).toBe(false);
    expect(matches('["abc"]')).toBe(false);
  });

  it('matches wildcards in linear time on hostile values', () => {
    const matches = compileFilterPattern(`{ $.v = "${'*a'.repeat(200)}*b" }`);
    const started = performance.now();
    expect(matches(JSON.stringify({ v: 'a'.repeat(100_000) }))).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
