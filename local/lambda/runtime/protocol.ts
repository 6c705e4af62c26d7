/** Messages between the function runtime (parent) and one function instance (child process). */

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

export interface FunctionErrorShape {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

export interface InitErrorMessage {
  type: 'init-error';
  error: FunctionErrorShape;
}

export interface ResultMessage {
  type: 'result';
  requestId: string;
  durationMs: number;
  maxRssMb: number;
  result?: unknown;
  error?: FunctionErrorShape;
}

export type ChildMessage = ReadyMessage | InitErrorMessage | ResultMessage;

/** Shapes a thrown value the way the Lambda runtime reports function errors. */
export function errorShape(error: unknown): FunctionErrorShape {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    errorType: e.name,
    errorMessage: e.message,
    stackTrace: (e.stack ?? '')
      .split('\n')
      .slice(1)
      .map((l) => l.trim()),
  };
}
