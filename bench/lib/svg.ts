/** A horizontal bar chart as a standalone SVG: no chart library, readable in any browser or viewer. */
export interface Bar {
  label: string;
  value: number;
  /** Optional second value drawn as a thin marker (e.g. p95 beside a p50 bar). */
  marker?: number;
  highlight?: boolean;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function barChart(title: string, unit: string, bars: readonly Bar[]): string {
  const width = 760;
  const labelWidth = 220;
  const rowHeight = 28;
  const top = 48;
  const height = top + bars.length * rowHeight + 36;
  const max = Math.max(...bars.map((b) => Math.max(b.value, b.marker ?? 0)), 1);
  const scale = (width - labelWidth - 90) / max;
  const rows = bars
    .map((bar, i) => {
      const y = top + i * rowHeight;
      const w = Math.max(1, bar.value * scale);
      const marker =
        bar.marker === undefined
          ? ''
          : `<line x1="${labelWidth + bar.marker * scale}" x2="${labelWidth + bar.marker * scale}" y1="${y + 2}" y2="${y + rowHeight - 8}" stroke="#333" stroke-width="2"/>`;
      return [
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 14}" fill="${bar.highlight ? '#d9822b' : '#3b6ea8'}"/>`,
        marker,
        `<text x="${labelWidth + w + 6}" y="${y + 15}">${escapeXml(`${bar.value} ${unit}`)}</text>`,
      ].join('');
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="26" font-size="15" font-weight="bold">${escapeXml(title)}</text>
  ${rows}
</svg>
`;
}

/** Several standalone charts stacked into one SVG, one below the other (nested `<svg>` elements). */
export function stackCharts(charts: readonly string[]): string {
  let y = 0;
  let width = 0;
  const parts = charts.map((chart) => {
    const w = Number(/width="(\d+)"/.exec(chart)?.[1] ?? 760);
    const h = Number(/height="(\d+)"/.exec(chart)?.[1] ?? 200);
    const part = chart.replace('<svg ', `<svg x="0" y="${y}" `);
    y += h;
    width = Math.max(width, w);
    return part;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}">\n${parts.join('')}</svg>\n`;
}
