'use strict';
// npm's postinstall: apply patches/ to the dependencies with patch-package (what each patch is and why:
// patches/README.md). `npx pictura` runs this too, with npm_command=exec, when npm links the project into its
// npx cache: patching is `npm ci`'s work, and before `npm ci` there is no patch-package to run, so a failure
// here would leave npm's cache entry broken for every later `npx pictura`.
const { spawnSync } = require('node:child_process');

if (process.env.npm_command === 'exec') process.exit(0);
const { status } = spawnSync('patch-package', [], { stdio: 'inherit', shell: true });
process.exit(status ?? 1);
