/** The request target as API Gateway hands it to a Lambda proxy integration. */
export interface RequestTarget {
  /**
   * The path as the client sent it, still percent-encoded: API Gateway (REST) neither decodes nor normalises
   * it, and `pathParameters` are cut from it (see {@link parseRequestTarget}).
   */
  path: string;
  /** Query string parameters, decoded, every value of a repeated name in order. */
  query: Record<string, string[]>;
}

/**
 * Splits an origin-form request target (`/v1/images/a%2Bb?x=1&x=2`) into the raw path and the decoded query.
 *
 * - The path stays percent-encoded, and `.`/`..` segments and doubled slashes are kept: a REST API hands
 *   `path` and `pathParameters` to the function undecoded. Recorded on AWS in LocalStack's
 *   tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json
 *   (`invocation-payload-with-path-encoded-email`: `/api/user/test%2Balias@gmail.com` reaches the function
 *   as is, in `path` and in `pathParameters.proxy`; `invocation-payload-with-double-slash` keeps `//`), and
 *   reported against AWS in https://github.com/serverless/serverless/issues/5037 (`/posts/%40` gives
 *   `pathParameters.id` `%40`). A malformed escape (`/v1/images/%`) is therefore no error here: it is routed
 *   and handed over like any other value.
 * - The query is decoded, `+` as a space, as recorded in the same snapshot
 *   (`invocation-payload-with-params-encoding`: `plus=test+alias@gmail.com` → `test alias@gmail.com`). A
 *   malformed escape in the query is kept literally rather than refused (WHATWG URLSearchParams decoding).
 *
 * Anything but an origin-form target (an absolute URL as sent to a forward proxy, `*`) gives `undefined`.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget | undefined {
  if (!target?.startsWith('/')) return undefined;
  const hash = target.indexOf('#');
  const withoutFragment = hash === -1 ? target : target.slice(0, hash);
  const mark = withoutFragment.indexOf('?');
  const path = mark === -1 ? withoutFragment : withoutFragment.slice(0, mark);
  // A Map, not an object literal: a parameter named `__proto__` must stay a parameter.
  const query = new Map<string, string[]>();
  if (mark !== -1) {
    for (const [name, value] of new URLSearchParams(withoutFragment.slice(mark + 1))) {
      const values = query.get(name);
      if (values) values.push(value);
      else query.set(name, [value]);
    }
  }
  return { path, query: Object.fromEntries(query) };
}
