/**
 * Render benchmark: the project's decode-once `renderVariants` against naive per-variant pipelines.
 *
 *   node bench/render.ts [--json] [--iterations N]
 *
 * Speed: every path runs in this process, interleaved (the order rotates each round, after a warm-up
 * round), and the median of N rounds is reported. Peak memory: each path runs alone in a fresh child
 * process (`--child <path> <file>`), which reports its own `maxRSS`, so one path's peak cannot hide in
 * another's. Results go to bench/results/render.json and bench/results/render.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSource } from '#shared/image/decode.ts';
import { encodeVariant } from '#shared/image/encode.ts';
import { planVariants } from '#shared/image/plan.ts';
import { renderVariants } from '#shared/image/render.ts';
import { sharp } from '#shared/image/sharp.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';
import { largeJpeg, largePngWithAlpha } from '#test/support/images.ts';

const LIMITS = { maxInputPixels: 100_000_000 };
const SCRIPT = fileURLToPath(import.meta.url);
const RESULTS = join(SCRIPT, '..', 'results');

/**
 * Share of the last minute in which some runnable task waited for a CPU (Linux PSI), or `undefined` where
 * the kernel does not report it. The machine is shared: this says how much the neighbours were in the way.
 */
function cpuPressure(): number | undefined {
  try {
    const match = /^some .*\bavg60=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Goals from the issue. They are reported as met or missed; they are never adjusted to fit. */
const GOALS = { speedUp12MpJpeg: 2, peakRss24MpJpegMb: 400 };

/** One way to turn a source into the default variants; answers the total bytes it produced. */
type RenderPath = (source: Buffer) => Promise<number>;

function naiveOne(source: Buffer, spec: VariantSpec): Promise<Buffer> {
  // What most code does: a fresh pipeline per variant, each decoding the source (with shrink-on-load).
  const pipeline = sharp(source, { failOn: 'error', limitInputPixels: LIMITS.maxInputPixels }).rotate();
  const resized =
    spec.fit === 'cover'
      ? pipeline.resize(spec.width, spec.height, { fit: 'cover', position: 'attention' })
      : pipeline.resize({ width: spec.width, height: spec.height, fit: 'inside', withoutEnlargement: true });
  // Same encoder settings as the project's renderer, so only the pipeline differs.
  return resized.webp({ quality: spec.quality, effort: 4 }).toBuffer();
}

const sum = (buffers: ReadonlyArray<{ length: number }>) => buffers.reduce((total, b) => total + b.length, 0);

const PATHS: Record<string, { label: string; run: RenderPath }> = {
  project: {
    label: 'project: decode once at largest-variant size',
    run: async (source) => sum((await renderVariants(source, DEFAULT_VARIANTS, LIMITS)).map((v) => v.body)),
  },
  naiveSequential: {
    label: 'naive: decode per variant, one after another',
    run: async (source) => {
      const outputs: Buffer[] = [];
      for (const spec of DEFAULT_VARIANTS) outputs.push(await naiveOne(source, spec));
      return sum(outputs);
    },
  },
  naiveConcurrent: {
    label: 'naive: decode per variant, all at once',
    run: async (source) => sum(await Promise.all(DEFAULT_VARIANTS.map((spec) => naiveOne(source, spec)))),
  },
  fullDecode: {
    label: 'alternative: decode once at full size',
    run: async (source) => {
      const { autoOrient } = await sharp(source).metadata();
      const plan = planVariants(DEFAULT_VARIANTS, autoOrient.width, autoOrient.height);
      const pixels = await decodeSource(
        source,
        { width: autoOrient.width, height: autoOrient.height, resize: false },
        LIMITS.maxInputPixels,
      );
      const variants = await Promise.all(plan.variants.map((variant) => encodeVariant(pixels, variant)));
      return sum(variants.map((variant) => variant.body));
    },
  },
};

interface Source {
  key: string;
  label: string;
  make: () => Promise<Buffer>;
}

const SOURCES: Source[] = [
  { key: 'jpeg12', label: 'JPEG 4000×3000 (12 MP, q90)', make: () => largeJpeg(4000, 3000) },
  { key: 'jpeg24', label: 'JPEG 6000×4000 (24 MP, q90)', make: () => largeJpeg(6000, 4000) },
  { key: 'png12', label: 'PNG 4000×3000 RGBA (12 MP)', make: () => largePngWithAlpha(4000, 3000) },
];

/**
 * The peak resident set of this process since it started. On Linux this is VmHWM, the high-water mark of
 * the address space created at exec. `process.resourceUsage().maxRSS` is not used there: Linux carries
 * ru_maxrss across fork and exec, so a child would report the parent's peak (the generated images) instead
 * of its own.
 */
function peakRssOfThisProcessMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1] !== undefined) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall through to the portable figure, which is right where exec resets it.
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** In a fresh process: run one path `runs` times on one file and report the process's peak RSS. */
async function child(path: string, file: string, runs: number): Promise<void> {
  const source = readFileSync(file);
  const run = PATHS[path]?.run;
  // "baseline" loads everything and reads the file but renders nothing: the floor every path stands on.
  if (run !== undefined) for (let i = 0; i < runs; i++) await run(source);
  else if (path !== 'baseline') throw new Error(`unknown path ${path}`);
  process.stdout.write(JSON.stringify({ maxRssMb: peakRssOfThisProcessMb() }));
}

function peakRssMb(path: string, file: string): number {
  const output = execFileSync(process.execPath, [SCRIPT, '--child', path, file, '2'], { encoding: 'utf8' });
  return Math.round((JSON.parse(output) as { maxRssMb: number }).maxRssMb);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

interface PathResult {
  medianMs: number;
  imagesPerSecond: number;
  samplesMs: number[];
  /** CPU time of the whole process (all threads) per render: the work done, less sensitive to neighbours. */
  medianCpuMs: number;
  outputBytes: number;
  peakRssMb: number;
}

interface SourceResult {
  source: string;
  bytes: number;
  paths: Record<string, PathResult>;
  speedUpVsNaiveSequential: number;
  speedUpVsNaiveConcurrent: number;
  /** Naive sequential CPU time over the project's: how much less work the project path does. */
  cpuSavingVsNaiveSequential: number;
}

async function measure(
  source: Source,
  file: string,
  bytes: Buffer,
  iterations: number,
): Promise<SourceResult> {
  const names = Object.keys(PATHS);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const cpuSamples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  const outputBytes: Record<string, number> = {};
  for (let round = -1; round < iterations; round++) {
    // Rotate the order every round so no path always runs first (or right after the heaviest one).
    const order = names.map((_, i) => names[(i + Math.max(round, 0)) % names.length] as string);
    for (const name of order) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      outputBytes[name] = await (PATHS[name] as { run: RenderPath }).run(bytes);
      const elapsed = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      if (round >= 0) {
        samples[name]?.push(elapsed);
        cpuSamples[name]?.push((cpu.user + cpu.system) / 1000);
      }
    }
  }
  const paths: Record<string, PathResult> = {};
  for (const name of names) {
    const medianMs = median(samples[name] ?? []);
    paths[name] = {
      medianMs: Math.round(medianMs),
      imagesPerSecond: Math.round((1000 / medianMs) * 100) / 100,
      samplesMs: (samples[name] ?? []).map(Math.round),
      medianCpuMs: Math.round(median(cpuSamples[name] ?? [])),
      outputBytes: outputBytes[name] ?? 0,
      peakRssMb: peakRssMb(name, file),
    };
  }
  const ratio = (name: string) =>
    Math.round(((paths[name]?.medianMs ?? 0) / (paths.project?.medianMs ?? 1)) * 100) / 100;
  return {
    source: source.label,
    bytes: bytes.length,
    paths,
    speedUpVsNaiveSequential: ratio('naiveSequential'),
    speedUpVsNaiveConcurrent: ratio('naiveConcurrent'),
    cpuSavingVsNaiveSequential:
      Math.round(((paths.naiveSequential?.medianCpuMs ?? 0) / (paths.project?.medianCpuMs ?? 1)) * 100) / 100,
  };
}

function markdown(report: Report): string {
  const rows = report.results.flatMap((result) =>
    Object.entries(result.paths).map(
      ([name, path]) =>
        `| ${result.source} | ${PATHS[name]?.label ?? name} | ${path.medianMs} | ${path.imagesPerSecond} | ` +
        `${path.medianCpuMs} | ${path.peakRssMb} | ${Math.round(path.outputBytes / 1024)} |`,
    ),
  );
  const speedUps = report.results.map(
    (r) =>
      `| ${r.source} | ${r.speedUpVsNaiveSequential}× | ${r.speedUpVsNaiveConcurrent}× | ` +
      `${r.cpuSavingVsNaiveSequential}× | ${r.paths.project?.peakRssMb} MB |`,
  );
  return [
    '# Render benchmark',
    '',
    `Command: \`${report.command}\` (${report.iterations} interleaved rounds after a warm-up; medians).`,
    `Date: ${report.date}. Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ` +
      `${report.machine.memoryGb} GB; Node ${report.machine.node}; sharp ${report.machine.sharp}, ` +
      `libvips ${report.machine.libvips}. Before the run: load average ${report.contentionBefore.loadAverage}, ` +
      `CPU pressure ${report.contentionBefore.cpuPressurePercent ?? 'n/a'} % (PSI avg60; the machine is shared ` +
      'with other work, so wall-clock figures carry noise; CPU ms is the steadier measure of work).',
    '',
    `Variants: the defaults (${DEFAULT_VARIANTS.map((v) => `${v.name} ${v.width}${v.height ? `×${v.height}` : ''}`).join(', ')}; ` +
      'WebP q80, effort 4 on every path). Peak RSS is each path alone in a fresh child process ' +
      `(two renders); a child that only loads the code and reads the file peaks at ${report.baselineRssMb} MB.`,
    '',
    '| source | path | median ms | images/s | CPU ms | peak RSS MB | output KB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    '| source | speed-up vs naive sequential | vs naive concurrent | CPU time, naive ÷ project | project peak RSS |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...speedUps,
    '',
    '## Goals',
    '',
    ...report.goals.map((goal) => `- ${goal.met ? 'Met' : '**Missed**'}: ${goal.text}`),
    '',
    ...report.notes.map((note) => `${note}\n`),
  ].join('\n');
}

interface Report {
  command: string;
  date: string;
  iterations: number;
  machine: { cpu: string; cores: number; memoryGb: number; node: string; sharp: string; libvips: string };
  /** 1-minute load average and CPU pressure (% of time stalled, PSI avg60) just before the run. */
  contentionBefore: { loadAverage: number; cpuPressurePercent: number | undefined };
  baselineRssMb: number;
  results: SourceResult[];
  goals: Array<{ text: string; met: boolean }>;
  notes: string[];
}

interface Split {
  decodeMs: number;
  largeEncodeMs: number;
}

function goalsAndNotes(results: SourceResult[], split: Split): Pick<Report, 'goals' | 'notes'> {
  const [jpeg12, jpeg24] = results;
  const seq = jpeg12?.speedUpVsNaiveSequential ?? 0;
  const con = jpeg12?.speedUpVsNaiveConcurrent ?? 0;
  const rss = jpeg24?.paths.project?.peakRssMb ?? Number.POSITIVE_INFINITY;
  const goals = [
    {
      text:
        `render ≥ ${GOALS.speedUp12MpJpeg}× naive on the 12 MP JPEG: ${seq}× against the sequential naive ` +
        `pipeline, ${con}× against the concurrent one.`,
      met: seq >= GOALS.speedUp12MpJpeg && con >= GOALS.speedUp12MpJpeg,
    },
    {
      text: `peak RSS for the 24 MP JPEG ≤ ${GOALS.peakRss24MpJpegMb} MB: ${rss} MB.`,
      met: rss <= GOALS.peakRss24MpJpegMb,
    },
  ];
  const floor = split.decodeMs + split.largeEncodeMs;
  const naiveSequentialMs = jpeg12?.paths.naiveSequential?.medianMs ?? 0;
  const best = Math.round((naiveSequentialMs / floor) * 100) / 100;
  const notes = [
    `Where the time goes (12 MP JPEG): decoding once to 2048×1536 takes ${split.decodeMs} ms and encoding the ` +
      `2048-wide WebP alone takes ${split.largeEncodeMs} ms (medians of 3). That encode is the same work on ` +
      'every path, and libwebp runs it on one thread, so no pipeline can finish before decode + large encode = ' +
      `${floor} ms: the best possible speed-up over the sequential naive path here is about ${best}×.`,
  ];
  notes.push(
    'Design check, decoding once at full size instead of at the largest variant size: ' +
      results
        .map(
          (r) =>
            `${r.source}: ${r.paths.fullDecode?.medianMs} ms and ${r.paths.fullDecode?.peakRssMb} MB peak ` +
            `(project: ${r.paths.project?.medianMs} ms, ${r.paths.project?.peakRssMb} MB)`,
        )
        .join('; ') +
      '.',
  );
  if (!(goals[0]?.met ?? false)) {
    notes.push(
      `The speed-up goal is missed by ${Math.round((GOALS.speedUp12MpJpeg - Math.min(seq, con)) * 100) / 100}× ` +
        '(against the weaker baseline). Decoding once removes three of four decodes, but JPEG shrink-on-load ' +
        'already makes the naive decodes for the small variants cheap, and the concurrent naive path uses ' +
        'the second core for them. Reaching 2× would need a cheaper large encode (a lower WebP effort), which ' +
        'is an encoder trade-off of bytes for time that would speed up the naive paths just as much; it is ' +
        'not a pipeline gain and is not taken here.',
    );
  }
  if (!(goals[1]?.met ?? false)) {
    notes.push('The memory goal is missed: see the peak RSS of the project path for the 24 MP JPEG above.');
  }
  return { goals, notes };
}

async function encoderSplit(bytes: Buffer): Promise<Split> {
  const target = { width: 2048, height: 1536, resize: true };
  const pixels = await decodeSource(bytes, target, LIMITS.maxInputPixels);
  const large = {
    spec: DEFAULT_VARIANTS[3] as VariantSpec,
    width: 2048,
    height: 1536,
    scale: 0.512,
    fitsWhole: false,
  };
  const decodeSamples: number[] = [];
  const encodeSamples: number[] = [];
  for (let i = 0; i < 3; i++) {
    let started = performance.now();
    await decodeSource(bytes, target, LIMITS.maxInputPixels);
    decodeSamples.push(performance.now() - started);
    started = performance.now();
    await encodeVariant(pixels, large);
    encodeSamples.push(performance.now() - started);
  }
  return { decodeMs: Math.round(median(decodeSamples)), largeEncodeMs: Math.round(median(encodeSamples)) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(args[1] ?? '', args[2] ?? '', Number(args[3] ?? 2));
    return;
  }
  const iterationsAt = args.indexOf('--iterations');
  const iterations = iterationsAt >= 0 ? Number(args[iterationsAt + 1]) : 5;
  const json = args.includes('--json');
  const log = (line: string) => {
    if (!json) console.error(line);
  };

  const contentionBefore = {
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    cpuPressurePercent: cpuPressure(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'pictura-bench-'));
  try {
    const results: SourceResult[] = [];
    let baselineRssMb = 0;
    let split: Split = { decodeMs: 0, largeEncodeMs: 0 };
    for (const source of SOURCES) {
      log(`generating ${source.label}…`);
      const bytes = await source.make();
      // Children read the image from a file: generating it again in each child would dominate their memory.
      const file = join(dir, `${source.key}.bin`);
      writeFileSync(file, bytes);
      if (source.key === 'jpeg24') baselineRssMb = peakRssMb('baseline', file);
      log(`measuring ${source.label} (${Math.round(bytes.length / 1024)} KB)…`);
      results.push(await measure(source, file, bytes, iterations));
      if (source.key === 'jpeg12') split = await encoderSplit(bytes);
    }
    const { goals, notes } = goalsAndNotes(results, split);
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const report: Report = {
      command: `node bench/render.ts${args.length > 0 ? ` ${args.join(' ')}` : ''}`,
      date: new Date().toISOString(),
      iterations,
      machine: {
        cpu,
        cores: availableParallelism(),
        memoryGb: Math.round(totalmem() / 1024 ** 3),
        node: process.version,
        sharp: sharp.versions.sharp ?? 'unknown',
        libvips: sharp.versions.vips,
      },
      contentionBefore,
      baselineRssMb,
      results,
      goals,
      notes,
    };
    const md = markdown(report);
    writeFileSync(join(RESULTS, 'render.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'render.md'), md);
    console.log(json ? JSON.stringify(report, null, 2) : md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
