import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricStore } from '#local/metrics/aggregator.ts';
import { escapeHtml, metricsRoute } from '#local/metrics/views.ts';
import { rawRequest } from '#test/support/http.ts';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const emf = (
  name: string,
  unit: string,
  value: number,
  dims: Record<string, string> = { service: 'pictura' },
) =>
  JSON.stringify({
    _aws: {
      Timestamp: T0,
      CloudWatchMetrics: [
        { Namespace: 'Pictura', Dimensions: [Object.keys(dims)], Metrics: [{ Name: name, Unit: unit }] },
      ],
    },
    ...dims,
    [name]: value,
  });

let server: Server;
let base: string;
const metrics = new MetricStore();

beforeAll(async () => {
  metrics.ingest(emf('ImagesReady', 'Count', 1), T0);
  metrics.ingest(emf('UploadToReady', 'Milliseconds', 850), T0);
  metrics.ingest(
    emf('ImagesRejected', 'Count', 1, { service: 'pictura', code: '<script>alert(1)</script>' }),
    T0,
  );
  const route = metricsRoute({ metrics, logGroups: () => [] });
  server = createServer((req, res) => {
    if (!route(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server?.close(() => done())));

describe('GET /_pictura/metrics', () => {
  it('answers the metrics in CloudWatch terms, filtered by metricName', async () => {
    const response = await fetch(`${base}/_pictura/metrics?metricName=UploadToReady`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { metrics: Array<Record<string, unknown>>; logGroups: unknown[] };
    expect(body.metrics).toHaveLength(1);
    expect(body.metrics[0]).toMatchObject({
      Namespace: 'Pictura',
      MetricName: 'UploadToReady',
      Unit: 'Milliseconds',
      Dimensions: [{ Name: 'service', Value: 'pictura' }],
      Total: { SampleCount: 1, Sum: 850, ExtendedStatistics: { p50: 850, p95: 850, p99: 850 } },
    });
    expect(body.logGroups).toEqual([]);
  });

  it('refuses requests a browser marks as made by a script, even same-origin (Sec-Fetch-Site with a mode other than navigate)', async () => {
    // node:http, not fetch, which sets Sec-Fetch-Mode itself.
    for (const mode of ['cors', 'no-cors', 'same-origin']) {
      const reply = await rawRequest(`${base}/_pictura/metrics`, {
        headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': mode },
      });
      expect(reply.status).toBe(403);
    }
    const tab = await rawRequest(`${base}/_pictura/metrics.html`, {
      headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    expect(tab.status).toBe(200);
  });

  it('answers methods other than GET and HEAD 405', async () => {
    const response = await fetch(`${base}/_pictura/metrics`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('GET /_pictura/metrics.html', () => {
  it('charts each metric as SVG, runs no script, and escapes every name and value from the logs', async () => {
    const response = await fetch(`${base}/_pictura/metrics.html`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('script-src');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).not.toContain('<script');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('class="p95"');
    expect(html).toContain('class="bar"');
    // The style block is allowed by its hash: the CSP names the hash of exactly what the page carries.
    const style = /<style>([\s.\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const { createHash } = await import('node:crypto');
    expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});
