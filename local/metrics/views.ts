/**
 * The metrics on the AWS endpoint: `GET /_pictura/metrics` (JSON, the CloudWatch shapes of aggregator.ts,
 * with the log groups' sizes) and `GET /_pictura/metrics.html` (a page charting them, drawn on the server as
 * SVG: no script, so its Content-Security-Policy allows none).
 *
 * Both are for tools and for a person's browser tab, never for scripts on a page: the endpoint already
 * refuses cross-site requests (security/request-guards.ts), and these views also refuse any request a
 * browser marks as made by a page (`Sec-Fetch-Site` sent, `Sec-Fetch-Mode` other than `navigate`), even from
 * the endpoint's own origin, where an HTML object in a bucket could otherwise read the logs' figures.
 * (Browsers send these headers to secure contexts, which `localhost` and loopback addresses are.)
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { escapeMarkup } from '../http-util.ts';
import type { LogGroupSummary } from '../logs/store.ts';
import type { Datapoint, MetricSeries, MetricStore } from './aggregator.ts';

const JSON_PATH = '/_pictura/metrics';
const HTML_PATH = '/_pictura/metrics.html';
/** Minutes a chart shows, ending at the newest datapoint of all metrics, or now if that is later than now. */
const CHART_MINUTES = 60;
const REFRESH_SECONDS = 10;

export interface MetricsViewSources {
  metrics: MetricStore;
  logGroups: () => LogGroupSummary[];
}

/** The route for both views; other paths pass on. */
export function metricsRoute(sources: MetricsViewSources): EdgeRoute {
  return (req, res) => {
    // The path as sent, not `new URL(req.url, base)`: a request target such as `//` or `//host:99999` is no
    // URL, and throwing here would take down the endpoint's other routes.
    const [pathname, query = ''] = (req.url ?? '/').split('?', 2);
    if (pathname !== JSON_PATH && pathname !== HTML_PATH) return false;
    req.resume();
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'application/json', JSON.stringify({ message: 'GET only' }), { allow: 'GET, HEAD' });
      return true;
    }
    // Browsers send Sec-Fetch-Site with every request; Node's fetch sends Sec-Fetch-Mode (cors) alone.
    if (req.headers['sec-fetch-site'] !== undefined && req.headers['sec-fetch-mode'] !== 'navigate') {
      send(
        res,
        403,
        'application/json',
        JSON.stringify({
          message:
            'The metrics views are not for scripts on web pages; open them in a tab or read them with a tool.',
        }),
      );
      return true;
    }
    const params = new URLSearchParams(query);
    const filter = {
      namespace: params.get('namespace')?.slice(0, 255) || undefined,
      metricName: params.get('metricName')?.slice(0, 255) || undefined,
    };
    const snapshot = sources.metrics.snapshot(filter);
    if (pathname === JSON_PATH)
      send(res, 200, 'application/json', JSON.stringify({ ...snapshot, logGroups: sources.logGroups() }));
    else send(res, 200, 'text/html; charset=utf-8', renderPage(snapshot.metrics, snapshot.rejected.lines));
    return true;
  };
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fff}
h1{font-size:1.3rem}h2{font-size:1rem;margin:1.5rem 0 .3rem}main{display:grid;grid-template-columns:repeat(auto-fill,minmax(620px,1fr));gap:0 2rem}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:.15rem .6rem;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left}.dims{color:#555;font-weight:normal}
svg{display:block;margin:.3rem 0;background:#f7f8fa}.bar{fill:#2f6fb3}.p50{stroke:#2f6fb3;fill:none;stroke-width:2}
.p95{stroke:#c2410c;fill:none;stroke-width:2}.axis{fill:#555;font-size:11px}.legend{font-size:12px;color:#555}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
const HTML_HEADERS = {
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(type.startsWith('text/html')
      ? HTML_HEADERS
      : { 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" }),
    ...extra,
  });
  res.end(status === 200 && (res.req as IncomingMessage | undefined)?.method === 'HEAD' ? undefined : body);
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '–';
  const short =
    unit === 'Milliseconds'
      ? ' ms'
      : unit === 'Bytes'
        ? ' B'
        : unit === 'Count' || unit === 'None'
          ? ''
          : ` ${unit}`;
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${short}`;
}

/**
 * The page: per metric, a chart of an hour (sums per minute, or p50/p95 for times) and the totals. The hour
 * ends at the newest datapoint, but never after `now`: a line stamped up to two hours ahead (CloudWatch
 * takes it) would otherwise push every chart's window past the present and out of its data.
 */
export function renderPage(metrics: MetricSeries[], rejectedLines: number, now = Date.now()): string {
  const current = Math.floor(now / 60_000) * 60_000;
  const starts = metrics.flatMap((m) => m.Datapoints.map((d) => Date.parse(d.Timestamp)));
  const newest = starts.length === 0 ? current : Math.min(current, Math.max(...starts));
  const sections = metrics.map((m) => renderSeries(m, newest)).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>Pictura local metrics</title><style>${STYLE}</style></head><body>
<h1>Pictura local metrics</h1>
<p class="legend">From the embedded-metric-format lines the functions logged, per minute, as CloudWatch aggregates them.
Refreshes every ${REFRESH_SECONDS} s. JSON: <a href="${JSON_PATH}">${JSON_PATH}</a>.${rejectedLines > 0 ? ` Rejected EMF lines: ${rejectedLines}.` : ''}</p>
<main>${sections || '<p>No metrics yet: upload an image.</p>'}</main>
</body></html>
`;
}

function renderSeries(series: MetricSeries, newest: number): string {
  const dims = series.Dimensions.map((d) => `${escapeMarkup(d.Name)}=${escapeMarkup(d.Value)}`).join(', ');
  const t = series.Total;
  const u = series.Unit;
  return `<section><h2>${escapeMarkup(series.MetricName)} <span class="dims">${escapeMarkup(series.Namespace)} · ${dims} · ${escapeMarkup(u)}</span></h2>
${renderChart(series, newest)}
<table><tr><th></th><th>samples</th><th>sum</th><th>min</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>
<tr><th scope="row">total</th><td>${t.SampleCount}</td><td>${format(t.Sum, u)}</td><td>${format(t.Minimum, u)}</td><td>${format(t.ExtendedStatistics.p50, u)}</td><td>${format(t.ExtendedStatistics.p95, u)}</td><td>${format(t.ExtendedStatistics.p99, u)}</td><td>${format(t.Maximum, u)}</td></tr></table></section>`;
}

const WIDTH = 600;
const HEIGHT = 110;
const LEFT = 48;
const BOTTOM = 16;

/**
 * Time units are charted as p50 and p95 lines; everything else as the sum per minute, in bars from the zero
 * line (down for a negative sum: a value from a log line may be any finite number).
 */
function renderChart(series: MetricSeries, newest: number): string {
  const first = newest - (CHART_MINUTES - 1) * 60_000;
  const points = series.Datapoints.filter((d) => {
    const at = Date.parse(d.Timestamp);
    return at >= first && at <= newest;
  });
  const timed = ['Milliseconds', 'Seconds', 'Microseconds'].includes(series.Unit);
  const shown = points.flatMap((d) =>
    timed ? [d.ExtendedStatistics.p50, d.ExtendedStatistics.p95] : [d.Sum],
  );
  const top = Math.max(0, ...shown);
  const bottom = Math.min(0, ...shown);
  const span = Math.max(1e-9, top - bottom);
  const slot = (WIDTH - LEFT) / CHART_MINUTES;
  const x = (d: Datapoint) => LEFT + ((Date.parse(d.Timestamp) - first) / 60_000) * slot;
  const y = (v: number) => HEIGHT - BOTTOM - ((v - bottom) / span) * (HEIGHT - BOTTOM - 8);
  const marks = timed
    ? ['p50', 'p95']
        .map((p) => {
          const at = points.map((d) => [x(d) + slot / 2, y(d.ExtendedStatistics[p as 'p50' | 'p95'])]);
          const coords = at.map(([px = 0, py = 0]) => `${px.toFixed(1)},${py.toFixed(1)}`);
          // A dot per minute as well: a line through one minute's point would draw nothing.
          const dots = coords.map((c) => {
            const [cx, cy] = c.split(',');
            return `<circle class="${p}" cx="${cx}" cy="${cy}" r="2.5"/>`;
          });
          return `<polyline class="${p}" points="${coords.join(' ')}"/>${dots.join('')}`;
        })
        .join('')
    : points
        .map((d) => {
          const [from, to] = [y(Math.max(0, d.Sum)), y(Math.min(0, d.Sum))];
          return `<rect class="bar" x="${x(d).toFixed(1)}" y="${from.toFixed(1)}" width="${Math.max(1, slot - 1).toFixed(1)}" height="${(to - from).toFixed(1)}"/>`;
        })
        .join('');
  const label = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const what = timed ? 'p50 (blue) and p95 (orange) per minute' : 'sum per minute';
  return `<svg role="img" aria-label="${escapeMarkup(series.MetricName)}: ${what}, last ${CHART_MINUTES} minutes" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">
<text class="axis" x="2" y="12">${escapeMarkup(format(top, series.Unit))}</text><text class="axis" x="2" y="${y(0).toFixed(1)}">0</text>${bottom < 0 ? `<text class="axis" x="2" y="${HEIGHT - BOTTOM}">${escapeMarkup(format(bottom, series.Unit))}</text>` : ''}
<text class="axis" x="${LEFT}" y="${HEIGHT - 3}">${label(first)}</text><text class="axis" x="${WIDTH - 36}" y="${HEIGHT - 3}">${label(newest)}</text>
${marks}</svg><div class="legend">${what} (UTC)</div>`;
}
