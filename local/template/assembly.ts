import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TYPESCRIPT_CHILD_FLAGS } from '../node-flags.ts';

/** Inputs whose change makes a synthesized template stale (site/: the upload page's asset). */
const SOURCES = ['infra', 'site', 'package.json', 'cdk.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Whether `outdir` holds an assembly at least as new as the infra code. */
export function assemblyIsFresh(root: string, outdir: string): boolean {
  const manifest = join(outdir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  const built = statSync(manifest).mtimeMs;
  return SOURCES.every((source) => newestMtime(join(root, source)) <= built);
}

/**
 * Synthesizes the CDK app into `outdir` the way the CDK CLI does (the app reads `CDK_OUTDIR` and
 * `CDK_CONTEXT_JSON`), without asset bundling: the local cloud runs the functions' sources for this host, so
 * building the arm64 Lambda bundles would only cost time.
 */
export async function synthesize(
  root: string,
  outdir: string,
  context: Record<string, unknown> = {},
  app = 'infra/app.ts',
): Promise<void> {
  const child = spawn(process.execPath, [...TYPESCRIPT_CHILD_FLAGS, app], {
    cwd: root,
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`cdk synth failed (exit ${code}):\n${stderr}`);
}
