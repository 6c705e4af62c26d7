import { describe, expect, it } from 'vitest';
import { objectCreatedEvent } from '#local/s3/events.ts';
import { MalformedMessageError } from '#shared/errors.ts';
import { parsePurgeJob, parseRenderJob, parseS3Notification, renderJob } from '#shared/queue/messages.ts';

const facts = { bucket: 'b', size: 42, eTag: '"abc"', region: 'us-east-1', api: 'Put' as const };

describe('parseS3Notification', () => {
  it('reads the event S3 sends, decoding the key', () => {
    const body = objectCreatedEvent({ ...facts, key: 'originals/a b+c%d' });
    expect(JSON.parse(body).Records[0].s3.object.key).toBe('originals/a+b%2Bc%25d');
    expect(parseS3Notification(body)).toEqual([{ bucket: 'b', key: 'originals/a b+c%d', size: 42 }]);
  });

  it('ignores the test event S3 sends when notifications are configured', () => {
    const body = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' });
    expect(parseS3Notification(body)).toEqual([]);
  });

  it('skips records that are not creations', () => {
    const event = JSON.parse(objectCreatedEvent({ ...facts, key: 'originals/x' }));
    event.Records[0].eventName = 'ObjectRemoved:Delete';
    expect(parseS3Notification(JSON.stringify(event))).toEqual([]);
  });

  it.each([
    ['not JSON', '{"Records":'],
    ['JSON without Records', '{"hello":1}'],
    ['Records not an array', '{"Records":{}}'],
    ['a record without s3', '{"Records":[{"eventName":"ObjectCreated:Put"}]}'],
    ['a key that is not a string', '{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":7}}}]}'],
    [
      'a key with broken escapes',
      '{"Records":[{"s3":{"bucket":{"name":"b"},"object":{"key":"originals/%E0%A4%A"}}}]}',
    ],
    ['an array', '[1,2]'],
    ['null', 'null'],
  ])('refuses %s as a malformed message', (_label, body) => {
    expect(() => parseS3Notification(body)).toThrow(MalformedMessageError);
  });
});

describe('jobs', () => {
  const id = 'AAAAAAAAAAAAAAAAAAAAAA';

  it('round-trips a render job', () => {
    expect(parseRenderJob(JSON.stringify(renderJob(id)))).toEqual({ type: 'render', v: 1, id });
  });

  it.each([
    ['wrong type', { type: 'purge', v: 1, id }],
    ['wrong version', { type: 'render', v: 2, id }],
    ['an id that is not an image id', { type: 'render', v: 1, id: '../../etc/passwd' }],
    ['a numeric id', { type: 'render', v: 1, id: 12 }],
  ])('refuses a render job with %s', (_label, job) => {
    expect(() => parseRenderJob(JSON.stringify(job))).toThrow(MalformedMessageError);
  });

  it('refuses a purge job that is not JSON', () => {
    expect(() => parsePurgeJob('purge everything')).toThrow(/not JSON/);
  });
});
