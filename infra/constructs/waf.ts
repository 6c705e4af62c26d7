import { Aws, CfnCondition, Fn, Token } from 'aws-cdk-lib';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/**
 * Per-IP rate limits, counted by AWS WAF over a sliding window (`EvaluationWindowSec`: 60, 120, 300 or 600 s;
 * the lowest `Limit` AWS accepts is 10). See
 * https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html
 *
 * - anonymous: the public routes ({@link ANONYMOUS_API}: image reads, health, token deletes, which no usage
 *   plan covers), with or without an `x-api-key`: 300 a minute per IP, 5 rps on average, about what a person paging through a
 *   gallery sends with room to spare; one client can take at most 5% of the stage's 100 rps.
 * - any: every request per IP, keyed or not, and variants too: 10,000 per 5 minutes (33 rps on average),
 *   above a server-side client at its usage plan's 25 rps, so it only stops floods.
 */
export const WAF_RATE_LIMITS = {
  anonymous: { limit: 300, windowSec: 60 },
  any: { limit: 10_000, windowSec: 300 },
} as const;

/**
 * Rules of AWSManagedRulesCommonRuleSet set to count instead of block: image uploads are raw bodies up to
 * the API's limit (SizeRestrictions_BODY blocks bodies over 8 KB), and the XSS body rule reads arbitrary
 * binary (JPEG, PNG) as text. The function checks the bytes itself (type sniffing, size).
 * See https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
 */
export const COMMON_RULES_COUNTED = ['SizeRestrictions_BODY', 'CrossSiteScripting_BODY'] as const;

export interface WafProps {
  /** Override of {@link WAF_RATE_LIMITS} (the local cloud's tests shrink it; production keeps the default). */
  rateLimits?: { anonymous: { limit: number; windowSec: number }; any: { limit: number; windowSec: number } };
}

const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

function rateRule(
  name: string,
  priority: number,
  rate: { limit: number; windowSec: number },
  scopeDown?: CfnWebACL.StatementProperty,
) {
  return {
    name,
    priority,
    action: { block: {} },
    statement: {
      rateBasedStatement: {
        limit: rate.limit,
        evaluationWindowSec: rate.windowSec,
        aggregateKeyType: 'IP',
        ...(scopeDown ? { scopeDownStatement: scopeDown } : {}),
      },
    },
    visibilityConfig: visibility(name),
  };
}

function managedRule(name: string, priority: number, countedRules: readonly string[] = []) {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ...(countedRules.length > 0
          ? { ruleActionOverrides: countedRules.map((rule) => ({ name: rule, actionToUse: { count: {} } })) }
          : {}),
      },
    },
    visibilityConfig: visibility(name),
  };
}

const NONE = [{ priority: 0, type: 'NONE' }];

/** A byte match on the request's method (`GET`, `DELETE`, …), which AWS WAF reads as sent, upper-case. */
const methodIs = (method: string): CfnWebACL.StatementProperty => ({
  byteMatchStatement: {
    fieldToMatch: { method: {} },
    positionalConstraint: 'EXACTLY',
    searchString: method,
    textTransformations: NONE,
  },
});

/** A byte match on the URI path (no query string). */
const pathMatches = (position: 'EXACTLY' | 'STARTS_WITH' | 'ENDS_WITH', search: string) => ({
  byteMatchStatement: {
    fieldToMatch: { uriPath: {} },
    positionalConstraint: position,
    searchString: search,
    textTransformations: NONE,
  },
});

/**
 * The routes anyone may call without an API key, matched on method and path whatever headers the request
 * carries (an absent-`x-api-key` test let any made-up key skip the limit): `GET /v1/images/{id}` (not the
 * keyed listing `GET /v1/images`), `DELETE /v1/images/{id}/token`, `/v1/health` and `/v1/openapi.json`.
 * See https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-fields-list.html
 */
export const ANONYMOUS_API: CfnWebACL.StatementProperty = {
  orStatement: {
    statements: [
      { andStatement: { statements: [methodIs('GET'), pathMatches('STARTS_WITH', '/v1/images/')] } },
      {
        andStatement: {
          statements: [
            methodIs('DELETE'),
            pathMatches('STARTS_WITH', '/v1/images/'),
            pathMatches('ENDS_WITH', '/token'),
          ],
        },
      },
      pathMatches('EXACTLY', '/v1/health'),
      pathMatches('EXACTLY', '/v1/openapi.json'),
    ],
  },
};

/**
 * The distribution's web ACL (AWS WAF, scope CLOUDFRONT): per-IP rate limits ({@link WAF_RATE_LIMITS}), then
 * AWS's IP reputation list, known bad inputs (Log4Shell-style payloads, …) and the common rule set with the
 * rules uploads trip set to count ({@link COMMON_RULES_COUNTED}). Blocked requests get CloudFront's 403.
 *
 * A CLOUDFRONT web ACL can only be created in us-east-1, and this stack is region-agnostic: the ACL carries
 * the condition {@link Waf.inUsEast1}, and {@link Waf.webAclIdForDistribution} is its ARN there and no
 * value elsewhere (docs/deploy.md: pass `-c wafWebAclArn=…` for an ACL made in us-east-1).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-wafv2-webacl.html
 */
export class Waf extends Construct {
  readonly webAcl: CfnWebACL;
  readonly inUsEast1: CfnCondition;

  constructor(scope: Construct, id: string, props: WafProps = {}) {
    super(scope, id);
    const rates = props.rateLimits ?? WAF_RATE_LIMITS;
    this.inUsEast1 = new CfnCondition(this, 'InUsEast1', {
      expression: Fn.conditionEquals(Aws.REGION, 'us-east-1'),
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: 'pictura-cdn',
      description: 'Pictura CDN: per-IP rate limits and AWS managed rules',
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('pictura-cdn'),
      rules: [
        rateRule('AnyPerIp', 0, rates.any),
        rateRule('AnonymousApiPerIp', 1, rates.anonymous, ANONYMOUS_API),
        managedRule('AWSManagedRulesAmazonIpReputationList', 2),
        managedRule('AWSManagedRulesKnownBadInputsRuleSet', 3),
        managedRule('AWSManagedRulesCommonRuleSet', 4, COMMON_RULES_COUNTED),
      ],
    });
    this.webAcl.cfnOptions.condition = this.inUsEast1;
  }

  /** The distribution's `WebACLId`: the ACL's ARN in us-east-1, no value elsewhere. */
  get webAclIdForDistribution(): string {
    return Token.asString(Fn.conditionIf(this.inUsEast1.logicalId, this.webAcl.attrArn, Aws.NO_VALUE));
  }
}
