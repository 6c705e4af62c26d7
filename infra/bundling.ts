import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root: entries, the lock file and tsconfig are resolved from here, whatever the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The lock file NodejsFunction installs `nodeModules` from; it pins sharp and its platform packages. */
export const LOCK_FILE = join(REPO_ROOT, 'package-lock.json');

/**
 * An ES module has no `require`, which esbuild's output calls for sharp (external) and for bundled
 * CommonJS dependencies' own `require()`s; this banner provides one.
 */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __picturaCreateRequire } from 'node:module'; const require = __picturaCreateRequire(import.meta.url);";

/**
 * npm settings for installing sharp into a Lambda asset. npm ≥ 10 filters optional dependencies by these,
 * so only `@img/sharp-linux-arm64` and its libvips land in the asset, whatever the build host is (a Mac, an
 * x64 CI runner). glibc: the Lambda nodejs runtimes run on Amazon Linux 2023. `prefer_offline` answers from
 * npm's cache when it can, which is what keeps a re-bundle at about a second.
 */
const SHARP_INSTALL_ENV: Record<string, string> = {
  npm_config_os: 'linux',
  npm_config_cpu: 'arm64',
  npm_config_libc: 'glibc',
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** What shapes a function's bundle besides its source. */
export interface BundleSpec {
  /** Short function name; the asset fingerprint includes it so that each function gets its own asset. */
  name: string;
  /** Install sharp (linux-arm64) next to the bundle instead of bundling it. */
  usesSharp: boolean;
  /**
   * Files outside `functions/` and `shared/` the bundle is built from (repository-relative), such as the
   * benchmark's empty handler; hashed into the fingerprint so that editing one rebuilds its asset.
   */
  extraSources?: readonly string[];
}

/** The export every handler module provides (`functions/<name>/handler.ts`), and the Lambda handler name. */
export const HANDLER_EXPORT = 'handler';

/** The variable the bundle's function scope is returned in; the entry module re-exports the handler from it. */
const BUNDLE_SCOPE = '__pictura';

/** esbuild's `--alias` (`package=path`) that swaps the SDK's default credential chain for the environment's. */
export const CREDENTIALS_ALIAS = '@aws-sdk/credential-provider-node=./shared/clients/lambda-credentials.ts';

/**
 * esbuild options shared by every function.
 *
 * - An ES module (`index.mjs`, `export const handler`), whose body runs in one function scope: esbuild
 *   emits the bundle as an IIFE (`--format=iife`, overriding the `esm` that names the file `.mjs`), and a
 *   footer exports the handler from it. V8 evaluates a module's top level as a resumable function, so
 *   every top-level binding of a module-scoped bundle (thousands, in a minified SDK) lives in a context
 *   object; inside an ordinary function they are plain locals. Same code, same bytes: importing the API
 *   functions takes about a fifth less time this way (bench/results/cold-start.md, "Where init time
 *   goes", measures it against esbuild's plain ESM output and against CommonJS on every run). What it
 *   gives up is top-level await, which no handler uses; esbuild refuses to build one that does.
 * - The AWS SDK is bundled, not taken from the runtime: a minified, tree-shaken bundle is one file read
 *   and one parse at cold start, where the runtime's SDK is hundreds of files resolved from disk; it also
 *   pins the SDK version the code was tested with instead of whatever the runtime ships that week.
 * - `module` before `main` picks the ES builds of dependencies, which tree-shake far better (the SDK's
 *   CommonJS builds make the API bundles about 45 % larger and slower to load).
 * - No source maps: they double the asset and, with `--enable-source-maps`, slow every cold start; errors
 *   are reported with their `code` and logged by Powertools with enough context.
 * - The SDK's default credential chain is replaced by the environment provider alone
 *   (`shared/clients/lambda-credentials.ts`, an esbuild alias resolved from the project root, where
 *   NodejsFunction runs esbuild): a Lambda function's credentials are in its environment, and the rest of the
 *   chain (SSO, STS, INI, IMDS) was about 130 KB of every bundle.
 * - sharp is the exception: it is a native addon, so it stays out of the bundle and is installed for
 *   linux-arm64 beside it (`nodeModules`); the banner's `require` loads it.
 */
export function bundlingOptions(spec: BundleSpec): BundlingOptions {
  const options: BundlingOptions = {
    format: OutputFormat.ESM,
    esbuildArgs: { '--format': 'iife', '--global-name': BUNDLE_SCOPE, '--alias': CREDENTIALS_ALIAS },
    footer: `export const ${HANDLER_EXPORT} = ${BUNDLE_SCOPE}.${HANDLER_EXPORT};`,
    target: 'node24',
    minify: true,
    sourceMap: false,
    mainFields: ['module', 'main'],
    banner: CREATE_REQUIRE_BANNER,
    externalModules: [],
    ...(spec.usesSharp ? { nodeModules: ['sharp'], environment: SHARP_INSTALL_ENV } : {}),
  };
  return { ...options, assetHash: assetFingerprint(spec, options) };
}

/**
 * The common naive packaging, as the cold-start benchmark's baseline (`-c benchBaselines=true`): what
 * NodejsFunction does when left to its defaults on Node ≥ 18 — CommonJS, not minified, and `@aws-sdk/*`
 * external, so that on Lambda the SDK is the runtime's copy resolved from its `node_modules` at init. Never
 * used for the real functions; it exists so that the benchmark shows what {@link bundlingOptions} buys.
 */
export function naiveBundlingOptions(spec: BundleSpec): BundlingOptions {
  const options: BundlingOptions = {
    format: OutputFormat.CJS,
    target: 'node24',
    minify: false,
    sourceMap: false,
    externalModules: ['@aws-sdk/*'],
    ...(spec.usesSharp ? { nodeModules: ['sharp'], environment: SHARP_INSTALL_ENV } : {}),
  };
  return { ...options, assetHash: assetFingerprint(spec, options) };
}

/** How a function is packaged: the project's way ({@link bundlingOptions}) or the benchmark's naive baseline. */
export type Packaging = 'optimized' | 'naive';

/** The bundling options for a packaging. */
export function packagingOptions(packaging: Packaging, spec: BundleSpec): BundlingOptions {
  return packaging === 'naive' ? naiveBundlingOptions(spec) : bundlingOptions(spec);
}

/**
 * A fingerprint of everything a bundle is made from, used as the asset hash.
 *
 * By default NodejsFunction hashes its *output*, so it has to bundle (and `npm ci` sharp) on every synth
 * before it knows whether anything changed. With a hash of the inputs instead, CDK finds
 * `cdk.out/asset.<hash>` from the previous synth and skips bundling altogether: a repeated synth costs no
 * bundling at all. The inputs are deliberately a superset: all of `functions/` and `shared/` (a handler may
 * import from either), the manifest and lock file (dependency versions), tsconfig (esbuild reads it), the
 * bundling options, and the esbuild and CDK versions.
 */
function assetFingerprint(spec: BundleSpec, options: BundlingOptions): string {
  const hash = createHash('sha256');
  hash.update(`pictura-bundle-v1\0${spec.name}\0${JSON.stringify(options)}\0`);
  hash.update(`${toolVersions()}\0${sourceDigest()}`);
  // Only specs that name extra sources hash them, so the real functions' fingerprints stay as they were.
  for (const file of spec.extraSources ?? []) {
    hash.update(`\0${file}\0`);
    hash.update(readFileSync(join(REPO_ROOT, file)));
  }
  return hash.digest('hex');
}

let cachedSourceDigest: string | undefined;

/** Digest of the source tree the bundles are built from; computed once per process. */
function sourceDigest(): string {
  if (cachedSourceDigest !== undefined) return cachedSourceDigest;
  const files = [
    ...listFiles(join(REPO_ROOT, 'functions')),
    ...listFiles(join(REPO_ROOT, 'shared')),
    ...['package.json', 'package-lock.json', 'tsconfig.json'].map((file) => join(REPO_ROOT, file)),
  ];
  const hash = createHash('sha256');
  for (const file of files) {
    // Paths are hashed relative and with `/` so that the digest is the same on every machine.
    hash.update(`${relative(REPO_ROOT, file).split(sep).join('/')}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  cachedSourceDigest = hash.digest('hex');
  return cachedSourceDigest;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.split(sep).some((part) => part === 'node_modules' || part.startsWith('.')))
    .sort();
}

function toolVersions(): string {
  const require = createRequire(import.meta.url);
  const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
  return `esbuild@${version('esbuild')} aws-cdk-lib@${version('aws-cdk-lib')}`;
}
