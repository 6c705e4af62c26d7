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

/** Imports a module and prints the CPU milliseconds it took (plain JavaScript: no type stripper loaded). */
const PROBE = `const c = process.cpuUsage(); await import(process.argv[1]); const u = process.cpuUsage(c);
process.stdout.write(String((u.user + u.system) / 1000), () => process.exit(0));`;
/** Enough configuration for the functions' cold-start `loadConfig()`; nothing is called. */
const ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  BUCKET_NAME: 'b',
  TABLE_NAME: 't',
  CDN_BASE_URL: 'http://cdn.test',
  PURGE_QUEUE_URL: 'http://sqs.test/q',
};

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
  const cases = Object.keys(files);
  const cpu: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c, []]));
  for (let round = 0; round < Number(values.runs); round += 1) {
    const order = [...cases.slice(round % cases.length), ...cases.slice(0, round % cases.length)];
    for (const id of order) {
      const out = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', PROBE, `file://${files[id]?.file}`],
        {
          env: ENV,
        },
      );
      cpu[id]?.push(Number(out.toString()));
    }
  }
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
