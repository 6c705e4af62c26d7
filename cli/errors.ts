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
  /**
   * The endpoint answered, but not as the Pictura API does: a redirect, a body that is not JSON (an ordinary
   * web server's page), a document of the wrong shape, a body too large, a cursor that repeats.
   */
  badAnswer: 5,
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

/** Writes `doc` to stdout as the one JSON document `--json` promises (two-space indent, one newline). */
export function printJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/**
 * The `error` member of a `--json` report for the fatal error that stopped a run (`{error: {exitCode,
 * code, message}}`), or `{}` when there was none: spread into the report.
 */
export function errorJson(fatal?: CliError): {
  error?: { exitCode: ExitCode; code: string | undefined; message: string };
} {
  return fatal ? { error: { exitCode: fatal.exitCode, code: fatal.code, message: fatal.message } } : {};
}

/**
 * Text from outside (a file name, a server's message) made safe for one terminal line: control characters
 * (C0, DEL, C1, line and paragraph separators, bidi overrides) are written as `\u{…}` escapes, so a name
 * with a line break or an escape sequence cannot break or repaint the output.
 */
export function printable(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Zl}\p{Zp}\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`,
  );
}

/** The help text's exit code table, kept beside the codes so the two cannot drift. */
export const EXIT_CODES_HELP = `Exit codes:
  0  all done (with --wait: every image ready)
  1  some files rejected or failed, or an image not found
  2  usage: unknown flag, bad value (the API's 400 for a --cursor or --limit too), unreadable or
     empty file, malformed API key, no endpoint
  3  authentication: the API refused the key (401/403) or none was given
  4  unreachable: connection refused, DNS failure or timeout
  5  unexpected answer: a redirect, or not the Pictura API's JSON (wrong URL?)`;
