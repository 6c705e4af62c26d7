import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SWEEPER_SETTINGS } from '#infra/constructs/sweeper.ts';
import { functionNamed, resourcesOfType, type Synthesized, single, synthesize } from './synth.ts';

let aws: Synthesized;
let localstack: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
  localstack = await synthesize({ target: 'localstack' });
});

describe('sweeper schedule', () => {
  it('is one EventBridge rule on a rate schedule, enabled, targeting the sweeper function', () => {
    const [, rule] = single(aws.json, 'AWS::Events::Rule');
    const [sweeperId] = functionNamed(aws.json, 'sweeper');
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [sweeperId, 'Arn'] } }],
    });
    // No event pattern: a schedule rule fires on time, not on events.
    expect(rule.Properties.EventPattern).toBeUndefined();
  });

  it('drops a delivery it could not make within one period (the next run is as good), after two retries', () => {
    const [, rule] = single(aws.json, 'AWS::Events::Rule');
    expect(rule.Properties.Targets[0].RetryPolicy).toEqual({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: SWEEPER_SETTINGS.rate.toSeconds(),
    });
  });

  it('lets only this rule invoke the sweeper (a resource policy with the rule as source)', () => {
    const [sweeperId] = functionNamed(aws.json, 'sweeper');
    const [ruleId] = single(aws.json, 'AWS::Events::Rule');
    aws.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [sweeperId, 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  it('is in the LocalStack variant too', () => {
    expect(resourcesOfType(localstack.json, 'AWS::Events::Rule')).toHaveLength(1);
  });
});

describe('sweeper function', () => {
  it('states its deadlines in the template, as SWEEPER_SETTINGS documents them', () => {
    const variables = functionNamed(aws.json, 'sweeper')[1].Properties.Environment.Variables;
    expect(variables).toMatchObject({
      PRESIGNED_POST_EXPIRES_SECONDS: '900',
      SWEEP_PENDING_UPLOAD_GRACE_SECONDS: '3600',
      SWEEP_PROCESSING_AFTER_SECONDS: '3600',
      SWEEP_DELETING_AFTER_SECONDS: '7200',
      SWEEP_MAX_RECORDS: '500',
    });
  });

  it('waits longer than any stage takes to give up on a message (receives × visibility timeout)', () => {
    const queues = resourcesOfType(aws.json, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    const giveUp = (name: string): number => {
      const found = queues.find(([id]) => id.includes(`${name}Queue`));
      if (!found) throw new Error(`no ${name} queue`);
      const { VisibilityTimeout, RedrivePolicy } = found[1].Properties;
      return VisibilityTimeout * RedrivePolicy.maxReceiveCount;
    };
    const processing = SWEEPER_SETTINGS.processingStalledAfter.toSeconds();
    expect(processing).toBeGreaterThan(giveUp('Ingest'));
    expect(processing).toBeGreaterThan(giveUp('Render'));
    expect(SWEEPER_SETTINGS.deletingStalledAfter.toSeconds()).toBeGreaterThan(giveUp('Purge'));
  });

  it('is named in the outputs', () => {
    const [sweeperId] = functionNamed(aws.json, 'sweeper');
    aws.template.hasOutput('SweeperFunctionName', { Value: { Ref: sweeperId } });
  });
});

describe('byStatus index', () => {
  it('keys records by status and last change, KEYS_ONLY (the sweeper reads no whole record from it)', () => {
    aws.template.hasResourceProperties('AWS::DynamoDB::Table', {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'updatedAt', AttributeType: 'S' },
      ]),
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'updatedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
  });
});
