import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type LogEvent, LogStore, MAX_EVENT_BYTES } from '#local/logs/store.ts';

const GROUP = '/aws/lambda/Pictura-Upload';
const STREAM = '2026/11/30/[$LATEST]0123456789abcdef0123456789abcdef';
const folders: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pictura-logs-'));
  folders.push(dir);
  return join(dir, 'logs');
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('LogStore in memory', () => {
  it('keeps events per group in arrival order, with ids that increase', () => {
    const store = new LogStore();
    store.put(GROUP, STREAM, 1, 'first');
    store.put('/aws/lambda/other', STREAM, 2, 'elsewhere');
    store.put(GROUP, STREAM, 3, 'second');
    const events = store.events(GROUP);
    expect(events.map((e) => e.message)).toEqual(['first', 'second']);
    expect((events[0]?.eventId ?? '') < (events[1]?.eventId ?? '')).toBe(true);
    expect(store.groups().map((g) => g.logGroupName)).toEqual(['/aws/lambda/other', GROUP]);
    expect(store.events('/aws/lambda/unknown')).toEqual([]);
  });

  it('keeps the newest maxEventsPerGroup events of each group, dropping the oldest, and says how many', () => {
    const store = new LogStore({ maxEventsPerGroup: 3 });
    for (let i = 0; i < 5000; i += 1) store.put(GROUP, STREAM, i, `line ${i}`);
    store.put('/aws/lambda/quiet', STREAM, 1, 'kept');
    expect(store.events(GROUP).map((e) => e.message)).toEqual(['line 4997', 'line 4998', 'line 4999']);
    expect(store.groups().find((g) => g.logGroupName === GROUP)).toMatchObject({
      storedEvents: 3,
      droppedEvents: 4997,
      storedBytes: 'line 4997'.length * 3,
    });
    expect(store.events('/aws/lambda/quiet')).toHaveLength(1);
  });

  it('keeps at most maxBytesPerGroup of messages, dropping the oldest, but always the newest event', () => {
    const store = new LogStore({ maxBytesPerGroup: 100 });
    for (let i = 0; i < 10; i += 1) store.put(GROUP, STREAM, i, `${i}`.padEnd(30, '.'));
    expect(store.events(GROUP).map((e) => e.message[0])).toEqual(['7', '8', '9']);
    expect(store.groups()[0]).toMatchObject({ storedBytes: 90, droppedEvents: 7 });
    store.put(GROUP, STREAM, 11, 'x'.repeat(500));
    expect(store.events(GROUP).map((e) => e.message.length)).toEqual([500]);
  });

  it('truncates a line over the event size limit (1 MB less 26 bytes), on a character boundary', () => {
    const store = new LogStore();
    const event = store.put(GROUP, STREAM, 1, `${'x'.repeat(MAX_EVENT_BYTES - 1)}€€`);
    expect(Buffer.byteLength(event.message)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(event.message.endsWith('x')).toBe(true);
  });

  it('hands every stored event to onEvent', () => {
    const seen: LogEvent[] = [];
    const store = new LogStore({ onEvent: (e) => seen.push(e) });
    store.put(GROUP, STREAM, 1, 'a');
    expect(seen.map((e) => [e.logGroupName, e.message])).toEqual([[GROUP, 'a']]);
  });
});

describe('LogStore in the data folder', () => {
  it('writes one private file per group (folder 0700, files 0600) and reads it back on start', () => {
    const dir = folder();
    const store = new LogStore({ dir });
    store.put(GROUP, STREAM, 10, 'persisted');
    store.put('/aws/lambda/../../escape', STREAM, 11, 'stays inside');
    store.close();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(2);
    for (const file of files) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    expect(files.every((f) => !f.includes('/'))).toBe(true);

    const replayed: string[] = [];
    const again = new LogStore({ dir, onEvent: (e) => replayed.push(e.message) });
    expect(again.events(GROUP).map((e) => [e.logStreamName, e.timestamp, e.message])).toEqual([
      [STREAM, 10, 'persisted'],
    ]);
    expect(again.events('/aws/lambda/../../escape').map((e) => e.message)).toEqual(['stays inside']);
    expect(replayed.sort()).toEqual(['persisted', 'stays inside']);
  });

  it('rewrites a group file that has grown past the bound, so the file stays bounded too', () => {
    const dir = folder();
    const store = new LogStore({ dir, maxEventsPerGroup: 10 });
    for (let round = 0; round < 5; round += 1) {
      for (let i = 0; i < 8; i += 1) store.put(GROUP, STREAM, i, `round ${round} line ${i}`);
      store.flush();
    }
    const [file] = readdirSync(dir);
    const lines = readFileSync(join(dir, file ?? ''), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeLessThanOrEqual(2 * 10 + 8);
    const again = new LogStore({ dir, maxEventsPerGroup: 10 });
    expect(again.events(GROUP).at(-1)?.message).toBe('round 4 line 7');
    expect(again.events(GROUP)).toHaveLength(10);
  });

  it('skips lines of a damaged file that are not stored events, and keeps the rest', () => {
    const dir = folder();
    new LogStore({ dir }).close();
    writeFileSync(
      join(dir, `${encodeURIComponent(GROUP)}.jsonl`),
      [
        'not json',
        '{"s":1,"t":1,"m":"stream not a string"}',
        '{"s":"x","t":"soon","m":"bad time"}',
        '{"s":"x","t":5,"m":"good"}',
        '["s","t","m"]',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const store = new LogStore({ dir });
    expect(store.events(GROUP).map((e) => e.message)).toEqual(['good']);
  });

  it('keeps the file bounded by bytes too: 400 lines of 50 KB stay within twice the byte bound', () => {
    const dir = folder();
    const maxBytesPerGroup = 100_000;
    const store = new LogStore({ dir, maxBytesPerGroup });
    const file = join(dir, `${encodeURIComponent(GROUP)}.jsonl`);
    let largest = 0;
    for (let i = 0; i < 400; i += 1) {
      store.put(GROUP, STREAM, i, `${i} `.padEnd(50_000, 'x'));
      if (i % 5 === 4) {
        store.flush();
        largest = Math.max(largest, statSync(file).size);
      }
    }
    // Twice the bound, plus each stored line's JSON envelope (stream, times: under 200 bytes).
    expect(largest).toBeLessThanOrEqual(2 * (maxBytesPerGroup + 2 * 200));
    const again = new LogStore({ dir, maxBytesPerGroup });
    expect(again.events(GROUP).map((e) => e.message.split(' ')[0])).toEqual(['398', '399']);
  });

  /** A file of `size` bytes that are all zero (sparse: it takes no disk), then `lines`, the last unfinished. */
  function hugeFile(dir: string, size: number, lines: string[] = []): string {
    const file = join(dir, `${encodeURIComponent(GROUP)}.jsonl`);
    const fd = openSync(file, 'w', 0o600);
    ftruncateSync(fd, size);
    closeSync(fd);
    if (lines.length > 0) appendFileSync(file, lines.map((l) => `\n${l}`).join(''));
    return file;
  }

  it('starts from a 600 MB group file (more than a string can hold): reads its tail, and cuts it down', () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = hugeFile(dir, 600 * 1024 * 1024, [
      '{"s":"x","t":5,"m":"kept 1"}',
      '{"s":"x","t":6,"m":"kept 2"}',
    ]);
    const store = new LogStore({ dir });
    expect(store.events(GROUP).map((e) => e.message)).toEqual(['kept 1', 'kept 2']);
    expect(statSync(file).size).toBeLessThan(1024);
    expect(new LogStore({ dir }).events(GROUP)).toHaveLength(2);
  });

  it('starts from a damaged file (one endless line) and from a folder where a file should be', () => {
    const dir = folder();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    hugeFile(dir, 64 * 1024 * 1024);
    mkdirSync(join(dir, `${encodeURIComponent('/aws/lambda/odd')}.jsonl`));
    const store = new LogStore({ dir, maxBytesPerGroup: 1024 });
    expect(store.events(GROUP)).toEqual([]);
    expect(store.events('/aws/lambda/odd')).toEqual([]);
    store.put(GROUP, STREAM, 1, 'after');
    store.close();
    expect(new LogStore({ dir }).events(GROUP).map((e) => e.message)).toEqual(['after']);
  });
});
