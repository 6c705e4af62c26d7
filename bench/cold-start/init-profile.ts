/**
 * Where a cold init's time goes, measured on this machine in fresh processes (bench/fixtures/init-probe.mjs)
 * that import exactly what the local cloud runs. Each case runs once per round, rounds interleave the
 * cases in a rotating order, and medians are reported:
 *
 * - every function's bundle, and the floor's (the same figure the local runtime reports as Init Duration);
 * - Node's own start (process start to first user code), which Lambda counts in its Init Duration and the
 *   local runtime does not;
 * - for the sharp functions: sharp's native addon alone (it links libvips), sharp alone, and the bundle
 *   with sharp already loaded (the rest: SDK, Powertools, the project's code);
 * - compile share: the same import with Node's compile cache primed (V8 skips compiling what it cached);
 * - packaging: the API functions as esbuild's plain (module-scoped) ESM and as CommonJS, same code and
 *   settings otherwise, against the project's function-scoped ES module.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { bundlingOptions } from '#infra/bundling.ts';
import { buildForHost, esbuildOptionsFor } from '#local/lambda/build.ts';
import type { LocalFunction } from '#local/template/stack-model.ts';
import { median, round } from '../lib/stats.ts';
import type { BenchFunction } from './lambda.ts';

const run = promisify(execFile);
const PROBE = new URL('../fixtures/init-probe.mjs', import.meta.url);

interface ProbeCase {
  id: string;
  args: string[];
  env: Record<string, string>;
}

interface ProbeResult {
  bootMs: number;
  preloadMs: number;
  importMs: number;
}

/** Medians of one case. */
export interface CaseFigures {
  importMs: number;
  bootMs: number;
  samples: number;
}

export interface InitProfile {
  rounds: number;
  /** Node's own start-up (process start to the first line of user code), median over every probe. */
  nodeStartMs: number;
  cases: Record<string, CaseFigures>;
  sharp?: {
    addonMs: number;
    sharpMs: number;
    functions: Record<string, { totalMs: number; withoutSharpMs: number; sharpShareMs: number }>;
  };
  compileCache: Record<string, { coldMs: number; cachedMs: number; compileShare: number }>;
  /**
   * The API functions' import in the project's packaging and in the alternatives (same code, minified, SDK
   * bundled); a ratio above 1 means the alternative is slower.
   */
  packaging: Record<
    string,
    {
      projectMs: number;
      esmModuleScopeMs: number;
      cjsMs: number;
      esmModuleScopeOverProject: number;
      cjsOverProject: number;
    }
  >;
}

async function probe(c: ProbeCase): Promise<ProbeResult> {
  const { stdout } = await run(
    process.execPath,
    // The local runtime starts instances with these flags; the heap limit is the API functions' memory.
    ['--disable-warning=ExperimentalWarning', '--max-old-space-size=512', PROBE.pathname, ...c.args],
    { env: { PATH: process.env.PATH ?? '', ...c.env }, maxBuffer: 1024 * 1024 },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ProbeResult;
}

/** The other packagings the project's is measured against: the same code and settings but for the format. */
const ALTERNATIVES = {
  /** esbuild's plain ESM output: the bundle's bindings at module scope. */
  esmModuleScope: { extension: '.mjs', format: 'esm' },
  /** CommonJS, as NodejsFunction builds when asked for CJS. */
  cjs: { extension: '.cjs', format: 'cjs' },
} as const;

type Alternative = keyof typeof ALTERNATIVES;

/** One API function in an alternative packaging: the project's esbuild options with another format. */
async function buildAlternative(
  fn: BenchFunction,
  alternative: Alternative,
  root: string,
  outdir: string,
): Promise<string> {
  const { options } = esbuildOptionsFor(bundlingOptions({ name: fn.label, usesSharp: false }));
  const { extension, format } = ALTERNATIVES[alternative];
  const file = join(outdir, `${alternative}${extension}`);
  const result = await build({
    ...options,
    format,
    // Only the project's format has a function scope to export from.
    globalName: undefined,
    footer: {},
    banner: format === 'esm' ? options.banner : {},
    entryPoints: [join(root, fn.entry)],
    write: false,
    outfile: file,
    bundle: true,
    logLevel: 'error',
    absWorkingDir: root,
  });
  mkdirSync(outdir, { recursive: true });
  writeFileSync(file, result.outputFiles?.[0]?.contents ?? new Uint8Array());
  return file;
}

/**
 * Runs the profile for the given functions (the optimized ones and the floor; naive copies are compared
 * through the Lambda API instead). `progress` is told after every probe.
 */
export async function profileInit(
  functions: readonly BenchFunction[],
  options: { root: string; rounds: number; region: string; progress: (done: number, total: number) => void },
): Promise<InitProfile> {
  const { root, rounds } = options;
  const profiled = functions.filter((fn) => fn.kind !== 'naive');
  const local: LocalFunction[] = profiled.map((fn) => ({
    logicalId: fn.logicalId,
    name: fn.name,
    label: fn.label,
    arn: '',
    entry: fn.entry,
    handlerExport: 'handler',
    environment: fn.environment,
    timeoutSeconds: 30,
    memoryMb: fn.memoryMb,
    runtime: 'nodejs24.x',
    architecture: 'arm64',
  }));
  const built = await buildForHost(local, root);
  const scratch = mkdtempSync(join(tmpdir(), 'pictura-init-profile-'));
  try {
    const cases: ProbeCase[] = [];
    const envOf = (fn: BenchFunction) => ({
      ...fn.environment,
      AWS_REGION: options.region,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    });
    const sharpFunctions = profiled.filter((fn) => fn.kind === 'sharp');
    const cacheDirs = new Map<string, string>();
    for (const [i, fn] of profiled.entries()) {
      const url = pathToFileURL(built[i]?.entry ?? '').href;
      cases.push({ id: fn.label, args: [url], env: envOf(fn) });
      if (fn.kind === 'sharp') {
        cases.push({ id: `${fn.label} after sharp`, args: [url, '--preload-sharp'], env: envOf(fn) });
      }
      if (fn.kind === 'api' || fn.kind === 'sharp') {
        const dir = join(scratch, `compile-cache-${fn.label}`);
        cacheDirs.set(fn.label, dir);
        cases.push({
          id: `${fn.label} compile-cached`,
          args: [url],
          env: { ...envOf(fn), NODE_COMPILE_CACHE: dir },
        });
      }
      if (fn.kind === 'api') {
        const outdir = join(root, 'node_modules', '.cache', 'pictura-bench', fn.label);
        for (const alternative of Object.keys(ALTERNATIVES) as Alternative[]) {
          const file = await buildAlternative(fn, alternative, root, outdir);
          cases.push({ id: `${fn.label} ${alternative}`, args: [pathToFileURL(file).href], env: envOf(fn) });
        }
      }
    }
    if (sharpFunctions.length > 0) {
      cases.push({ id: 'sharp-addon', args: ['sharp-addon'], env: {} });
      cases.push({ id: 'sharp', args: ['sharp'], env: {} });
    }

    // Prime each compile cache once (Node writes it when the process exits); later imports read it.
    for (const c of cases.filter((c) => c.env.NODE_COMPILE_CACHE)) await probe(c);

    const results = new Map<string, ProbeResult[]>(cases.map((c) => [c.id, []]));
    const total = rounds * cases.length;
    let done = 0;
    for (let r = 0; r < rounds; r += 1) {
      // Rotate the order each round so that no case always runs first, or always right after another.
      const order = cases.map((_, i) => cases[(i + r) % cases.length] as ProbeCase);
      for (const c of order) {
        results.get(c.id)?.push(await probe(c));
        done += 1;
        options.progress(done, total);
      }
    }

    const figures: Record<string, CaseFigures> = {};
    for (const [id, list] of results) {
      figures[id] = {
        importMs: round(median(list.map((x) => x.importMs))),
        bootMs: round(median(list.map((x) => x.bootMs))),
        samples: list.length,
      };
    }
    const fig = (id: string): number => figures[id]?.importMs ?? Number.NaN;
    const profile: InitProfile = {
      rounds,
      nodeStartMs: round(median([...results.values()].flat().map((x) => x.bootMs))),
      cases: figures,
      compileCache: {},
      packaging: {},
    };
    if (sharpFunctions.length > 0) {
      profile.sharp = {
        addonMs: fig('sharp-addon'),
        sharpMs: fig('sharp'),
        functions: Object.fromEntries(
          sharpFunctions.map((fn) => [
            fn.label,
            {
              totalMs: fig(fn.label),
              withoutSharpMs: fig(`${fn.label} after sharp`),
              sharpShareMs: round(fig(fn.label) - fig(`${fn.label} after sharp`)),
            },
          ]),
        ),
      };
    }
    for (const label of cacheDirs.keys()) {
      const coldMs = fig(label);
      const cachedMs = fig(`${label} compile-cached`);
      profile.compileCache[label] = {
        coldMs,
        cachedMs,
        compileShare: Math.round(((coldMs - cachedMs) / coldMs) * 100) / 100,
      };
    }
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    for (const fn of profiled.filter((f) => f.kind === 'api')) {
      const projectMs = fig(fn.label);
      const esmModuleScopeMs = fig(`${fn.label} esmModuleScope`);
      const cjsMs = fig(`${fn.label} cjs`);
      profile.packaging[fn.label] = {
        projectMs,
        esmModuleScopeMs,
        cjsMs,
        esmModuleScopeOverProject: ratio(esmModuleScopeMs, projectMs),
        cjsOverProject: ratio(cjsMs, projectMs),
      };
    }
    return profile;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
