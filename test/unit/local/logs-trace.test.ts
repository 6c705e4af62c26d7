/**
 * `npm run trace -- <id> --target aws` against a stand-in for the three AWS APIs it calls, answering as AWS
 * documents them: CloudFormation DescribeStackResources (query protocol, XML; example in
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResources.html),
 * Lambda GetFunctionConfiguration (`LoggingConfig.LogGroup`, API_LoggingConfig.html: a deployed Pictura
 * function logs to its own group, not /aws/lambda/<name>) and CloudWatch Logs FilterLogEvents (the local
 * implementation, held to AWS in logs-filter-log-events.test.ts).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsRoute } from '#local/logs/provider.ts';
import { LogStore } from '#local/logs/store.ts';
import { listenOnFreePort } from '#test/support/functions.ts';
import { ROOT } from '#test/support/local-cloud.ts';

const run = promisify(execFile);
const ID = 'abcDEF123_-xyz';
const T0 = Date.now() - 60_000;
const FUNCTIONS = {
  'Pictura-Upload-1': 'Pictura-UploadLogs-1',
  'Pictura-Metadata-2': 'Pictura-MetadataLogs-2',
  'Pictura-Thumbnail-3': 'Pictura-ThumbnailLogs-3',
} as const;
const STREAM = '2026/11/30/[$LATEST]00000000000000000000000000000001';

let server: Server;
let endpoint: string;
const calls: string[] = [];

function stackResourcesXml(): string {
  const members = Object.keys(FUNCTIONS)
    .map(
      (
        name,
      ) => `<member><StackName>Pictura</StackName><LogicalResourceId>${name.split('-')[1]}</LogicalResourceId>
<PhysicalResourceId>${name}</PhysicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType>
<Timestamp>2026-11-30T10:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>`,
    )
    .join('');
  const other = `<member><StackName>Pictura</StackName><LogicalResourceId>Queue</LogicalResourceId><PhysicalResourceId>https://sqs/q</PhysicalResourceId>
<ResourceType>AWS::SQS::Queue</ResourceType><Timestamp>2026-11-30T10:00:00Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></member>`;
  return `<DescribeStackResourcesResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStackResourcesResult><StackResources>${members}${other}</StackResources></DescribeStackResourcesResult>
<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DescribeStackResourcesResponse>`;
}

function step(fields: Record<string, unknown>, endsAt: number): string {
  return JSON.stringify({
    level: 'INFO',
    message: 'step',
    timestamp: new Date(endsAt).toISOString(),
    imageId: ID,
    ...fields,
  });
}

/** An image refused at ingest: its timeline ends with a `rejected` step and never reaches `ready`. */
const REJECTED_ID = 'rejREJ123_-xyz';

beforeAll(async () => {
  const store = new LogStore();
  const put = (group: string, message: string, at: number) => store.put(group, STREAM, at, message);
  put(
    FUNCTIONS['Pictura-Upload-1'],
    step(
      { imageId: REJECTED_ID, step: 'upload', durationMs: 30, attempt: 1, function_request_id: 'u-9' },
      T0 + 30,
    ),
    T0 + 30,
  );
  put(
    FUNCTIONS['Pictura-Metadata-2'],
    step(
      { imageId: REJECTED_ID, step: 'rejected', durationMs: 20, attempt: 1, function_request_id: 'm-9' },
      T0 + 90,
    ),
    T0 + 90,
  );
  put(
    FUNCTIONS['Pictura-Upload-1'],
    step(
      {
        step: 'upload',
        durationMs: 40,
        attempt: 1,
        cold_start: true,
        function_request_id: 'u-1',
        uploadRequestId: 'api-1',
      },
      T0 + 40,
    ),
    T0 + 40,
  );
  put(
    FUNCTIONS['Pictura-Upload-1'],
    'REPORT RequestId: u-1\tDuration: 41.00 ms\tInit Duration: 250.50 ms',
    T0 + 41,
  );
  put(
    FUNCTIONS['Pictura-Metadata-2'],
    step({ step: 'ingest', durationMs: 90, attempt: 1, cold_start: false, outcome: 'error' }, T0 + 400),
    T0 + 400,
  );
  put(
    FUNCTIONS['Pictura-Metadata-2'],
    step({ step: 'ingest', durationMs: 80, attempt: 2, cold_start: false }, T0 + 900),
    T0 + 900,
  );
  put(
    FUNCTIONS['Pictura-Metadata-2'],
    step({ step: 'ingest', durationMs: 5, attempt: 1, imageId: 'someone-else' }, T0 + 950),
    T0 + 950,
  );
  put(
    FUNCTIONS['Pictura-Thumbnail-3'],
    step(
      { step: 'render', durationMs: 120, attempt: 1, cold_start: false, function_request_id: 'r-1' },
      T0 + 1200,
    ),
    T0 + 1200,
  );
  put(
    FUNCTIONS['Pictura-Thumbnail-3'],
    step(
      { step: 'ready', durationMs: 0, attempt: 1, cold_start: false, function_request_id: 'r-1' },
      T0 + 1200,
    ),
    T0 + 1201,
  );
  // The render message came back while its first delivery ran: attempt 2 crashed without a step line,
  // attempt 3 rendered again concurrently (1093 ms) and changed nothing.
  put(
    FUNCTIONS['Pictura-Thumbnail-3'],
    step(
      { step: 'render', durationMs: 1093, attempt: 3, cold_start: false, function_request_id: 'r-3' },
      T0 + 1500,
    ),
    T0 + 1500,
  );
  put(
    FUNCTIONS['Pictura-Upload-1'],
    step({ step: 'delete', durationMs: 30, attempt: 1, cold_start: false }, T0 + 5000),
    T0 + 5000,
  );
  const logs = logsRoute(store, 'eu-west-1', '123456789012');
  server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers['x-amz-target'] ?? ''}`.trim());
    if (logs(req, res)) return;
    const config = /^\/2015-03-31\/functions\/([^/]+)\/configuration/.exec(req.url ?? '');
    req.resume();
    if (config) {
      const name = decodeURIComponent(config[1] ?? '') as keyof typeof FUNCTIONS;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          FunctionName: name,
          LoggingConfig: { LogFormat: 'JSON', LogGroup: FUNCTIONS[name] },
        }),
      );
      return;
    }
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(stackResourcesXml());
    });
  });
  ({ base: endpoint } = await listenOnFreePort(server));
});
afterAll(() => new Promise<void>((done) => server?.close(() => done())));

const trace = (...args: string[]) =>
  run(process.execPath, [join(ROOT, 'scripts/trace.ts'), ...args], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      HOME: '/nonexistent',
    },
  }).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

/** The script against the stand-in AWS (its endpoint, a region of its own), with `args` after those flags. */
const traceAws = (...args: string[]) =>
  trace('--target', 'aws', '--region', 'eu-west-1', '--endpoint', endpoint, ...args);

describe('npm run trace --target aws', () => {
  it("reads the stack's functions, their own log groups, and orders the steps with retries and the cold start", async () => {
    const { code, stdout, stderr } = await traceAws(ID, '--stack', 'Pictura', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.uploadRequestId).toBe('api-1');
    expect(
      result.steps.map(
        (s: { step: string; attempt: number; outcome: string }) => `${s.step}#${s.attempt} ${s.outcome}`,
      ),
    ).toEqual([
      'upload#1 ok',
      'ingest#1 retried',
      'ingest#2 ok',
      'render#1 ok',
      'ready#1 ok',
      'render#3 duplicate',
      'delete#1 ok',
    ]);
    expect(result.steps[0]).toMatchObject({
      function: 'Pictura-Upload-1',
      logGroup: 'Pictura-UploadLogs-1',
      start: new Date(T0).toISOString(),
      durationMs: 40,
      coldStart: true,
      initDurationMs: 250.5,
    });
    expect(result.steps[1]).toMatchObject({ outcome: 'retried', lineOutcome: 'error', coldStart: false });
    expect(result.steps[1].initDurationMs).toBeUndefined();
    // From the upload's start to the end of ready.
    expect(result.uploadToReadyMs).toBe(1200);
    // Only the ok steps up to ready: upload 40 + ingest (attempt 2) 80 + render 120 + ready 0; not the
    // failed attempt, the duplicate render or the delete after ready.
    expect(result.workMs).toBe(240);
    expect(result.missingAttempts).toEqual([{ function: 'Pictura-Thumbnail-3', step: 'render', attempt: 2 }]);
    // One DescribeStackResources (no X-Amz-Target: the query protocol), one GetFunctionConfiguration per function.
    expect(calls.filter((c) => c === 'POST /')).toHaveLength(1);
    expect(calls.filter((c) => c.includes('/configuration'))).toHaveLength(3);
  });

  it('prints retries and cold starts in the table', async () => {
    const { code, stdout } = await traceAws(ID);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^upload\s+Pictura-Upload-1\s+\S+\s+40 ms\s+yes \(init 251 ms\)\s+1\s+ok$/m);
    expect(stdout).toMatch(/^ingest\s+Pictura-Metadata-2\s+\S+\s+80 ms\s+no\s+2 \(retried\)\s+ok$/m);
    expect(stdout).toMatch(/^ingest\s+Pictura-Metadata-2\s+\S+\s+90 ms\s+no\s+1\s+retried$/m);
    expect(stdout).toMatch(
      /^render\s+Pictura-Thumbnail-3\s+\S+\s+1093 ms\s+no\s+3 \(retried\)\s+duplicate$/m,
    );
    expect(stdout).toContain(
      'attempt 2 of render (Pictura-Thumbnail-3) left no step line (crashed or timed out)',
    );
    expect(stdout).toMatch(/^steps up to ready: 240 ms of work \(ok steps only\); upload → ready 1200 ms/m);
  });

  it('says a rejected image ended rejected, not that it has no ready yet', async () => {
    const { code, stdout } = await traceAws(REJECTED_ID);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^steps: 50 ms of work \(ok steps\); ended rejected, no ready$/m);
  });

  it('prints help (usage, options, exit codes) with --help and -h, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout } = await trace(flag);
      expect(code).toBe(0);
      expect(stdout).toContain('Usage: npm run trace -- <image-id>');
      expect(stdout).toContain('--since HOURS');
      expect(stdout).toMatch(/Exit codes:[\s\S]*4 {2}the endpoint could not be reached/);
    }
  });

  it('exits 1 for an image no function logged, and 2 for bad arguments', async () => {
    const unknown = await traceAws('nobody');
    expect(unknown.code).toBe(1);
    for (const args of [
      [],
      ['a', 'b'],
      ['x', '--target', 'gcp'],
      ['x', '--since', '0'],
      ['x', '--since', 'soon'],
      ['x', '--nope'],
    ])
      expect((await trace(...args)).code).toBe(2);
  });
});
