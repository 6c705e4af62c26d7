import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Format, type Metafile } from 'esbuild';
import { packagingOptions } from '#infra/bundling.ts';
import type { LocalFunction } from '../template/stack-model.ts';

/** One function's bundle for this host, in memory. */
export interface HostBundle {
  code: Uint8Array;
  /** `.mjs` for the project's ES modules, `.cjs` for the naive CommonJS baselines. */
  extension: '.mjs' | '.cjs';
  /** esbuild's metafile (what went into the bundle), when asked for. */
  metafile?: Metafile;
}

/** A string-valued esbuild CLI argument from NodejsFunction's `esbuildArgs`, as esbuild would read it. */
function cliArgument(bundling: BundlingOptions, name: string): string | undefined {
  const value = bundling.esbuildArgs?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The esbuild options a Lambda asset is built with, read from the same `BundlingOptions` NodejsFunction
 * turns into its esbuild command: the file is named by `format` (`.mjs` for ESM, as NodejsFunction names
 * it), and `esbuildArgs` apply last, as they do on its command line.
 */
export function esbuildOptionsFor(bundling: BundlingOptions): {
  extension: HostBundle['extension'];
  options: BuildOptions;
} {
  const cjs = bundling.format === OutputFormat.CJS;
  const format = (cliArgument(bundling, '--format') ?? (cjs ? 'cjs' : 'esm')) as Format;
  const globalName = cliArgument(bundling, '--global-name');
  // `--alias` as NodejsFunction passes it (`--alias:package=path`, the path relative to the project root).
  const [aliased, aliasPath] = cliArgument(bundling, '--alias')?.split('=') ?? [];
  return {
    extension: cjs ? '.cjs' : '.mjs',
    options: {
      platform: 'node',
      format,
      ...(globalName ? { globalName } : {}),
      target: bundling.target ?? 'node24',
      minify: bundling.minify ?? true,
      sourcemap: false,
      // Without main fields esbuild uses its own default, as NodejsFunction does (the naive baseline).
      ...(bundling.mainFields ? { mainFields: bundling.mainFields } : {}),
      banner: bundling.banner ? { js: bundling.banner } : {},
      footer: bundling.footer ? { js: bundling.footer } : {},
      external: ['sharp', ...(bundling.externalModules ?? [])],
      ...(aliased && aliasPath ? { alias: { [aliased]: aliasPath } } : {}),
    },
  };
}

/**
 * Builds one function for this host with the same esbuild settings as its Lambda asset (for the project's
 * packaging: an ES module with a function-scoped body, minified, the AWS SDK bundled, sharp external; for
 * the benchmark's naive baselines: CommonJS, unminified, `@aws-sdk/*` external) — so a local cold start
 * loads what Lambda loads. The output is deterministic: the bundle-size budgets test measures it.
 */
export async function bundleForHost(
  fn: Pick<LocalFunction, 'entry' | 'label' | 'packaging'>,
  root: string,
  options: { metafile?: boolean } = {},
): Promise<HostBundle> {
  const bundling = packagingOptions(fn.packaging ?? 'optimized', { name: fn.label, usesSharp: false });
  const { extension, options: esbuildOptions } = esbuildOptionsFor(bundling);
  const result = await build({
    ...esbuildOptions,
    entryPoints: [resolve(root, fn.entry)],
    write: false,
    outfile: join(root, 'out', `index${extension}`),
    bundle: true,
    logLevel: 'error',
    absWorkingDir: root,
    metafile: options.metafile ?? false,
  });
  return {
    code: result.outputFiles?.[0]?.contents ?? new Uint8Array(),
    extension,
    ...(result.metafile ? { metafile: result.metafile } : {}),
  };
}

/**
 * Builds each function for this host (see {@link bundleForHost}), except that sharp, and the SDK of a naive
 * baseline, resolve to the project's own `node_modules` instead of the linux-arm64 asset or the Lambda
 * runtime. Returns the functions with `entry` pointing at their bundles.
 */
export async function buildForHost(
  functions: readonly LocalFunction[],
  root: string,
): Promise<LocalFunction[]> {
  // Under node_modules so that `import 'sharp'` from a bundle resolves to the project's own sharp.
  const outdir = join(root, 'node_modules', '.cache', 'pictura-local', 'build');
  return Promise.all(
    functions.map(async (fn) => {
      const { code, extension } = await bundleForHost(fn, root);
      // Named by content and written by rename: several local clouds (parallel test files) can share the
      // folder without one importing a bundle another is halfway through writing.
      const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
      const outfile = join(outdir, fn.label, `index-${hash}${extension}`);
      if (!existsSync(outfile)) {
        mkdirSync(join(outdir, fn.label), { recursive: true });
        const temporary = `${outfile}.${process.pid}.tmp`;
        writeFileSync(temporary, code);
        renameSync(temporary, outfile);
      }
      return { ...fn, entry: outfile };
    }),
  );
}
