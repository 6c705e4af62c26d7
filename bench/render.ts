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
import { ENCODER_EFFORT, encodeVariant } from '#shared/image/encode.ts';
import { planVariants } from '#shared/image/plan.ts';
import { renderVariants } from '#shared/image/render.ts';
import { sharp } from '#shared/image/sharp.ts';
import { DEFAULT_VARIANTS, type VariantSpec } from '#shared/variants.ts';
import { largeJpeg, largePngWithAlpha } from '#test/support/images.ts';
import { type Bar, barChart } from './lib/svg.ts';

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
  return resized.webp({ quality: spec.quality, effort: ENCODER_EFFORT }).toBuffer();
}

const sum = (buffers: ReadonlyArray<{ length: number }>) => buffers.reduce((total, b) => total + b.length, 0);

const PATHS: Record<string, { label: string; short: string; run: RenderPath }> = {
  project: {
    label: 'project: decode once at largest-variant size',
    short: 'project',
    run: async (source) => sum((await renderVariants(source, DEFAULT_VARIANTS, LIMITS)).map((v) => v.body)),
  },
  naiveSequential: {
    label: 'naive: decode per variant, one after another',
    short: 'naive, sequential',
    run: async (source) => {
      const outputs: Buffer[] = [];
      for (const spec of DEFAULT_VARIANTS) outputs.push(await naiveOne(source, spec));
      return sum(outputs);
    },
  },
  naiveConcurrent: {
    label: 'naive: decode per variant, all at once',
    short: 'naive, concurrent',
    run: async (source) => sum(await Promise.all(DEFAULT_VARIANTS.map((spec) => naiveOne(source, spec)))),
  },
  fullDecode: {
    label: 'alternative: decode once at full size',
    short: 'full-size decode',
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
  /** For the chart's narrow label column. */
  short: string;
  make: () => Promise<Buffer>;
}

const SOURCES: Source[] = [
  {
    key: 'jpeg12',
    label: 'JPEG 4000×3000 (12 MP, q90)',
    short: 'JPEG 12 MP',
    make: () => largeJpeg(4000, 3000),
  },
  {
    key: 'jpeg24',
    label: 'JPEG 6000×4000 (24 MP, q90)',
    short: 'JPEG 24 MP',
    make: () => largeJpeg(6000, 4000),
  },
  {
    key: 'png12',
    label: 'PNG 4000×3000 RGBA (12 MP)',
    short: 'PNG 12 MP',
    make: () => largePngWithAlpha(4000, 3000),
  },
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
      `WebP q80, effort ${ENCODER_EFFORT} on every path)` +
      '. Peak RSS is each path alone in a fresh child process ' +
      `(two renders); a child that only loads the code and reads the file peaks at ${report.baselineRssMb} MB.`,
    '',
    'Chart: [render.svg](render.svg).',
    '',
    '| source | path | median ms | images/s | CPU ms | peak RSS MB | output KB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    '| source | speed-up vs naive sequential | vs naive concurrent | CPU time, naive ÷ project | project peak RSS |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...speedUps,
    '',
    `The large variant (2048×1536 from the 12 MP JPEG) encoded at each libwebp effort, same pixels and quality ` +
      `(q${DEFAULT_VARIANTS.find((v) => v.name === 'large')?.quality}); PSNR against the pixels encoded; medians of 3. ` +
      `The project's effort is ${ENCODER_EFFORT}.`,
    '',
    '| effort | encode ms | KB | PSNR dB |',
    '| ---: | ---: | ---: | ---: |',
    ...[...report.encoder.efforts]
      .sort((a, b) => a.effort - b.effort)
      .map(
        (p) =>
          `| ${p.effort === ENCODER_EFFORT ? `**${p.effort}** (project)` : p.effort} | ${p.encodeMs} | ` +
          `${Math.round((p.bytes / 1024) * 10) / 10} | ${p.psnrDb} |`,
      ),
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
  encoder: EncoderStudy;
  goals: Array<{ text: string; met: boolean }>;
  notes: string[];
}

/** The large variant's WebP encode at one libwebp effort (the same pixels, quality and everything else). */
interface EffortPoint {
  effort: number;
  encodeMs: number;
  bytes: number;
  /** Fidelity to the pixels encoded, RGB PSNR in dB: higher is closer. */
  psnrDb: number;
}

/** Where the project path's time goes on the 12 MP JPEG, and what the large encode's effort trades. */
interface EncoderStudy {
  decodeMs: number;
  /** The project's effort, then the others. */
  efforts: EffortPoint[];
}

/**
 * AWS list prices (us-east-1, arm64 Lambda, CloudFront's first 10 TB to North America and Europe) at the
 * time of writing, as in docs/deploy.md's cost estimate, which also assumes 20 views per image.
 */
const PRICES = { lambdaPerGbSecond: 0.0000133334, cloudFrontPerGb: 0.085, viewsPerImage: 20 };

/** Per million images: the thumbnail compute one effort's encode costs more than another's, in dollars. */
function computeCostPerMillion(from: EffortPoint, to: EffortPoint, memoryMb: number): number {
  return ((to.encodeMs - from.encodeMs) / 1000) * (memoryMb / 1024) * PRICES.lambdaPerGbSecond * 1e6;
}

/** Per million views of the large variant: the transfer one effort's file costs more than another's. */
function transferCostPerMillion(from: EffortPoint, to: EffortPoint): number {
  return ((to.bytes - from.bytes) / 1e9) * PRICES.cloudFrontPerGb * 1e6;
}

/**
 * What the large encode's effort trades, for the note on the speed-up goal: the highest effort below the
 * project's that would reach the goal (estimated: the project path's measured time less the encode time
 * saved) and the highest effort, each priced as thumbnail compute against CloudFront transfer.
 */
function effortTradeOff(jpeg12: SourceResult, study: EncoderStudy, thumbnailMemoryMb: number): string[] {
  const [ours, ...others] = study.efforts;
  if (ours === undefined) return [];
  const projectMs = jpeg12.paths.project?.medianMs ?? 0;
  const naiveMs = jpeg12.paths.naiveSequential?.medianMs ?? 0;
  const estimate = (point: EffortPoint) =>
    Math.round((naiveMs / (projectMs - (ours.encodeMs - point.encodeMs))) * 100) / 100;
  const cheaper = others
    .filter((point) => point.effort < ENCODER_EFFORT && estimate(point) >= GOALS.speedUp12MpJpeg)
    .sort((a, b) => b.effort - a.effort)[0];
  const higher = others.filter((point) => point.effort > ENCODER_EFFORT).sort((a, b) => a.effort - b.effort);
  const pct = (part: number, whole: number) => Math.round((part / whole) * 1000) / 10;
  const dollars = (value: number) => `$${Math.abs(value).toFixed(2)}`;
  const notes: string[] = [];
  if (cheaper === undefined) {
    notes.push('No lower WebP effort would reach the goal either (estimated from the encode times above).');
  } else {
    const saved = -computeCostPerMillion(ours, cheaper, thumbnailMemoryMb);
    const extra = transferCostPerMillion(ours, cheaper);
    notes.push(
      `What would reach it: the large WebP at effort ${cheaper.effort} instead of ${ours.effort} encodes in ` +
        `${cheaper.encodeMs} ms instead of ${ours.encodeMs} (the project path would be about ` +
        `${estimate(cheaper)}× the naive one, estimated), but the file is ${pct(cheaper.bytes - ours.bytes, ours.bytes)} % ` +
        `larger at ${cheaper.psnrDb} dB against ${ours.psnrDb} dB. On AWS list prices that saves ` +
        `${dollars(saved)} of thumbnail compute (${thumbnailMemoryMb} MB arm64) per million images and costs ` +
        `${dollars(extra)} of CloudFront transfer per million views of the large variant: it pays only for ` +
        `images viewed in that size fewer than ${Math.round((saved / extra) * 10) / 10} times (the cost ` +
        `estimate assumes ${PRICES.viewsPerImage} views), and every viewer downloads the extra bytes.`,
    );
  }
  if (higher.length > 0) {
    const priced = higher.map((point) => {
      const extra = computeCostPerMillion(ours, point, thumbnailMemoryMb);
      const saved = -transferCostPerMillion(ours, point);
      return (
        `effort ${point.effort}: ${pct(ours.bytes - point.bytes, ours.bytes)} % smaller at ${point.psnrDb} dB, ` +
        `${point.encodeMs - ours.encodeMs} ms more per render (${dollars(extra)} per million images against ` +
        `${dollars(saved)} per million views, so it pays from about ${Math.round((extra / saved) * 10) / 10} views)`
      );
    });
    notes.push(
      `The other way: ${priced.join('; ')}. A higher effort lengthens every upload's wait to be ready and ` +
        'moves the goal further away. The sources here are synthetic photo-like pixels, so effort ' +
        `${ENCODER_EFFORT} stays until a real photo corpus confirms a higher one's byte saving; the speed-up ` +
        "goal is not bought with the viewers' bytes.",
    );
  }
  return notes;
}

function goalsAndNotes(
  results: SourceResult[],
  study: EncoderStudy,
  thumbnailMemoryMb: number,
): Pick<Report, 'goals' | 'notes'> {
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
  const largeEncodeMs = study.efforts[0]?.encodeMs ?? 0;
  const floor = study.decodeMs + largeEncodeMs;
  const naiveSequentialMs = jpeg12?.paths.naiveSequential?.medianMs ?? 0;
  const best = Math.round((naiveSequentialMs / floor) * 100) / 100;
  const notes = [
    `Where the time goes (12 MP JPEG): decoding once to 2048×1536 takes ${study.decodeMs} ms and encoding ` +
      `the 2048-wide WebP alone takes ${largeEncodeMs} ms (medians of 3). That encode is the same work on ` +
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
  if (!(goals[0]?.met ?? false) && jpeg12 !== undefined) {
    notes.push(
      `The speed-up goal is missed by ${Math.round((GOALS.speedUp12MpJpeg - Math.min(seq, con)) * 100) / 100}× ` +
        '(against the weaker baseline). Decoding once removes three of four decodes, but JPEG shrink-on-load ' +
        'already makes the naive decodes for the small variants cheap, and the concurrent naive path uses ' +
        'the second core for them.',
      ...effortTradeOff(jpeg12, study, thumbnailMemoryMb),
    );
  }
  if (!(goals[1]?.met ?? false)) {
    notes.push('The memory goal is missed: see the peak RSS of the project path for the 24 MP JPEG above.');
  }
  return { goals, notes };
}

/** Peak signal-to-noise ratio of 8-bit `decoded` against `reference` (same layout), in dB. */
function psnr(reference: Buffer, decoded: Buffer): number {
  let squared = 0;
  for (let i = 0; i < reference.length; i++) {
    const difference = (reference[i] ?? 0) - (decoded[i] ?? 0);
    squared += difference * difference;
  }
  const mse = squared / reference.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : Math.round(10 * Math.log10((255 * 255) / mse) * 100) / 100;
}

/**
 * The decode and the large variant's encode on their own, three times each (medians), and the same
 * encode at every libwebp effort: what a cheaper encode would buy in time and cost in bytes and fidelity.
 */
async function encoderStudy(bytes: Buffer): Promise<EncoderStudy> {
  const large = DEFAULT_VARIANTS.find((spec) => spec.name === 'large') as VariantSpec;
  const target = { width: large.width, height: Math.round((large.width * 3) / 4), resize: true };
  const decodeSamples: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await decodeSource(bytes, target, LIMITS.maxInputPixels);
    decodeSamples.push(performance.now() - started);
  }
  const pixels = await decodeSource(bytes, target, LIMITS.maxInputPixels);
  const raw = { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } };
  const efforts = [ENCODER_EFFORT, ...[0, 1, 2, 3, 4, 5, 6].filter((effort) => effort !== ENCODER_EFFORT)];
  const points: EffortPoint[] = [];
  for (const effort of efforts) {
    const samples: number[] = [];
    let encoded = Buffer.alloc(0);
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      encoded = await sharp(pixels.data, raw).webp({ quality: large.quality, effort }).toBuffer();
      samples.push(performance.now() - started);
    }
    const decoded = await sharp(encoded).removeAlpha().raw().toBuffer();
    points.push({
      effort,
      encodeMs: Math.round(median(samples)),
      bytes: encoded.length,
      psnrDb: psnr(pixels.data, decoded),
    });
  }
  return { decodeMs: Math.round(median(decodeSamples)), efforts: points };
}

/** Every path's median time per source, the project's highlighted: the chart beside render.md. */
function chart(results: readonly SourceResult[]): string {
  const bars: Bar[] = results.flatMap((result, i) =>
    Object.entries(result.paths).map(([name, path]) => ({
      label: `${SOURCES[i]?.short ?? result.source} · ${PATHS[name]?.short ?? name}`,
      value: path.medianMs,
      highlight: name === 'project',
    })),
  );
  return barChart('Rendering the default variants: median ms per image (lower is better)', 'ms', bars);
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
    let study: EncoderStudy = { decodeMs: 0, efforts: [] };
    for (const source of SOURCES) {
      log(`generating ${source.label}…`);
      const bytes = await source.make();
      // Children read the image from a file: generating it again in each child would dominate their memory.
      const file = join(dir, `${source.key}.bin`);
      writeFileSync(file, bytes);
      if (source.key === 'jpeg24') baselineRssMb = peakRssMb('baseline', file);
      log(`measuring ${source.label} (${Math.round(bytes.length / 1024)} KB)…`);
      results.push(await measure(source, file, bytes, iterations));
      if (source.key === 'jpeg12') {
        log('measuring the large encode at every WebP effort…');
        study = await encoderStudy(bytes);
      }
    }
    // Loaded here, not at the top: a child process measuring peak memory must not carry aws-cdk-lib.
    const { FUNCTION_SIZING } = await import('#infra/constructs/functions.ts');
    const { goals, notes } = goalsAndNotes(results, study, FUNCTION_SIZING.thumbnail.memorySize);
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
      encoder: study,
      goals,
      notes,
    };
    const md = markdown(report);
    writeFileSync(join(RESULTS, 'render.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'render.md'), md);
    writeFileSync(join(RESULTS, 'render.svg'), chart(results));
    console.log(json ? JSON.stringify(report, null, 2) : md);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
