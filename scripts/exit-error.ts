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
