/** Messages between the function runtime (parent) and one function instance (child process). */
import { format } from 'node:util';

export interface InvokeMessage {
  type: 'invoke';
  requestId: string;
  event: unknown;
  deadlineMs: number;
}

export interface ReadyMessage {
  type: 'ready';
  initMs: number;
}

/**
 * A function error as the Lambda API returns it in the `Invoke` payload. The Node.js runtime sends
 * `{errorType, errorMessage, trace}`, `trace` being the whole stack split into lines (its first line is
 * `Name: message`): `formatError` in aws-lambda-nodejs-runtime-interface-client `src/utils/error.ts`, and
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html. Errors Lambda itself reports
 * (`Sandbox.Timedout`, `Runtime.ExitError`) carry no `trace`.
 */
export interface FunctionErrorShape {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface InitErrorMessage {
  type: 'init-error';
  error: FunctionErrorShape;
  /** The runtime's log line for it (see `errorLogLine`). */
  logLine: string;
}

export interface ResultMessage {
  type: 'result';
  requestId: string;
  durationMs: number;
  maxRssMb: number;
  result?: unknown;
  error?: FunctionErrorShape;
  /** The runtime's `Invoke Error` log line, sent with the result so the tail log always has it. */
  logLine?: string;
}

export type ChildMessage = ReadyMessage | InitErrorMessage | ResultMessage;

/**
 * The line an instance prints on stdout and on stderr after an invocation's own output and before it sends
 * the result. Output and result travel on different pipes, so the result can overtake the last lines; the
 * runtime holds the result until both markers have arrived, so that the function's lines precede `END` as on
 * Lambda. Starts with a NUL, which a function's log line does not.
 */
export function outputEndMarker(requestId: string): string {
  return `\u0000pictura-output-end ${requestId}`;
}

/** Shapes a thrown value as the Node.js runtime reports it to Lambda (`formatError`, see above). */
export function errorShape(error: unknown): FunctionErrorShape {
  try {
    if (error instanceof Error) {
      // The runtime replaces DEL (0x7F), which the Runtime API refuses in headers, with `%7F`.
      const clean = (text: string | undefined) => (text ?? '').replaceAll('\x7F', '%7F');
      return {
        errorType: clean(error.name),
        errorMessage: clean(error.message),
        trace: error.stack ? clean(error.stack).split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

/**
 * The line the Node.js runtime logs for a failed invocation or init, in its text log format:
 * `<ISO time>\t<request id>\tERROR\t<label> \t<error as JSON>`, newlines turned into `\r` so the entry stays
 * one line. From aws-lambda-nodejs-runtime-interface-client: `LifecycleManager.fail` logs
 * `structuredConsole.logError("Invoke Error", error)`, which is `console.error(label, toFormatted(error))`;
 * `toFormatted` is a tab and the JSON of `{errorType, errorMessage, code, ...own properties, stack: lines}`
 * (`src/utils/error.ts`); the text formatter joins time, request id, level and `util.format(...)` with tabs
 * (`src/logging/formatter.ts`, `stdout-logger.ts`). Outside an invocation the request id is `undefined`.
 */
export function errorLogLine(label: string, error: unknown, requestId: string | undefined): string {
  const e = error instanceof Error ? error : new Error(String(error));
  let json: string;
  try {
    json = JSON.stringify(e, (_key, value) => withEnumerableProperties(value));
  } catch {
    json = JSON.stringify(errorShape(e));
  }
  const line = [new Date().toISOString(), String(requestId), 'ERROR', format(label, `\t${json}`)].join('\t');
  return line.replace(/\n/g, '\r');
}

function withEnumerableProperties(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const shaped: Record<string, unknown> = {
    errorType: value.name,
    errorMessage: value.message,
    code: (value as { code?: unknown }).code,
  };
  Object.assign(shaped, value);
  if (typeof value.stack === 'string') shaped.stack = value.stack.split('\n');
  return shaped;
}
