import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { listenOnFreePort } from '#test/support/functions.ts';
import { orientedJpeg, pngWithAlpha } from '#test/support/images.ts';
import { imagesBucket, startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';
import { expectOpenApiResponse, OPENAPI_DOCUMENT } from '#test/support/openapi.ts';

let cloud: TestCloud;
let client: PicturaClient;
let s3: S3Client;

beforeAll(async () => {
  cloud = await startTestCloud();
  client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
  s3 = new S3Client({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  await cloud?.stop();
});

async function keysUnder(prefix: string): Promise<string[]> {
  const bucket = imagesBucket(cloud);
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return Contents.map((o) => o.Key ?? '');
}

describe('through HTTP only, as a client would', () => {
  it('uploads with a presigned POST, renders, serves every variant through the CDN, lists, and deletes', async () => {
    const jpeg = await orientedJpeg(6);
    const presigned = await client.presign('image/jpeg', jpeg.length);
    expect(presigned.status).toBe(201);
    expectOpenApiResponse('POST', '/v1/images', presigned);
    const upload = presigned.body.upload;
    expect(upload?.method).toBe('POST');
    expect(
      await client.postForm(
        upload ?? { url: '', method: 'POST', fields: {}, expiresAt: '' },
        jpeg,
        'image/jpeg',
      ),
    ).toBe(204);

    const id = presigned.body.id;
    const doc = await client.waitUntilSettled(id);
    expect(doc.status).toBe('ready');
    expectOpenApiResponse('GET', '/v1/images/{id}', await client.get(id));
    expect(doc.original).toMatchObject({ width: 200, height: 300, contentType: 'image/jpeg' });
    expect(doc.variants.length).toBeGreaterThan(0);

    for (const variant of doc.variants) {
      expect(variant.url.startsWith(`${cloud.urls.cdn}/variants/${id}/`)).toBe(true);
      const first = await fetch(variant.url);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toBe('image/webp');
      expect(first.headers.get('x-cache')).toBe('Miss from cloudfront');
      expect(first.headers.get('x-content-type-options')).toBe('nosniff');
      expect(first.headers.get('cache-control')).toContain('immutable');
      const body = Buffer.from(await first.arrayBuffer());
      expect(body.length).toBe(variant.bytes);
      expect((await sharp(body).metadata()).width).toBe(variant.width);
      const second = await fetch(variant.url);
      await second.arrayBuffer();
      expect(second.headers.get('x-cache')).toBe('Hit from cloudfront');
      const etag = second.headers.get('etag') ?? '';
      const revalidated = await fetch(variant.url, { headers: { 'if-none-match': etag } });
      expect(revalidated.status).toBe(304);
      // As RFC 9110 compares If-None-Match: weakly, any entry of a list, or `*`.
      for (const condition of [`W/${etag}`, `"other", ${etag}`, '*']) {
        const conditional = await fetch(variant.url, { headers: { 'if-none-match': condition } });
        expect(conditional.status, condition).toBe(304);
      }
      expect((await fetch(variant.url, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
      // Percent-encoded, it is the same cached object (and so the same invalidation).
      const encoded = await fetch(
        variant.url.replace(
          /\/([^/]+)$/,
          (_m, file: string) => `/%${file.charCodeAt(0).toString(16)}${file.slice(1)}`,
        ),
      );
      await encoded.arrayBuffer();
      expect(encoded.headers.get('x-cache')).toBe('Hit from cloudfront');
      // A browser on another origin may read variants (the response headers policy's CORS).
      const crossOrigin = await fetch(variant.url, { headers: { origin: 'https://app.example' } });
      await crossOrigin.arrayBuffer();
      expect(crossOrigin.headers.get('access-control-allow-origin')).toBe('*');
    }
    // Originals are private: the CDN never serves them.
    expect((await fetch(`${cloud.urls.cdn}/originals/${id}`)).status).toBe(404);

    const listed = await client.list({ limit: '10' });
    expect(listed.status).toBe(200);
    expectOpenApiResponse('GET', '/v1/images', listed);
    expect(listed.body.items.map((item) => item.id)).toContain(id);

    const deleted = await client.delete(id, presigned.body.deleteToken);
    expect(deleted.status).toBe(202);
    expectOpenApiResponse('DELETE', '/v1/images/{id}/token', deleted);
    const thumb = doc.variants[0]?.url ?? '';
    const gone = await (async () => {
      for (let i = 0; i < 200; i += 1) {
        if ((await keysUnder(`variants/${id}/`)).length === 0 && (await fetch(thumb)).status === 404)
          return true;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return false;
    })();
    expect(gone).toBe(true);
    const afterDelete = await client.get(id);
    expect(afterDelete.status).toBe(404);
    expectOpenApiResponse('GET', '/v1/images/{id}', afterDelete);
    expect(await keysUnder(`originals/${id}`)).toEqual([]);
    // Through the CDN's /v1/* behaviour too.
    expect((await fetch(`${cloud.urls.cdn}/v1/images/${id}`)).status).toBe(404);
  });

  it('takes a direct upload and keeps a PNG transparent', async () => {
    const png = await pngWithAlpha(640, 480);
    const response = await client.uploadDirect(png, 'image/png');
    expect(response.status).toBe(202);
    expectOpenApiResponse('POST', '/v1/images', response);
    const doc = await client.waitUntilSettled(response.body.id);
    expect(doc.status).toBe('ready');
    for (const variant of doc.variants) {
      const body = Buffer.from(await (await fetch(variant.url)).arrayBuffer());
      expect((await sharp(body).metadata()).hasAlpha).toBe(true);
    }
  });

  it("answers with the template's gateway responses for unknown routes and missing keys, and AWS's 413 over 10 MB", async () => {
    const api = cloud.urls.api ?? '';
    const unknown = await fetch(`${api}/v2/nothing`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    expect(await unknown.json()).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
    const noKey = await fetch(`${api}/v1/images`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
    const noKeyBody = await noKey.json();
    expect(noKeyBody).toMatchObject({ status: 401, code: 'API_KEY_REQUIRED' });
    expectOpenApiResponse('POST', '/v1/images', {
      status: noKey.status,
      headers: noKey.headers,
      body: noKeyBody,
    });
    const wrongKey = await fetch(`${api}/v1/images`, {
      method: 'POST',
      body: '{}',
      headers: { 'x-api-key': 'not-a-key' },
    });
    expect(wrongKey.status).toBe(401);
    expectOpenApiResponse('POST', '/v1/images', {
      status: wrongKey.status,
      headers: wrongKey.headers,
      body: await wrongKey.json(),
    });
    const tooBig = await fetch(`${api}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': cloud.apiKey, 'content-type': 'image/png' },
      body: new Uint8Array(11 * 1024 * 1024),
    });
    // Over API Gateway's 10 MB, AWS answers at its front door with a plain-text 413 that no gateway response
    // customises (captured on AWS: https://github.com/koki-develop/lgtm-generator/issues/10).
    expect(tooBig.status).toBe(413);
    const tooBigText = await tooBig.text();
    expect(tooBigText).toBe('HTTP content length exceeded 10485760 bytes.');
    expectOpenApiResponse('POST', '/v1/images', { status: 413, headers: tooBig.headers, body: tooBigText });
    // Under 10 MB but over Lambda's 6 MB once base64-encoded in the event: API Gateway's own JSON 413
    // (captured on AWS in the same issue), which the function never sees.
    const tooLong = await fetch(`${api}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': cloud.apiKey, 'content-type': 'image/png' },
      body: new Uint8Array(5 * 1024 * 1024),
    });
    const tooLongBody = await tooLong.json();
    expect([tooLong.status, tooLongBody]).toEqual([413, { message: 'Request Too Long' }]);
    expectOpenApiResponse('POST', '/v1/images', { status: 413, headers: tooLong.headers, body: tooLongBody });
    const health = await fetch(`${api}/v1/health`);
    expect(health.status).toBe(200);
    expectOpenApiResponse('GET', '/v1/health', {
      status: health.status,
      headers: health.headers,
      body: await health.json(),
    });
  });

  it('answers every refusal in the documented problem format, and serves the OpenAPI document', async () => {
    const api = cloud.urls.api ?? '';
    const send = async (method: string, path: string, init: RequestInit = {}) => {
      const response = await fetch(`${api}${path}`, { method, ...init });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
    };
    const keyed = { 'x-api-key': cloud.apiKey };
    const json = { ...keyed, 'content-type': 'application/json' };
    const cases: [string, string, RequestInit, number, string][] = [
      ['POST', '/v1/images', { headers: json, body: '{"contentType":' }, 400, 'INVALID_JSON'],
      ['POST', '/v1/images', { headers: json, body: '{"contentType":"image/png"}' }, 400, 'INVALID_BODY'],
      [
        'POST',
        '/v1/images',
        { headers: json, body: '{"contentType":"image/svg+xml","contentLength":10}' },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'POST',
        '/v1/images',
        { headers: json, body: `{"contentType":"image/png","contentLength":${2 ** 40}}` },
        413,
        'FILE_TOO_LARGE',
      ],
      ['POST', '/v1/images', { headers: json, body: 'x'.repeat(17 * 1024) }, 413, 'BODY_TOO_LARGE'],
      [
        'POST',
        '/v1/images',
        { headers: { ...keyed, 'content-type': 'image/png' }, body: 'not an image' },
        415,
        'NOT_AN_IMAGE',
      ],
      ['POST', '/v1/images', { headers: { ...keyed, 'content-type': 'image/png' } }, 400, 'EMPTY_BODY'],
      ['GET', '/v1/images?limit=0', { headers: keyed }, 400, 'INVALID_LIMIT'],
      ['GET', '/v1/images?cursor=!!', { headers: keyed }, 400, 'INVALID_CURSOR'],
      ['GET', '/v1/images', {}, 401, 'API_KEY_REQUIRED'],
      ['GET', '/v1/images/AAAAAAAAAAAAAAAAAAAAAA', {}, 404, 'IMAGE_NOT_FOUND'],
      ['DELETE', '/v1/images/AAAAAAAAAAAAAAAAAAAAAA', { headers: keyed }, 404, 'IMAGE_NOT_FOUND'],
      ['DELETE', '/v1/images/AAAAAAAAAAAAAAAAAAAAAA', {}, 401, 'API_KEY_REQUIRED'],
      [
        'DELETE',
        '/v1/images/AAAAAAAAAAAAAAAAAAAAAA/token',
        { headers: { authorization: 'Bearer some-token' } },
        404,
        'IMAGE_NOT_FOUND',
      ],
    ];
    for (const [method, path, init, status, code] of cases) {
      const answer = await send(method, path, init);
      expect(answer.status, `${method} ${path}`).toBe(status);
      expect(answer.body?.code, `${method} ${path}`).toBe(code);
      expectOpenApiResponse(method, path.split('?')[0]?.replace(/A{22}(?=\/|$)/, '{id}') ?? '', answer);
    }

    // The token route: no token 401, a wrong one 403, then the owner's key deletes it (202).
    const png = await pngWithAlpha(8, 8);
    const { body: uploaded } = await client.uploadDirect(png, 'image/png');
    const tokenPath = `/v1/images/${uploaded.id}/token`;
    const noToken = await send('DELETE', tokenPath);
    expect([noToken.status, noToken.body?.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
    expectOpenApiResponse('DELETE', '/v1/images/{id}/token', noToken);
    const wrong = await send('DELETE', tokenPath, { headers: { authorization: 'Bearer not-the-token' } });
    expect([wrong.status, wrong.body?.code]).toEqual([403, 'INVALID_DELETE_TOKEN']);
    expectOpenApiResponse('DELETE', '/v1/images/{id}/token', wrong);
    const byKey = await send('DELETE', `/v1/images/${uploaded.id}`, { headers: keyed });
    expect(byKey.status).toBe(202);
    expectOpenApiResponse('DELETE', '/v1/images/{id}', byKey);

    // The document itself: public (no key), cacheable, the committed file, here and through the CDN.
    for (const base of [api, cloud.urls.cdn ?? '']) {
      const response = await fetch(`${base}/v1/openapi.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
      const body = await response.json();
      expect(body).toEqual(OPENAPI_DOCUMENT);
      expectOpenApiResponse('GET', '/v1/openapi.json', { status: 200, headers: response.headers, body });
    }
  });

  // Found by review: the API closed the connection on a refused body while the CDN was still sending it, and
  // the CDN's broken pipe turned the 413 into a 502. CloudFront relays its origin's answer.
  it("relays the API's 413 through the CDN to a client that sends the whole body at once or asks 100-continue", async () => {
    const cdn = new URL(cloud.urls.cdn ?? '');
    const body = Buffer.alloc(11 * 1024 * 1024);
    for (const expectContinue of [false, true]) {
      const head = [
        'POST /v1/images HTTP/1.1',
        `Host: ${cdn.host}`,
        `x-api-key: ${cloud.apiKey}`,
        'content-type: image/png',
        `content-length: ${body.length}`,
        ...(expectContinue ? ['expect: 100-continue'] : []),
      ];
      const statusLine = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const socket = connect(Number(cdn.port), cdn.hostname, () => {
          socket.write(`${head.join('\r\n')}\r\n\r\n`);
          if (!expectContinue) socket.write(body);
        });
        socket.on('data', (chunk: Buffer) => {
          seen += chunk.toString('latin1');
          if (expectContinue && seen.startsWith('HTTP/1.1 100')) {
            seen = seen.slice(seen.indexOf('\r\n\r\n') + 4);
            socket.write(body);
          }
          const line = seen.split('\r\n')[0] ?? '';
          if (seen.includes('\r\n') && !line.startsWith('HTTP/1.1 100')) {
            socket.destroy();
            resolve(line);
          }
        });
        socket.on('error', reject);
      });
      expect(statusLine, `expect: 100-continue ${expectContinue}`).toBe('HTTP/1.1 413 Payload Too Large');
    }
  });

  it('rejects a file that is not an image and removes it', async () => {
    const text = Buffer.from('this is a text file with a .jpg name');
    const presigned = await client.presign('image/jpeg', text.length);
    const upload = presigned.body.upload;
    expect(
      await client.postForm(
        upload ?? { url: '', method: 'POST', fields: {}, expiresAt: '' },
        text,
        'image/jpeg',
      ),
    ).toBe(204);
    const doc = await client.waitUntilSettled(presigned.body.id);
    expect(doc.status).toBe('rejected');
    expect(doc.rejection?.code).toBe('NOT_AN_IMAGE');
    expectOpenApiResponse('GET', '/v1/images/{id}', await client.get(presigned.body.id));
    expect(await keysUnder(`originals/${presigned.body.id}`)).toEqual([]);
  });
});

describe('request targets no client should send', () => {
  /** Sends `target` exactly as given (fetch would normalise it) and answers the status, if any came back. */
  function rawGet(base: string, target: string): Promise<number | undefined> {
    return new Promise((resolve) => {
      const req = request(base, { path: target }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }

  it('are answered without taking the local cloud down, and the CDN never proxies to another host', async () => {
    const seen: string[] = [];
    const bystander = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.end('bystander');
    });
    const { port } = await listenOnFreePort(bystander);
    try {
      for (const base of [cloud.urls.cdn, cloud.urls.api, cloud.urls.aws]) {
        for (const target of ['//', `//127.0.0.1:${port}/v1/images`, '//%zz']) {
          const status = await rawGet(base ?? '', target);
          expect(status, `${base} ${target}`).toBeGreaterThanOrEqual(400);
        }
      }
      expect(seen).toEqual([]);
      expect((await fetch(`${cloud.urls.api}/v1/health`)).status).toBe(200);
      expect((await fetch(`${cloud.urls.cdn}/v1/health`)).status).toBe(200);
    } finally {
      bystander.close();
    }
  });
});
