import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';
import { codeAssetHash, functionNamed, type Synthesized, synthesize } from './synth.ts';

let aws: Synthesized;
beforeAll(async () => {
  aws = await synthesize();
});

const assetOf = (name: string): string => aws.assetDir(codeAssetHash(functionNamed(aws.json, name)[1]));
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8'));

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));

/** e_machine of an ELF file: 183 is AArch64, 62 is x86-64. */
function elfMachine(file: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return header.readUInt16LE(18);
}

describe.each(['metadata', 'thumbnail'])('%s asset (from the synthesized cloud assembly)', (name) => {
  it('installs sharp beside the bundle, with the linux-arm64 binary and libvips', () => {
    const modules = join(assetOf(name), 'node_modules');
    expect(existsSync(join(modules, 'sharp', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, '@img', 'sharp-linux-arm64', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, '@img', 'sharp-libvips-linux-arm64', 'package.json'))).toBe(true);
  });

  it('carries no build for another platform (no x64, no musl, no macOS/Windows/wasm)', () => {
    const platformPackages = readdirSync(join(assetOf(name), 'node_modules', '@img')).filter((entry) =>
      entry.startsWith('sharp-'),
    );
    expect(platformPackages.sort()).toEqual(['sharp-libvips-linux-arm64', 'sharp-linux-arm64']);
  });

  it('ships native code for AArch64 only', () => {
    const dir = assetOf(name);
    const natives = filesUnder(dir).filter((file) => /\.node$|\.so(\.\d+)*$/.test(file));
    expect(natives.length).toBeGreaterThan(0);
    for (const file of natives)
      expect({ file, machine: elfMachine(join(dir, file)) }).toEqual({ file, machine: 183 });
  });

  it('pins the sharp version of the lock file (the version package.json asks for)', () => {
    const lock = readJson(join(REPO_ROOT, 'package-lock.json')) as {
      packages: Record<string, { version: string }>;
    };
    const locked = lock.packages['node_modules/sharp']?.version;
    const installed = readJson(join(assetOf(name), 'node_modules', 'sharp', 'package.json')).version;
    expect(installed).toBe(locked);
    const range = (readJson(join(REPO_ROOT, 'package.json')).dependencies as Record<string, string>).sharp;
    expect(range?.replace(/^[\^~]/, '')).toBe(locked);
    const binary = readJson(join(assetOf(name), 'node_modules', '@img', 'sharp-linux-arm64', 'package.json'));
    expect(binary).toMatchObject({ version: locked, os: ['linux'], cpu: ['arm64'] });
  });
});

describe.each(['upload', 'images', 'delete'])('%s asset', (name) => {
  it('is the bundle alone', () => {
    expect(readdirSync(assetOf(name))).toEqual(['index.mjs']);
  });
});

// NodejsFunction's own esbuild run (not the local build) honours the `--alias` of infra/bundling.ts: the SDK's
// credential chain in each asset is the environment provider alone. The providers' debug messages name them.
describe.each(['upload', 'images', 'delete', 'metadata', 'thumbnail', 'purge', 'sweeper'])(
  '%s asset credentials',
  (name) => {
    it('reads credentials from the environment only (no INI, SSO, process or IMDS provider)', () => {
      const code = readFileSync(join(assetOf(name), 'index.mjs'), 'utf8');
      expect(code).toContain('@aws-sdk/credential-provider-env - fromEnv');
      for (const provider of [
        'credential-provider-ini',
        'credential-provider-sso',
        'credential-provider-process',
      ]) {
        expect(code, provider).not.toContain(`@aws-sdk/${provider}`);
      }
    });
  },
);
