import { describe, expect, it } from 'vitest';
import { BadRequestError, PicturaError, toProblem } from '#shared/errors.ts';
import { hashSecret, isImageId, newDeleteToken, newImageId, secretMatches } from '#shared/ids.ts';
import { imageIdFromOriginalKey, originalKey, variantKey } from '#shared/keys.ts';
import { sourcesOf, TRANSITIONS } from '#shared/model.ts';

describe('ids', () => {
  it('are 128-bit, URL-safe and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, newImageId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isImageId(id)).toBe(true);
    expect(Buffer.from([...ids][0] ?? '', 'base64url')).toHaveLength(16);
  });

  it('refuses what is not an id', () => {
    for (const value of ['', 'short', `${newImageId()}x`, '../../../../etc/passw', 42, null]) {
      expect(isImageId(value)).toBe(false);
    }
  });

  it('compares delete tokens by hash', () => {
    const token = newDeleteToken();
    expect(secretMatches(token, hashSecret(token))).toBe(true);
    expect(secretMatches(`${token}x`, hashSecret(token))).toBe(false);
    expect(secretMatches(token, undefined)).toBe(false);
    expect(secretMatches(token, 'abcd')).toBe(false);
  });
});

describe('keys', () => {
  it('maps ids to keys and back', () => {
    const id = newImageId();
    expect(imageIdFromOriginalKey(originalKey(id))).toBe(id);
    expect(variantKey(id, 'thumb', 'webp')).toBe(`variants/${id}/thumb.webp`);
    expect(imageIdFromOriginalKey(`variants/${id}`)).toBeUndefined();
    expect(imageIdFromOriginalKey('originals/not-an-id')).toBeUndefined();
  });
});

describe('state machine', () => {
  it('never leaves deleting and never goes back to an upload state', () => {
    expect(TRANSITIONS.deleting).toEqual([]);
    expect(sourcesOf('pending_upload')).toEqual([]);
    // `failed → ready`: a duplicate render job of the same original finished after the failure was recorded.
    expect(sourcesOf('ready').sort()).toEqual(['failed', 'processing']);
    expect(sourcesOf('deleting').sort()).toEqual([
      'failed',
      'pending_upload',
      'processing',
      'ready',
      'rejected',
      'uploaded',
    ]);
  });

  it('marks failed only while work is pending, and a failed image can resume, be rejected or deleted', () => {
    expect(sourcesOf('failed').sort()).toEqual(['failed', 'pending_upload', 'processing', 'uploaded']);
    expect([...TRANSITIONS.failed].sort()).toEqual(['deleting', 'failed', 'processing', 'ready', 'rejected']);
    expect(TRANSITIONS.ready).not.toContain('failed');
    expect(TRANSITIONS.rejected).not.toContain('failed');
  });
});

describe('problem details', () => {
  it('exposes client errors with their stable code', () => {
    expect(toProblem(new BadRequestError('INVALID_JSON', 'broken'))).toEqual({
      type: 'https://pictura.dev/problems/invalid-json',
      title: 'Bad request',
      status: 400,
      detail: 'broken',
      code: 'INVALID_JSON',
    });
  });

  it('hides server errors and foreign errors', () => {
    const secret = new PicturaError(500, 'DB_EXPLODED', 'x', 'password=hunter2');
    for (const error of [secret, new Error('stack trace with secrets'), 'a string', undefined]) {
      const problem = toProblem(error);
      expect(problem.status).toBe(500);
      expect(problem.code).toBe('INTERNAL_ERROR');
      expect(JSON.stringify(problem)).not.toMatch(/hunter2|secrets/);
    }
  });
});
