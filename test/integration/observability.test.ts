/**
 * Seeing the pipeline locally (issue 14): after one upload through the local cloud, the metrics view
 * reports it, the functions' logs are readable with CloudWatch Logs `FilterLogEvents` (the real SDK
 * client), and `npm run trace -- <id>` prints the image's steps in order.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from '#local/metrics/aggregator.ts';
import { PicturaClient } from '#test/support/api-client.ts';
import { awsCli } from '#test/support/aws-cli.ts';
import { orientedJpeg } from '#test/support/images.ts';
import { ROOT, startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

const run = promisify(execFile);

let cloud: TestCloud;
let client: PicturaClient;
let logs: CloudWatchLogsClient;
let imageId: string;
let deleteToken: string;
/** Client-side upload → ready: from sending the POST to seeing `ready` (an upper bound of the real one). */
let measuredMs: number;

async function metrics(metricName?: string): Promise<MetricsSnapshot> {
  const query = metricName ? `?metricName=${metricName}` : '';
  const response = await fetch(`${cloud.urls.aws}/_pictura/metrics${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as MetricsSnapshot;
}

const sumOf = (snapshot: MetricsSnapshot) => snapshot.metrics.reduce((sum, m) => sum + m.Total.Sum, 0);

beforeAll(async () => {
  cloud = await startTestCloud();
  client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
  logs = new CloudWatchLogsClient({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const jpeg = await orientedJpeg(1);
  const started = performance.now();
  const upload = await client.uploadDirect(jpeg, 'image/jpeg');
  expect(upload.status).toBe(202);
  imageId = upload.body.id;
  deleteToken = upload.body.deleteToken;
  const settled = await client.waitUntilSettled(imageId);
  measuredMs = performance.now() - started;
  expect(settled.status).toBe('ready');
  // The EMF lines are flushed when the invocation that marked the image ready ends, just after.
  await waitFor(
    async () => ((await metrics('ImagesReady')).metrics.length > 0 ? true : undefined),
    15_000,
    'the ImagesReady metric',
  );
});
afterAll(async () => {
  logs?.destroy();
  await cloud?.stop();
});

describe('the metrics view', () => {
  it('reports the image: ImagesReady 1, one UploadToReady within the measured time, one direct upload', async () => {
    expect(sumOf(await metrics('ImagesReady'))).toBe(1);
    const latency = (await metrics('UploadToReady')).metrics;
    expect(latency).toHaveLength(1);
    expect(latency[0]).toMatchObject({
      Namespace: 'Pictura',
      Unit: 'Milliseconds',
      Total: { SampleCount: 1 },
    });
    expect(latency[0]?.Total.Sum).toBeGreaterThan(0);
    expect(latency[0]?.Total.Sum).toBeLessThanOrEqual(measuredMs);
    expect(latency[0]?.Dimensions).not.toContainEqual(expect.objectContaining({ Value: imageId }));
    const uploads = (await metrics('UploadsAccepted')).metrics;
    expect(uploads.map((m) => [m.Dimensions.find((d) => d.Name === 'mode')?.Value, m.Total.Sum])).toEqual([
      ['direct', 1],
    ]);
  });

  it('rejects no EMF line the functions wrote', async () => {
    expect((await metrics()).rejected).toEqual({ lines: 0, reasons: {}, droppedSeries: 0 });
  });

  it('charts them on a page', async () => {
    const page = await fetch(`${cloud.urls.aws}/_pictura/metrics.html`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('UploadToReady');
    expect(html).toContain('<svg');
  });
});

describe('the logs, through CloudWatch Logs on the AWS endpoint', () => {
  it('has one log group per function, /aws/lambda/<name>', async () => {
    const { logGroups = [] } = await logs.send(
      new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/' }),
    );
    const names = logGroups.map((g) => g.logGroupName);
    for (const fn of cloud.model.functions) expect(names).toContain(`/aws/lambda/${fn.name}`);
  });

  it('finds the upload function’s step line by image id, and its cold start in the REPORT line', async () => {
    const upload = cloud.model.functions.find((fn) => fn.label === 'upload');
    const logGroupName = `/aws/lambda/${upload?.name}`;
    const { events = [] } = await logs.send(
      new FilterLogEventsCommand({
        logGroupName,
        filterPattern: `{ $.imageId = "${imageId}" && $.message = "step" }`,
      }),
    );
    expect(events).toHaveLength(1);
    const step = JSON.parse(events[0]?.message ?? '{}');
    expect(step).toMatchObject({ step: 'upload', imageId, attempt: 1, cold_start: true });
    expect(step.uploadRequestId).toBeTypeOf('string');
    const reports = await logs.send(
      new FilterLogEventsCommand({
        logGroupName,
        logStreamNames: [events[0]?.logStreamName ?? ''],
        filterPattern: `"REPORT RequestId: ${step.function_request_id}"`,
      }),
    );
    expect(reports.events?.[0]?.message).toMatch(/Init Duration: [\d.]+ ms/);
  });

  it('answers the AWS CLI (botocore) too: logs filter-log-events with a JSON pattern, across pages', async () => {
    const thumbnail = cloud.model.functions.find((fn) => fn.label === 'thumbnail');
    const run = await awsCli(
      [
        'logs',
        'filter-log-events',
        '--log-group-name',
        `/aws/lambda/${thumbnail?.name}`,
        '--filter-pattern',
        `{ $.imageId = "${imageId}" && $.message = "step" }`,
        // One event per page: the CLI follows nextToken itself and merges the pages.
        '--page-size',
        '1',
      ],
      { endpoint: cloud.urls.aws, check: true },
    );
    const { events } = JSON.parse(run.stdout) as { events: Array<{ message: string }> };
    expect(events.map((e) => JSON.parse(e.message).step)).toEqual(['render', 'ready']);
  });
});

describe('npm run trace', () => {
  let workBeforeDelete: number | undefined;
  const trace = (...args: string[]) =>
    run(process.execPath, [join(ROOT, 'scripts/trace.ts'), ...args, '--endpoint', cloud.urls.aws], {
      cwd: ROOT,
    }).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it('prints the steps in order, with durations that add up to less than the measured upload → ready', async () => {
    const { code, stdout } = await trace(imageId, '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      imageId: string;
      uploadRequestId?: string;
      steps: Array<{
        step: string;
        function: string;
        durationMs: number;
        coldStart: boolean;
        attempt: number;
        initDurationMs?: number;
      }>;
      uploadToReadyMs?: number;
      workMs: number;
    };
    expect(result.imageId).toBe(imageId);
    expect(result.uploadRequestId).toBeTypeOf('string');
    // The tests scale visibility timeouts to 0.02: on a loaded machine a message can come back while its
    // first delivery still runs, and the trace then shows the step again with attempt 2 (AWS would too).
    const firsts = result.steps.filter((s) => s.attempt === 1);
    expect(firsts.map((s) => s.step)).toEqual(['upload', 'ingest', 'render', 'ready']);
    expect(
      result.steps.filter((s) => s.attempt > 1).every((s) => firsts.some((f) => f.step === s.step)),
    ).toBe(true);
    const label = (name: string) => cloud.model.functions.find((fn) => fn.name === name)?.label;
    expect(firsts.map((s) => label(s.function))).toEqual(['upload', 'metadata', 'thumbnail', 'thumbnail']);
    const total = firsts.reduce((sum, s) => sum + s.durationMs, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(measuredMs);
    expect(result.uploadToReadyMs).toBeLessThanOrEqual(measuredMs);
    // The summary adds the ok steps up to ready only (a redelivered step's second run is not work on the way).
    expect(result.workMs).toBeGreaterThan(0);
    expect(result.workMs).toBeLessThanOrEqual(result.uploadToReadyMs ?? 0);
    workBeforeDelete = result.workMs;
    // The first invocation of each function is a cold start, with the instance's init duration.
    expect(result.steps[0]).toMatchObject({ coldStart: true, attempt: 1 });
    expect(result.steps[0]?.initDurationMs).toBeGreaterThan(0);
  });

  it('prints a table by default', async () => {
    const { code, stdout } = await trace(imageId);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^step\s+function\s+start \(UTC\)\s+duration\s+cold start\s+attempt\s+outcome$/m);
    expect(stdout).toMatch(/^steps up to ready: \d+ ms of work \(ok steps only\); upload → ready \d+ ms/m);
    expect(stdout).toMatch(/^upload\s/m);
    expect(stdout).toMatch(/^ready\s/m);
  });

  it('follows the image through delete and purge', async () => {
    expect((await client.delete(imageId, deleteToken)).status).toBe(202);
    const steps = await waitFor(
      async () => {
        const { code, stdout } = await trace(imageId, '--json');
        const names =
          code === 0
            ? (JSON.parse(stdout) as { steps: Array<{ step: string }> }).steps.map((s) => s.step)
            : [];
        return names.includes('purge') ? names : undefined;
      },
      30_000,
      'the purge step',
    );
    // After ready: the delete, then the purge (again with attempt > 1 if its message came back; see above).
    expect(steps.slice(steps.indexOf('ready'))).toEqual([
      'ready',
      'delete',
      ...steps.slice(steps.indexOf('delete') + 1),
    ]);
    expect(new Set(steps.slice(steps.indexOf('delete') + 1))).toEqual(new Set(['purge']));
    // Delete and purge come after ready: the work up to ready is what it was.
    const after = JSON.parse((await trace(imageId, '--json')).stdout) as { workMs: number };
    expect(after.workMs).toBeTypeOf('number');
    expect(after.workMs).toBe(workBeforeDelete);
  });

  it('exits 1 with a message for an id with no steps, 2 for a bad id, 4 when nothing listens', async () => {
    const unknown = await trace('no-such-image-000000000000');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no steps of image no-such-image-000000000000');
    expect((await trace('"} || { $.x = 1')).code).toBe(2);
    const down = await run(
      process.execPath,
      [join(ROOT, 'scripts/trace.ts'), imageId, '--endpoint', 'http://127.0.0.1:9'],
      {
        cwd: ROOT,
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(down).toMatchObject({ code: 4 });
  });
});
