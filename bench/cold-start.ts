/**
 * Cold-start benchmark: every function of the stack and its baselines, through the Lambda API.
 *
 *   npm run bench:cold-start -- --target local|localstack|aws [--function NAME]... [--runs N]
 *     [--warm N] [--concurrency C] [--warmup N] [--json] [--endpoint URL] [--region R] [--stack NAME]
 *     [--template DIR] [--out DIR] [--no-write] [--no-profile]
 *   npm run bench:cold-start -- --render bench/results/cold-start.json   (re-renders its .md and .svg)
 *
 * One code path for every target: a LambdaClient. `local` starts its own local cloud in this process (free
 * ports, in-memory state, synthesized with `-c benchBaselines=true`) unless `--endpoint` points at a running
 * one; `localstack` uses http://localhost:4566; `aws` the default credentials and region. The stack there
 * must have been deployed with `-c benchBaselines=true`, which adds the floor (`bench-empty`) and the naive
 * copies of the API functions (`naive-upload`, `naive-images`, `naive-delete`).
 *
 * Each round, for every function in a rotating order: change an environment variable (a cold start is
 * forced, as after a deploy), invoke with `LogType: Tail` (`--concurrency` invocations at once: a burst after
 * a deploy), read the REPORT line, then `--warm` warm invocations. At the end every function's environment is
 * put back as it was. On `local`, an init profile (bench/cold-start/init-profile.ts) then measures in fresh
 * processes what init spends its time on. Results go to bench/results/cold-start.{json,md,svg}
 * (`cold-start-<target>.*` for the other targets).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type LocalCloud, startLocalCloud } from '#local/cloud.ts';
import { synthesize } from '#local/template/assembly.ts';
import { readAssembly, type StackTemplate } from '#local/template/template.ts';
import { type BundleFacts, bundleFacts } from './cold-start/bundles.ts';
import { profileInit } from './cold-start/init-profile.ts';
import {
  type BenchFunction,
  discover,
  forceColdStart,
  invoke,
  restoreEnvironment,
  type Sample,
} from './cold-start/lambda.ts';
import { chart, consoleTable, markdown } from './cold-start/report.ts';
import { compare, GOAL_RATIO, type Summary, summariseFunction } from './cold-start/summary.ts';
import { describeMachine } from './lib/machine.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGETS = ['local', 'localstack', 'aws'] as const;
type Target = (typeof TARGETS)[number];

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    target: { type: 'string', default: 'local' },
    function: { type: 'string', multiple: true, default: [] },
    runs: { type: 'string', default: '10' },
    warm: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    endpoint: { type: 'string' },
    region: { type: 'string' },
    stack: { type: 'string', default: 'Pictura' },
    template: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    write: { type: 'boolean', default: true },
    profile: { type: 'boolean' },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

const USAGE = `npm run bench:cold-start -- [options]
  --target local|localstack|aws  where the functions run (default local: starts its own local cloud)
  --function NAME                only this function (repeatable); the floor and naive copies are added
  --runs N                       measured rounds (default 10), after --warmup N discarded ones (default 1)
  --warm N                       warm invocations after each cold one (default 3)
  --concurrency C                cold invocations at once after each change, a burst (default 1)
  --endpoint URL                 Lambda API endpoint (default: own local cloud; localstack: :4566)
  --region R  --stack NAME       (default: AWS_REGION or us-east-1; Pictura)
  --template DIR                 a cloud assembly synthesized with -c benchBaselines=true (else synthesized)
  --json                         print the summary as JSON on stdout
  --out DIR  --no-write          where results go (default bench/results); or write none
  --profile / --no-profile       the init profile on this machine (default: on for local only)
  --render FILE.json             re-render the .md and .svg of a saved run`;

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

if (args.render) {
  // Re-renders the Markdown and the chart of a saved run (after a change to the report's wording).
  const summary = JSON.parse(readFileSync(args.render, 'utf8')) as Summary;
  const base = args.render.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, markdown(summary));
  writeFileSync(`${base}.svg`, chart(summary));
  process.stderr.write(`rendered ${base}.md and ${base}.svg\n`);
  process.exit(0);
}

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usageError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

const target = args.target as Target;
if (!TARGETS.includes(target)) usageError(`--target must be one of ${TARGETS.join(', ')}`);
const RUNS = positive('runs', args.runs);
const WARM = positive('warm', args.warm, 0);
const CONCURRENCY = positive('concurrency', args.concurrency);
const WARMUP = positive('warmup', args.warmup, 0);
// The profile measures this machine; it describes a remote target's code, not its platform, so it is only
// on by default where the functions run here.
const PROFILE = args.profile ?? target === 'local';

/** Progress on stderr: a bar redrawn in place on a terminal, a line per step otherwise (CI logs). */
function progress(stage: string, done: number, total: number, detail = ''): void {
  if (args.json && !process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  const text = `${stage.padEnd(9)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${detail}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(90)}`);
  else if (done === total || done % 10 === 0) process.stderr.write(`${text}\n`);
}
const endProgress = () => {
  if (process.stderr.isTTY) process.stderr.write('\n');
};

/**
 * How busy the machine was: the 1-minute load average and, where Linux reports it (PSI), the share of the
 * last minute in which some task waited for a CPU. The machine may be shared; this is how much the
 * neighbours were in the way, which no interleaving can remove from the absolute figures (ratios fare better).
 */
function machineLoad(): { loadAverage1m: number; cpuPressureAvg60?: number } {
  let cpuPressureAvg60: number | undefined;
  try {
    const match = /^some avg10=[\d.]+ avg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (match?.[1] !== undefined) cpuPressureAvg60 = Number(match[1]);
  } catch {
    // Not Linux, or PSI disabled.
  }
  return {
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    ...(cpuPressureAvg60 === undefined ? {} : { cpuPressureAvg60 }),
  };
}

interface Connection {
  client: LambdaClient;
  endpoint: string;
  region: string;
  stack: StackTemplate;
  close(): Promise<void>;
}

async function connect(): Promise<Connection> {
  const region = args.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  if (target === 'local' && !args.endpoint) {
    const outdir = mkdtempSync(join(tmpdir(), 'pictura-cold-start-'));
    const logs: string[] = [];
    process.stderr.write('starting a local cloud (synthesized with -c benchBaselines=true) …\n');
    let cloud: LocalCloud;
    try {
      cloud = await startLocalCloud({
        root: ROOT,
        outdir,
        synth: true,
        context: { benchBaselines: 'true' },
        ports: { aws: 0, api: 0, cdn: 0 },
        dataDir: undefined,
        // Function output would tear the progress bar; it is kept for a failure's diagnosis.
        logSink: (fn, line) => logs.push(`${fn} ${line}`),
        log: (line) => logs.push(`local ${line}`),
      });
    } catch (error) {
      rmSync(outdir, { recursive: true, force: true });
      throw new Error(`${(error as Error).message}\n${logs.slice(-20).join('\n')}`);
    }
    const stack = readAssembly(outdir)[0];
    if (!stack) throw new Error('the local cloud synthesized no stack');
    return {
      client: new LambdaClient({ region: cloud.region, endpoint: cloud.urls.aws, credentials }),
      endpoint: `${cloud.urls.aws} (started by the benchmark)`,
      region: cloud.region,
      stack,
      async close() {
        await cloud.close(5_000);
        rmSync(outdir, { recursive: true, force: true });
      },
    };
  }

  const endpoint = args.endpoint ?? (target === 'aws' ? undefined : 'http://localhost:4566');
  // The template says which functions exist and what they are; the target says what they are called.
  let stack: StackTemplate | undefined;
  let scratch: string | undefined;
  if (args.template) {
    stack = readAssembly(args.template).find((s) => s.stackName === args.stack);
  } else {
    scratch = mkdtempSync(join(tmpdir(), 'pictura-cold-start-'));
    process.stderr.write('synthesizing the stack with -c benchBaselines=true to map its functions …\n');
    await synthesize(ROOT, scratch, {
      benchBaselines: 'true',
      ...(target === 'localstack' ? { target: 'localstack' } : {}),
    });
    stack = readAssembly(scratch).find((s) => s.stackName === args.stack);
  }
  if (!stack) throw new Error(`no stack "${args.stack}" in the template`);
  const local = endpoint !== undefined;
  return {
    client: new LambdaClient({
      region,
      ...(endpoint ? { endpoint } : {}),
      // Emulators accept any credentials; on AWS the default provider chain applies.
      ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials } : {}),
    }),
    endpoint: endpoint ?? `AWS Lambda in ${region}`,
    region,
    stack: { ...stack, stackName: args.stack },
    async close() {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** One round: every function, in an order rotated by the round number. */
async function measureRound(
  client: LambdaClient,
  functions: readonly BenchFunction[],
  round: number,
  changed: Set<BenchFunction>,
  record: (samples: Sample[]) => void,
  step: (label: string) => void,
): Promise<void> {
  const order = functions.map((_, i) => functions[(i + round) % functions.length] as BenchFunction);
  for (const fn of order) {
    changed.add(fn);
    await forceColdStart(client, fn, `${Date.now()}-${round}`);
    const cold = await Promise.all(
      Array.from({ length: CONCURRENCY }, () => invoke(client, fn, round, true)),
    );
    const warm: Sample[] = [];
    for (let i = 0; i < WARM; i += 1) warm.push(await invoke(client, fn, round, false));
    record([...cold, ...warm]);
    step(fn.label);
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const connection = await connect();
  const { client } = connection;
  let functions: BenchFunction[] = [];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: finishing this step and restoring the functions …\n');
  };
  process.on('SIGINT', onSignal);
  const samples: Sample[] = [];
  const changed = new Set<BenchFunction>();
  const loadAtStart = machineLoad();
  try {
    functions = await discover(client, connection.stack, args.function ?? []);
    const bundles = new Map<string, BundleFacts>();
    for (const fn of functions) bundles.set(fn.label, await bundleFacts(fn, ROOT));

    const total = (WARMUP + RUNS) * functions.length;
    let done = 0;
    for (let round = 0; round < WARMUP + RUNS && !interrupted; round += 1) {
      const counted = round >= WARMUP;
      await measureRound(
        client,
        functions,
        round,
        changed,
        (list) => {
          if (counted) samples.push(...list.map((s) => ({ ...s, round: round - WARMUP })));
        },
        (label) => {
          done += 1;
          progress(
            counted ? 'measuring' : 'warm-up',
            done,
            total,
            `round ${round + 1 - WARMUP}/${RUNS} ${label}`,
          );
        },
      );
    }
    endProgress();

    const { functions: summaries, verdicts } = compare(
      functions.map((fn) => summariseFunction(fn, samples, bundles.get(fn.label) as BundleFacts)),
    );
    const summary: Summary = {
      benchmark: 'cold-start',
      target,
      endpoint: connection.endpoint,
      date: started.toISOString(),
      machine: describeMachine(),
      command: `npm run bench:cold-start -- ${process.argv.slice(2).join(' ')}`.trim(),
      runs: RUNS,
      warmPerRound: WARM,
      concurrency: CONCURRENCY,
      warmupRounds: WARMUP,
      machineLoad: { start: loadAtStart, end: machineLoad() },
      functions: summaries,
      goal: {
        description: `each API function's cold init p50 within ${GOAL_RATIO}× the empty handler's (same run)`,
        verdicts,
      },
    };

    if (PROFILE && !interrupted) {
      summary.initProfile = await profileInit(functions, {
        root: ROOT,
        rounds: RUNS,
        region: connection.region,
        progress: (n, t) => progress('profiling', n, t),
      });
      endProgress();
    }

    if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else console.log(consoleTable(summary));
    if (args.write && !interrupted) {
      const base = target === 'local' ? 'cold-start' : `cold-start-${target}`;
      mkdirSync(args.out, { recursive: true });
      writeFileSync(join(args.out, `${base}.json`), `${JSON.stringify(summary, null, 2)}\n`);
      writeFileSync(join(args.out, `${base}.md`), markdown(summary));
      writeFileSync(join(args.out, `${base}.svg`), chart(summary));
      process.stderr.write(`results written to ${join(args.out, `${base}.{json,md,svg}`)}\n`);
    }
  } finally {
    // Leave every function as it was found: no marker variable, the original environment.
    for (const fn of changed) {
      await restoreEnvironment(client, fn).catch((error: Error) =>
        process.stderr.write(`could not restore ${fn.label}'s environment: ${error.message}\n`),
      );
    }
    process.off('SIGINT', onSignal);
    await connection.close();
  }
}

main().catch((error: Error) => {
  endProgress();
  console.error(`cold-start benchmark failed: ${error.message}`);
  process.exitCode = 1;
});
