import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

const FORGED = 'evil.attacker.example';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose `Host` the test chooses (fetch does not let a caller set it). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<Raw> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const presignBody = JSON.stringify({ contentType: 'image/png', contentLength: 100 });

describe('links never come from the Host header (issue 12, gap 6), through the local cloud', () => {
  it.each(['api', 'cdn'] as const)(
    'through the %s: forged X-Forwarded-Host/-Proto and another local Host name',
    async (door) => {
      const base = cloud.urls[door] ?? '';
      const port = new URL(base).port;
      // `localhost` is a name of this machine the local cloud accepts, but not the one it was started with.
      const created = await send(
        base,
        'POST',
        '/v1/images',
        {
          host: `localhost:${port}`,
          'x-api-key': cloud.apiKey,
          'content-type': 'application/json',
          'x-forwarded-host': FORGED,
          'x-forwarded-proto': `https://${FORGED}/`,
          forwarded: `host=${FORGED}`,
        },
        presignBody,
      );
      expect(created.status).toBe(201);
      const { id, links } = JSON.parse(created.body) as { id: string; links: { self: string } };
      // The stack's API_PUBLIC_URL: the CDN, the API's public door (the local CDN on plain http).
      expect(links.self).toBe(`${cloud.urls.cdn}/v1/images/${id}`);
      expect(created.headers.location).toBe(links.self);
      const read = await send(base, 'GET', `/v1/images/${id}`, {
        host: `localhost:${port}`,
        'x-forwarded-host': FORGED,
      });
      expect(read.status).toBe(200);
      for (const response of [created, read]) {
        expect(JSON.stringify(response)).not.toContain(FORGED);
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      }
    },
  );

  it('a foreign Host is refused before any function runs, so no link can name it', async () => {
    const refused = await send(
      cloud.urls.api ?? '',
      'POST',
      '/v1/images',
      {
        host: FORGED,
        'x-api-key': cloud.apiKey,
        'content-type': 'application/json',
      },
      presignBody,
    );
    expect(refused.status).toBe(421);
    expect(refused.headers.location).toBeUndefined();
  });
});
