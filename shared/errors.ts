/**
 * Typed errors. Every error the service raises on purpose is a {@link PicturaError}: it carries the HTTP
 * status it maps to and a stable UPPER_SNAKE `code` that clients can branch on. The original cause is kept
 * (`cause`) so logs show the whole chain while responses show only what is safe.
 */
export class PicturaError extends Error {
  /**
   * The class's name, spelled out in every class: the bundles are minified, which renames classes, and
   * logs would otherwise name an error `Mh`.
   */
  override readonly name: string = 'PicturaError';
  /** HTTP status this error maps to. */
  readonly statusCode: number;
  /** Stable, machine-readable identifier (UPPER_SNAKE). Never changes once published. */
  readonly code: string;
  /** Short, human-readable summary of the problem type (RFC 9457 `title`). */
  readonly title: string;
  /** Whether the message may be shown to the client; middy's http-error-handler reads this. */
  readonly expose: boolean;

  constructor(statusCode: number, code: string, title: string, detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.statusCode = statusCode;
    this.code = code;
    this.title = title;
    this.expose = statusCode < 500;
  }
}

/** 400: the request is malformed (bad JSON, wrong types, bad query parameters). */
export class BadRequestError extends PicturaError {
  override readonly name: string = 'BadRequestError';
  constructor(code: string, detail: string, options?: ErrorOptions) {
    super(400, code, 'Bad request', detail, options);
  }
}

/** 401: no usable credential was presented. */
export class UnauthorizedError extends PicturaError {
  override readonly name: string = 'UnauthorizedError';
  constructor(code: string, detail: string) {
    super(401, code, 'Unauthorized', detail);
  }
}

/** 403: a credential was presented but it does not grant this action. */
export class ForbiddenError extends PicturaError {
  override readonly name: string = 'ForbiddenError';
  constructor(code: string, detail: string) {
    super(403, code, 'Forbidden', detail);
  }
}

/** 404: unknown, deleted, or not visible to the caller (existence is never leaked). */
export class NotFoundError extends PicturaError {
  override readonly name: string = 'NotFoundError';
  constructor(code: string, detail: string) {
    super(404, code, 'Not found', detail);
  }
}

/** 413: the declared or actual payload is over a limit. */
export class PayloadTooLargeError extends PicturaError {
  override readonly name: string = 'PayloadTooLargeError';
  constructor(code: string, detail: string) {
    super(413, code, 'Payload too large', detail);
  }
}

/** 415: the media type is not one the service accepts. */
export class UnsupportedMediaTypeError extends PicturaError {
  override readonly name: string = 'UnsupportedMediaTypeError';
  constructor(code: string, detail: string) {
    super(415, code, 'Unsupported media type', detail);
  }
}

/** Raised at cold start when the environment is not a valid configuration. */
export class ConfigError extends PicturaError {
  override readonly name: string = 'ConfigError';
  constructor(detail: string) {
    super(500, 'INVALID_CONFIGURATION', 'Invalid configuration', detail);
  }
}

/**
 * An input that can never succeed, however often it is retried: a queue message that does not parse, or
 * a file that is not an acceptable image. Consumers park these instead of burning retries.
 */
export class PermanentError extends PicturaError {
  override readonly name: string = 'PermanentError';
  constructor(code: string, detail: string, options?: ErrorOptions) {
    super(422, code, 'Unprocessable input', detail, options);
  }
}

/** A file that is not an acceptable image. `code` becomes the image's `rejection.code`. */
export class ImageRejectedError extends PermanentError {
  override readonly name: string = 'ImageRejectedError';
}

/** A queue message whose body is not what the consumer expects. */
export class MalformedMessageError extends PermanentError {
  override readonly name: string = 'MalformedMessageError';
  constructor(detail: string, options?: ErrorOptions) {
    super('MALFORMED_MESSAGE', detail, options);
  }
}

/** Names echoed at most in a problem's detail, and characters kept of each (issue 12: no amplification). */
const ECHO_LIMITS = { names: 10, chars: 64 } as const;

/**
 * A bounded, printable rendering of client-sent names for a problem's detail: the first
 * {@link ECHO_LIMITS}.names, each cut to {@link ECHO_LIMITS}.chars characters without control characters,
 * and how many were left out. A 5 MB list of unknown fields becomes a few hundred bytes.
 */
export function echoNames(names: readonly string[]): string {
  const shown = names
    .slice(0, ECHO_LIMITS.names)
    .map((name) => JSON.stringify(name.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, ECHO_LIMITS.chars)));
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

/** RFC 9457 problem details, with the service's stable `code` extension member. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

const PROBLEM_TYPE_BASE = 'https://pictura.dev/problems/';

/**
 * Renders any thrown value as problem details. Errors that are not exposable (5xx, or foreign errors) are
 * reduced to a generic 500 so internals never reach the client.
 */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof PicturaError && error.expose) {
    return {
      type: `${PROBLEM_TYPE_BASE}${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.title,
      status: error.statusCode,
      detail: error.message,
      code: error.code,
    };
  }
  return {
    type: `${PROBLEM_TYPE_BASE}internal-error`,
    title: 'Internal server error',
    status: 500,
    detail: 'An unexpected error occurred. It has been logged.',
    code: 'INTERNAL_ERROR',
  };
}
