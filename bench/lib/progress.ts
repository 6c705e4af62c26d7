/** A one-line progress display on stderr for the benchmarks (redrawn in place on a terminal). */

/**
 * Redraws `[####....] done/total label  12.3s extra` on stderr. On a terminal the line is redrawn in place;
 * otherwise a line is printed at every tenth of the way, so a log file stays short. Silent when `quiet`.
 */
export function showProgress(
  state: { done: number; total: number; startedMs: number; label: string; extra?: string; quiet?: boolean },
  last: { tenth: number } = { tenth: -1 },
): void {
  if (state.quiet) return;
  const width = 30;
  const filled = state.total === 0 ? width : Math.round((state.done / state.total) * width);
  const seconds = ((performance.now() - state.startedMs) / 1000).toFixed(1);
  const line = `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${state.done}/${state.total} ${state.label}  ${seconds}s ${state.extra ?? ''}`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${line.padEnd(110).slice(0, 160)}`);
    return;
  }
  const tenth = state.total === 0 ? 10 : Math.floor((state.done / state.total) * 10);
  if (tenth === last.tenth) return;
  last.tenth = tenth;
  process.stderr.write(`${line}\n`);
}

/** Ends an in-place progress line. */
export function endProgress(quiet = false): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write('\n');
}
