import { execFileSync } from 'node:child_process';

/** Imports a module and prints the CPU milliseconds it took (plain JavaScript: no type stripper loaded). */
const PROBE = `const c = process.cpuUsage(); await import(process.argv[1]); const u = process.cpuUsage(c);
process.stdout.write(String((u.user + u.system) / 1000), () => process.exit(0));`;

/** Enough configuration for the API functions' cold-start `loadConfig()`; nothing is called. */
const ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  BUCKET_NAME: 'b',
  TABLE_NAME: 't',
  CDN_BASE_URL: 'http://cdn.test',
  PURGE_QUEUE_URL: 'http://sqs.test/q',
  POWERTOOLS_SERVICE_NAME: 'pictura',
};

/**
 * The CPU time (ms) of importing each bundle in a fresh Node.js process, `runs` times, the cases in a
 * rotating order so that they share the machine's noise (bench/schema-cost.ts, bench/observability-cost.ts).
 * CPU time, not wall time: on a shared machine a wall-clock import waits for a CPU as long as the load says.
 *
 * @param files case id → the bundle's path
 * @returns case id → one CPU time per round, in ms
 */
export function importCpuTimes(files: Record<string, string>, runs: number): Record<string, number[]> {
  const cases = Object.keys(files);
  const cpu: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c, []]));
  for (let round = 0; round < runs; round += 1) {
    const order = [...cases.slice(round % cases.length), ...cases.slice(0, round % cases.length)];
    for (const id of order) {
      const out = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', PROBE, `file://${files[id]}`],
        {
          env: ENV,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      cpu[id]?.push(Number(out.toString()));
    }
  }
  return cpu;
}
