import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '#local/cloud.ts';

/** The project root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A local cloud for one test file: free ports, in-memory state, fast retries, its own cloud assembly. */
export interface TestCloud extends LocalCloud {
  /** Function log lines, for diagnosing a failure. */
  logs: string[];
  apiKey: string;
  stop(): Promise<void>;
}

export async function startTestCloud(options: Partial<LocalCloudOptions> = {}): Promise<TestCloud> {
  const outdir = mkdtempSync(join(tmpdir(), 'pictura-assembly-'));
  const logs: string[] = [];
  const cloud = await startLocalCloud({
    root: ROOT,
    outdir,
    synth: true,
    ports: { aws: 0, api: 0, cdn: 0 },
    dataDir: undefined,
    // Template visibility timeouts are minutes (6× the consumer timeout); a retry test cannot wait that long.
    visibilityScale: 0.02,
    logSink: (fn, line) => logs.push(`${fn} ${line}`),
    log: (line) => logs.push(`local ${line}`),
    ...options,
  });
  return {
    ...cloud,
    logs,
    apiKey: cloud.apiKeys[0]?.value ?? '',
    async stop() {
      await cloud.close(10_000);
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The images bucket (originals and variants), as the functions are configured with it: the template also
 * has a log bucket, so "the first bucket" is not it.
 */
export function imagesBucket(cloud: Pick<LocalCloud, 'model'>): string {
  const upload = cloud.model.functions.find((fn) => fn.label === 'upload');
  const name = upload?.environment.BUCKET_NAME;
  if (!name) throw new Error('the template has no upload function with a BUCKET_NAME');
  return name;
}
