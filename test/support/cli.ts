import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from './local-cloud.ts';

/** The `pictura` entry (package.json `bin`), run as a user runs it. */
export const CLI = join(ROOT, 'cli', 'pictura.js');

/** What one CLI run gave: its exit code, both streams, and how long it took (ms). */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliRunOptions {
  /** Working directory, also `HOME`, so that nothing of the developer's own home is read. */
  cwd: string;
  /** The discovery file the CLI may read (a path that does not exist keeps a running `npm start` out). */
  discovery: string;
  env?: Record<string, string>;
  /** A shell prefix such as `ulimit -n 64;`: the CLI is then started through bash. */
  shell?: string;
}

/**
 * Runs the CLI as a child process with `args` and a minimal environment (asynchronously: a local cloud
 * answering it may live in the calling process).
 */
export function runCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  const started = Date.now();
  const { shell } = options;
  const command = shell ? '/bin/bash' : process.execPath;
  const argv = shell ? ['-c', `${shell} "$0" "$@"`, process.execPath, CLI, ...args] : [CLI, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: options.cwd,
        PICTURA_LOCAL_DISCOVERY: options.discovery,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/**
 * One line on stderr, as a user reads it when something goes wrong: it starts `pictura: `, carries no stack
 * trace, and matches `pattern` when one is given.
 */
export function expectOneLine(stderr: string, pattern?: RegExp): void {
  expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
  expect(stderr).toMatch(/^pictura: /);
  expect(stderr).not.toMatch(/TypeError|at .*\.ts:\d+/);
  if (pattern) expect(stderr).toMatch(pattern);
}
