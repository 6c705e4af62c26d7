import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import { HEALTH_PROBE_PREFIX } from '#infra/constructs/storage.ts';
import { HEALTH_PROBE_PREFIX as SHARED_HEALTH_PROBE_PREFIX } from '#shared/health.ts';
import { functionNamed, type Json, resourcesOfType, type Synthesized, synthesize } from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

interface Statement {
  source: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: Json;
  Condition?: Json;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every policy statement in the template: identity policies, inline role policies, resource policies. */
function allStatements(json: Json): Statement[] {
  const statements: Statement[] = [];
  const add = (source: string, document: Json): void => {
    for (const statement of list(document?.Statement))
      statements.push({ source, ...(statement as object) } as Statement);
  };
  for (const [id, resource] of Object.entries(json.Resources as Record<string, Json>)) {
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        add(id, props.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        for (const policy of list(props.Policies)) add(id, (policy as Json).PolicyDocument);
        break;
    }
  }
  return statements;
}

/** The statements granted to a function's role. */
function roleStatements(name: string): Statement[] {
  const [, fn] = functionNamed(aws.json, name);
  const roleId: string = fn.Properties.Role['Fn::GetAtt'][0];
  return resourcesOfType(aws.json, 'AWS::IAM::Policy')
    .filter(([, policy]) => list(policy.Properties.Roles).some((role: Json) => role.Ref === roleId))
    .flatMap(([id, policy]) =>
      list(policy.Properties.PolicyDocument.Statement).map(
        (s) => ({ source: id, ...(s as object) }) as Statement,
      ),
    );
}

const actionsOf = (statements: Statement[]): string[] =>
  [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => list(s.Action)))].sort();

/** Statements allowing `action`, with their resources rendered as text for matching. */
const grantsOf = (name: string, action: string): { resources: string[]; condition: Json }[] =>
  roleStatements(name)
    .filter((s) => s.Effect === 'Allow' && list(s.Action).includes(action))
    .map((s) => ({ resources: list(s.Resource).map((r) => JSON.stringify(r)), condition: s.Condition }));

const SQS_CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
/**
 * X-Ray active tracing (every function, infra/constructs/pictura-function.ts). These two actions support no
 * resource-level permissions, so their resource can only be "*"
 * (https://docs.aws.amazon.com/xray/latest/devguide/security_iam_service-with-iam.html).
 */
const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/** What every function's role has: writing to its own log group, and sending its traces. */
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents', ...XRAY];

describe('least privilege, over every policy in the template', () => {
  it('never allows a wildcard action (no "*", no "s3:*", no "service:Prefix*")', () => {
    const offenders = allStatements(aws.json)
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) =>
        list(s.Action)
          .filter((a) => a.includes('*'))
          .map((a) => `${s.source}: ${a}`),
      );
    expect(offenders).toEqual([]);
  });

  it('uses broad actions only to deny (the TLS-only statements deny s3:* / sqs:* without TLS)', () => {
    const broad = allStatements(aws.json).filter((s) => list(s.Action).some((a) => a.endsWith('*')));
    expect(broad.length).toBeGreaterThan(0);
    for (const statement of broad) {
      expect(statement.Effect).toBe('Deny');
      expect(statement.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    }
  });

  it('never allows on Resource "*" (but the X-Ray trace actions, which take no other resource)', () => {
    const xrayOnly = (s: Statement) => list(s.Action).every((a) => XRAY.includes(a));
    const offenders = allStatements(aws.json)
      .filter((s) => s.Effect === 'Allow' && list(s.Resource).includes('*') && !xrayOnly(s))
      .map((s) => `${s.source}: ${list(s.Action).join(',')}`);
    expect(offenders).toEqual([]);
  });

  it('gives function roles no managed policies (not even AWSLambdaBasicExecutionRole)', () => {
    for (const name of FUNCTION_NAMES) {
      const roleId = functionNamed(aws.json, name)[1].Properties.Role['Fn::GetAtt'][0];
      expect(aws.json.Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('each function may do exactly what it uses', () => {
  it('upload: write (and clean up) originals, create records', () => {
    expect(actionsOf(roleStatements('upload'))).toEqual(
      [...LOGS, 'dynamodb:PutItem', 's3:DeleteObject', 's3:PutObject'].sort(),
    );
    expect(grantsOf('upload', 's3:PutObject')).toEqual([
      { resources: [expect.stringContaining('/originals/*')], condition: undefined },
    ]);
    expect(grantsOf('upload', 's3:DeleteObject')).toEqual([
      { resources: [expect.stringContaining('/originals/*')], condition: undefined },
    ]);
  });

  it('images: read records and the owner index, probe table and bucket for health', () => {
    expect(actionsOf(roleStatements('images'))).toEqual(
      [...LOGS, 'dynamodb:GetItem', 'dynamodb:Query', 's3:ListBucket'].sort(),
    );
    const query = grantsOf('images', 'dynamodb:Query')[0]?.resources ?? [];
    expect(query.some((r) => r.includes('/index/byOwner'))).toBe(true);
    // The health check lists one fixed, empty prefix and may list nothing else (issue 12, gap 7): no
    // bucket-wide ListBucket on the function that serves public reads.
    const lists = grantsOf('images', 's3:ListBucket');
    expect(lists).toHaveLength(1);
    expect(lists[0]?.condition).toEqual({ StringEquals: { 's3:prefix': HEALTH_PROBE_PREFIX } });
    expect(HEALTH_PROBE_PREFIX).toBe(SHARED_HEALTH_PROBE_PREFIX);
    expect(grantsOf('images', 's3:GetObject')).toEqual([]);
  });

  it('delete: read and mark records, queue the purge; no object and no CDN access', () => {
    expect(actionsOf(roleStatements('delete'))).toEqual(
      [...LOGS, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'].sort(),
    );
    expect(grantsOf('delete', 'sqs:SendMessage').flatMap((g) => g.resources)).toHaveLength(1);
  });

  it('purge: list and delete objects, invalidate the CDN, remove records, consume purge', () => {
    expect(actionsOf(roleStatements('purge'))).toEqual(
      [
        ...LOGS,
        ...SQS_CONSUME,
        'cloudfront:CreateInvalidation',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        's3:DeleteObject',
        's3:ListBucket',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(grantsOf('purge', 's3:ListBucket')[0]?.condition).toEqual({
      StringLike: { 's3:prefix': 'variants/*' },
    });
    const deletable = grantsOf('purge', 's3:DeleteObject')[0]?.resources ?? [];
    expect(deletable).toHaveLength(2);
    expect(deletable.join(' ')).toContain('/originals/*');
    expect(deletable.join(' ')).toContain('/variants/*');
    expect(grantsOf('purge', 'cloudfront:CreateInvalidation')[0]?.resources.join(' ')).toContain(
      ':distribution/',
    );
  });

  it('metadata: read and remove originals, update records, queue renders, consume ingest', () => {
    expect(actionsOf(roleStatements('metadata'))).toEqual(
      [
        ...LOGS,
        ...SQS_CONSUME,
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        'sqs:SendMessage',
      ].sort(),
    );
    // No prefix condition: S3 checks ListBucket for a missing key without one (see functions.ts).
    expect(grantsOf('metadata', 's3:ListBucket')[0]?.condition).toBeUndefined();
    for (const action of ['s3:GetObject', 's3:DeleteObject']) {
      const resources = grantsOf('metadata', action).flatMap((g) => g.resources);
      expect(resources.every((r) => r.includes('/originals/*'))).toBe(true);
    }
  });

  it('thumbnail: read originals, write and remove variants, remove a rejected original, consume render', () => {
    expect(actionsOf(roleStatements('thumbnail'))).toEqual(
      [
        ...LOGS,
        ...SQS_CONSUME,
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:SendMessage',
      ].sort(),
    );
    expect(grantsOf('thumbnail', 's3:ListBucket')[0]?.condition).toBeUndefined();
    expect(
      grantsOf('thumbnail', 's3:GetObject')
        .flatMap((g) => g.resources)
        .join(' '),
    ).toContain('/originals/*');
    const writes = grantsOf('thumbnail', 's3:PutObject').flatMap((g) => g.resources);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r.includes('/variants/*'))).toBe(true);
    const removes = grantsOf('thumbnail', 's3:DeleteObject').flatMap((g) => g.resources);
    expect(removes).toHaveLength(2);
    expect(removes.join(' ')).toContain('/variants/*');
    expect(removes.join(' ')).toContain('/originals/*');
  });

  it('sweeper: query the status index, conditionally update or delete records, remove originals, queue the three stages', () => {
    expect(actionsOf(roleStatements('sweeper'))).toEqual(
      [
        ...LOGS,
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        's3:DeleteObject',
        'sqs:SendMessage',
      ].sort(),
    );
    // The index only: never the table itself (no scans, no reads of whole records).
    const query = grantsOf('sweeper', 'dynamodb:Query').flatMap((g) => g.resources);
    expect(query).toHaveLength(1);
    expect(query[0]).toContain('/index/byStatus');
    const writes = grantsOf('sweeper', 'dynamodb:UpdateItem').flatMap((g) => g.resources);
    expect(writes).toHaveLength(1);
    expect(writes[0]).not.toContain('/index/');
    const removes = grantsOf('sweeper', 's3:DeleteObject').flatMap((g) => g.resources);
    expect(removes).toEqual([expect.stringContaining('/originals/*')]);
    // One statement naming exactly the three work queues, none of the DLQs.
    const queues = grantsOf('sweeper', 'sqs:SendMessage').flatMap((g) => g.resources);
    expect(queues).toHaveLength(3);
    for (const stage of ['Ingest', 'Render', 'Purge']) {
      expect(queues.filter((r) => r.includes(`${stage}Queue`))).toHaveLength(1);
    }
    expect(queues.join(' ')).not.toContain('Dlq');
  });

  it('only the pipeline functions read originals; nothing but purge, metadata, thumbnail (a rejection), upload (a failed put) and sweeper (late bytes of an expired upload) removes them', () => {
    const readers = FUNCTION_NAMES.filter((name) =>
      grantsOf(name, 's3:GetObject').some((g) => g.resources.some((r) => r.includes('/originals/*'))),
    );
    expect(readers.sort()).toEqual(['metadata', 'thumbnail']);
    const removers = FUNCTION_NAMES.filter((name) =>
      grantsOf(name, 's3:DeleteObject').some((g) => g.resources.some((r) => r.includes('/originals/*'))),
    );
    expect(removers.sort()).toEqual(['metadata', 'purge', 'sweeper', 'thumbnail', 'upload']);
  });
});
