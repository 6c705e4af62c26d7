import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalRateRule, LocalWafStatement, LocalWebAcl, WafField } from '../template/model/wafv2.ts';

/** What a statement inspects of a request: its method (as sent), URI path and headers (lower-case names). */
export interface WafRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

function fieldValue(request: WafRequest, field: WafField): string | undefined {
  if (field === 'method') return request.method;
  if (field === 'uriPath') return request.path;
  const value = request.headers[field.header];
  return Array.isArray(value) ? value.join(',') : value;
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  EQ: (a, b) => a === b,
  NE: (a, b) => a !== b,
  LE: (a, b) => a <= b,
  LT: (a, b) => a < b,
  GE: (a, b) => a >= b,
  GT: (a, b) => a > b,
};

/**
 * Whether a statement matches a request, as AWS WAF evaluates it (text transformations other than NONE are
 * not applied). A missing header matches no byte match and has size 0. An unsupported statement matches.
 * See https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-string-match.html and
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-size-constraint-match.html
 */
export function statementMatches(statement: LocalWafStatement, request: WafRequest): boolean {
  switch (statement.kind) {
    case 'byteMatch': {
      const value = fieldValue(request, statement.field);
      if (value === undefined) return false;
      const { position, search } = statement;
      if (position === 'EXACTLY') return value === search;
      if (position === 'STARTS_WITH') return value.startsWith(search);
      if (position === 'ENDS_WITH') return value.endsWith(search);
      return value.includes(search);
    }
    case 'size':
      return (COMPARE[statement.operator] ?? (() => true))(
        Buffer.byteLength(fieldValue(request, statement.field) ?? ''),
        statement.size,
      );
    case 'and':
      return statement.statements.every((s) => statementMatches(s, request));
    case 'or':
      return statement.statements.some((s) => statementMatches(s, request));
    case 'not':
      return !statementMatches(statement.statement, request);
    default:
      return true;
  }
}

/**
 * The rate-based rules of a web ACL, per client IP: each request the rule's scope-down statement matches is
 * counted against its IP over the rule's window (sliding); once an IP has sent more than `limit` within
 * the window, the rule's action applies to its further matching requests until the count falls back.
 * AWS counts in near real time and acts within seconds; locally the count is exact.
 * See https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
 */
export class WafRateLimiter {
  readonly #rules: LocalRateRule[];
  readonly #clock: () => number;
  /** Request times per rule and IP. */
  readonly #seen = new Map<string, number[]>();

  constructor(webAcl: LocalWebAcl, clock: () => number = Date.now) {
    this.#rules = webAcl.rateRules;
    this.#clock = clock;
  }

  /** The name of the rule that blocks this request from `ip`, or `undefined` to let it through. */
  check(ip: string, request: WafRequest): string | undefined {
    const now = this.#clock();
    for (const rule of this.#rules) {
      if (rule.scopeDown && !statementMatches(rule.scopeDown, request)) continue;
      const key = `${rule.name} ${ip}`;
      const since = now - rule.windowSec * 1000;
      const times = (this.#seen.get(key) ?? []).filter((t) => t > since);
      times.push(now);
      this.#seen.set(key, times);
      if (times.length > rule.limit && rule.action === 'block') return rule.name;
    }
    return undefined;
  }
}

/**
 * CloudFront's answer to a request its web ACL blocks: 403 with CloudFront's error page
 * ("Request blocked."), `Server: CloudFront` and `X-Cache: Error from cloudfront`, as AWS WAF's default
 * Block action does for a distribution.
 * See https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-action.html and
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-awswaf.html
 */
export function sendWafBlocked(res: ServerResponse): void {
  const body =
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">\n' +
    '<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n' +
    '<TITLE>ERROR: The request could not be satisfied</TITLE>\n</HEAD><BODY>\n' +
    '<H1>403 ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n<HR noshade size="1px">\n' +
    "Request blocked.\nWe can't connect to the server for this app or website at this time.\n" +
    '</BODY></HTML>';
  res.writeHead(403, {
    'content-type': 'text/html',
    'content-length': String(Buffer.byteLength(body)),
    server: 'CloudFront',
    'x-cache': 'Error from cloudfront',
  });
  res.end(body);
}

/** The viewer's address as CloudFront sees it: the connection's, never a header the client sets. */
export function viewerIp(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? '127.0.0.1';
}
