/** The cold-start benchmark's outputs for people: a Markdown summary, an SVG chart and a console table. */
import type { Kind } from './lambda.ts';
import { type FunctionSummary, GOAL_RATIO, type Summary } from './summary.ts';

const kb = (bytes: number) => (bytes < 10 * 1024 ? (bytes / 1024).toFixed(1) : (bytes / 1024).toFixed(0));
const ms = (value: number) => (Number.isFinite(value) ? String(value) : '–');
const round2 = (value: number) => Math.round(value * 100) / 100;

/** How much the init probes' medians move between runs of the benchmark (relative). */
const PROBE_NOISE = 0.05;
/** A ratio: two decimals where they matter, whole numbers from 10× up. */
const times = (value: number) =>
  Number.isFinite(value) ? `${value >= 10 ? Math.round(value) : round2(value)}×` : '–';

function responses(f: FunctionSummary): string {
  return Object.entries(f.responses)
    .map(([key, count]) => `${key}×${count}`)
    .join(' ');
}

export function consoleTable(summary: Summary): string {
  const header = [
    'function',
    'bundle KB',
    'init p50',
    'p95',
    'max',
    '×floor',
    'cold total',
    'cold invoke',
    'warm',
    'mem MB',
  ];
  const rows = summary.functions.map((f) => [
    f.label,
    kb(f.bundleBytes),
    ms(f.initMs.p50),
    ms(f.initMs.p95),
    ms(f.initMs.max),
    times(f.vsFloor.init),
    ms(f.coldTotalMs.p50),
    ms(f.coldLatencyMs.p50),
    ms(f.warm.durationP50),
    String(f.maxMemoryUsedMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const goal = summary.goal.verdicts
    .map((v) => `${v.function} ${times(v.ratio)} (${v.met ? 'met' : `missed by ${v.overByMs} ms`})`)
    .join(', ');
  return [
    line(header),
    ...rows.map(line),
    '',
    `times in ms, medians unless marked; goal (init p50 ≤ ${GOAL_RATIO}× floor): ${goal}`,
  ].join('\n');
}

export function markdown(summary: Summary): string {
  const floor = summary.functions.find((f) => f.kind === 'floor');
  const api = summary.functions.filter((f) => f.kind === 'api');
  const profile = summary.initProfile;
  const out: string[] = [];
  const load = (l: Summary['machineLoad']['start']) =>
    `load ${l.loadAverage1m}${l.cpuPressureAvg60 === undefined ? '' : `, CPU pressure ${l.cpuPressureAvg60}%`}`;
  out.push('# Cold-start benchmark', '');
  out.push(`Command: \`${summary.command}\``, '');
  out.push(
    `Target: ${summary.target} (${summary.endpoint}). Date: ${summary.date}. Machine: ${summary.machine}; ${load(summary.machineLoad.start)} at the start, ${load(summary.machineLoad.end)} at the end (1-minute averages; CPU pressure is the share of time some task waited for a CPU: the machine is shared).`,
    '',
  );
  out.push(
    `Each round forces a cold start of every function in turn (an environment change through \`UpdateFunctionConfiguration\`), invokes it ${summary.concurrency === 1 ? 'once' : `${summary.concurrency} times at once`} with \`LogType: Tail\` and reads the \`REPORT\` line, then invokes it ${summary.warmPerRound} more times warm. ${summary.runs} rounds after ${summary.warmupRounds} discarded warm-up round(s); the order rotates every round, so functions and baselines alternate and share the machine's noise. Figures are medians unless marked. Events are benign and write nothing: \`images\` answers \`GET /v1/images/{id}\` for an unknown id (one DynamoDB read, 404), \`upload\` a request without an API key (401 before any call), \`delete\` an unknown id (one DynamoDB read, 404), the queue consumers an empty batch; a naive copy gets its function's event.`,
    '',
  );

  out.push('## Results', '');
  out.push(
    '| function | packaging | bundle KB | cold init p50 | p95 | max | init ÷ floor | cold total p50 | cold invoke p50 (client) | invoke ÷ floor | warm p50 | max memory MB | cold starts | responses |',
  );
  out.push(
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const f of summary.functions) {
    out.push(
      `| ${f.kind === 'floor' ? `${f.label} (floor)` : f.label} | ${f.packaging} | ${kb(f.bundleBytes)} | ${ms(f.initMs.p50)} | ${ms(f.initMs.p95)} | ${ms(f.initMs.max)} | ${times(f.vsFloor.init)} | ${ms(f.coldTotalMs.p50)} | ${ms(f.coldLatencyMs.p50)} | ${times(f.vsFloor.coldLatency)} | ${ms(f.warm.durationP50)} | ${f.maxMemoryUsedMb} | ${f.coldStarts} | ${responses(f)} |`,
    );
  }
  out.push(
    '',
    "ms throughout. *cold init*: the `Init Duration` of the `REPORT` line. *cold total*: init plus that first invocation's `Duration`. *cold invoke (client)*: how long the benchmark waited for the cold `Invoke` call, so it includes what `Init Duration` leaves out (on the local cloud: starting the instance's process). *warm*: `Duration` of the warm invocations. *bundle KB*: the function's JavaScript as its packaging builds it (sharp is installed beside the bundle, not in it; the naive bundles leave the SDK out and load it from `node_modules` at init). Chart: [cold-start.svg](cold-start.svg).",
  );
  const deployed = summary.functions.filter((f) => f.codeSizeBytes !== undefined);
  if (deployed.length > 0) {
    out.push(
      '',
      `Deployed package (\`CodeSize\`, zipped, sharp's install included): ${deployed.map((f) => `${f.label} ${kb(f.codeSizeBytes ?? 0)} KB`).join(', ')}.`,
    );
  }
  const failing = summary.functions.filter((f) => f.errors.length > 0);
  if (failing.length > 0) {
    out.push('', 'Errors seen:', '');
    for (const f of failing) out.push(`- ${f.label}: ${f.errors.join('; ')}`);
  }
  out.push('');

  out.push(
    `## Goal: each API function cold-starts within ${GOAL_RATIO}× the empty-handler floor (medians)`,
    '',
  );
  for (const v of summary.goal.verdicts) {
    out.push(
      v.met
        ? `- Met: \`${v.function}\` ${v.initP50} ms, ${times(v.ratio)} the floor's ${v.floorInitP50} ms.`
        : `- **Missed**: \`${v.function}\` ${v.initP50} ms is ${times(v.ratio)} the floor's ${v.floorInitP50} ms; the limit is ${round2(GOAL_RATIO * v.floorInitP50)} ms, missed by ${v.overByMs} ms.`,
    );
  }
  out.push('');
  if (floor && api.length > 0 && summary.goal.verdicts.some((v) => !v.met)) {
    out.push('Why:', '');
    if (summary.target === 'local') {
      out.push(
        `- **What the floor is here.** Like Lambda's, the local runtime's \`Init Duration\` counts from the start of the instance: its Node.js process starting, the runtime bootstrap, then the function's module. The floor is that with an empty module: ${floor.initMs.p50} ms. The API functions add the import of their bundles on top (${api.map((f) => `\`${f.label}\` +${round2(f.initMs.p50 - floor.initMs.p50)} ms`).join(', ')}), which is what the goal's ${GOAL_RATIO}× leaves no room for on a floor this low. Lambda's own runtime start is longer than a bare Node.js start (it is not measurable here), which raises the floor and lowers these ratios on AWS: run \`--target aws\` for that figure.`,
      );
      if (profile) {
        out.push(
          `- **As the client waits for it** (the cold \`Invoke\`, including process start, bootstrap and IPC, ${floor.coldLatencyMs.p50} ms for the floor): ${api.map((f) => `\`${f.label}\` ${times(f.vsFloor.coldLatency)}`).join(', ')}. This does not replace the goal's measure; it shows the miss in the terms a caller sees.`,
        );
      }
    }
    const sdkShare = api.map((f) => Math.round((f.sdkBytes / f.bundleBytes) * 100));
    out.push(
      `- **What the API functions load.** Their bundles are ${api.map((f) => `${kb(f.bundleBytes)} KB`).join(', ')} (${api.map((f) => f.label).join(', ')}), ${Math.min(...sdkShare)}–${Math.max(...sdkShare)}% of it the AWS SDK.${
        profile && Object.keys(profile.compileCache).length > 0
          ? ` About ${Math.round(Math.min(...api.map((f) => profile.compileCache[f.label]?.compileShare ?? 1)) * 100)}–${Math.round(Math.max(...api.map((f) => profile.compileCache[f.label]?.compileShare ?? 0)) * 100)}% of the import is V8 compiling it (a primed compile cache removes that much); the rest is running the modules' top-level code, mostly the SDK's.`
          : ''
      }`,
    );
    // The SDK clients each API function calls; any other bundled client is dead weight at init.
    const calls: Record<string, string[]> = {
      upload: ['client-s3', 'client-dynamodb'],
      images: ['client-s3', 'client-dynamodb'],
      delete: ['client-sqs', 'client-dynamodb'],
    };
    const unused = (f: FunctionSummary) =>
      f.sdkClients.filter((c) => !(calls[f.label] ?? f.sdkClients).includes(c));
    const extraClients = api.filter((f) => unused(f).length > 0);
    if (extraClients.length > 0) {
      out.push(
        `- **Clients that are never called.** ${extraClients.map((f) => `\`${f.label}\` bundles ${unused(f).join(' and ')}`).join('; ')}, which it never calls: a client a function constructs is bundled and initialised whether it is called or not.`,
      );
    }
    out.push('');
  }

  const naive = summary.functions.filter((f) => f.kind === 'naive' && f.vsOptimized);
  if (naive.length > 0) {
    out.push('## What the packaging buys', '');
    out.push(
      "The naive baseline is the same entry packaged as `NodejsFunction` does by default: CommonJS, not minified, `@aws-sdk/*` left out of the bundle and resolved from `node_modules` at init (on Lambda, the runtime's own SDK).",
      '',
    );
    out.push(
      '| function | bundle KB (project / naive) | cold init p50 (project / naive) | naive ÷ project, init | cold invoke p50 (project / naive) |',
    );
    out.push('| --- | ---: | ---: | ---: | ---: |');
    for (const n of naive) {
      const p = summary.functions.find((f) => f.label === n.mirrors);
      if (!p) continue;
      out.push(
        `| ${p.label} | ${kb(p.bundleBytes)} / ${kb(n.bundleBytes)} | ${p.initMs.p50} / ${n.initMs.p50} | ${times(n.vsOptimized?.init ?? Number.NaN)} | ${p.coldLatencyMs.p50} / ${n.coldLatencyMs.p50} |`,
      );
    }
    const slower = naive.filter((n) => (n.vsOptimized?.init ?? 0) > 1);
    out.push(
      '',
      slower.length === naive.length
        ? "The project's packaging (minified, the SDK bundled) starts faster than the naive one for every API function, so it stays."
        : `**The naive packaging measured faster for ${naive
            .filter((n) => !slower.includes(n))
            .map((n) => n.mirrors)
            .join(', ')}.** The benchmark does not change the infra; this is for a decision.`,
    );
    const alternatives = Object.entries(profile?.packaging ?? {});
    if (alternatives.length > 0) {
      const range = (values: number[]) => `${Math.min(...values)}–${Math.max(...values)}×`;
      const moduleScope = alternatives.map(([, p]) => p.esmModuleScopeOverProject);
      const cjs = alternatives.map(([, p]) => p.cjsOverProject);
      // Repeated runs of these probes move by about 5 %: a smaller difference decides nothing.
      const faster = [...moduleScope, ...cjs].filter((x) => x < 1 - PROBE_NOISE);
      out.push(
        '',
        `Other packagings of the same code, imported in fresh processes (see below): esbuild's plain ESM, with the bundle's bindings at module scope, took ${range(moduleScope)} the project's time; CommonJS ${range(cjs)} (${alternatives.map(([label, p]) => `${label}: project ${p.projectMs}, plain ESM ${p.esmModuleScopeMs}, CommonJS ${p.cjsMs} ms`).join('; ')}).`,
        '',
        faster.length === 0
          ? `The project's packaging (an ES module whose bundle runs in one function scope, \`infra/bundling.ts\`) measured fastest, or level within the probes' ${PROBE_NOISE * 100} % run-to-run noise, for every API function, so it stays.`
          : "**Another packaging measured faster than the project's by more than the probes' noise for some function** (ratios above). The benchmark does not change the infra; this is for a decision.",
      );
    }
    out.push('');
  }

  if (profile) {
    out.push('## Where init time goes', '');
    out.push(
      `Measured on this machine in fresh Node.js processes that import exactly what the local cloud runs (\`bench/fixtures/init-probe.mjs\`), ${profile.rounds} interleaved rounds, medians; *import* here is the function's module alone; the local runtime's \`Init Duration\` adds its process start and bootstrap to it. Starting Node.js itself, before any function code, takes ${profile.nodeStartMs} ms.`,
      '',
    );
    const apiRows = Object.entries(profile.compileCache).filter(([label]) =>
      summary.functions.some((f) => f.label === label && f.kind === 'api'),
    );
    if (apiRows.length > 0) {
      out.push('### The API functions', '');
      out.push(
        '| function | bundle KB | of which AWS SDK | SDK clients bundled | import | import with compile cache | compile share | as plain ESM | as CommonJS |',
      );
      out.push('| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
      for (const [label, cc] of apiRows) {
        const f = summary.functions.find((x) => x.label === label);
        const pk = profile.packaging[label];
        if (!f) continue;
        out.push(
          `| ${label} | ${kb(f.bundleBytes)} | ${kb(f.sdkBytes)} (${Math.round((f.sdkBytes / f.bundleBytes) * 100)}%) | ${f.sdkClients.join(', ')} | ${cc.coldMs} | ${cc.cachedMs} | ${Math.round(cc.compileShare * 100)}% | ${pk ? `${pk.esmModuleScopeMs} (${times(pk.esmModuleScopeOverProject)})` : '–'} | ${pk ? `${pk.cjsMs} (${times(pk.cjsOverProject)})` : '–'} |`,
        );
      }
      out.push('');
    }
    if (profile.sharp) {
      const sharpRows = Object.entries(profile.sharp.functions);
      out.push('### The sharp functions (reported apart from the goal)', '');
      out.push(
        "| function | import | with sharp already loaded | sharp's share | sharp alone | of which the native addon | import with compile cache |",
      );
      out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const [label, s] of sharpRows) {
        const cc = profile.compileCache[label];
        out.push(
          `| ${label} | ${s.totalMs} | ${s.withoutSharpMs} | ${s.sharpShareMs} (${Math.round((s.sharpShareMs / s.totalMs) * 100)}%) | ${profile.sharp.sharpMs} | ${profile.sharp.addonMs} | ${cc ? cc.cachedMs : '–'} |`,
        );
      }
      out.push(
        '',
        `sharp is about ${Math.min(...sharpRows.map(([, s]) => Math.round((s.sharpShareMs / s.totalMs) * 100)))}–${Math.max(...sharpRows.map(([, s]) => Math.round((s.sharpShareMs / s.totalMs) * 100)))}% of these functions' init. Of sharp's ${profile.sharp.sharpMs} ms, only ${profile.sharp.addonMs} ms is its native addon (\`dlopen\` of \`sharp.node\`, which links libvips, an 18 MB shared library on linux-x64, already in the page cache here; a fresh Lambda environment may have to read it from its package first, which this machine cannot show). The rest is sharp's JavaScript: its own modules and its dependencies, each a separate file resolved, read and compiled from \`node_modules\` (sharp is installed beside the bundle, not bundled, because of the addon). The remainder of the init, ${sharpRows.map(([label, s]) => `${label} ${s.withoutSharpMs} ms`).join(', ')} with sharp already loaded, is the same kind of bundle as the API functions': mostly the AWS SDK.`,
        '',
      );
    }
  }

  out.push('## On other targets', '');
  out.push(
    "`npm run bench:cold-start -- --target aws` (or `localstack`) runs the same code against a stack deployed with `-c benchBaselines=true`, which adds `bench-empty` and the `naive-*` copies (off by default: the normal template has none of them). There the floor's `Init Duration` includes the Lambda runtime's start, the naive copies load the runtime's SDK, and the functions' memory (512 MB for the API functions and the floor) sets their CPU share. Results go to `cold-start-<target>.{json,md,svg}`; the init profile, which describes this machine, is off there by default.",
  );
  return `${out.join('\n')}\n`;
}

const COLOURS: Record<Kind, string> = {
  floor: '#7a7a7a',
  api: '#3b6ea8',
  naive: '#d9822b',
  sharp: '#7b4fa6',
  worker: '#4f9a6b',
};

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Two panels of horizontal bars, one per function: cold init p50 (the goal's measure) and the cold invoke as
 * the client saw it, each with the floor and 2× the floor drawn as vertical lines.
 */
export function chart(summary: Summary): string {
  const floor = summary.functions.find((f) => f.kind === 'floor');
  const width = 860;
  const labelWidth = 150;
  const plotWidth = width - labelWidth - 190;
  const rowHeight = 24;
  const panels: Array<{
    title: string;
    value: (f: FunctionSummary) => number;
    ratio: (f: FunctionSummary) => number;
  }> = [
    {
      title: 'Cold init p50 (REPORT Init Duration), ms',
      value: (f) => f.initMs.p50,
      ratio: (f) => f.vsFloor.init,
    },
    {
      title: 'Cold invoke p50 as the client waits (process start included), ms',
      value: (f) => f.coldLatencyMs.p50,
      ratio: (f) => f.vsFloor.coldLatency,
    },
  ];
  const parts: string[] = [];
  let y = 74;
  for (const panel of panels) {
    const floorValue = floor ? panel.value(floor) : 0;
    const max = Math.max(...summary.functions.map(panel.value), GOAL_RATIO * floorValue, 1);
    const scale = plotWidth / max;
    parts.push(`<text x="16" y="${y}" font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 12;
    const top = y;
    for (const f of summary.functions) {
      const value = panel.value(f);
      const w = Math.max(1, value * scale);
      const suffix = f.kind === 'floor' ? '' : `  (${times(panel.ratio(f))} floor)`;
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(f.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${COLOURS[f.kind]}"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${escapeXml(`${value}${suffix}`)}</text>`,
      );
      y += rowHeight;
    }
    for (const [multiple, label] of [
      [1, 'floor'],
      [GOAL_RATIO, `${GOAL_RATIO}× floor (goal)`],
    ] as const) {
      const x = (labelWidth + floorValue * multiple * scale).toFixed(1);
      parts.push(
        `<line x1="${x}" x2="${x}" y1="${top}" y2="${y + 2}" stroke="${multiple === 1 ? '#444' : '#c0392b'}" stroke-width="1.5" stroke-dasharray="4 3"/>`,
        `<text x="${x}" y="${y + 14}" font-size="10" fill="${multiple === 1 ? '#444' : '#c0392b'}" text-anchor="${multiple === 1 ? 'end' : 'start'}">${escapeXml(label)}</text>`,
      );
    }
    y += 40;
  }
  const legend = (Object.entries(COLOURS) as Array<[Kind, string]>)
    .map(
      ([kind, colour], i) =>
        `<rect x="${16 + i * 165}" y="${y}" width="12" height="12" fill="${colour}"/><text x="${34 + i * 165}" y="${y + 10}">${
          {
            floor: 'floor (empty handler)',
            api: 'API function',
            naive: 'naive packaging',
            sharp: 'sharp function',
            worker: 'other worker',
          }[kind]
        }</text>`,
    )
    .join('');
  const height = y + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="26" font-size="16" font-weight="bold">${escapeXml(`Pictura cold starts (${summary.target}, ${summary.runs} rounds, medians)`)}</text>
  <text x="16" y="42" font-size="11" fill="#555">${escapeXml(`${summary.date.slice(0, 10)} · ${summary.machine}`)}</text>
  ${parts.join('\n  ')}
  ${legend}
</svg>
`;
}
