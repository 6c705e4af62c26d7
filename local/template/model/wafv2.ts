import { type ModelContext, type Properties, str } from './context.ts';

/**
 * A rate-based rule's scope-down statement, as far as the local CDN evaluates it: method, URI path or single
 * header byte matches, header size constraints, and their AND / OR / NOT. Anything else is `unsupported`
 * (the rule then counts every request: stricter than AWS, never looser).
 */
export type LocalWafStatement =
  | { kind: 'byteMatch'; field: WafField; position: string; search: string }
  | { kind: 'size'; field: { header: string }; operator: string; size: number }
  | { kind: 'and' | 'or'; statements: LocalWafStatement[] }
  | { kind: 'not'; statement: LocalWafStatement }
  | { kind: 'unsupported'; type: string };

/** The parts of a request a statement can inspect locally (`FieldToMatch`: `Method`, `UriPath`, `SingleHeader`). */
export type WafField = 'method' | 'uriPath' | { header: string };

/** A rate-based rule: at most `limit` requests per IP within `windowSec`, over that the rule's action. */
export interface LocalRateRule {
  name: string;
  priority: number;
  limit: number;
  windowSec: number;
  action: 'block' | 'count';
  scopeDown?: LocalWafStatement;
}

export interface LocalWebAcl {
  name: string;
  /** The rate-based rules, by priority; other rules (managed groups) are not emulated. */
  rateRules: LocalRateRule[];
}

function fieldOf(field: Properties): WafField | undefined {
  if (field.UriPath !== undefined) return 'uriPath';
  if (field.Method !== undefined) return 'method';
  const header = field.SingleHeader as Properties | undefined;
  return header ? { header: str(header.Name).toLowerCase() } : undefined;
}

/**
 * A WAF statement (`ByteMatchStatement`, `SizeConstraintStatement`, `AndStatement`, `OrStatement`,
 * `NotStatement`) in the local CDN's terms.
 * See https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statements-list.html
 */
export function wafStatement(raw: Properties): LocalWafStatement {
  const byte = raw.ByteMatchStatement as Properties | undefined;
  const field = fieldOf(
    (((byte ?? raw.SizeConstraintStatement) as Properties | undefined)?.FieldToMatch as Properties) ?? {},
  );
  if (byte && field) {
    return {
      kind: 'byteMatch',
      field,
      position: str(byte.PositionalConstraint),
      search: str(byte.SearchString),
    };
  }
  const size = raw.SizeConstraintStatement as Properties | undefined;
  if (size && field && typeof field === 'object') {
    return { kind: 'size', field, operator: str(size.ComparisonOperator), size: Number(size.Size) };
  }
  for (const [key, kind] of [
    ['AndStatement', 'and'],
    ['OrStatement', 'or'],
  ] as const) {
    const group = raw[key] as Properties | undefined;
    if (group) return { kind, statements: ((group.Statements as Properties[]) ?? []).map(wafStatement) };
  }
  const not = raw.NotStatement as Properties | undefined;
  if (not) return { kind: 'not', statement: wafStatement((not.Statement ?? {}) as Properties) };
  return { kind: 'unsupported', type: Object.keys(raw)[0] ?? 'none' };
}

/**
 * The rate-based rules of an `AWS::WAFv2::WebACL`'s `Rules` aggregated per IP (`AggregateKeyType: IP`):
 * `Limit`, `EvaluationWindowSec` (300 when absent, as on AWS), the `Block` or `Count` action and the
 * `ScopeDownStatement`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-wafv2-webacl-ratebasedstatement.html
 */
export function rateRules(rules: unknown): LocalRateRule[] {
  const result: LocalRateRule[] = [];
  for (const rule of Array.isArray(rules) ? (rules as Properties[]) : []) {
    const rate = (rule.Statement as Properties | undefined)?.RateBasedStatement as Properties | undefined;
    if (!rate || str(rate.AggregateKeyType, 'IP') !== 'IP') continue;
    const action = (rule.Action ?? {}) as Properties;
    result.push({
      name: str(rule.Name),
      priority: Number(rule.Priority ?? 0),
      limit: Number(rate.Limit),
      windowSec: Number(rate.EvaluationWindowSec ?? 300),
      action: action.Count !== undefined ? 'count' : 'block',
      ...(rate.ScopeDownStatement ? { scopeDown: wafStatement(rate.ScopeDownStatement as Properties) } : {}),
    });
  }
  return result.sort((a, b) => a.priority - b.priority);
}

/**
 * The web ACL a distribution's `WebACLId` names, when it is one of the stack's `AWS::WAFv2::WebACL`s (by its
 * `Arn`); `undefined` for none, or for an ACL outside the stack (`-c wafWebAclArn=…`), which the local cloud
 * cannot see.
 */
export function webAclOf(context: ModelContext, webAclId: unknown): LocalWebAcl | undefined {
  if (!webAclId) return undefined;
  for (const [logicalId, resource] of context.ofType('AWS::WAFv2::WebACL')) {
    if (context.attributeOf(logicalId, 'Arn') !== webAclId && context.refOf(logicalId) !== webAclId) continue;
    const p = context.properties(resource);
    return { name: str(p.Name, logicalId), rateRules: rateRules(p.Rules) };
  }
  return undefined;
}
