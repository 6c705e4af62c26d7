import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_KEY, type Pipeline, startPipeline, TEST_KEY, withKey } from '#test/support/pipeline.ts';

let cloud: Pipeline;
beforeAll(async () => {
  cloud = await startPipeline({
    MAX_UPLOAD_BYTES: '1000000',
    MAX_DIRECT_UPLOAD_BYTES: '100000',
    CORS_ALLOW_ORIGIN: 'https://app.example',
  });
});
afterAll(() => cloud?.close());

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const post = (
  body: string | Buffer,
  contentType: string,
  extra: Partial<ReturnType<typeof withKey>> = withKey(),
) =>
  cloud.http('upload', {
    method: 'POST',
    resource: '/v1/images',
    path: '/v1/images',
    ...extra,
    headers: { 'content-type': contentType, ...extra.headers },
    body,
    binary: contentType.startsWith('image/'),
  });

function expectProblem(response: Awaited<ReturnType<Pipeline['http']>>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers?.['Content-Type']).toBe('application/problem+json');
  expect(response.json).toMatchObject({
    status,
    code,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(response.json.type).toMatch(/^https:\/\//);
}

describe('POST /v1/images', () => {
  it('answers a valid JSON body with a presigned POST pinned to the key, type and size', async () => {
    const response = await post(
      JSON.stringify({ contentType: 'image/png', contentLength: 5000, filename: 'a.png' }),
      'application/json',
    );
    expect(response.statusCode).toBe(201);
    const body = response.json as {
      id: string;
      status: string;
      deleteToken: string;
      upload: { url: string; fields: Record<string, string>; expiresAt: string };
      links: { self: string; delete: string };
    };
    expect(body.status).toBe('pending_upload');
    expect(body.deleteToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The template's API_PUBLIC_URL (the CDN, cdn.test in these tests), never the Host header (api.test).
    expect(body.links.self).toBe(`http://cdn.test/v1/images/${body.id}`);
    // The token holder's route: no API key needed there.
    expect(body.links.delete).toBe(`http://cdn.test/v1/images/${body.id}/token`);
    expect(body.upload.fields.key).toBe(`originals/${body.id}`);
    const policy = JSON.parse(Buffer.from(body.upload.fields.Policy ?? '', 'base64').toString('utf8'));
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, 5000],
        ['eq', '$Content-Type', 'image/png'],
        { key: `originals/${body.id}` },
      ]),
    );
    // The form's advertised expiry is the policy's own, not a moment after it.
    expect(body.upload.expiresAt).toBe(policy.expiration);
    expect(Date.parse(body.upload.expiresAt) - Date.now()).toBeGreaterThan(890_000);
  });

  it.each([
    ['invalid JSON', '{"contentType":', 400, 'INVALID_JSON'],
    ['a JSON array', '[]', 400, 'INVALID_BODY'],
    ['a string contentLength', '{"contentType":"image/png","contentLength":"12"}', 400, 'INVALID_BODY'],
    ['a negative contentLength', '{"contentType":"image/png","contentLength":-1}', 400, 'INVALID_BODY'],
    ['a fractional contentLength', '{"contentType":"image/png","contentLength":1.5}', 400, 'INVALID_BODY'],
    ['a missing contentType', '{"contentLength":10}', 400, 'INVALID_BODY'],
    [
      'an unknown field',
      '{"contentType":"image/png","contentLength":10,"acl":"public-read"}',
      400,
      'INVALID_BODY',
    ],
    [
      'a numeric filename',
      '{"contentType":"image/png","contentLength":10,"filename":5}',
      400,
      'INVALID_BODY',
    ],
    ['a size over the limit', '{"contentType":"image/png","contentLength":1000001}', 413, 'FILE_TOO_LARGE'],
    ['SVG', '{"contentType":"image/svg+xml","contentLength":10}', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [
      'a non-image type',
      '{"contentType":"application/pdf","contentLength":10}',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
  ])('refuses %s', async (_label, body, status, code) => {
    expectProblem(await post(body, 'application/json'), status, code);
  });

  it('gives browsers CORS headers on successes and on problems alike', async () => {
    const ok = await post(
      JSON.stringify({ contentType: 'image/png', contentLength: 10 }),
      'application/json',
    );
    const problem = await post('{', 'application/json');
    for (const response of [ok, problem]) {
      expect(response.headers?.['Access-Control-Allow-Origin']).toBe('https://app.example');
    }
    expect(ok.headers?.['Access-Control-Expose-Headers']).toBe('Location');
  });

  it('refuses a body that is neither JSON nor an image', async () => {
    expectProblem(await post('hello', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses a request without an API key', async () => {
    expectProblem(await post('{}', 'application/json', { headers: {} }), 401, 'API_KEY_REQUIRED');
  });

  it('accepts a direct upload and stores the original', async () => {
    const body = Buffer.concat([PNG_SIGNATURE, Buffer.alloc(100)]);
    const response = await post(body, 'image/png');
    expect(response.statusCode).toBe(202);
    expect(response.json.status).toBe('uploaded');
    expect(await cloud.keys(`originals/${response.json.id}`)).toEqual([`originals/${response.json.id}`]);
  });

  it.each([
    ['an empty body', Buffer.alloc(0), 'image/png', 400, 'EMPTY_BODY'],
    ['text declared as JPEG', Buffer.from('just text, not a picture'), 'image/jpeg', 415, 'NOT_AN_IMAGE'],
    [
      'an SVG body',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'image/svg+xml',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a body over the direct limit',
      Buffer.concat([PNG_SIGNATURE, Buffer.alloc(100_000)]),
      'image/png',
      413,
      'FILE_TOO_LARGE',
    ],
  ])('refuses a direct upload with %s', async (_label, body, type, status, code) => {
    expectProblem(await post(body, type), status, code);
  });
});

describe('GET /v1/images', () => {
  const get = (request: Partial<Parameters<Pipeline['http']>[1]>) =>
    cloud.http('images', { method: 'GET', resource: '/v1/images', path: '/v1/images', ...request });

  it("lists only the caller's images, newest first, page by page", async () => {
    const mine: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const r = await post(
        JSON.stringify({ contentType: 'image/jpeg', contentLength: 10 }),
        'application/json',
        withKey(OTHER_KEY),
      );
      mine.push(String(r.json.id));
    }
    const first = await get({ ...withKey(OTHER_KEY), query: { limit: '2' } });
    expect(first.statusCode).toBe(200);
    const items = first.json.items as Array<{ id: string }>;
    expect(items.map((i) => i.id)).toEqual([mine[2], mine[1]]);
    const second = await get({
      ...withKey(OTHER_KEY),
      query: { limit: '2', cursor: String(first.json.nextCursor) },
    });
    const rest = (second.json.items as Array<{ id: string }>).map((i) => i.id);
    expect(rest).toEqual([mine[0]]);
    const all = await get({ ...withKey(TEST_KEY), query: { limit: '100' } });
    for (const item of all.json.items as Array<{ id: string }>) expect(mine).not.toContain(item.id);
  });

  it.each([
    ['limit=0', { limit: '0' }, 'INVALID_LIMIT'],
    ['limit=101', { limit: '101' }, 'INVALID_LIMIT'],
    ['limit=abc', { limit: 'abc' }, 'INVALID_LIMIT'],
    [
      'a forged cursor',
      { cursor: Buffer.from('{"id":"x","ownerId":"key-owner-2","createdAt":"z"}').toString('base64url') },
      'INVALID_CURSOR',
    ],
    [
      'a cursor of the caller with empty key values (DynamoDB would answer 500)',
      { cursor: Buffer.from('{"id":"","ownerId":"key-owner-1","createdAt":""}').toString('base64url') },
      'INVALID_CURSOR',
    ],
    ['a garbage cursor', { cursor: '!!!' }, 'INVALID_CURSOR'],
  ])('refuses %s', async (_label, query, code) => {
    expectProblem(await get({ ...withKey(), query }), 400, code);
  });

  it('needs an API key', async () => {
    expectProblem(await get({}), 401, 'API_KEY_REQUIRED');
  });

  it('answers 404 for unknown and malformed ids', async () => {
    for (const id of ['AAAAAAAAAAAAAAAAAAAAAA', 'not-an-id', '../../etc']) {
      const response = await cloud.http('images', {
        method: 'GET',
        resource: '/v1/images/{id}',
        path: `/v1/images/${id}`,
        pathParameters: { id },
      });
      expectProblem(response, 404, 'IMAGE_NOT_FOUND');
    }
  });

  it('reports health', async () => {
    const response = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/health',
      path: '/v1/health',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ status: 'ok', checks: { table: 'ok', bucket: 'ok' } });
  });
});

describe('DELETE /v1/images/{id} (API key) and /v1/images/{id}/token (delete token)', () => {
  const removeWith = (
    resource: '/v1/images/{id}' | '/v1/images/{id}/token',
    id: string,
    extra: Partial<ReturnType<typeof withKey>>,
  ) =>
    cloud.http('delete', {
      method: 'DELETE',
      resource,
      path: resource === '/v1/images/{id}' ? `/v1/images/${id}` : `/v1/images/${id}/token`,
      pathParameters: { id },
      ...extra,
    });
  const remove = (id: string, headers: Record<string, string>) =>
    removeWith('/v1/images/{id}/token', id, { headers });
  const removeAsKey = (id: string, key = TEST_KEY) => removeWith('/v1/images/{id}', id, withKey(key));

  async function upload() {
    const r = await post(JSON.stringify({ contentType: 'image/png', contentLength: 10 }), 'application/json');
    return { id: String(r.json.id), token: String(r.json.deleteToken) };
  }

  it('needs a credential', async () => {
    const { id } = await upload();
    expectProblem(await remove(id, {}), 401, 'AUTHENTICATION_REQUIRED');
    // The key route without a validated key (API Gateway would have refused it first): defence in depth.
    expectProblem(await removeWith('/v1/images/{id}', id, { headers: {} }), 401, 'API_KEY_REQUIRED');
  });

  it('refuses a wrong delete token with 403', async () => {
    const { id } = await upload();
    expectProblem(await remove(id, { authorization: 'Bearer wrong-token' }), 403, 'INVALID_DELETE_TOKEN');
  });

  it('answers another key with 404, so existence does not leak', async () => {
    const { id } = await upload();
    expectProblem(await removeAsKey(id, OTHER_KEY), 404, 'IMAGE_NOT_FOUND');
    // The owner's key value under another key id (not what API Gateway would send) is refused too.
    expectProblem(
      await removeWith('/v1/images/{id}', id, {
        apiKeyId: OTHER_KEY.id,
        headers: { 'x-api-key': TEST_KEY.value },
      }),
      404,
      'IMAGE_NOT_FOUND',
    );
  });

  it('takes no API key on the token route and no token on the key route', async () => {
    const { id, token } = await upload();
    expectProblem(await remove(id, { 'x-api-key': TEST_KEY.value }), 401, 'AUTHENTICATION_REQUIRED');
    expectProblem(
      await removeWith('/v1/images/{id}', id, {
        ...withKey(OTHER_KEY),
        headers: { 'x-api-key': OTHER_KEY.value, authorization: `Bearer ${token}` },
      }),
      404,
      'IMAGE_NOT_FOUND',
    );
  });

  it('accepts the owner key and the delete token, then reads as 404', async () => {
    for (const credential of ['key', 'token'] as const) {
      const { id, token } = await upload();
      const response =
        credential === 'key' ? await removeAsKey(id) : await remove(id, { authorization: `Bearer ${token}` });
      expect(response.statusCode).toBe(202);
      expect(response.json).toEqual({ id, status: 'deleting' });
      const after = await cloud.http('images', {
        method: 'GET',
        resource: '/v1/images/{id}',
        path: `/v1/images/${id}`,
        pathParameters: { id },
      });
      expect(after.statusCode).toBe(404);
    }
  });

  it('answers 404 for an unknown id', async () => {
    expectProblem(
      await remove('AAAAAAAAAAAAAAAAAAAAAA', { authorization: 'Bearer x' }),
      404,
      'IMAGE_NOT_FOUND',
    );
  });
});
