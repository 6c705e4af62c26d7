/**
 * What a change costs the API functions' cold start, measured against another commit on this machine:
 * bundle bytes, and the CPU time of importing the bundle in a fresh process (the module work of a cold
 * init). CPU time, not wall time: on a shared machine a wall-clock import waits for a CPU as long as the
 * load says, and differences of a few milliseconds drown. Rounds interleave base and current in a
 * rotating order; medians are reported. Written for issue 13 (the cost of the zod request schemas).
 *
 *   node bench/schema-cost.ts --base <commit> [--runs 80] [--function upload --function images]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '#infra/bundling.ts';
import { bundleForHost } from '#local/lambda/build.ts';
import { importCpuTimes } from './lib/import-cost.ts';
import { median } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    runs: { type: 'string', default: '80' },
    function: { type: 'string', multiple: true, default: ['upload', 'images'] },
  },
});
if (!values.base)
  throw new Error('usage: node bench/schema-cost.ts --base <commit> [--runs N] [--function NAME]…');

const work = mkdtempSync(join(tmpdir(), 'pictura-schema-cost-'));
const baseTree = join(work, 'base');
execFileSync('git', ['-C', REPO_ROOT, 'worktree', 'add', '--detach', baseTree, values.base], {
  stdio: 'ignore',
});
try {
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(baseTree, 'node_modules'));
  const files: Record<string, { file: string; bytes: number }> = {};
  for (const name of values.function) {
    for (const [tree, root] of [
      ['base', `${baseTree}/`],
      ['current', REPO_ROOT],
    ] as const) {
      const bundle = await bundleForHost({ entry: `functions/${name}/handler.ts`, label: name }, root);
      const file = join(work, `${tree}-${name}.mjs`);
      writeFileSync(file, bundle.code);
      files[`${name} ${tree}`] = { file, bytes: bundle.code.length };
    }
  }
  const cpu = importCpuTimes(
    Object.fromEntries(Object.entries(files).map(([id, f]) => [id, f.file])),
    Number(values.runs),
  );
  console.log(`base ${values.base}, ${values.runs} rounds; import CPU ms, medians`);
  for (const name of values.function) {
    const [base, current] = [files[`${name} base`], files[`${name} current`]];
    const [b, c] = [median(cpu[`${name} base`] ?? []), median(cpu[`${name} current`] ?? [])];
    console.log(
      `${name}: ${base?.bytes} → ${current?.bytes} bytes (${(current?.bytes ?? 0) - (base?.bytes ?? 0)}), ` +
        `import ${b.toFixed(1)} → ${c.toFixed(1)} ms CPU (${(c - b).toFixed(1)})`,
    );
  }
} finally {
  execFileSync('git', ['-C', REPO_ROOT, 'worktree', 'remove', '--force', baseTree], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
