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

/** The bucket and key a path-style request names (`/<bucket>` or `/<bucket>/<key>`). */
function target(req: IncomingMessage): { bucket: string; hasKey: boolean } {
  const [, bucket = '', ...key] = (req.url ?? '/').split('?')[0]?.split('/') ?? [];
  return { bucket, hasKey: key.join('/') !== '' };
}

/** S3's XML error document, with the extra elements its CORS refusals carry. */
function s3Error(res: ServerResponse, status: number, code: string, message: string, extra = ''): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>local</RequestId><HostId>local</HostId></Error>`,
  );
}

/**
 * The CORS headers S3 answers a request that `rule` allows, preflight or not, as recorded on AWS: the
 * origin (or `*` for a rule allowing any origin, then without credentials), the rule's methods, its max
 * age and exposed headers, and `Vary` on the three request headers.
 */
function corsHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const any = rule.allowedOrigins.includes('*');
  return {
    ...(any ? {} : { 'access-control-allow-credentials': 'true' }),
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    'access-control-allow-origin': any ? '*' : origin,
    ...(rule.exposedHeaders.length > 0
      ? { 'access-control-expose-headers': rule.exposedHeaders.join(', ') }
      : {}),
    ...(rule.maxAgeSeconds !== undefined ? { 'access-control-max-age': String(rule.maxAgeSeconds) } : {}),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
}

function preflight(req: IncomingMessage, res: ServerResponse, rules: CorsRule[]) {
  req.resume();
  const origin = req.headers.origin;
  const method = String(req.headers['access-control-request-method'] ?? 'OPTIONS').replace(/[^A-Za-z]/g, '');
  const resourceType = target(req).hasKey ? 'OBJECT' : 'BUCKET';
  const refused = (message: string) =>
    s3Error(
      res,
      403,
      'AccessForbidden',
      message,
      `<Method>${method}</Method><ResourceType>${resourceType}</ResourceType>`,
    );
  if (!origin)
    return s3Error(res, 400, 'BadRequest', 'Insufficient information. Origin request header needed.');
  if (rules.length === 0) return refused('CORSResponse: CORS is not enabled for this bucket.');
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((header) => header.trim().toLowerCase())
    .filter(Boolean);
  const rule = req.headers['access-control-request-method']
    ? matchCorsRule(rules, origin, method, requested)
    : undefined;
  if (!rule) return refused(FORBIDDEN_MESSAGE);
  res.writeHead(200, {
    ...corsHeaders(rule, origin),
    ...(requested.length > 0 ? { 'access-control-allow-headers': requested.join(', ') } : {}),
    'content-length': '0',
  });
  res.end();
}

/**
 * The template's bucket CORS configurations on the AWS endpoint, which fauxqs does not implement. An
 * `OPTIONS` request to one of the stack's buckets is answered as S3 answers it: 400 `BadRequest` without an
 * `Origin`, 403 `AccessForbidden` when the bucket has no CORS configuration or no rule allows the origin,
 * the `Access-Control-Request-Method` and every `Access-Control-Request-Headers`, else 200 with the rule's
 * `Access-Control-Allow-*`. Any other request with an `Origin` that a rule allows for its method gets the
 * same CORS headers on fauxqs's answer. This is what lets the upload page post a presigned form with upload
 * progress (an XMLHttpRequest with upload listeners is always preflighted). Requests from other sites are
 * refused before this (security/request-guards.ts).
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html, and the answers LocalStack
 * recorded on AWS in tests/aws/services/s3/test_s3_cors.snapshot.json.
 */
export function s3CorsRoute(buckets: LocalBucket[]): EdgeRoute {
  const byName = new Map(buckets.map((b) => [b.name, b.cors ?? []]));
  return (req, res) => {
    if (req.headers['x-amz-target']) return false;
    const rules = byName.get(target(req).bucket);
    if (!rules) return false;
    if (req.method === 'OPTIONS') {
      preflight(req, res, rules);
      return true;
    }
    const origin = req.headers.origin;
    const rule = origin && matchCorsRule(rules, origin, req.method ?? 'GET');
    if (origin && rule) {
      for (const [name, value] of Object.entries(corsHeaders(rule, origin))) res.setHeader(name, value);
    }
    return false;
  };
}
