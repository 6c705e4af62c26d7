import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What a run of the AWS CLI gave: its exit code (0 on success) and its output. */
export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AwsCliOptions {
  /** The emulator's URL, passed as `--endpoint-url`. */
  endpoint: string;
  /**
   * `AWS_MAX_ATTEMPTS` (https://docs.aws.amazon.com/cli/v1/userguide/cli-configure-retries.html). Unset, the
   * CLI retries as it does against AWS: leave it unset where a test asserts how many requests the CLI sends.
   */
  maxAttempts?: number;
  /** Throw (with the CLI's stderr) when it exits non-zero, for runs a test needs to succeed. */
  check?: boolean;
  timeoutMs?: number;
}

/**
 * Runs the AWS CLI (`aws <args> --endpoint-url <endpoint> --output json`) as a client on this machine would,
 * but isolated: a fresh HOME with no config or credentials files, so the user's ~/.aws (profiles, region,
 * retry settings, real keys) never reaches the emulator; only PATH is taken from this process. It signs with
 * the test credentials in us-east-1.
 *
 * @returns `{code, stdout, stderr}`; a refusal is a non-zero `code`, never a throw unless `check` is set.
 */
export async function awsCli(args: string[], options: AwsCliOptions): Promise<AwsCliResult> {
  const home = await mkdtemp(join(tmpdir(), 'pictura-aws-cli-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
  };
  if (options.maxAttempts !== undefined) env.AWS_MAX_ATTEMPTS = String(options.maxAttempts);
  const argv = ['--endpoint-url', options.endpoint, '--output', 'json', ...args];
  let result: AwsCliResult;
  try {
    const { stdout, stderr } = await run('aws', argv, { env, timeout: options.timeoutMs ?? 60_000 });
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    // `code` is the exit code, or a string such as ENOENT when the CLI could not be started at all.
    const code = typeof failed.code === 'number' ? failed.code : -1;
    result = { code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
  if (options.check && result.code !== 0) {
    throw new Error(`aws ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return result;
}
