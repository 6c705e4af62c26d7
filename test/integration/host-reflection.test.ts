import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '#test/support/http.ts';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

const FORGED = 'evil.attacker.example';

const presignBody = JSON.stringify({ contentType: 'image/png', contentLength: 100 });

describe('links never come from the Host header (issue 12, gap 6), through the local cloud', () => {
  it.each(['api', 'cdn'] as const)(
    'through the %s: forged X-Forwarded-Host/-Proto and another local Host name',
    async (door) => {
      const base = cloud.urls[door] ?? '';
      const port = new URL(base).port;
      // `localhost` is a name of this machine the local cloud accepts, but not the one it was started with.
      const created = await rawRequest(`${base}/v1/images`, {
        method: 'POST',
        headers: {
          host: `localhost:${port}`,
          'x-api-key': cloud.apiKey,
          'content-type': 'application/json',
          'x-forwarded-host': FORGED,
          'x-forwarded-proto': `https://${FORGED}/`,
          forwarded: `host=${FORGED}`,
        },
        body: presignBody,
      });
      expect(created.status).toBe(201);
      const { id, links } = JSON.parse(created.body) as { id: string; links: { self: string } };
      // The stack's API_PUBLIC_URL: the CDN, the API's public door (the local CDN on plain http).
      expect(links.self).toBe(`${cloud.urls.cdn}/v1/images/${id}`);
      expect(created.headers.location).toBe(links.self);
      // rawRequest, not fetch: fetch does not let a caller choose the Host header.
      const read = await rawRequest(`${base}/v1/images/${id}`, {
        headers: { host: `localhost:${port}`, 'x-forwarded-host': FORGED },
      });
      expect(read.status).toBe(200);
      for (const response of [created, read]) {
        expect(JSON.stringify(response)).not.toContain(FORGED);
        expect(response.headers['x-content-type-options']).toBe('nosniff');
      }
    },
  );

  it('a foreign Host is refused before any function runs, so no link can name it', async () => {
    const refused = await rawRequest(`${cloud.urls.api ?? ''}/v1/images`, {
      method: 'POST',
      headers: { host: FORGED, 'x-api-key': cloud.apiKey, 'content-type': 'application/json' },
      body: presignBody,
    });
    expect(refused.status).toBe(421);
    expect(refused.headers.location).toBeUndefined();
  });
});
