/**
 * What Powertools Tracer and Metrics cost each API function's cold start, measured apart: each function is
 * bundled four ways from the current tree — as shipped, with Tracer stubbed out, with Metrics stubbed out,
 * with both — and each bundle is imported in a fresh process (the module work of a cold init). Reports bundle
 * bytes and the median CPU time of the import; a library's cost is the shipped bundle minus the bundle
 * without it. CPU time, not wall time, as in bench/schema-cost.ts: on a shared machine a wall-clock import
 * waits for a CPU as long as the load says. Rounds interleave the bundles in a rotating order.
 *
 * The stubs keep the shape the code uses (a `Tracer` that traces nothing, a `Metrics` that buffers nothing,
 * middlewares that do nothing: middy requires one hook), so everything else in the bundle is identical. Written for issue 14; the
 * figures in README ("Benchmarks", cold start) come from its output (bench/results/observability-cost.md).
 *
 *   node bench/observability-cost.ts [--runs 40] [--function upload --function images --function delete] [--save]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { packagingOptions, REPO_ROOT } from '#infra/bundling.ts';
import { esbuildOptionsFor } from '#local/lambda/build.ts';
import { importCpuTimes } from './lib/import-cost.ts';
import { describeMachine } from './lib/machine.ts';
import { median, round } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    function: { type: 'string', multiple: true, default: ['upload', 'images', 'delete'] },
    save: { type: 'boolean', default: false },
  },
});

/** Stand-ins with the API the functions use, and nothing else. */
const STUBS = {
  tracer: {
    '@aws-lambda-powertools/tracer': `export class Tracer {
      captureAWSv3Client(client) { return client; }
      isTracingEnabled() { return false; }
      getSegment() { return undefined; }
      setSegment() {}
    }`,
    '@aws-lambda-powertools/tracer/middleware':
      'export const captureLambdaHandler = () => ({ before() {} });',
  },
  metrics: {
    '@aws-lambda-powertools/metrics': `export const MetricUnit = { Count: 'Count', Milliseconds: 'Milliseconds', Bytes: 'Bytes' };
    export class Metrics {
      addMetric() {}
      addDimension() {}
      singleMetric() { return this; }
      publishStoredMetrics() {}
      captureColdStartMetric() {}
    }`,
    '@aws-lambda-powertools/metrics/middleware': 'export const logMetrics = () => ({ before() {} });',
  },
} as const;
type Stubbed = keyof typeof STUBS;
const VARIANTS: Record<string, Stubbed[]> = {
  shipped: [],
  'no Tracer': ['tracer'],
  'no Metrics': ['metrics'],
  neither: ['tracer', 'metrics'],
};

/** An esbuild plugin that resolves each stubbed package (and its middleware subpath) to its stand-in. */
function stubPlugin(stubbed: Stubbed[]): Plugin {
  const modules: Record<string, string> = Object.assign({}, ...stubbed.map((name) => STUBS[name]));
  return {
    name: 'observability-stubs',
    setup(b) {
      b.onResolve({ filter: /^@aws-lambda-powertools\/(tracer|metrics)(\/middleware)?$/ }, (args) =>
        args.path in modules ? { path: args.path, namespace: 'stub' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
        contents: modules[args.path],
        loader: 'js',
      }));
    },
  };
}

/** The function's bundle as the stack packages it (bench/schema-cost.ts's, plus the stubs). */
async function bundle(name: string, stubbed: Stubbed[]): Promise<Uint8Array> {
  const bundling = packagingOptions('optimized', { name, usesSharp: false });
  const { extension, options } = esbuildOptionsFor(bundling);
  const result = await build({
    ...options,
    entryPoints: [join(REPO_ROOT, `functions/${name}/handler.ts`)],
    write: false,
    outfile: join(REPO_ROOT, 'out', `index${extension}`),
    bundle: true,
    logLevel: 'error',
    absWorkingDir: REPO_ROOT,
    plugins: [...(options.plugins ?? []), stubPlugin(stubbed)],
  });
  return result.outputFiles?.[0]?.contents ?? new Uint8Array();
}

const work = mkdtempSync(join(tmpdir(), 'pictura-observability-cost-'));
try {
  const files: Record<string, { file: string; bytes: number }> = {};
  for (const name of values.function) {
    for (const [variant, stubbed] of Object.entries(VARIANTS)) {
      const code = await bundle(name, stubbed);
      const file = join(work, `${name}-${variant.replace(/ /g, '-')}.mjs`);
      writeFileSync(file, code);
      files[`${name}|${variant}`] = { file, bytes: code.length };
    }
  }
  const cpu = importCpuTimes(
    Object.fromEntries(Object.entries(files).map(([id, f]) => [id, f.file])),
    Number(values.runs),
  );
  const command = `node bench/observability-cost.ts --runs ${values.runs} ${values.function.map((f) => `--function ${f}`).join(' ')}`;
  const rows = values.function.map((name) => {
    const of = (variant: string) => ({
      bytes: files[`${name}|${variant}`]?.bytes ?? 0,
      ms: median(cpu[`${name}|${variant}`] ?? []),
    });
    const [shipped, noTracer, noMetrics, neither] = Object.keys(VARIANTS).map(of) as [
      ReturnType<typeof of>,
      ReturnType<typeof of>,
      ReturnType<typeof of>,
      ReturnType<typeof of>,
    ];
    return {
      function: name,
      shipped,
      noTracer,
      noMetrics,
      neither,
      tracer: { bytes: shipped.bytes - noTracer.bytes, ms: round(shipped.ms - noTracer.ms) },
      metrics: { bytes: shipped.bytes - noMetrics.bytes, ms: round(shipped.ms - noMetrics.ms) },
      both: { bytes: shipped.bytes - neither.bytes, ms: round(shipped.ms - neither.ms) },
    };
  });
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', REPO_ROOT, ...args])
      .toString()
      .trim();
  const commit = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'functions', 'shared').length > 0;
  const kb = (bytes: number) => (bytes / 1000).toFixed(1);
  const lines = [
    '# Observability cost: Powertools Tracer and Metrics in the API functions',
    '',
    `Command: \`${command}\``,
    '',
    `Commit: ${commit}${dirty ? ' (with uncommitted changes)' : ''}. Machine: ${describeMachine()}; load average ` +
      `${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at the end; ${new Date().toISOString()}.`,
    '',
    `Import CPU ms, median of ${values.runs} fresh processes per bundle, rounds interleaved. A library's cost is`,
    'the shipped bundle minus the bundle with that library stubbed out (everything else identical).',
    '',
    '| function | shipped | no Tracer | no Metrics | neither | Tracer costs | Metrics costs | both cost |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.function} | ${kb(r.shipped.bytes)} KB, ${round(r.shipped.ms)} ms | ${kb(r.noTracer.bytes)} KB, ` +
        `${round(r.noTracer.ms)} ms | ${kb(r.noMetrics.bytes)} KB, ${round(r.noMetrics.ms)} ms | ` +
        `${kb(r.neither.bytes)} KB, ${round(r.neither.ms)} ms | ${kb(r.tracer.bytes)} KB, ${r.tracer.ms} ms | ` +
        `${kb(r.metrics.bytes)} KB, ${r.metrics.ms} ms | ${kb(r.both.bytes)} KB, ${r.both.ms} ms |`,
    ),
    '',
  ];
  console.log(lines.join('\n'));
  if (values.save) {
    const results = join(REPO_ROOT, 'bench', 'results');
    writeFileSync(join(results, 'observability-cost.md'), lines.join('\n'));
    writeFileSync(
      join(results, 'observability-cost.json'),
      `${JSON.stringify({ command, commit, machine: describeMachine(), runs: Number(values.runs), rows, samples: cpu }, null, 2)}\n`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
