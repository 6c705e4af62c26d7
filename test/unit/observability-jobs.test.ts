import { describe, expect, it } from 'vitest';
import { parsePurgeJob, parseRenderJob, purgeJob, renderJob } from '#shared/queue/messages.ts';

/**
 * Render and purge jobs carry the image's `uploadRequestId`, so that a purge redelivered after the record's
 * removal still names the request that created the image in its log lines. The field is optional (a record
 * created before it was stored has none) and only a request-id-shaped string is kept: anything else in a forged or
 * foreign message is dropped, never an error and never a log line's content.
 */
const ID = 'AbCdEfGhIjKlMnOpQrStUv';
const REQUEST_ID = 'ca15d918-ee56-4418-b0a8-b5e170903a87';

describe('uploadRequestId on pipeline jobs', () => {
  it('round-trips through the render and purge jobs', () => {
    expect(parseRenderJob(JSON.stringify(renderJob(ID, REQUEST_ID)))).toEqual({
      type: 'render',
      v: 1,
      id: ID,
      uploadRequestId: REQUEST_ID,
    });
    expect(parsePurgeJob(JSON.stringify(purgeJob(ID, REQUEST_ID))).uploadRequestId).toBe(REQUEST_ID);
  });

  it('is absent when unknown (a record created before it was stored)', () => {
    expect(JSON.parse(JSON.stringify(purgeJob(ID)))).toEqual({ type: 'purge', v: 1, id: ID });
    expect(parsePurgeJob(JSON.stringify(purgeJob(ID)))).toEqual({ type: 'purge', v: 1, id: ID });
  });

  it.each([
    ['a log-forging line break', `${REQUEST_ID}\n{"level":"ERROR"}`],
    ['an object', { $ne: null }],
    ['a number', 42],
    ['an overlong string', 'a'.repeat(65)],
    ['an empty string', ''],
    ['markup', '<script>alert(1)</script>'],
  ])('drops %s in place of a request id, and keeps the job', (_what, value) => {
    const body = JSON.stringify({ type: 'purge', v: 1, id: ID, uploadRequestId: value });
    expect(parsePurgeJob(body)).toEqual({ type: 'purge', v: 1, id: ID });
    expect(parseRenderJob(body.replace('"purge"', '"render"'))).toEqual({ type: 'render', v: 1, id: ID });
  });
});
