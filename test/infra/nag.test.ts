import type { Stack } from 'aws-cdk-lib';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks, type INagLogger } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#infra/pictura-app.ts';

/**
 * cdk-nag's AwsSolutions pack (the rules AWS Solutions projects run on their own CDK apps) over the stack
 * as deployed to AWS and to LocalStack. Every finding is either fixed in the constructs or suppressed in
 * code next to the resource, with its evidence in the suppression's reason.
 * See https://github.com/cdklabs/cdk-nag/blob/main/RULES.md#awssolutions
 */
interface NagRun {
  /** Unsuppressed errors and warnings, and rules that could not be evaluated. */
  findings: string[];
  /** Suppressed findings, with their reasons. */
  suppressed: { rule: string; path: string; reason: string }[];
}

function runNag(context: Record<string, unknown>, extend?: (stack: Stack) => void): NagRun {
  const run: NagRun = { findings: [], suppressed: [] };
  const logger: INagLogger = {
    onCompliance: () => {},
    onNotApplicable: () => {},
    onNonCompliance: (d) =>
      run.findings.push(`${d.ruleLevel} ${d.ruleId} ${d.findingId} at ${d.resource.node.path}`),
    onSuppressed: (d) =>
      run.suppressed.push({ rule: d.ruleId, path: d.resource.node.path, reason: d.suppressionReason }),
    onError: (d) => run.findings.push(`rule error ${d.ruleId} at ${d.resource.node.path}: ${d.errorMessage}`),
    onSuppressedError: (d) => run.findings.push(`suppressed rule error ${d.ruleId}: ${d.errorMessage}`),
  };
  // The template alone (no bundling): the rules read resources, not code.
  const { stack } = createApp({ context: { bundling: false, ...context } });
  extend?.(stack);
  const nag = new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] });
  // The aspect visited by hand rather than through synthesis, which would stop at the first error
  // annotation: the test lists every finding at once.
  for (const construct of stack.node.findAll()) nag.visit(construct);
  return run;
}

describe.each([
  ['aws', {}],
  ['localstack', { target: 'localstack' }],
  [
    'aws with a custom domain',
    {
      cdnDomainName: 'img.example.com',
      cdnCertificateArn:
        'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333',
    },
  ],
])('cdk-nag AwsSolutions on the %s template', (_name, context) => {
  let run: NagRun;
  beforeAll(() => {
    run = runNag(context);
  });

  it('reports no unsuppressed error or warning', () => {
    expect(run.findings).toEqual([]);
  });

  it('has a reason of substance for every suppression', () => {
    expect(run.suppressed.length).toBeGreaterThan(0);
    for (const { rule, reason } of run.suppressed) {
      expect(reason.length, rule).toBeGreaterThan(80);
    }
  });
});

describe('suppressions that are decisions, not leftovers', () => {
  it('suppresses TLSv1 on CloudFront only without a certificate of its own', () => {
    const rules = (context: Record<string, unknown>) =>
      new Set(runNag(context).suppressed.map((s) => s.rule));
    expect(rules({}).has('AwsSolutions-CFR4')).toBe(true);
    expect(
      rules({
        cdnDomainName: 'img.example.com',
        cdnCertificateArn:
          'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333',
      }).has('AwsSolutions-CFR4'),
    ).toBe(false);
  });

  it('never suppresses a rule the fixes closed (logs, TLS on the topic, ListBucket)', () => {
    const rules = new Set(runNag({}).suppressed.map((s) => s.rule));
    for (const fixed of [
      'AwsSolutions-APIG1',
      'AwsSolutions-CFR3',
      'AwsSolutions-SNS3',
      'AwsSolutions-IAM4',
    ]) {
      const where = runNag({})
        .suppressed.filter((s) => s.rule === fixed)
        .map((s) => s.path);
      // IAM4 is suppressed on CDK's notification helper only; the functions' roles have no managed policy.
      if (fixed === 'AwsSolutions-IAM4')
        expect(where.every((p) => p.includes('BucketNotificationsHandler'))).toBe(true);
      else expect(rules.has(fixed), fixed).toBe(false);
    }
  });
});

describe('cdk-nag authorization findings on the API', () => {
  it('are suppressed on the seven routed methods only, so a new route without a key is reported', () => {
    const run = runNag({}, (stack) => {
      const api = stack.node.findAll().find((c): c is RestApi => c instanceof RestApi);
      api?.root.getResource('v1')?.addResource('admin').addMethod('GET');
    });
    const admin = 'Pictura/Api/RestApi/Default/v1/admin/GET/Resource';
    expect(run.findings).toEqual([
      `Error AwsSolutions-APIG4  at ${admin}`,
      `Error AwsSolutions-COG4  at ${admin}`,
    ]);
    const methods = (rule: string) =>
      run.suppressed
        .filter((s) => s.rule === rule)
        .map((s) => s.path.replace('Pictura/Api/RestApi/Default', '').replace('/Resource', ''))
        .sort();
    const routed = [
      '/v1/health/GET',
      '/v1/images/GET',
      '/v1/images/POST',
      '/v1/images/{id}/DELETE',
      '/v1/images/{id}/GET',
      '/v1/images/{id}/token/DELETE',
      '/v1/openapi.json/GET',
    ];
    expect(methods('AwsSolutions-APIG4')).toEqual(routed);
    expect(methods('AwsSolutions-COG4')).toEqual(routed);
    // The missing regional ACL is suppressed on the stage alone, saying when the CloudFront ACL exists.
    const apig3 = run.suppressed.filter((s) => s.rule === 'AwsSolutions-APIG3');
    expect(apig3.map((s) => s.path)).toEqual(['Pictura/Api/RestApi/DeploymentStage.prod/Resource']);
    expect(apig3[0]?.reason).toMatch(/us-east-1.*wafWebAclArn/);
  });
});
