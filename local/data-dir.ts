import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file that marks a folder as the local cloud's own data folder. */
const MARKER = '.pictura-local-cloud';
/** What the local cloud keeps in its data folder; a folder holding only these (older versions wrote no marker) is its own. */
const OWN_ENTRIES = new Set([MARKER, 'state', 'api-keys.json', 'logs']);

/** Thrown when `--data-dir` names a folder the local cloud did not make and must not take over. */
export class ForeignDataDirError extends Error {
  override name = 'ForeignDataDirError';
}

/**
 * Prepares the data folder: removed first with `clean`, created if missing, and made private (0700: it holds
 * the originals, which may carry GPS, and the API keys). Because both steps are destructive for a folder
 * that holds anything else (`--data-dir .` or `~` would be locked, `--clean` would delete it), a folder
 * that exists, is not empty and is not the local cloud's own is refused with {@link ForeignDataDirError}.
 */
export function prepareDataDir(dataDir: string, clean: boolean | undefined): void {
  if (existsSync(dataDir)) {
    const foreign = readdirSync(dataDir).filter((entry) => !OWN_ENTRIES.has(entry));
    if (foreign.length > 0)
      throw new ForeignDataDirError(
        `the data folder ${dataDir} holds files the local cloud did not write (${foreign.slice(0, 3).join(', ')}` +
          `${foreign.length > 3 ? ', …' : ''}); choose a new or empty folder with --data-dir, since the local cloud ` +
          'makes its data folder private (0700) and --clean deletes it',
      );
    if (clean) rmSync(dataDir, { recursive: true, force: true });
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  writeFileSync(join(dataDir, MARKER), 'The local cloud (npm start) keeps its state here.\n', {
    mode: 0o600,
  });
}
