/**
 * The CLI's exit codes and the one error type that carries one. Every failure the CLI reports ends as a
 * {@link CliError}: one line on stderr, and its exit code.
 */

/** Documented exit codes (README "Command-line client", `pictura --help`). */
export const EXIT = Object.freeze({
  /** Everything asked for was done (every upload ready, with `--wait`). */
  ok: 0,
  /** Some files were rejected or failed, or an image was not found. */
  someFailed: 1,
  /** Bad usage: unknown flag, bad value, missing or unreadable file, no endpoint. */
  usage: 2,
  /** The API refused the API key (401/403), or none was given where one is needed. */
  auth: 3,
  /** The endpoint could not be reached (connection refused, DNS, timeout). */
  unreachable: 4,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure reported to the user as one line, with the exit code it maps to. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;
  /** The API's problem `code` (RFC 9457 extension member), when the API sent one. */
  readonly code: string | undefined;

  constructor(message: string, exitCode: ExitCode, code?: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The help text's exit code table, kept beside the codes so the two cannot drift. */
export const EXIT_CODES_HELP = `Exit codes:
  0  all done (with --wait: every image ready)
  1  some files rejected or failed, or an image not found
  2  usage: unknown flag, bad value, unreadable file, no endpoint
  3  authentication: the API refused the key (401/403) or none was given
  4  unreachable: connection refused, DNS failure or timeout`;
