import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = resolve('scripts/require-node.cjs');

/** Runs the guard in a copy of the project folder as if Node were `version` (`process.versions` is writable). */
async function guard(version: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const preload = `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });`;
  const script = join(cwd, 'scripts', 'require-node.cjs');
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['-e', `${preload} require(${JSON.stringify(script)})`, '--', ...args],
      { env: { PATH: process.env.PATH, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function projectCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pictura-require-node-'));
  await mkdir(join(dir, 'scripts'));
  await copyFile(SCRIPT, join(dir, 'scripts', 'require-node.cjs'));
  // What `npm ci` has unpacked by the time npm runs the root package's preinstall.
  await mkdir(join(dir, 'node_modules', 'sharp'), { recursive: true });
  await writeFile(join(dir, 'node_modules', 'sharp', 'package.json'), '{}');
  return dir;
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

describe('scripts/require-node.cjs (npm ci preinstall, npm start)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it.each(['20.19.0', '22.11.0', '18.20.4', '21.99.0'])(
    'refuses Node %s with one line naming the version and how to get it',
    async (version) => {
      const dir = await projectCopy();
      dirs.push(dir);
      const result = await guard(version, ['--clean'], dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('Node.js >= 22.12 is required');
      expect(lines[0]).toContain(`this is v${version}`);
      expect(lines[0]).toMatch(/https:\/\/nodejs\.org|nvm install/);
      // Nothing half-installed: the dependencies npm unpacked before the preinstall are gone.
      expect(await exists(join(dir, 'node_modules'))).toBe(false);
    },
  );

  it.each(['22.12.0', '22.18.1', '24.0.0', '26.1.0'])(
    'lets Node %s through and touches nothing',
    async (version) => {
      const dir = await projectCopy();
      dirs.push(dir);
      const result = await guard(version, ['--clean'], dir);
      expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(await exists(join(dir, 'node_modules', 'sharp', 'package.json'))).toBe(true);
    },
  );

  it('without --clean (npm start) leaves node_modules alone even on an old Node', async () => {
    const dir = await projectCopy();
    dirs.push(dir);
    expect((await guard('20.0.0', [], dir)).code).toBe(1);
    expect(await exists(join(dir, 'node_modules', 'sharp'))).toBe(true);
  });

  it('under `npx pictura` (npm links the project into its cache, npm_command=exec) removes nothing and lets the CLI speak', async () => {
    const dir = await projectCopy();
    dirs.push(dir);
    const result = await guard('20.19.0', ['--clean'], dir, { npm_command: 'exec' });
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await exists(join(dir, 'node_modules', 'sharp', 'package.json'))).toBe(true);
    // The same old Node under `npm ci` is refused and cleaned.
    expect((await guard('20.19.0', ['--clean'], dir, { npm_command: 'ci' })).code).toBe(1);
    expect(await exists(join(dir, 'node_modules'))).toBe(false);
  });

  it('is what npm ci and npm start run first', async () => {
    const { scripts, engines } = JSON.parse(await readFile('package.json', 'utf8'));
    expect(scripts.preinstall).toBe('node scripts/require-node.cjs --clean');
    expect(scripts.postinstall).toBe('node scripts/postinstall.cjs');
    expect(scripts.start).toMatch(/^node scripts\/require-node\.cjs && node /);
    // The guard and the engines field name the same version.
    expect(engines.node).toBe('>=22.12');
  });
});
