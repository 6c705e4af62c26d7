/**
 * The local CloudWatch Logs: every line the functions write, kept per log group and stream as Lambda sends
 * them to CloudWatch (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html), in
 * memory and, with a data folder, in one private file per group. Bounded: each group keeps its newest
 * `maxEventsPerGroup` events and at most `maxBytesPerGroup` of messages (the oldest are dropped, as a
 * retention period would), each event at most `MAX_EVENT_BYTES`. The file is bounded too: appended to until
 * it is twice what memory holds (in lines or bytes), then rewritten from memory; on start only its last
 * `2 × maxBytesPerGroup` bytes are read, so a huge or damaged file never stops a start.
 */
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** One stored event, as `FilterLogEvents` returns it (`FilteredLogEvent`) plus the group it belongs to. */
export interface LogEvent {
  logGroupName: string;
  logStreamName: string;
  /** When it was written, epoch ms. */
  timestamp: number;
  /** When the store took it, epoch ms. */
  ingestionTime: number;
  message: string;
  /** Unique, ordered within the group (the store's sequence number, zero-padded). */
  eventId: string;
}

/** What one group holds and how much it has dropped. */
export interface LogGroupSummary {
  logGroupName: string;
  creationTime: number;
  storedEvents: number;
  droppedEvents: number;
  storedBytes: number;
}

/**
 * A log event is at most 1,048,576 bytes including 26 bytes of overhead ("PutLogEvents quotas",
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html); Lambda
 * splits a longer line, the store truncates it (one line stays one event, so a step line is never split).
 */
export const MAX_EVENT_BYTES = 1_048_576 - 26;

export interface LogStoreOptions {
  /** Newest events kept per group (default 10,000). */
  maxEventsPerGroup?: number;
  /** Message bytes kept per group (default 8 MiB; the newest event is always kept). */
  maxBytesPerGroup?: number;
  /** Folder for one file per group (0600, folder 0700); in memory only when absent. */
  dir?: string | undefined;
  /** Called with every event as it is stored (the metrics aggregator reads EMF lines from it). */
  onEvent?: (event: LogEvent) => void;
}

interface Group {
  name: string;
  creationTime: number;
  events: LogEvent[];
  /** Index of the oldest live event in `events` (dropped ones are spliced off in chunks). */
  head: number;
  dropped: number;
  bytes: number;
  /** Lines appended to the group's file since it was last rewritten. */
  appended: number;
  /** Bytes in the group's file (as far as this store wrote or read it). */
  fileBytes: number;
  /** Bytes of the file just after it was last rewritten (its live events, JSON-encoded). */
  rewrittenBytes: number;
}

/** Flushes pending writes this often: one append per group per interval, not one per line. */
const FLUSH_MS = 250;

/**
 * The log groups and their events. `put` is what the runtime calls for each line; `events` reads a group
 * in order. With `dir`, groups are loaded from it at construction and written to it in the background
 * (`flush` writes now, `close` writes and stops).
 */
export class LogStore {
  readonly #groups = new Map<string, Group>();
  readonly #max: number;
  readonly #maxBytes: number;
  readonly #dir: string | undefined;
  readonly #onEvent: ((event: LogEvent) => void) | undefined;
  /** Lines not yet written, per group; none are kept once the group is due a rewrite anyway. */
  readonly #pending = new Map<string, { lines: string[]; bytes: number }>();
  #timer: NodeJS.Timeout | undefined;
  #sequence = 0;

  constructor(options: LogStoreOptions = {}) {
    this.#max = Math.max(1, options.maxEventsPerGroup ?? 10_000);
    this.#maxBytes = Math.max(1, options.maxBytesPerGroup ?? 8 * 1024 * 1024);
    this.#dir = options.dir;
    this.#onEvent = options.onEvent;
    if (this.#dir) this.#load(this.#dir);
  }

  /** Stores one line of `logGroupName`/`logStreamName` written at `timestamp`; returns the stored event. */
  put(logGroupName: string, logStreamName: string, timestamp: number, message: string): LogEvent {
    const event: LogEvent = {
      logGroupName,
      logStreamName,
      timestamp,
      ingestionTime: Date.now(),
      message: truncate(message),
      eventId: this.#nextId(),
    };
    this.#persist(this.#add(event), event);
    this.#onEvent?.(event);
    return event;
  }

  /** Creates an empty group, as a stack's `AWS::Logs::LogGroup` does before its function first logs. */
  createGroup(logGroupName: string, creationTime = Date.now()): void {
    if (!this.#groups.has(logGroupName)) this.#groups.set(logGroupName, newGroup(logGroupName, creationTime));
  }

  /** Whether the group exists (created, or has had an event). */
  has(logGroupName: string): boolean {
    return this.#groups.has(logGroupName);
  }

  /** The groups, by name. */
  groups(): LogGroupSummary[] {
    return [...this.#groups.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((g) => ({
        logGroupName: g.name,
        creationTime: g.creationTime,
        storedEvents: g.events.length - g.head,
        droppedEvents: g.dropped,
        storedBytes: g.bytes,
      }));
  }

  /** A group's stored events, oldest first (by time written, then by arrival); empty for an unknown group. */
  events(logGroupName: string): LogEvent[] {
    const group = this.#groups.get(logGroupName);
    return group ? group.events.slice(group.head) : [];
  }

  /** Writes pending lines to the data folder now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const dir = this.#dir;
    if (!dir) return;
    for (const [name, pending] of this.#pending) {
      const group = this.#groups.get(name);
      if (!group) continue;
      if (this.#overBound(group, pending.bytes)) this.#rewrite(dir, group);
      else {
        appendFileSync(fileOf(dir, name), pending.lines.join(''), { mode: 0o600 });
        group.fileBytes += pending.bytes;
      }
    }
    this.#pending.clear();
  }

  /** Writes what is pending and stops the background writer. */
  close(): void {
    this.flush();
  }

  #nextId(): string {
    this.#sequence += 1;
    return String(this.#sequence).padStart(20, '0');
  }

  /** Adds the event to its group (made if new) within the bounds, and gives the group. */
  #add(event: LogEvent): Group {
    let group = this.#groups.get(event.logGroupName);
    if (!group) {
      group = newGroup(event.logGroupName, event.timestamp);
      this.#groups.set(group.name, group);
    }
    group.events.push(event);
    group.bytes += Buffer.byteLength(event.message);
    while (
      group.events.length - group.head > this.#max ||
      (group.bytes > this.#maxBytes && group.events.length - group.head > 1)
    ) {
      const oldest = group.events[group.head];
      group.head += 1;
      group.dropped += 1;
      group.bytes -= Buffer.byteLength(oldest?.message ?? '');
    }
    // Splice the dropped prefix off now and then, not on every event.
    if (group.head > 1024 && group.head * 2 > group.events.length) {
      group.events = group.events.slice(group.head);
      group.head = 0;
    }
    return group;
  }

  /** Queues the event's line for the group's file (`group` is the one `#add` gave). */
  #persist(group: Group, event: LogEvent): void {
    if (!this.#dir) return;
    group.appended += 1;
    const line = storedLine(event);
    const pending = this.#pending.get(group.name) ?? { lines: [], bytes: 0 };
    pending.bytes += Buffer.byteLength(line);
    // Past the bound the next flush rewrites the file from memory: holding the lines would only cost memory.
    if (this.#overBound(group, pending.bytes)) pending.lines = [];
    else pending.lines.push(line);
    this.#pending.set(group.name, pending);
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  /**
   * Whether appending `adding` bytes would take the group's file past twice what memory holds: twice the
   * event count, or twice the bytes (of the byte bound, or of the last rewrite when escaping made the
   * live events' lines longer than their messages, so a rewrite is never followed by another at once).
   */
  #overBound(group: Group, adding: number): boolean {
    const byteBound = 2 * Math.max(this.#maxBytes, group.rewrittenBytes);
    return group.appended > 2 * this.#max || group.fileBytes + adding > byteBound;
  }

  /** Replaces a group's file with its live events (written beside it, then renamed over it). */
  #rewrite(dir: string, group: Group): void {
    const file = fileOf(dir, group.name);
    const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const text = group.events.slice(group.head).map(storedLine).join('');
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, file);
    group.appended = 0;
    group.fileBytes = Buffer.byteLength(text);
    group.rewrittenBytes = group.fileBytes;
  }

  /**
   * Reads every group file of `dir` (made 0700 if new): only its last `2 × maxBytesPerGroup` bytes, from the
   * first whole line in them; a line that is not a stored event is skipped, a file that cannot be read is
   * left alone. A file longer than that (a run with a larger bound, a damaged file), or whose last line is
   * unfinished, is rewritten at once with the events read.
   */
  #load(dir: string): void {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir)
      .filter((name) => name.endsWith(FILE_SUFFIX))
      .sort()) {
      const logGroupName = decodeURIComponent(entry.slice(0, -FILE_SUFFIX.length));
      const tail = readTail(join(dir, entry), 2 * this.#maxBytes);
      if (!tail) continue;
      for (const line of tail.text.split('\n')) {
        const stored = parseStored(line);
        if (!stored) continue;
        const event = { logGroupName, ...stored, eventId: this.#nextId() };
        this.#add(event);
        this.#onEvent?.(event);
      }
      this.createGroup(logGroupName);
      const group = this.#groups.get(logGroupName) as Group;
      group.fileBytes = tail.size;
      group.appended = group.events.length + group.dropped;
      // An unfinished last line would swallow the next one appended.
      const unfinished = tail.size > 0 && !tail.text.endsWith('\n');
      if (!tail.whole || unfinished || this.#overBound(group, 0)) this.#rewrite(dir, group);
    }
  }
}

/**
 * The last `max` bytes of a file as text from its first whole line, the file's size, and whether that is the
 * whole file; none if it cannot be read (a folder under the name, no permission).
 */
function readTail(file: string, max: number): { text: string; size: number; whole: boolean } | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, max);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, size - length + read);
      if (n === 0) break;
      read += n;
    }
    let text = buffer.subarray(0, read).toString('utf8');
    // Started mid-line: that line is incomplete.
    if (length < size) text = text.slice(text.indexOf('\n') + 1 || text.length);
    return { text, size, whole: length === size };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** An event as one line of its group's file. */
function storedLine(e: LogEvent): string {
  return `${JSON.stringify({ s: e.logStreamName, t: e.timestamp, i: e.ingestionTime, m: e.message })}\n`;
}

const FILE_SUFFIX = '.jsonl';

function newGroup(name: string, creationTime: number): Group {
  return {
    name,
    creationTime,
    events: [],
    head: 0,
    dropped: 0,
    bytes: 0,
    appended: 0,
    fileBytes: 0,
    rewrittenBytes: 0,
  };
}

/** The group's file: its name percent-encoded (`/aws/lambda/x` has slashes), so it never leaves `dir`. */
function fileOf(dir: string, logGroupName: string): string {
  return join(dir, `${encodeURIComponent(logGroupName)}${FILE_SUFFIX}`);
}

function parseStored(
  line: string,
): Pick<LogEvent, 'logStreamName' | 'timestamp' | 'ingestionTime' | 'message'> | undefined {
  if (!line) return undefined;
  try {
    const value = JSON.parse(line) as { s?: unknown; t?: unknown; i?: unknown; m?: unknown };
    if (typeof value.s !== 'string' || typeof value.m !== 'string' || !Number.isFinite(value.t))
      return undefined;
    const timestamp = value.t as number;
    return {
      logStreamName: value.s,
      timestamp,
      ingestionTime: Number.isFinite(value.i) ? (value.i as number) : timestamp,
      message: truncate(value.m),
    };
  } catch {
    return undefined;
  }
}

/** At most `MAX_EVENT_BYTES` of UTF-8 (cut on a character boundary). */
function truncate(message: string): string {
  if (message.length * 3 <= MAX_EVENT_BYTES || Buffer.byteLength(message) <= MAX_EVENT_BYTES) return message;
  return Buffer.from(message)
    .subarray(0, MAX_EVENT_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
