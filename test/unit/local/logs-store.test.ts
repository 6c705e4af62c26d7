import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
});
