import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForeignDataDirError, prepareDataDir } from '#local/data-dir.ts';

// Found by review: `--clean --data-dir D` deleted whatever D held, and any existing D was narrowed to 0700
// (`--data-dir .` would have locked the checkout).
let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'pictura-data-dir-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

describe('prepareDataDir', () => {
  it('creates a missing folder, private and marked as the local cloud’s', () => {
    const dir = join(scratch, 'new', 'data');
    prepareDataDir(dir, false);
    expect(mode(dir)).toBe(0o700);
    expect(existsSync(join(dir, '.pictura-local-cloud'))).toBe(true);
  });

  it('refuses a folder holding anything else, with or without --clean, and leaves it as it was', () => {
    const dir = join(scratch, 'project');
    mkdirSync(join(dir, 'src'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'src', 'notes.txt'), 'keep me');
    for (const clean of [false, true]) {
      expect(() => prepareDataDir(dir, clean)).toThrow(ForeignDataDirError);
      expect(() => prepareDataDir(dir, clean)).toThrow(/holds files the local cloud did not write \(src\)/);
    }
    expect(readFileSync(join(dir, 'src', 'notes.txt'), 'utf8')).toBe('keep me');
    expect(mode(dir)).toBe(0o755);
  });

  it('takes its own folder, including one an older version left without a marker, and --clean empties it', () => {
    const dir = join(scratch, 'old');
    mkdirSync(join(dir, 'state', 's3'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'api-keys.json'), '[]');
    prepareDataDir(dir, false);
    expect(mode(dir)).toBe(0o700);
    expect(existsSync(join(dir, 'state', 's3'))).toBe(true);
    prepareDataDir(dir, true);
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(existsSync(join(dir, '.pictura-local-cloud'))).toBe(true);
  });

  it('takes an existing empty folder', () => {
    const dir = join(scratch, 'empty');
    mkdirSync(dir, { mode: 0o755 });
    prepareDataDir(dir, true);
    expect(mode(dir)).toBe(0o700);
  });
});
