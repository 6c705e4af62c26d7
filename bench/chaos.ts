/**
 * Chaos benchmark: uploads through the local cloud with faults injected (local/faults), waits until every
 * image settles, then reconciles every id with the bucket, the table and the queues.
 *
 *   npm run bench:chaos -- --uploads 500 --faults bench/faults/ten-percent.json [--concurrency 20]
 *       [--visibility-scale 0.02] [--rates 0,0.05,0.1,0.2] [--sweep-uploads 100] [--no-sweep] [--inputs photo|small]
 *       [--save | --out DIR]
 *
 * The main run uses the file as it is; the sweep repeats a smaller run with every fault rate of the file set
 * to each of `--rates`, for the chart of time to settle and retries against the fault rate. Writes
 * chaos.{json,md,svg} to bench/results (the committed results) only with `--save`, to DIR with `--out DIR`,
 * else to a new temporary folder, so that a quick run never overwrites the committed one; the folder is
 * printed. Progress goes to stderr. Exit code 1 when the goal is missed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadFaultConfig } from '#local/faults/config.ts';
import { synthesize } from '#local/template/assembly.ts';
import { atRate, type ChaosReport, runChaos } from './lib/chaos-run.ts';
import { describeMachine } from './lib/machine.ts';
import { barChart, stackCharts } from './lib/svg.ts';

const { values: args } = parseArgs({
  options: {
    uploads: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '20' },
    faults: { type: 'string', default: 'bench/faults/ten-percent.json' },
    'visibility-scale': { type: 'string', default: '0.02' },
    'timeout-seconds': { type: 'string', default: '600' },
    rates: { type: 'string', default: '0,0.05,0.1,0.2' },
    'sweep-uploads': { type: 'string' },
    'no-sweep': { type: 'boolean', default: false },
    inputs: { type: 'string', default: 'photo' },
    'hostile-every': { type: 'string', default: '25' },
    save: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const UPLOADS = Number(args.uploads);
const SWEEP_UPLOADS = Number(args['sweep-uploads'] ?? Math.min(UPLOADS, 100));
const RATES = (args.rates ?? '').split(',').map(Number);
if (!Number.isInteger(UPLOADS) || UPLOADS < 1) throw new Error('--uploads must be a positive integer');
if (RATES.some((r) => !(r >= 0 && r <= 1))) throw new Error('--rates must be numbers between 0 and 1');
if (args.inputs !== 'photo' && args.inputs !== 'small') throw new Error('--inputs must be photo or small');
if (args.save && args.out !== undefined)
  throw new Error('--save writes to bench/results: give --save or --out DIR');
if (args.out === '') throw new Error('--out needs a folder');

/** Whether a run met the goal: every id terminal, nothing lost, orphaned or stuck, every DLQ entry explained. */
export function goalMet(r: ChaosReport): boolean {
  return (
    r.uploadErrors.length === 0 &&
    r.outcome.stuck === 0 &&
    r.lost === 0 &&
    r.orphanedObjects.length === 0 &&
    r.stuckRecords.length === 0 &&
    r.readyWithMissingVariants.length === 0 &&
    r.dlq.every((d) => d.explained)
  );
}

async function main(): Promise<void> {
  const faults = loadFaultConfig(args.faults ?? '');
  const outdir = mkdtempSync(join(tmpdir(), 'pictura-chaos-'));
  const common = {
    root: ROOT,
    concurrency: Number(args.concurrency),
    visibilityScale: Number(args['visibility-scale']),
    settleTimeoutMs: Number(args['timeout-seconds']) * 1000,
    hostileEvery: Number(args['hostile-every']),
    inputs: args.inputs as 'photo' | 'small',
    outdir,
  };
  try {
    await synthesize(ROOT, outdir);
    process.stderr.write(`chaos: ${UPLOADS} uploads with ${args.faults}\n`);
    const main = await runChaos({ ...common, uploads: UPLOADS, faults });
    const sweep: Array<{ rate: number; report: ChaosReport }> = [];
    if (!args['no-sweep']) {
      for (const rate of RATES) {
        process.stderr.write(
          `chaos sweep: ${SWEEP_UPLOADS} uploads at ${rate * 100} % of every fault kind\n`,
        );
        sweep.push({
          rate,
          report: await runChaos({ ...common, uploads: SWEEP_UPLOADS, faults: atRate(faults, rate) }),
        });
      }
    }
    const results = resultsFolder();
    write(results, main, sweep);
    console.log(summary(main));
    console.log(`  results in ${results}${args.save ? '' : ' (bench/results is written only with --save)'}`);
    if (!goalMet(main)) process.exitCode = 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** `--out DIR`, bench/results with `--save`, else a new temporary folder. */
function resultsFolder(): string {
  if (args.save) return RESULTS;
  if (args.out === undefined) return mkdtempSync(join(tmpdir(), 'pictura-chaos-results-'));
  const folder = resolve(args.out);
  mkdirSync(folder, { recursive: true });
  return folder;
}

/** The command that reproduces the run (`--out DIR` left out: where results go does not change them). */
function command(): string {
  const given = process.argv.slice(2);
  const extra = given
    .filter((a, i) => !(a === '--out' || given[i - 1] === '--out' || a.startsWith('--out=')))
    .filter((a) => !['--uploads', '--faults', String(UPLOADS), args.faults].includes(a));
  return `npm run bench:chaos -- --uploads ${UPLOADS} --faults ${args.faults}${extra.length ? ` ${extra.join(' ')}` : ''}`;
}

function write(folder: string, main: ChaosReport, sweep: Array<{ rate: number; report: ChaosReport }>): void {
  const meta = { command: command(), date: new Date().toISOString(), machine: describeMachine() };
  const json = { ...meta, goal: goalMet(main) ? 'met' : 'MISSED', main, sweep };
  writeFileSync(join(folder, 'chaos.json'), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(folder, 'chaos.md'), markdown(meta, main, sweep));
  writeFileSync(
    join(folder, 'chaos.svg'),
    stackCharts([
      barChart(
        `Time to settle (p50, p95 marker) against fault rate, ${SWEEP_UPLOADS} uploads`,
        'ms',
        sweep.map(({ rate, report }) => ({
          label: `${rate * 100} % faults`,
          value: report.settleMs.p50,
          marker: report.settleMs.p95,
          highlight: rate === 0.1,
        })),
      ),
      barChart(
        'Redeliveries (receive count > 1) against fault rate',
        'retries',
        sweep.map(({ rate, report }) => ({
          label: `${rate * 100} % faults`,
          value: report.deliveries.retries,
        })),
      ),
    ]),
  );
}

function summary(r: ChaosReport): string {
  return `
  ${r.uploads} uploads (${r.accepted} accepted, ${r.uploadErrors.length} upload errors): ${r.outcome.ready} ready, ${r.outcome.rejected} rejected, ${r.outcome.failed} failed, ${r.outcome.stuck} still polling
  lost ${r.lost}, orphaned objects ${r.orphanedObjects.length}, stuck records ${r.stuckRecords.length}, ready with missing variants ${r.readyWithMissingVariants.length}
  faults injected ${'total' in r.faults ? r.faults.total : 0}; retries ${r.deliveries.retries}, duplicate deliveries ${r.deliveries.duplicateMessages}, duplicate S3 events ${r.deliveries.duplicateS3Events}
  settle p50 ${r.settleMs.p50} ms, p95 ${r.settleMs.p95} ms, max ${r.settleMs.max} ms; DLQ ${r.dlq.length} (${r.dlq.filter((d) => !d.explained).length} unexplained)
  goal ${goalMet(r) ? 'met' : 'MISSED'}
`;
}

function markdown(
  meta: { command: string; date: string; machine: string },
  r: ChaosReport,
  sweep: Array<{ rate: number; report: ChaosReport }>,
): string {
  const faults = 'injected' in r.faults ? r.faults : { injected: {}, seen: {}, total: 0, seed: 0 };
  const faultRows = Object.entries(faults.injected)
    .map(([kind, n]) => `| ${kind} | ${n} |`)
    .join('\n');
  const dlqRows = r.dlq
    .map((d) => `| ${d.queue} | ${d.imageId ?? '?'} | ${d.receiveCount} | ${d.imageStatus} | ${d.reason} |`)
    .join('\n');
  const sweepRows = sweep
    .map(
      ({ rate, report: s }) =>
        `| ${rate * 100} % | ${'total' in s.faults ? s.faults.total : 0} | ${s.outcome.ready} / ${s.outcome.rejected} / ${s.outcome.failed} | ${s.lost} / ${s.orphanedObjects.length} / ${s.stuckRecords.length} | ${s.deliveries.retries} | ${s.settleMs.p50} / ${s.settleMs.p95} / ${s.settleMs.max} | ${s.wallSeconds} s |`,
    )
    .join('\n');
  return `# Chaos benchmark

Command: \`${meta.command}\` (starts its own local cloud, in memory, queue visibility × ${r.visibilityScale}).
Date: ${meta.date}. Machine: ${meta.machine}. Seed: ${r.seed ?? 'none'}.
Every ${args['hostile-every']}th upload is a file that is not an image (it must end \`rejected\`); half the uploads are direct, half
presigned POSTs; the client retries 5xx/429 answers with backoff as a well-behaved client would.

Goal (every id terminal, 0 lost, 0 orphaned objects, 0 stuck records, every DLQ message explained): **${goalMet(r) ? 'met' : 'MISSED'}**.

| measure | value |
| --- | ---: |
| uploads / accepted / upload errors | ${r.uploads} / ${r.accepted} / ${r.uploadErrors.length} |
| ready / rejected / failed / still polling | ${r.outcome.ready} / ${r.outcome.rejected} / ${r.outcome.failed} / ${r.outcome.stuck} |
| lost / orphaned objects / stuck records | ${r.lost} / ${r.orphanedObjects.length} / ${r.stuckRecords.length} |
| ready with a missing variant | ${r.readyWithMissingVariants.length} |
| records the client never heard of (by status) | ${JSON.stringify(r.unclaimedRecords)} |
| client retries (upload answered 5xx) | ${r.clientRetries} |
| deliveries by function | ${JSON.stringify(r.deliveries.byFunction)} |
| redeliveries (receive count > 1) / highest receive count | ${r.deliveries.retries} / ${r.deliveries.maxReceiveCount} |
| messages delivered twice / duplicate S3 events | ${r.deliveries.duplicateMessages} / ${r.deliveries.duplicateS3Events} |
| time to settle p50 / p95 / max | ${r.settleMs.p50} / ${r.settleMs.p95} / ${r.settleMs.max} ms |
| wall time | ${r.wallSeconds} s |
| queues at the end | ${JSON.stringify(r.queues)} |

## Faults injected (seed ${faults.seed}, ${faults.total} in all)

| kind | count |
| --- | ---: |
${faultRows || '| (none) | 0 |'}

Eligible calls and events: ${JSON.stringify(faults.seen)}.

## Dead-letter queues

${r.dlq.length === 0 ? 'Empty.' : `| stage | image | receives | image now | reason |\n| --- | --- | ---: | --- | --- |\n${dlqRows}`}

## Against the fault rate (${SWEEP_UPLOADS} uploads each, every rate of the file set to the value)

| fault rate | faults | ready / rejected / failed | lost / orphaned / stuck | redeliveries | settle p50 / p95 / max ms | wall |
| --- | ---: | --- | --- | ---: | --- | ---: |
${sweepRows}

![chart](chaos.svg)
`;
}

await main();
