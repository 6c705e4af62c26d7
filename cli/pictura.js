#!/usr/bin/env node
// The `pictura` command (package.json "bin"). Plain JavaScript that any Node.js can parse, so that an old
// Node gets one clear line instead of a syntax or ERR_UNKNOWN_FILE_EXTENSION error; it then runs
// cli/main.ts with Node's type stripping (on by default from 22.18 / 23.6; 22.12-22.17 need the flag, so
// the CLI is started again with it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(
    // The same line as scripts/require-node.cjs (npm ci, npm start) prints.
    `pictura: Node.js >= 22.12 is required (this is ${process.version}); install Node 24 LTS ` +
      'from https://nodejs.org/en/download (or `nvm install 24`), then run this again.\n',
  );
  process.exit(2);
}

if (!process.features.typescript) {
  const main = fileURLToPath(new URL('./pictura.js', import.meta.url));
  const child = spawnSync(
    process.execPath,
    ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', main, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? 1);
}

let main;
try {
  ({ main } = await import('./main.ts'));
} catch (error) {
  // `npx pictura` in a fresh clone, before `npm ci`: name the step that is missing, not Node's stack trace.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !/Cannot find package/.test(error.message)) throw error;
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`pictura: its dependencies are not installed; run \`npm ci\` in ${root} first\n`);
  process.exit(2);
}
process.exitCode = await main(process.argv);
