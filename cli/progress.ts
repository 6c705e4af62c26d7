/**
 * Upload progress: one bar per file and one for all of them (cli-progress), on stderr and only when it is
 * a terminal; otherwise (a pipe, CI, `--json`) nothing is drawn.
 */

import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import stringWidth from 'string-width';
import { printable } from './errors.ts';

export interface Progress {
  /** Bytes of the `index`th file sent so far. */
  bytes(index: number, sent: number): void;
  /** A new state for the `index`th file (`uploading`, `processing`, `ready`, `rejected: NOT_AN_IMAGE` …). */
  state(index: number, state: string): void;
  stop(): void;
}

/** Bytes for people: 1.2 MB, 340 KB (decimal units, as `ls -h --si`). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const silent: Progress = { bytes() {}, state() {}, stop() {} };

/**
 * `name` in exactly `width` terminal cells: control characters escaped, wide characters (emoji, CJK)
 * counted as two cells (string-width), cut by grapheme (never inside an emoji) from the left with `…`.
 */
export function fitName(name: string, width: number): string {
  const text = printable(name);
  const cells = stringWidth(text);
  if (cells <= width) return text + ' '.repeat(width - cells);
  const graphemes = [...new Intl.Segmenter().segment(text)].map((s) => s.segment);
  let kept = '';
  let used = 1; // the ellipsis
  for (let i = graphemes.length - 1; i >= 0; i--) {
    const w = stringWidth(graphemes[i] as string);
    if (used + w > width) break;
    kept = graphemes[i] + kept;
    used += w;
  }
  return `…${kept}${' '.repeat(width - used)}`;
}

/**
 * Bars for `files` (name → size) when `enabled`, else a progress that draws nothing. `stream` is where
 * they are drawn (stderr; tests pass a fake terminal).
 */
export function createProgress(
  files: { name: string; bytes: number }[],
  enabled: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!enabled || files.length === 0) return silent;
  const width = Math.min(
    32,
    Math.max(...files.map((f) => stringWidth(printable(f.name))), 'all files'.length),
  );
  const multibar = new MultiBar(
    {
      stream,
      format: ' {name} {bar} {percentage}% {sent}/{size} {state}',
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      barsize: 24,
    },
    Presets.shades_classic,
  );
  const label = (name: string) => fitName(name, width);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  const sentByFile = files.map(() => 0);
  let sentAll = 0;
  const payload = (name: string, sent: number, size: number, state: string) => ({
    name: label(name),
    sent: formatBytes(sent),
    size: formatBytes(size),
    state,
  });
  const bars: SingleBar[] = files.map((f) =>
    multibar.create(Math.max(f.bytes, 1), 0, payload(f.name, 0, f.bytes, 'waiting')),
  );
  const overall = multibar.create(Math.max(total, 1), 0, payload('all files', 0, total, ''));
  // Ctrl-C during the upload: put the cursor back (the bars hide it) before leaving, with the shell's 130.
  const interrupted = () => {
    multibar.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  return {
    bytes(index, sent) {
      // A running total: this runs per streamed chunk, so no sum over every file each time.
      sentAll += sent - (sentByFile[index] ?? 0);
      sentByFile[index] = sent;
      bars[index]?.update(sent, { sent: formatBytes(sent) });
      overall.update(sentAll, { sent: formatBytes(sentAll) });
    },
    state(index, state) {
      bars[index]?.update({ state });
    },
    stop() {
      process.removeListener('SIGINT', interrupted);
      multibar.stop();
    },
  };
}
