/**
 * The part of CloudWatch Logs' filter pattern syntax the local `FilterLogEvents` understands
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
 * - empty (or only spaces): every event;
 * - terms: `ERROR timeout`, `"exact phrase"` — the event contains every term (case-sensitive);
 *   `?ERROR ?WARN` — it contains any of them;
 * - JSON: `{ $.imageId = "abc" }`, `{ $.attempt > 1 && $.step = "render" }`, with `=`, `!=` on strings
 *   (`*` a wildcard) and numbers, `<`, `<=`, `>`, `>=` on numbers, `IS TRUE`, `IS FALSE`, `IS NULL`,
 *   `NOT EXISTS`, `&&`, `||` and parentheses; a selector is `$` followed by `.name` and `[n]` parts.
 * Anything else (space-delimited `[a, b]` patterns, regular expressions, `-` exclusions) is refused with
 * {@link FilterPatternError} rather than matched wrongly.
 */

/** A pattern the subset cannot read; `FilterLogEvents` answers it `InvalidParameterException`. */
export class FilterPatternError extends Error {
  override name = 'FilterPatternError';
}

/** Whether a log event's message matches. */
export type Matcher = (message: string) => boolean;

/** Compiles `pattern` once; throws {@link FilterPatternError} for what the subset does not read. */
export function compileFilterPattern(pattern: string | undefined): Matcher {
  const text = (pattern ?? '').trim();
  if (text === '') return () => true;
  if (text.startsWith('{')) {
    if (!text.endsWith('}')) throw new FilterPatternError('Invalid filter pattern: unclosed {');
    const test = new JsonPatternParser(text.slice(1, -1)).parse();
    return (message) => {
      const value = parseJsonObject(message);
      return value !== undefined && test(value);
    };
  }
  if (text.startsWith('[') || text.startsWith('%'))
    throw new FilterPatternError(
      'Invalid filter pattern: space-delimited and regex patterns are not supported locally',
    );
  return termMatcher(text);
}

function termMatcher(text: string): Matcher {
  const terms = [...text.matchAll(/(\?)?(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({
    optional: m[1] === '?',
    quoted: m[2] !== undefined,
    term: m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''),
  }));
  if (terms.some((t) => !t.quoted && (t.term.startsWith('-') || t.term.includes('"'))))
    throw new FilterPatternError(
      'Invalid filter pattern: exclusions and stray quotes are not supported locally',
    );
  const any = terms.filter((t) => t.optional).map((t) => t.term);
  const all = terms.filter((t) => !t.optional).map((t) => t.term);
  if (any.length > 0 && all.length > 0)
    throw new FilterPatternError('Invalid filter pattern: mixes ?terms with plain terms');
  return any.length > 0
    ? (message) => any.some((term) => message.includes(term))
    : (message) => all.every((term) => message.includes(term));
}

/** The event as JSON when the whole message is a JSON object (what JSON patterns are tested against). */
function parseJsonObject(message: string): unknown {
  const text = message.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Test = (root: unknown) => boolean;
type Value = { kind: 'string'; value: string } | { kind: 'number'; value: number };

const TOKEN =
  /\s*(?:(\$(?:\.[A-Za-z_][\w-]*|\[\d+\])*)|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(&&|\|\||!=|<=|>=|=|<|>|\(|\))|(IS\s+TRUE|IS\s+FALSE|IS\s+NULL|NOT\s+EXISTS)|([^\s()=!<>&|"]+))/y;

/** A recursive-descent reader of the JSON pattern between the braces: `or := and (|| and)*`, etc. */
class JsonPatternParser {
  readonly #tokens: string[] = [];
  #at = 0;

  constructor(text: string) {
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < text.length) {
      const start = TOKEN.lastIndex;
      const match = TOKEN.exec(text);
      if (!match) {
        if (text.slice(start).trim() === '') break;
        throw new FilterPatternError(`Invalid filter pattern near: ${text.slice(start, start + 20)}`);
      }
      this.#tokens.push(
        (match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5] ?? match[6] ?? '').replace(/\s+/g, ' '),
      );
    }
  }

  parse(): Test {
    const test = this.#or();
    if (this.#at !== this.#tokens.length) this.#fail();
    return test;
  }

  #peek(): string | undefined {
    return this.#tokens[this.#at];
  }

  #next(): string {
    const token = this.#tokens[this.#at++];
    if (token === undefined) throw new FilterPatternError('Invalid filter pattern: ends too early');
    return token;
  }

  #fail(): never {
    throw new FilterPatternError(
      `Invalid filter pattern at: ${this.#tokens.slice(this.#at).join(' ') || 'the end'}`,
    );
  }

  #or(): Test {
    const parts = [this.#and()];
    while (this.#peek() === '||') {
      this.#at += 1;
      parts.push(this.#and());
    }
    return parts.length === 1 ? (parts[0] as Test) : (root) => parts.some((t) => t(root));
  }

  #and(): Test {
    const parts = [this.#primary()];
    while (this.#peek() === '&&') {
      this.#at += 1;
      parts.push(this.#primary());
    }
    return parts.length === 1 ? (parts[0] as Test) : (root) => parts.every((t) => t(root));
  }

  #primary(): Test {
    if (this.#peek() === '(') {
      this.#at += 1;
      const inner = this.#or();
      if (this.#next() !== ')') this.#fail();
      return inner;
    }
    const selector = this.#next();
    if (!selector.startsWith('$')) this.#fail();
    const path = selectorPath(selector);
    const operator = this.#next();
    if (operator === 'IS TRUE' || operator === 'IS FALSE') {
      const want = operator === 'IS TRUE';
      return (root) => select(root, path) === want;
    }
    if (operator === 'IS NULL') return (root) => select(root, path) === null;
    if (operator === 'NOT EXISTS') return (root) => select(root, path) === undefined;
    if (!['=', '!=', '<', '<=', '>', '>='].includes(operator)) this.#fail();
    return comparison(path, operator, this.#value());
  }

  #value(): Value {
    const token = this.#next();
    if (token.startsWith('"')) return { kind: 'string', value: unquote(token) };
    const number = Number(token);
    if (token !== '' && Number.isFinite(number)) return { kind: 'number', value: number };
    // An unquoted value is a string in CloudWatch's syntax (`{ $.level = ERROR }`).
    if (/^[\w.*:/-]+$/.test(token)) return { kind: 'string', value: token };
    this.#fail();
  }
}

/** A quoted value's text; an escape JSON does not know (`"\x"`, `"\u12"`) is the caller's mistake, not a server fault. */
function unquote(token: string): string {
  try {
    return JSON.parse(token) as string;
  } catch {
    throw new FilterPatternError(`Invalid filter pattern: bad escape in ${token.slice(0, 40)}`);
  }
}

function selectorPath(selector: string): Array<string | number> {
  return [...selector.slice(1).matchAll(/\.([A-Za-z_][\w-]*)|\[(\d+)\]/g)].map((m) =>
    m[1] !== undefined ? m[1] : Number(m[2]),
  );
}

function select(root: unknown, path: Array<string | number>): unknown {
  let current = root;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (typeof part === 'number' ? !Array.isArray(current) : Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

function comparison(path: Array<string | number>, operator: string, value: Value): Test {
  if (value.kind === 'string') {
    if (operator !== '=' && operator !== '!=')
      throw new FilterPatternError('Invalid filter pattern: < and > take numbers');
    const parts = value.value.split('*');
    // `!=` matches a present value that differs; like AWS, a missing field matches neither.
    return (root) => {
      const actual = select(root, path);
      if (typeof actual !== 'string') return false;
      return wildcardMatch(parts, actual) === (operator === '=');
    };
  }
  return (root) => {
    const actual = select(root, path);
    if (typeof actual !== 'number') return false;
    switch (operator) {
      case '=':
        return actual === value.value;
      case '!=':
        return actual !== value.value;
      case '<':
        return actual < value.value;
      case '<=':
        return actual <= value.value;
      case '>':
        return actual > value.value;
      default:
        return actual >= value.value;
    }
  };
}

/**
 * Whether `text` is the `*`-separated `parts` with anything between them: the first part a prefix, the last a
 * suffix, the others found in order (leftmost is enough for `*`), so the cost is linear, never a backtracking
 * regular expression's.
 */
function wildcardMatch(parts: string[], text: string): boolean {
  const first = parts[0] ?? '';
  if (parts.length === 1) return text === first;
  const last = parts[parts.length - 1] ?? '';
  if (text.length < first.length + last.length || !text.startsWith(first) || !text.endsWith(last))
    return false;
  let at = first.length;
  const end = text.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = text.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
