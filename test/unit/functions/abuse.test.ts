import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { proxyEvent } from '#local/apigateway/proxy-event.ts';
import { lambdaContext } from '#local/lambda/events.ts';
import { objectCreatedEvent } from '#local/s3/events.ts';
import { apiBaseUrl } from '#shared/http/request.ts';
import { CAMERA, orientedJpeg } from '#test/support/images.ts';
import { type Pipeline, startPipeline, TEST_KEY, uploadRequest, withKey } from '#test/support/pipeline.ts';

// A counting pass-through around the real inspection (decode, measure): the handlers import it, so the
// tests can tell how often an original was inspected. Nothing is faked: every call runs the real function.
const inspections = vi.hoisted(() => ({ count: 0 }));
vi.mock('#shared/image/inspect.ts', async (original) => {
  const real = await original<typeof import('#shared/image/inspect.ts')>();
  return {
    ...real,
    inspectImage: async (...args: Parameters<typeof real.inspectImage>) => {
      inspections.count += 1;
      return real.inspectImage(...args);
    },
  };
});

let cloud: Pipeline;
beforeAll(async () => {
  cloud = await startPipeline(
    { MAX_UPLOAD_BYTES: '300000', MAX_DIRECT_UPLOAD_BYTES: '200000' },
    { faultProxy: true },
  );
});
afterAll(() => cloud?.close());

const MB = 1024 * 1024;
const FORGED_HOST = 'evil.attacker.example';

/** `POST /v1/images` with a JSON body. */
const presign = (body: string, headers: Record<string, string> = {}) =>
  cloud.http('upload', uploadRequest('application/json', body, headers));

function expectSecurityHeaders(response: APIGatewayProxyResult, cacheControl = 'no-store') {
  expect(response.headers?.['X-Content-Type-Options']).toBe('nosniff');
  expect(response.headers?.['Cache-Control']).toBe(cacheControl);
}

describe('amplification (issue 12, gap 4)', () => {
  it('refuses a 1 MB JSON body with 413 BODY_TOO_LARGE, a response under 2 KB and a log line under 2 KB', async () => {
    // A fresh copy of the upload function that logs at INFO (the pipeline's are SILENT), its output captured.
    vi.resetModules();
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const { handler } = await import('../../../functions/upload/handler.ts');
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    let response: APIGatewayProxyResult;
    try {
      const fields = Object.fromEntries(
        Array.from({ length: 40_000 }, (_, i) => [`unknown_field_${i}_${'x'.repeat(10)}`, 1]),
      );
      const body = JSON.stringify({ contentType: 'image/png', contentLength: 10, ...fields });
      expect(body.length).toBeGreaterThan(MB);
      response = await handler(
        proxyEvent(uploadRequest('application/json', body, { host: 'api.test' })),
        lambdaContext('upload', 30_000),
      );
    } finally {
      write.mockRestore();
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    }
    expect(response.statusCode).toBe(413);
    expect(JSON.parse(response.body).code).toBe('BODY_TOO_LARGE');
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThan(2048);
    const refused = lines.filter((line) => line.includes('request refused'));
    expect(refused).toHaveLength(1);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThan(2048);
    const entry = JSON.parse(refused[0] ?? '{}');
    expect(entry.level).toBe('INFO');
    expect(entry.code).toBe('BODY_TOO_LARGE');
    expect(JSON.stringify(entry)).not.toMatch(/stack|unknown_field/);
  });

  it('also caps a base64-delivered body by its decoded size', async () => {
    const response = await cloud.http(
      'upload',
      uploadRequest('application/octet-stream', Buffer.alloc(20_000)),
    );
    expect(response.statusCode).toBe(413);
    expect(response.json.code).toBe('BODY_TOO_LARGE');
  });

  it('accepts a JSON body just under the cap (the refusal is the size, not the route)', async () => {
    const padding = ' '.repeat(16 * 1024 - 60);
    const response = await presign(`{"contentType":"image/png","contentLength":10}${padding}`);
    expect(response.statusCode).toBe(201);
  });

  it('echoes at most 10 unknown field names, each at most 64 characters', async () => {
    const fields = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`${'n'.repeat(70)}${i}`, 1]));
    const response = await presign(
      JSON.stringify({ contentType: 'image/png', contentLength: 10, ...fields }),
    );
    expect(response.statusCode).toBe(400);
    const detail = String(response.json.detail);
    expect(detail).toContain('and 190 more');
    expect(detail.match(/"n+"/g)).toHaveLength(10);
    for (const name of detail.match(/"[^"]*"/g) ?? []) expect(name.length).toBeLessThanOrEqual(66);
    expect(Buffer.byteLength(response.body)).toBeLessThan(2048);
  });

  it('does not echo a long malformed image id', async () => {
    const id = 'x'.repeat(5000);
    const response = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images/{id}',
      path: `/v1/images/${id}`,
      pathParameters: { id },
    });
    expect(response.statusCode).toBe(404);
    expect(response.body).not.toContain('xxxxxxxx');
  });
});

describe('headers (issue 12, gap 9)', () => {
  it('puts nosniff and no-store on successes, problems and refusals before the route', async () => {
    const ok = await presign(JSON.stringify({ contentType: 'image/png', contentLength: 10 }));
    expect(ok.statusCode).toBe(201);
    expectSecurityHeaders(ok);
    expectSecurityHeaders(await presign('{'));
    expectSecurityHeaders(await presign('x'.repeat(20_000)));
    const pending = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images/{id}',
      path: `/v1/images/${ok.json.id}`,
      pathParameters: { id: String(ok.json.id) },
    });
    expect(pending.statusCode).toBe(200);
    expectSecurityHeaders(pending);
    const health = await cloud.http('images', { method: 'GET', resource: '/v1/health', path: '/v1/health' });
    expectSecurityHeaders(health);
  });
});

describe('host reflection (issue 12, gap 6)', () => {
  it('without a configured URL, takes requestContext.domainName and stage, never Host', () => {
    const event = proxyEvent({
      method: 'GET',
      resource: '/v1/images',
      path: '/v1/images',
      headers: { host: 'abc123.execute-api.us-east-1.amazonaws.com' },
    });
    event.headers = { host: FORGED_HOST, 'x-forwarded-host': FORGED_HOST, 'x-forwarded-proto': 'gopher' };
    expect(apiBaseUrl(event)).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod');
    // A custom domain without a base path: no prefix. The local API reports plain http.
    const local = proxyEvent({
      method: 'GET',
      resource: '/v1/images',
      path: '/v1/images',
      basePath: '',
      headers: { host: '127.0.0.1:3000', 'x-forwarded-proto': 'http' },
    });
    expect(apiBaseUrl(local)).toBe('http://127.0.0.1:3000');
    // A domain that is not a host name (never from API Gateway) is not copied into a link.
    event.requestContext.domainName = `${FORGED_HOST}/<script>`;
    expect(apiBaseUrl(event)).toBe('https://localhost/prod');
    expect(apiBaseUrl(event, 'https://cdn.example/')).toBe('https://cdn.example');
  });

  it('builds links and Location from the configured URL, never from Host', async () => {
    const event = proxyEvent(
      uploadRequest('application/json', JSON.stringify({ contentType: 'image/png', contentLength: 10 }), {
        host: 'abc123.execute-api.us-east-1.amazonaws.com',
      }),
    );
    // The Host header differs from the domain API Gateway reports (a client, or a proxy, sent another).
    event.headers.Host = FORGED_HOST;
    event.headers.host = FORGED_HOST;
    event.headers['X-Forwarded-Host'] = FORGED_HOST;
    event.headers['X-Forwarded-Proto'] = `https://${FORGED_HOST}/`;
    event.multiValueHeaders = { Host: [FORGED_HOST] };
    const created = (await cloud.handlers.upload(
      event,
      lambdaContext('upload', 30_000),
    )) as APIGatewayProxyResult;
    expect(created.statusCode).toBe(201);
    const id = JSON.parse(created.body).id;
    // The template gives the functions API_PUBLIC_URL, the CDN's URL (cdn.test here, on local http).
    const expected = `http://cdn.test/v1/images/${id}`;
    expect(created.headers?.Location).toBe(expected);
    expect(JSON.parse(created.body).links.self).toBe(expected);

    const responses = [created];
    for (const [resource, path] of [
      ['/v1/images/{id}', `/v1/images/${id}`],
      ['/v1/images', '/v1/images'],
    ] as const) {
      const read = proxyEvent({
        method: 'GET',
        resource,
        path,
        pathParameters: resource === '/v1/images' ? null : { id },
        ...withKey(),
        headers: { ...withKey().headers, host: 'abc123.execute-api.us-east-1.amazonaws.com' },
      });
      read.headers.host = FORGED_HOST;
      const response = (await cloud.handlers.images(
        read,
        lambdaContext('images', 30_000),
      )) as APIGatewayProxyResult;
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain(expected);
      responses.push(response);
    }
    for (const response of responses) expect(JSON.stringify(response)).not.toContain('evil');
  });
});

describe('public document (issue 12, gap 9)', () => {
  it('drops original.sha256 and exif.takenAt for anyone; the owner sees them in the listing', async () => {
    const { id } = await ingestedJpeg();
    const get = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images/{id}',
      path: `/v1/images/${id}`,
      pathParameters: { id },
      // A key does not change the public route's answer: it is cached at the CDN for everyone.
      ...withKey(),
    });
    expect(get.statusCode).toBe(200);
    const publicDoc = get.json as { original: Record<string, unknown>; exif: Record<string, unknown> };
    expect(publicDoc.original.bytes).toBeGreaterThan(0);
    expect(publicDoc.original).not.toHaveProperty('sha256');
    expect(publicDoc.exif).not.toHaveProperty('takenAt');
    expect(publicDoc.exif.model).toBe(CAMERA.model);
    expect(get.body).not.toContain(CAMERA.takenAt.slice(0, 10));

    const list = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images',
      path: '/v1/images',
      query: { limit: '100' },
      ...withKey(),
    });
    const mine = (
      list.json.items as Array<{ id: string; original: { sha256: string }; exif: { takenAt: string } }>
    ).find((item) => item.id === id);
    expect(mine?.original.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(mine?.exif.takenAt).toBeDefined();
  });

  it('lets the CDN cache a ready image briefly, and nothing else', async () => {
    const { id } = await ingestedJpeg();
    const read = () =>
      cloud.http('images', {
        method: 'GET',
        resource: '/v1/images/{id}',
        path: `/v1/images/${id}`,
        pathParameters: { id },
      });
    expectSecurityHeaders(await read()); // processing
    await cloud.deliver('render', 'thumbnail');
    const ready = await read();
    expect(ready.json.status).toBe('ready');
    expectSecurityHeaders(ready, 'public, max-age=10');
  });
});

/** A presigned JPEG with EXIF, posted and ingested (status `processing`). */
async function ingestedJpeg(): Promise<{ id: string; form: () => Promise<void> }> {
  const bytes = await orientedJpeg(6);
  const accepted = await presign(JSON.stringify({ contentType: 'image/jpeg', contentLength: bytes.length }));
  const { id, upload } = accepted.json as {
    id: string;
    upload: { url: string; fields: Record<string, string> };
  };
  const form = async () => {
    const body = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) body.append(name, value);
    body.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'upload');
    // Straight to the emulator: the fault proxy (which counts the handlers' calls) is for the functions.
    const url = upload.url.replace(cloud.faults?.url ?? upload.url, cloud.endpoint.url);
    const posted = await fetch(url, { method: 'POST', body });
    expect(posted.status).toBeLessThan(300);
    await cloud.announce(`originals/${id}`, 'Post');
  };
  await form();
  await cloud.deliver('ingest', 'metadata');
  return { id, form };
}

describe('replays (issue 12, gap 5)', () => {
  const reads = (id: string) =>
    cloud.faults?.calls.filter((call) => call.operation === `GET /${cloud.bucket}/originals/${id}`).length ??
    0;

  it('reads each original at most once for a forged message of 1,500 records, and parks it', async () => {
    const { id } = await ingestedJpeg();
    await cloud.deliver('render', 'thumbnail');
    const record = JSON.parse(
      objectCreatedEvent({
        bucket: cloud.bucket,
        key: `originals/${id}`,
        size: 1,
        eTag: 'e',
        region: 'us-east-1',
        api: 'Post',
      }),
    ).Records[0];
    const before = reads(id);
    const parkedBefore = await cloud.depth('ingestDlq');
    await cloud.sqs.send(
      new SendMessageCommand({
        QueueUrl: cloud.queues.ingest,
        MessageBody: JSON.stringify({ Records: Array.from({ length: 1500 }, () => record) }),
      }),
    );
    await cloud.deliver('ingest', 'metadata');
    expect(reads(id) - before).toBeLessThanOrEqual(1);
    expect(await cloud.depth('ingestDlq')).toBe(parkedBefore + 1);

    // Within the cap, a key repeated is read once.
    await cloud.sqs.send(
      new SendMessageCommand({
        QueueUrl: cloud.queues.ingest,
        MessageBody: JSON.stringify({ Records: Array.from({ length: 10 }, () => record) }),
      }),
    );
    const beforeRepeat = reads(id);
    await cloud.deliver('ingest', 'metadata');
    expect(reads(id) - beforeRepeat).toBe(1);
  });

  it('inspects the same form posted 8 times while processing once', async () => {
    const start = inspections.count;
    const { id, form } = await ingestedJpeg();
    for (let i = 0; i < 8; i += 1) {
      await form();
      await cloud.deliver('ingest', 'metadata');
    }
    expect(inspections.count - start).toBe(1);
    for (let i = 0; i < 3; i += 1) await cloud.deliver('render', 'thumbnail');
    const image = await cloud.http('images', {
      method: 'GET',
      resource: '/v1/images/{id}',
      path: `/v1/images/${id}`,
      pathParameters: { id },
    });
    expect(image.json.status).toBe('ready');
    expect(image.json.rejection).toBeUndefined();
  });
});

describe('delete trail (issue 12, gap 8)', () => {
  it('logs the auth method, the key id (never the key or token) and the source IP of every delete', async () => {
    // A fresh delete function logging at INFO (the pipeline's are SILENT), its Powertools output captured.
    vi.resetModules();
    Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'INFO', PURGE_QUEUE_URL: cloud.queues.purge });
    const { handler } = await import('../../../functions/delete/handler.ts');
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const tokens: string[] = [];
    try {
      for (const [method, resource] of [
        ['key', '/v1/images/{id}'],
        ['token', '/v1/images/{id}/token'],
      ] as const) {
        const accepted = await presign(JSON.stringify({ contentType: 'image/png', contentLength: 10 }));
        const { id, deleteToken } = accepted.json as { id: string; deleteToken: string };
        tokens.push(deleteToken);
        const event = proxyEvent({
          method: 'DELETE',
          resource,
          path: resource.replace('{id}', id),
          pathParameters: { id },
          sourceIp: method === 'key' ? '198.51.100.7' : '203.0.113.9',
          ...(method === 'key' ? withKey() : { headers: { authorization: `Bearer ${deleteToken}` } }),
        });
        const response = (await handler(event, lambdaContext('delete', 30_000))) as APIGatewayProxyResult;
        expect(response.statusCode).toBe(202);
      }
    } finally {
      write.mockRestore();
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    }
    const accepted = lines
      .filter((line) => line.includes('delete accepted'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(accepted).toEqual([
      expect.objectContaining({ authMethod: 'key', apiKeyId: TEST_KEY.id, sourceIp: '198.51.100.7' }),
      expect.objectContaining({ authMethod: 'token', sourceIp: '203.0.113.9' }),
    ]);
    expect(accepted[1]).not.toHaveProperty('apiKeyId');
    for (const line of lines) {
      expect(line).not.toContain(TEST_KEY.value);
      for (const token of tokens) expect(line).not.toContain(token);
    }
  });
});
