/**
 * Load benchmark: N uploads at concurrency C through the local cloud, over HTTP as clients would.
 *
 *   npm run bench:load -- [--uploads 200] [--concurrency 20] [--json] [--api URL --key KEY --aws URL]
 *
 * Without `--api` it starts its own local cloud (in memory, free ports). Each client uploads (alternating
 * direct bodies and presigned POSTs), then polls `GET /v1/images/{id}` until the image settles; the polls
 * are also the "API GET under load" sample, compared with the same GET measured on the idle system in the
 * same run. At the end every id is reconciled (terminal state or lost) and every queue and DLQ is checked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalCloud } from '#local/cloud.ts';
import { PicturaClient } from '#test/support/api-client.ts';
import { largeJpeg } from '#test/support/images.ts';
import { describeMachine } from './lib/machine.ts';
import { median, percentile, round } from './lib/stats.ts';
import { barChart } from './lib/svg.ts';

const { values: args } = parseArgs({
  options: {
    uploads: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
    api: { type: 'string' },
    key: { type: 'string' },
    aws: { type: 'string' },
    'timeout-seconds': { type: 'string', default: '600' },
  },
});
const UPLOADS = Number(args.uploads);
const CONCURRENCY = Number(args.concurrency);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');

interface LoadReport {
  command: string;
  date: string;
  machine: string;
  uploads: number;
  concurrency: number;
  inputBytes: number[];
  wallSeconds: number;
  throughputImagesPerSecond: number;
  ready: number;
  rejected: number;
  errors: Array<string | undefined>;
  lost: number;
  uploadMs: { p50: number; p95: number };
  uploadToReadyMs: { p50: number; p95: number; max: number };
  getMs: {
    idle: { p50: number; p95: number; n: number };
    underLoad: { p50: number; p95: number; n: number };
    ratioP50: number;
  };
  queueDepths: Record<string, number>;
  dlqMessages: number;
}

interface Sample {
  id: string;
  mode: 'direct' | 'presigned';
  uploadMs: number;
  readyMs: number | undefined;
  status: string;
  error?: string;
}

function progress(done: number, total: number, started: number): void {
  if (args.json || !process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(
    `\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} settled  ${seconds}s `,
  );
}

async function timed<T>(work: () => Promise<T>, into: number[]): Promise<T> {
  const t = performance.now();
  const result = await work();
  into.push(performance.now() - t);
  return result;
}

async function main(): Promise<void> {
  let stop = async () => {};
  let api = args.api;
  let key = args.key;
  let aws = args.aws;
  if (!api) {
    const outdir = mkdtempSync(join(tmpdir(), 'pictura-load-'));
    const cloud = await startLocalCloud({
      root: ROOT,
      outdir,
      synth: true,
      ports: { aws: 0, api: 0, cdn: 0 },
      logSink: () => {},
      log: () => {},
    });
    api = cloud.urls.api;
    key = cloud.apiKeys[0]?.value;
    aws = cloud.urls.aws;
    stop = async () => {
      await cloud.close(30_000);
      rmSync(outdir, { recursive: true, force: true });
    };
  }
  if (!api || !key) throw new Error('--api and --key are needed when pointing at a running deployment');
  const client = new PicturaClient(api, key);

  // Photo-sized inputs (2 MP JPEGs with texture), a few distinct ones so caches cannot help.
  const images = await Promise.all([0, 1, 2, 3].map((i) => largeJpeg(1600 + i * 16, 1200)));

  // Baseline: GET latency on the idle system, same endpoint and client.
  const warm = await client.uploadDirect(images[0] ?? Buffer.alloc(0), 'image/jpeg');
  await client.waitUntilSettled(warm.body.id, 60_000);
  const idleGets: number[] = [];
  for (let i = 0; i < 50; i += 1) await timed(() => client.get(warm.body.id), idleGets);

  const samples: Sample[] = [];
  const uploadLatencies: number[] = [];
  const loadedGets: number[] = [];
  const deadline = Date.now() + Number(args['timeout-seconds']) * 1000;
  let next = 0;
  let settled = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= UPLOADS) return;
      const bytes = images[index % images.length] ?? Buffer.alloc(0);
      const mode = index % 2 === 0 ? 'direct' : 'presigned';
      const t0 = performance.now();
      const sample: Sample = { id: '', mode, uploadMs: 0, readyMs: undefined, status: 'unknown' };
      samples.push(sample);
      try {
        if (mode === 'direct') {
          const response = await timed(() => client.uploadDirect(bytes, 'image/jpeg'), uploadLatencies);
          if (response.status !== 202) throw new Error(`upload answered ${response.status}`);
          sample.id = response.body.id;
        } else {
          const response = await timed(async () => {
            const presigned = await client.presign('image/jpeg', bytes.length);
            if (presigned.status !== 201 || !presigned.body.upload)
              throw new Error(`presign answered ${presigned.status}`);
            const posted = await client.postForm(presigned.body.upload, bytes, 'image/jpeg');
            if (posted >= 300) throw new Error(`presigned POST answered ${posted}`);
            return presigned;
          }, uploadLatencies);
          sample.id = response.body.id;
        }
        sample.uploadMs = performance.now() - t0;
        for (;;) {
          const { status, body } = await timed(() => client.get(sample.id), loadedGets);
          if (status === 200 && (body.status === 'ready' || body.status === 'rejected')) {
            sample.status = body.status;
            sample.readyMs = performance.now() - t0;
            break;
          }
          if (Date.now() > deadline) {
            sample.status = `stuck:${body.status ?? status}`;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      } catch (error) {
        sample.status = 'error';
        sample.error = (error as Error).message;
      }
      settled += 1;
      progress(settled, UPLOADS, started);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallMs = performance.now() - started;
  if (!args.json && process.stderr.isTTY) process.stderr.write('\n');

  // Reconciliation: every id is asked for once more, and every queue must be empty.
  const reconciled = await Promise.all(
    samples
      .filter((s) => s.id)
      .map(async (s) => ({ id: s.id, status: (await client.get(s.id)).body.status })),
  );
  const queueDepths: Record<string, number> = {};
  if (aws) {
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: aws,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    for (const url of QueueUrls) {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      queueDepths[url.split('/').pop() ?? url] =
        Number(Attributes.ApproximateNumberOfMessages) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible);
    }
  }
  await stop();

  const ready = samples.filter((s) => s.status === 'ready');
  const readyTimes = ready.map((s) => s.readyMs ?? 0);
  const report: LoadReport = {
    command: `npm run bench:load -- --uploads ${UPLOADS} --concurrency ${CONCURRENCY}`,
    date: new Date().toISOString(),
    machine: describeMachine(),
    uploads: UPLOADS,
    concurrency: CONCURRENCY,
    inputBytes: images.map((i) => i.length),
    wallSeconds: round(wallMs / 1000),
    throughputImagesPerSecond: round(ready.length / (wallMs / 1000)),
    ready: ready.length,
    rejected: samples.filter((s) => s.status === 'rejected').length,
    errors: samples.filter((s) => s.status === 'error').map((s) => s.error),
    lost: reconciled.filter((r) => r.status !== 'ready' && r.status !== 'rejected').length,
    uploadMs: { p50: round(median(uploadLatencies)), p95: round(percentile(uploadLatencies, 95)) },
    uploadToReadyMs: {
      p50: round(median(readyTimes)),
      p95: round(percentile(readyTimes, 95)),
      max: round(Math.max(...readyTimes)),
    },
    getMs: {
      idle: { p50: round(median(idleGets)), p95: round(percentile(idleGets, 95)), n: idleGets.length },
      underLoad: {
        p50: round(median(loadedGets)),
        p95: round(percentile(loadedGets, 95)),
        n: loadedGets.length,
      },
      ratioP50: round(median(loadedGets) / median(idleGets)),
    },
    queueDepths,
    dlqMessages: Object.entries(queueDepths)
      .filter(([name]) => /dlq/i.test(name))
      .reduce((total, [, depth]) => total + depth, 0),
  };
  const goal =
    report.ready === UPLOADS && report.lost === 0 && report.dlqMessages === 0 && report.errors.length === 0
      ? 'met'
      : 'MISSED';

  if (args.json) {
    console.log(JSON.stringify({ ...report, goal }, null, 2));
  } else {
    console.log(`
  ${UPLOADS} uploads at concurrency ${CONCURRENCY}: ${report.ready} ready, ${report.lost} lost, ${report.errors.length} errors, ${report.dlqMessages} in DLQs (goal ${goal})
  wall ${report.wallSeconds}s, ${report.throughputImagesPerSecond} images/s
  upload request p50 ${report.uploadMs.p50} ms, p95 ${report.uploadMs.p95} ms
  upload→ready p50 ${report.uploadToReadyMs.p50} ms, p95 ${report.uploadToReadyMs.p95} ms, max ${report.uploadToReadyMs.max} ms
  GET /v1/images/{id}: idle p50 ${report.getMs.idle.p50} ms, under load p50 ${report.getMs.underLoad.p50} ms (×${report.getMs.ratioP50}), p95 ${report.getMs.underLoad.p95} ms
`);
  }
  if (!args.api) {
    writeFileSync(join(RESULTS, 'load.json'), `${JSON.stringify({ ...report, goal }, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'load.md'), markdown(report, goal));
    writeFileSync(
      join(RESULTS, 'load.svg'),
      barChart(`Load: ${UPLOADS} uploads at concurrency ${CONCURRENCY} (local cloud)`, 'ms', [
        { label: 'GET idle p50', value: report.getMs.idle.p50 },
        {
          label: 'GET under load p50',
          value: report.getMs.underLoad.p50,
          marker: report.getMs.underLoad.p95,
        },
        { label: 'upload request p50', value: report.uploadMs.p50, marker: report.uploadMs.p95 },
        {
          label: 'upload→ready p50',
          value: report.uploadToReadyMs.p50,
          marker: report.uploadToReadyMs.p95,
          highlight: true,
        },
      ]),
    );
  }
  if (goal !== 'met') process.exitCode = 1;
}

function markdown(r: LoadReport, goal: string): string {
  return `# Load benchmark

Command: \`${r.command}\` (starts its own local cloud, in memory).
Date: ${r.date}. Machine: ${r.machine}.
Inputs: 2 MP photo-like JPEGs (four distinct), half sent as direct bodies, half through presigned POSTs.
Every upload renders the default variants that fit (thumb, small, medium; a 1600-wide source gets no 2048-wide\nlarge) on this 2-core machine.

| measure | value |
| --- | ---: |
| uploads / concurrency | ${r.uploads} / ${r.concurrency} |
| ready / lost / errors / DLQ messages | ${r.ready} / ${r.lost} / ${r.errors.length} / ${r.dlqMessages} |
| wall time until all settled | ${r.wallSeconds} s |
| throughput | ${r.throughputImagesPerSecond} images/s |
| upload request p50 / p95 | ${r.uploadMs.p50} / ${r.uploadMs.p95} ms |
| upload → ready p50 / p95 / max | ${r.uploadToReadyMs.p50} / ${r.uploadToReadyMs.p95} / ${r.uploadToReadyMs.max} ms |
| GET /v1/images/{id}, idle p50 / p95 (baseline, same run) | ${r.getMs.idle.p50} / ${r.getMs.idle.p95} ms |
| GET /v1/images/{id}, under load p50 / p95 | ${r.getMs.underLoad.p50} / ${r.getMs.underLoad.p95} ms (p50 ×${r.getMs.ratioP50} the idle baseline) |

Goal (all ready, 0 lost, 0 in DLQs): **${goal}**.

Upload→ready is dominated by queueing: rendering is CPU-bound and this machine has two cores, so at
concurrency ${r.concurrency} images wait for the render consumer; throughput, not latency, is the figure
that carries over to Lambda, where each render gets its own execution environment.

![chart](load.svg)
`;
}

await main();
