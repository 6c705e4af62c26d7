import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bundlingOptions } from '#infra/bundling.ts';
import type { LocalFunction } from './stack-model.ts';

/**
 * Builds each function for this host with the same esbuild settings as its Lambda asset (ESM, minified,
 * the AWS SDK bundled, sharp external) — so a local cold start loads what Lambda loads — except that sharp
 * resolves to the host's own build in `node_modules` instead of the linux-arm64 one in the asset.
 * Returns the functions with `entry` pointing at their bundles.
 */
export async function buildForHost(
  functions: readonly LocalFunction[],
  root: string,
): Promise<LocalFunction[]> {
  // Under node_modules so that `import 'sharp'` from a bundle resolves to the project's own sharp.
  const outdir = join(root, 'node_modules', '.cache', 'pictura-local', 'build');
  return Promise.all(
    functions.map(async (fn) => {
      const options = bundlingOptions({ name: fn.label, usesSharp: false });
      const result = await build({
        entryPoints: [resolve(root, fn.entry)],
        write: false,
        outfile: join(outdir, fn.label, 'index.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: options.target ?? 'node24',
        minify: options.minify ?? true,
        sourcemap: false,
        mainFields: options.mainFields ?? ['module', 'main'],
        banner: options.banner ? { js: options.banner } : {},
        external: ['sharp'],
        logLevel: 'error',
        absWorkingDir: root,
      });
      const code = result.outputFiles?.[0]?.contents ?? new Uint8Array();
      // Named by content and written by rename: several local clouds (parallel test files) can share the
      // folder without one importing a bundle another is halfway through writing.
      const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
      const outfile = join(outdir, fn.label, `index-${hash}.mjs`);
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
