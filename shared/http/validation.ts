import * as z from 'zod/mini';
import { BadRequestError, echoNames } from '../errors.ts';

/** How a failed parse is reported: the problem `code`, and the `detail` per top-level field. */
export interface ValidationProblem {
  /** The 400's `code` (`INVALID_BODY`, `INVALID_LIMIT`…), or one per top-level field. */
  code: string | Readonly<Record<string, string>>;
  /** The detail for an issue of a top-level field; fields not listed get `fallback`. */
  details: Readonly<Record<string, string>>;
  /** The detail when the value is not an object at all, or a field has no entry in `details`. */
  fallback: string;
}

/**
 * Parses `input` with one of the API's schemas (shared/api/schemas.ts): the parsed value, or a
 * `BadRequestError` (400) whose code and detail come from `problem`. Details are fixed sentences per field,
 * never zod's messages, which may quote the input; unknown fields (a strict object's
 * `unrecognized_keys`) are named through `echoNames`, bounded (issue 12: no amplification).
 */
export function parseOrThrow<T extends z.ZodMiniType>(
  schema: T,
  input: unknown,
  problem: ValidationProblem,
): z.output<T> {
  const result = z.safeParse(schema, input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? String(issue.path[0]) : undefined;
  const code =
    typeof problem.code === 'string'
      ? problem.code
      : ((field && problem.code[field]) ?? Object.values(problem.code)[0] ?? 'INVALID_REQUEST');
  if (issue?.code === 'unrecognized_keys') {
    throw new BadRequestError(code, `unknown field(s): ${echoNames(issue.keys)}`);
  }
  throw new BadRequestError(code, (field && problem.details[field]) || problem.fallback);
}
