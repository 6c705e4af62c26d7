import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_BUDGETS } from '#bench/budgets.ts';
import { REPO_ROOT as ROOT } from '#infra/bundling.ts';
import { FUNCTION_NAMES, type FunctionName } from '#infra/constructs/pictura-function.ts';
import { bundleForHost, type HostBundle } from '#local/lambda/build.ts';

// Each function's bundle, built as its Lambda asset is built (local/build.ts uses infra/bundling.ts's
// options), in memory. Sizes are deterministic: the same sources always give the same bytes.
const bundles = new Map<FunctionName, HostBundle>();
beforeAll(async () => {
  await Promise.all(
    FUNCTION_NAMES.map(async (name) => {
      bundles.set(
        name,
        await bundleForHost({ entry: `functions/${name}/handler.ts`, label: name }, ROOT, { metafile: true }),
      );
    }),
  );
}, 60_000);

const bundle = (name: FunctionName): HostBundle => {
  const found = bundles.get(name);
  if (!found) throw new Error(`${name} was not built`);
  return found;
};

describe('bundle-size budgets (bench/budgets.ts)', () => {
  it.each(FUNCTION_NAMES)('%s stays under its budget', (name) => {
    const bytes = bundle(name).code.length;
    expect(
      bytes,
      `${name} is ${bytes} bytes, over its ${BUNDLE_BUDGETS[name]}-byte budget: see bench/budgets.ts before raising it`,
    ).toBeLessThanOrEqual(BUNDLE_BUDGETS[name]);
  });

  it('is deterministic (a rebuild gives the same bytes)', async () => {
    const again = await bundleForHost({ entry: 'functions/images/handler.ts', label: 'images' }, ROOT);
    expect(Buffer.from(again.code).equals(Buffer.from(bundle('images').code))).toBe(true);
  });
});

/** Inputs that put sharp in a bundle, or an import of it: sharp, its packages, the one module that loads it. */
const SHARP_INPUT = /(^|\/)node_modules\/sharp\/|@img\/|shared\/image\/sharp\.ts$/;
const sharpInputs = (name: FunctionName): string[] =>
  Object.keys(bundle(name).metafile?.inputs ?? {}).filter((path) => SHARP_INPUT.test(path));

describe.each(['upload', 'images'] as const)('%s (an API function that never loads sharp)', (name) => {
  it('has no sharp module among its inputs', () => {
    expect(Object.keys(bundle(name).metafile?.inputs ?? {}).length).toBeGreaterThan(0);
    expect(sharpInputs(name)).toEqual([]);
  });

  it('neither imports sharp nor carries its code', () => {
    const code = Buffer.from(bundle(name).code).toString('utf8');
    expect(code).not.toMatch(
      /from\s*["']sharp["']|import\(\s*["']sharp["']\s*\)|require\(\s*["']sharp["']\s*\)/,
    );
    expect(code).not.toMatch(/@img\/sharp-|Could not load the "sharp" module/);
  });
});

it('the sharp check sees sharp where it is (metadata imports it through shared/image/sharp.ts)', () => {
  expect(sharpInputs('metadata')).toContain('shared/image/sharp.ts');
});

describe("the SDK's credential chain (shared/clients/lambda-credentials.ts, aliased by infra/bundling.ts)", () => {
  const inputs = (name: FunctionName) => Object.keys(bundle(name).metafile?.inputs ?? {});

  it.each(FUNCTION_NAMES)(
    '%s carries the environment provider only: no SSO/STS/INI/IMDS providers',
    (name) => {
      const files = inputs(name);
      expect(files.some((f) => f.endsWith('shared/clients/lambda-credentials.ts'))).toBe(true);
      expect(files.some((f) => f.includes('@aws-sdk/credential-provider-env/'))).toBe(true);
      for (const chainLink of [
        '@aws-sdk/credential-provider-node/',
        '@aws-sdk/credential-provider-ini/',
        '@aws-sdk/credential-provider-sso/',
        '@aws-sdk/credential-provider-imds/',
        '@smithy/credential-provider-imds/',
        '@aws-sdk/nested-clients/',
      ]) {
        expect(
          files.filter((f) => f.includes(chainLink)),
          chainLink,
        ).toEqual([]);
      }
    },
  );
});
