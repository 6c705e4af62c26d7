/**
 * The flags a Node.js child of the local cloud starts with when it runs TypeScript sources (a Lambda instance,
 * the CDK app). Warnings about type stripping are noise in a function's log. On Node 22.12–22.17 type
 * stripping is off unless asked for, so `npm start` passes `--experimental-strip-types` (package.json) and the
 * children inherit it from here; from 22.18 it is on by default and the parent runs without it.
 */
export const TYPESCRIPT_CHILD_FLAGS: readonly string[] = [
  '--disable-warning=ExperimentalWarning',
  ...(process.execArgv.includes('--experimental-strip-types') ? ['--experimental-strip-types'] : []),
];
