'use strict';
// The first thing `npm ci` and `npm start` run. CommonJS with nothing newer than Node 14 (fs.rmSync, node:
// imports), so that any Node.js old enough to need this message can still print it. Pictura runs its
// TypeScript directly (Node's type stripping: on by default from 22.18, behind a flag from 22.12), so an older
// Node fails later with `ERR_UNKNOWN_FILE_EXTENSION ".ts"`, which says nothing about versions.
//
//   node scripts/require-node.cjs            exit 1 with one line on stderr when Node is too old
//   node scripts/require-node.cjs --clean    the same, and remove the node_modules/ `npm ci` just wrote
//                                            (npm runs the root package's preinstall after unpacking the
//                                            dependencies, so this is how nothing is left half-installed)
//
// `npx pictura` runs the preinstall too: npm "installs" the project into its npx cache as a link to this
// folder, with npm_command=exec. That is no install to refuse, and removing node_modules/ there would break the
// checkout; the CLI's own entry (cli/pictura.js) makes the same check and prints the line npx would hide.
const fs = require('node:fs');
const path = require('node:path');

const REQUIRED = [22, 12];
const [major, minor] = process.versions.node.split('.').map(Number);

if (process.argv.includes('--clean') && process.env.npm_command === 'exec') process.exit(0);

if (major < REQUIRED[0] || (major === REQUIRED[0] && minor < REQUIRED[1])) {
  if (process.argv.includes('--clean')) {
    fs.rmSync(path.join(__dirname, '..', 'node_modules'), { recursive: true, force: true });
  }
  process.stderr.write(
    `pictura: Node.js >= ${REQUIRED.join('.')} is required (this is v${process.versions.node}); install Node 24 LTS ` +
      'from https://nodejs.org/en/download (or `nvm install 24`), then run this again.\n',
  );
  process.exit(1);
}
