import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeMarkup } from '#local/http-util.ts';
import { LogStore } from '#local/logs/store.ts';
import { MetricStore } from '#local/metrics/aggregator.ts';
import { metricsRoute, renderPage } from '#local/metrics/views.ts';
import { listenOnFreePort } from '#test/support/functions.ts';
import { rawRequest } from '#test/support/http.ts';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const emf = (
  name: string,
  unit: string,
  value: number,
  dims: Record<string, string> = { service: 'pictura' },
  at = T0,
) =>
  JSON.stringify({
    _aws: {
      Timestamp: at,
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
  ({ base } = await listenOnFreePort(server));
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
    expect(escapeMarkup(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});

describe('the charts', () => {
  const MINUTE = 60_000;
  const page = (lines: Array<[string, number]>, now: number) => {
    const store = new MetricStore();
    for (const [text, receivedAt] of lines) store.ingest(text, receivedAt);
    return renderPage(store.snapshot().metrics, 0, now);
  };

  it('end at now, not at a datapoint stamped up to two hours ahead (which CloudWatch accepts)', () => {
    const html = page(
      [
        [emf('ImagesReady', 'Count', 1), T0],
        [emf('ImagesReady', 'Count', 1, undefined, T0 + 110 * MINUTE), T0],
      ],
      T0 + 30_000,
    );
    // The hour ends at 10:00 (now), and now's minute is the last slot: 48 + 59 × (552 / 60).
    expect(html).toContain('>09:01</text>');
    expect(html).toContain('>10:00</text>');
    expect(html).not.toContain('>11:50</text>');
    expect(html).toMatch(/<rect class="bar" x="590\.8"/);
    expect(html.match(/<rect class="bar"/g)).toHaveLength(1);
  });

  it('draw a negative sum as a bar down from the zero line, never a negative height', () => {
    const html = page(
      [
        [emf('Delta', 'Count', -5, undefined, T0 - MINUTE), T0],
        [emf('Delta', 'Count', 10), T0],
      ],
      T0,
    );
    const heights = [
      ...html.matchAll(/<rect class="bar" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="(-?[\d.]+)"/g),
    ];
    expect(heights).toHaveLength(2);
    for (const [, y, height] of heights) {
      expect(Number(height)).toBeGreaterThan(0);
      expect(Number(y) + Number(height)).toBeLessThanOrEqual(110 - 16 + 0.1);
    }
    // The negative bar hangs from where the positive one stands.
    const [negative, positive] = heights.map(([, y, h]) => [Number(y), Number(h)]);
    expect(negative?.[0]).toBeCloseTo((positive?.[0] ?? 0) + (positive?.[1] ?? 0), 1);
    expect(html).toContain('>-5</text>');
  });
});

describe('an EMF line over 1 MB', () => {
  it('is counted under rejected after the log store cut it (no longer JSON), not ignored', () => {
    const store = new MetricStore();
    const logs = new LogStore({ onEvent: (e) => store.ingest(e.message, T0) });
    const big = JSON.stringify({
      ...JSON.parse(emf('ImagesReady', 'Count', 1)),
      padding: 'p'.repeat(1_100_000),
    });
    logs.put('/aws/lambda/Pictura-Upload', 'stream', T0, big);
    expect(store.snapshot().rejected).toMatchObject({ lines: 1, reasons: { 'larger than 1 MB': 1 } });
    expect(store.snapshot().metrics).toEqual([]);
  });
});
