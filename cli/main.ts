/**
 * `pictura`: the command-line client of the Pictura API. Parses the command line (commander), finds the
 * endpoint and key (target.ts), runs one command (one file each) and exits with a documented code
 * (errors.ts). Every failure is one line on stderr.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ApiClient } from './client.ts';
import { CliError, EXIT, EXIT_CODES_HELP, type ExitCode } from './errors.ts';
import { infoCommand } from './info.ts';
import { type LsOptions, lsCommand } from './ls.ts';
import { rmCommand } from './rm.ts';
import { resolveTarget, type TargetOptions } from './target.ts';
import { type UploadOptions, uploadCommand } from './upload.ts';

interface GlobalOptions extends TargetOptions {
  json: boolean;
}

/** A parser for an integer option within [min, max]; anything else is a usage error (exit 2). */
function integer(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return value;
  };
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new InvalidArgumentError('expected a number of seconds > 0');
  return value;
}

const HELP_AFTER = `
Endpoint and key, first found:
  --endpoint / PICTURA_ENDPOINT, with --api-key / PICTURA_API_KEY
  --stack / PICTURA_STACK: the deployed stack's ApiUrl output (CloudFormation DescribeStacks, AWS
    credentials and region from the usual AWS settings); its key only from --api-key / PICTURA_API_KEY:
    aws apigateway get-api-key --api-key <ApiKeyId output> --include-value --query value --output text
  a running local cloud (npm start), found through its discovery file (0600), key included
Prefer PICTURA_API_KEY to --api-key: command lines are visible to other users in ps.

${EXIT_CODES_HELP}

Examples:
  pictura upload *.jpg --wait
  pictura upload photo.png notes.txt --wait --json
  pictura ls --all
  pictura info <id>
  pictura rm <id>`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `done` receives each command's exit code. */
type Done = (code: ExitCode) => void;

/** The client for a command: endpoint and key from its options (target.ts), and whether to print JSON. */
async function clientFor(command: Command): Promise<{ api: ApiClient; json: boolean }> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const target = await resolveTarget(options);
  const api = new ApiClient(target.endpoint, target.apiKey, { keyHint: target.keyHint, from: target.from });
  return { api, json: options.json };
}

/** The program itself: global options, help, one-line errors. */
function rootCommand(): Command {
  return (
    new Command('pictura')
      .description('Upload, list, inspect and delete images on a Pictura API.')
      .version(version())
      .option('--endpoint <url>', 'API base URL, e.g. http://localhost:3000 (env PICTURA_ENDPOINT)')
      .option('--api-key <key>', 'API key (env PICTURA_API_KEY)')
      .option('--stack <name>', 'deployed stack to read the endpoint from (env PICTURA_STACK)')
      .option('--region <region>', 'AWS region of --stack (default: AWS_REGION or your AWS config)')
      .option('--json', 'machine-readable output: one JSON document on stdout, no progress bars', false)
      .addHelpText('after', HELP_AFTER)
      // One line on stderr, like every other error of the CLI (commander adds "Did you mean …?" on a new line).
      .configureOutput({
        outputError: (text, write) =>
          write(
            `pictura: ${text
              .replace(/^error: /, '')
              .replace(/\s*\n\s*/g, ' ')
              .trim()} (see pictura --help)\n`,
          ),
      })
      .exitOverride()
  );
}

/** `pictura upload <files…>` (upload.ts). */
function addUpload(program: Command, done: Done): void {
  program
    .command('upload')
    .description('upload images (presigned POST), with a progress bar per file and overall')
    .argument('<files...>', 'image files')
    .addOption(
      new Option('-c, --concurrency <n>', 'files uploaded at once (1-32)')
        .argParser(integer(1, 32))
        .default(4),
    )
    .option(
      '-w, --wait',
      'wait until each image is ready, rejected or failed (exit 1 if any is not ready)',
      false,
    )
    .addOption(
      new Option('--timeout <seconds>', 'how long --wait waits for each image')
        .argParser(positiveSeconds)
        .default(300),
    )
    .action(async (files: string[], options: Omit<UploadOptions, 'json'>, command: Command) => {
      const { api, json } = await clientFor(command);
      done(await uploadCommand(api, files, { ...options, json }));
    });
}

/** `pictura ls` (ls.ts). */
function addLs(program: Command, done: Done): void {
  program
    .command('ls')
    .description("list the key's images, newest first")
    .addOption(
      new Option('-n, --limit <n>', 'images per page (1-100)').argParser(integer(1, 100)).default(20),
    )
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('-a, --all', 'follow every page', false)
    .action(async (options: Omit<LsOptions, 'json'>, command: Command) => {
      const { api, json } = await clientFor(command);
      done(await lsCommand(api, { ...options, json }));
    });
}

/** `pictura info <id>` and `pictura rm <ids…>` (info.ts, rm.ts). */
function addInfoAndRm(program: Command, done: Done): void {
  program
    .command('info')
    .description('show one image: status, original, variants and their URLs')
    .argument('<id>', 'image id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { api, json } = await clientFor(command);
      done(await infoCommand(api, id, { json }));
    });
  program
    .command('rm')
    .description('delete images uploaded with this key (the purge of objects and CDN cache follows)')
    .argument('<ids...>', 'image ids')
    .action(async (ids: string[], _options: unknown, command: Command) => {
      const { api, json } = await clientFor(command);
      done(await rmCommand(api, ids, { json }));
    });
}

/** The program; `done` receives each command's exit code. */
export function buildProgram(done: Done): Command {
  const program = rootCommand();
  addUpload(program, done);
  addLs(program, done);
  addInfoAndRm(program, done);
  return program;
}

/** Runs the CLI on `argv` (process.argv form) and resolves to its exit code; never throws. */
export async function main(argv: string[]): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  // `pictura ls | head`: the reader left; that is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(code);
  });
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (error) {
    if (error instanceof CommanderError)
      // Commander has printed its message; help and --version end with 0, every other parse error is usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      process.stderr.write(`pictura: ${error.message}\n`);
      return error.exitCode;
    }
    // A defect of the CLI: still one line (the stack only with PICTURA_DEBUG=1).
    const detail = process.env.PICTURA_DEBUG ? (error as Error).stack : String(error).split('\n')[0];
    process.stderr.write(`pictura: unexpected error: ${detail}\n`);
    return EXIT.someFailed;
  }
}
