import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import type { CorsRule, LocalBucket } from '../template/stack-model.ts';

/** S3's refusal of a preflight no rule allows (403 `AccessForbidden`). */
const FORBIDDEN_MESSAGE =
  'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, ' +
  "request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

/** Whether `value` matches a CORS rule pattern: equal ignoring case, or around the pattern's one `*`. */
function wildcardMatches(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const [head, tail] = [p.slice(0, star), p.slice(star + 1)];
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/**
 * The first rule allowing `origin`, `method` and every one of `requestHeaders`, as S3 evaluates a bucket's
 * CORS configuration ("How does Amazon S3 evaluate the CORS configuration on a bucket?": the first rule
 * whose AllowedOrigins, AllowedMethods and AllowedHeaders all match).
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
 */
export function matchCorsRule(
  rules: CorsRule[],
  origin: string,
  method: string,
  requestHeaders: string[] = [],
): CorsRule | undefined {
  return rules.find(
    (rule) =>
      rule.allowedOrigins.some((allowed) => wildcardMatches(allowed, origin)) &&
      rule.allowedMethods.includes(method.toUpperCase()) &&
      requestHeaders.every((header) =>
        rule.allowedHeaders.some((allowed) => wildcardMatches(allowed, header)),
      ),
  );
}

/** The bucket a path-style request names (`/<bucket>` or `/<bucket>/<key>`), if it is one of `buckets`. */
function bucketOf(req: IncomingMessage, buckets: Map<string, CorsRule[]>): CorsRule[] | undefined {
  const name = (req.url ?? '/').split('?')[0]?.split('/')[1] ?? '';
  return buckets.get(name);
}

function preflight(req: IncomingMessage, res: ServerResponse, rules: CorsRule[], origin: string): void {
  const method = String(req.headers['access-control-request-method'] ?? '');
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((header) => header.trim())
    .filter(Boolean);
  const rule = matchCorsRule(rules, origin, method, requested);
  req.resume();
  if (!rule) {
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessForbidden</Code><Message>${FORBIDDEN_MESSAGE}</Message><Method>${method.replace(/[^A-Z]/gi, '')}</Method><ResourceType>OBJECT</ResourceType></Error>`,
    );
    return;
  }
  res.writeHead(200, {
    'access-control-allow-origin': rule.allowedOrigins.includes('*') ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    ...(requested.length > 0 ? { 'access-control-allow-headers': requested.join(', ') } : {}),
    ...(rule.exposedHeaders.length > 0
      ? { 'access-control-expose-headers': rule.exposedHeaders.join(', ') }
      : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'access-control-max-age': String(rule.maxAgeSeconds) } : {}),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    'content-length': '0',
  });
  res.end();
}

/**
 * The template's bucket CORS configurations on the AWS endpoint, which fauxqs does not implement: a
 * preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) to a bucket is answered as S3
 * answers it (200 with the matching rule's `Access-Control-Allow-*`, else 403 `AccessForbidden`); an actual
 * request with an `Origin` that a rule allows gets `Access-Control-Allow-Origin` (and the rule's
 * `Access-Control-Expose-Headers`) on fauxqs's answer. What lets the upload page post a presigned form
 * with upload progress (an XMLHttpRequest with upload listeners is always preflighted).
 * Requests from other sites are still refused before this (security/request-guards.ts).
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html and
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
 */
export function s3CorsRoute(buckets: LocalBucket[]): EdgeRoute {
  const byName = new Map(buckets.filter((b) => (b.cors ?? []).length > 0).map((b) => [b.name, b.cors ?? []]));
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin || req.headers['x-amz-target']) return false;
    const rules = bucketOf(req, byName);
    if (!rules) return false;
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      preflight(req, res, rules, origin);
      return true;
    }
    const rule = matchCorsRule(rules, origin, req.method ?? 'GET');
    if (rule) {
      res.setHeader('access-control-allow-origin', rule.allowedOrigins.includes('*') ? '*' : origin);
      if (rule.exposedHeaders.length > 0)
        res.setHeader('access-control-expose-headers', rule.exposedHeaders.join(', '));
      res.setHeader('vary', 'Origin');
    }
    return false;
  };
}
