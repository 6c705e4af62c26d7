/** What the operator scripts (`npm run redrive`, `npm run trace`) share. */

/**
 * An error that ends an operator script (`npm run redrive`, `npm run trace`) with its documented exit code;
 * the script prints its message as one line and exits with `exitCode`.
 */
export class ExitError extends Error {
  override readonly name: string = 'ExitError';
  readonly exitCode: number;

  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * The options both operator scripts take to pick what they talk to: the local cloud (`--endpoint`, by default
 * the one `npm start` runs) or a deployed stack (`--target aws|localstack`, `--stack`, `--region`, which
 * defaults to the AWS CLI's variables). For `node:util` `parseArgs`.
 */
export const TARGET_OPTIONS = {
  target: { type: 'string', default: 'local' },
  endpoint: { type: 'string' },
  stack: { type: 'string', default: 'Pictura' },
  region: {
    type: 'string',
    default: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  },
} as const;
