// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these are CloudFormation Fn::Sub strings, not JS templates.
import { describe, expect, it } from 'vitest';
import { pathPatternMatches } from '#local/cloudfront/distribution.ts';
import { acknowledged } from '#local/lambda/sqs-poller.ts';
import { eventMatches } from '#local/s3/notifications.ts';
import { type PhysicalResource, Resolver } from '#local/template/template.ts';

const physical = new Map<string, PhysicalResource>([
  ['Queue', { ref: 'http://q', attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:q', QueueName: 'q' } }],
  ['Bucket', { ref: 'bkt', attributes: { Arn: 'arn:aws:s3:::bkt' } }],
]);
const resolver = new Resolver(
  physical,
  { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '000000000000' },
  {
    IsProd: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
  },
);

describe('Resolver', () => {
  it.each([
    [{ Ref: 'Queue' }, 'http://q'],
    [{ 'Fn::GetAtt': ['Queue', 'Arn'] }, 'arn:aws:sqs:us-east-1:000000000000:q'],
    [{ 'Fn::GetAtt': 'Queue.QueueName' }, 'q'],
    [{ 'Fn::Join': ['/', [{ Ref: 'Bucket' }, 'variants', '*']] }, 'bkt/variants/*'],
    [{ 'Fn::Sub': 'arn:aws:s3:::${Bucket}/x-${AWS::Region}' }, 'arn:aws:s3:::bkt/x-us-east-1'],
    [{ 'Fn::Sub': ['${A}-${Queue.QueueName}', { A: { Ref: 'Bucket' } }] }, 'bkt-q'],
    [{ 'Fn::Sub': 'literal ${!NotAVariable}' }, 'literal ${NotAVariable}'],
    [{ 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }, 'aws'],
    [{ 'Fn::If': ['IsProd', 'yes', 'no'] }, 'yes'],
    [{ nested: [{ Ref: 'Bucket' }] }, { nested: ['bkt'] }],
  ])('resolves %j', (input, expected) => {
    expect(resolver.resolve(input)).toEqual(expected);
  });

  it('fails loudly on what it cannot resolve', () => {
    expect(() => resolver.resolve({ Ref: 'Nope' })).toThrow(/Ref to Nope/);
    expect(() => resolver.resolve({ 'Fn::GetAtt': ['Queue', 'Nope'] })).toThrow(/Queue.Nope/);
    expect(() => resolver.resolve({ 'Fn::FindInMap': ['M', 'a', 'b'] })).toThrow(
      /Fn::FindInMap is not supported/,
    );
  });
});

describe('event source rules', () => {
  const messages = [{ MessageId: 'a' }, { MessageId: 'b' }, { MessageId: 'c' }];

  it('deletes everything but the reported failures', () => {
    const done = acknowledged(
      messages,
      { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'b' }] } },
      true,
    );
    expect(done.map((m) => m.MessageId)).toEqual(['a', 'c']);
  });

  it('deletes nothing when the function failed or named an id not in the batch', () => {
    expect(acknowledged(messages, { failed: true, payload: null }, true)).toEqual([]);
    expect(
      acknowledged(
        messages,
        { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'z' }] } },
        true,
      ),
    ).toEqual([]);
    expect(acknowledged(messages, { failed: false, payload: { batchItemFailures: [{}] } }, true)).toEqual([]);
  });

  it('ignores batchItemFailures when the mapping does not report them', () => {
    expect(
      acknowledged(
        messages,
        { failed: false, payload: { batchItemFailures: [{ itemIdentifier: 'b' }] } },
        false,
      ),
    ).toHaveLength(3);
  });

  it('matches S3 event names and CloudFront path patterns', () => {
    expect(eventMatches(['s3:ObjectCreated:*'], 'ObjectCreated:Put')).toBe(true);
    expect(eventMatches(['s3:ObjectCreated:Post'], 'ObjectCreated:Put')).toBe(false);
    expect(eventMatches(['s3:ObjectRemoved:*'], 'ObjectCreated:Put')).toBe(false);
    expect(pathPatternMatches('/v1/*', '/v1/images/abc')).toBe(true);
    expect(pathPatternMatches('/v1/*', '/variants/x.webp')).toBe(false);
    expect(pathPatternMatches('*', '/anything')).toBe(true);
    expect(pathPatternMatches('variants/*.webp', '/variants/a/thumb.webp')).toBe(true);
  });
});
