import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnFreePort } from '#test/support/functions.ts';
import { ROOT } from '#test/support/local-cloud.ts';
import { createProgress, fitName } from '../../cli/progress.ts';

// The upload progress bars: names of any script fit their column (emoji and CJK take two cells), control
// characters cannot break a line, and a real terminal run draws them (through script(1), a pseudo-terminal).

/** A stand-in terminal: a stream that says it is a TTY and keeps what is written. */
function fakeTerminal(): NodeJS.WriteStream & { text: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      written += chunk;
      callback();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY: true, columns: 140, rows: 40, text: () => written });
  return stream;
}

/** The bars' last frame: one line per bar, escape sequences removed (a cursor move starts a new line). */
function lastFrame(output: string, bars: number): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape sequences are what is matched
  const lines = stripVTControlCharacters(output.replace(/\u001b\[\d*[A-H]/g, '\n'))
    .split(/\r?\n/)
    .filter((l) => /%/.test(l));
  return lines.slice(-bars);
}

/** The terminal cell where the bar starts on `line` (shades_classic draws █ and ░). */
function barColumn(line: string): number {
  return stringWidth(line.slice(0, line.search(/[█░]/)));
}

describe('fitName: a file name in a fixed number of terminal cells', () => {
  it.each([
    ['plain.png', 12],
    ['📷 holiday.jpg', 12],
    ['日本語の写真.jpg', 12],
    ['👨‍👩‍👧 family photo from the beach.png', 12],
    ['two\nlines\u001b[2J.png', 20],
    ['ascii-name-much-longer-than-the-column.png', 12],
  ])('%j in %i cells', (name, width) => {
    const fitted = fitName(name, width);
    expect(stringWidth(fitted)).toBe(width);
    expect(fitted).not.toMatch(/\p{Cc}/u);
    expect(fitted.isWellFormed()).toBe(true); // never half an emoji
  });
});

describe('the bars on a terminal', () => {
  it('line up whatever the names hold (emoji, CJK, control characters)', async () => {
    const names = ['plain.png', '📷📷 photo.png', '日本語.jpg', 'bad\nname.gif'];
    const terminal = fakeTerminal();
    const progress = createProgress(
      names.map((name) => ({ name, bytes: 1000 })),
      true,
      terminal,
    );
    names.forEach((_n, i) => {
      progress.bytes(i, 500 + i * 100);
      progress.state(i, 'uploading');
    });
    progress.stop();
    const frame = lastFrame(terminal.text(), names.length + 1);
    expect(frame).toHaveLength(names.length + 1);
    const columns = frame.map(barColumn);
    expect(new Set(columns).size, frame.join('\n')).toBe(1);
    expect(frame[3]).toContain('bad\\u{a}name.gif');
  });
});

describe('pictura upload in a pseudo-terminal (script -qc)', () => {
  let dir: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pictura-cli-tty-'));
    writeFileSync(join(dir, 'a.png'), Buffer.alloc(200_000, 1));
    writeFileSync(join(dir, '🎉 party.png'), Buffer.alloc(100_000, 2));
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/storage') return void res.writeHead(204).end();
        const id = `tty${String(Math.random()).slice(2, 21).padEnd(19, '0')}`;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            status: 'pending_upload',
            deleteToken: 't',
            upload: {
              url: `${base}/storage`,
              method: 'POST',
              fields: { key: 'k' },
              expiresAt: new Date().toISOString(),
            },
            links: { self: `${base}/v1/images/${id}`, delete: `${base}/v1/images/${id}/token` },
          }),
        );
      });
    });
    ({ base } = await listenOnFreePort(server));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws a bar per file and one overall, complete at the end', async () => {
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const command = [process.execPath, join(ROOT, 'cli', 'pictura.js'), 'upload', 'a.png', '🎉 party.png']
      .concat(['--endpoint', base, '--api-key', 'tty-key-0123456789abcdef'])
      .map(quote)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, TERM: 'xterm', COLUMNS: '120', LINES: '40' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code, out).toBe(0);
    const frame = lastFrame(out, 3);
    expect(frame[0]).toMatch(/a\.png +█+ 100% 200 KB\/200 KB uploaded/);
    expect(frame[1]).toMatch(/🎉 party\.png +█+ 100% 100 KB\/100 KB/);
    expect(frame[2]).toMatch(/all files +█+ 100% 300 KB\/300 KB/);
    expect(new Set(frame.map(barColumn)).size).toBe(1);
    expect(stripVTControlCharacters(out)).toMatch(/^✓ a\.png tty\d+ uploaded/m);
  });
});
