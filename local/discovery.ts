/**
 * The local cloud's discovery file: where a running `npm start` is and its first API key, so that the CLI
 * (`pictura`) finds it without flags. Written by local/main.ts only (never by test clouds, which would
 * replace a developer's running one), removed when it stops.
 *
 * It holds an API key, so it is private: its folder is made 0700 and the file 0600, written to a temporary
 * name and renamed (a reader never sees half a file, nor a moment where it is readable by others). A reader
 * ignores a file another user owns or that others may read or write (someone could point the CLI at their
 * own endpoint and collect the key).
 */

import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What the discovery file records. */
export interface LocalCloudDiscovery {
  /** The API's base URL (`http://localhost:3000`). */
  api: string;
  cdn?: string | undefined;
  aws: string;
  /** The first API key (from `PICTURA_LOCAL_API_KEYS` or the generated one). */
  apiKey: string;
  /** The local cloud's process, to tell a file left by a killed one from a live one. */
  pid: number;
  startedAt: string;
}

/**
 * Where the discovery file is: `PICTURA_LOCAL_DISCOVERY` when set (tests, several clouds), else
 * `$XDG_STATE_HOME/pictura/local-cloud.json` (default `~/.local/state/pictura/local-cloud.json`): a
 * per-user place, so the CLI finds the cloud from any folder.
 */
export function discoveryPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PICTURA_LOCAL_DISCOVERY) return env.PICTURA_LOCAL_DISCOVERY;
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'pictura', 'local-cloud.json');
}

/** Writes `info` to `path` (folder 0700, file 0600, atomically by rename). */
export function writeDiscovery(info: LocalCloudDiscovery, path: string = discoveryPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600); // the mode above is filtered by the umask; 0600 is already the least
  renameSync(temporary, path);
}

/** Removes the discovery file if it is still `pid`'s (a cloud started later may have replaced it). */
export function removeDiscovery(pid: number, path: string = discoveryPath()): void {
  const current = readDiscoveryFile(path);
  if (current?.pid === pid) rmSync(path, { force: true });
}

/** An http(s) URL, as the discovery file records the cloud's endpoints. */
function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  return ['http:', 'https:'].includes(new URL(value).protocol);
}

/** True when `info` has the discovery file's shape (a corrupt or foreign file is no discovery file). */
function isDiscovery(info: unknown): info is LocalCloudDiscovery {
  if (typeof info !== 'object' || info === null) return false;
  const { api, cdn, apiKey, pid } = info as Record<string, unknown>;
  return (
    isHttpUrl(api) &&
    (cdn === undefined || isHttpUrl(cdn)) &&
    typeof apiKey === 'string' &&
    Number.isSafeInteger(pid) &&
    (pid as number) > 0
  );
}

/** Reads the file as it is, or `undefined` when missing, unsafe (see module doc) or not a discovery file. */
function readDiscoveryFile(path: string): LocalCloudDiscovery | undefined {
  try {
    const stat = statSync(path);
    if ((stat.mode & 0o077) !== 0) return undefined;
    if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) return undefined;
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalCloudDiscovery> | null;
    return isDiscovery(info) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** True when a process with this id exists (signal 0 checks without signalling; EPERM means it exists). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running local cloud recorded at `path`, or `undefined` when there is none: no file, an unsafe one
 * (another owner, readable or writable by others), or one left by a process that is gone.
 */
export function readDiscovery(path: string = discoveryPath()): LocalCloudDiscovery | undefined {
  const info = readDiscoveryFile(path);
  return info && isRunning(info.pid) ? info : undefined;
}
