import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_FUNCTION_NAMES, FUNCTION_NAMES } from '#infra/constructs/pictura-function.ts';
import {
  codeAssetHash,
  functionNamed,
  type Json,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './synth.ts';

// `-c benchBaselines=true` adds the cold-start benchmark's baselines (bench/cold-start.ts). The default
// template, which every other infra test checks, has none of this.
let bench: Synthesized;
beforeAll(async () => {
  bench = await synthesize({ benchBaselines: 'true' });
});

const fn = (name: string): Json => functionNamed(bench.json, name)[1];
const assetFiles = (name: string): string[] => readdirSync(bench.assetDir(codeAssetHash(fn(name))));
const code = (name: string, file: string): string =>
  readFileSync(join(bench.assetDir(codeAssetHash(fn(name))), file), 'utf8');

describe('-c benchBaselines=true', () => {
  it('adds the floor and one naive copy per API function, and nothing else', () => {
    const names = resourcesOfType(bench.json, 'AWS::Lambda::Function')
      .map(([, resource]) => resource.Metadata?.['pictura:name'])
      .filter(Boolean)
      .sort();
    expect(names).toEqual(
      [...FUNCTION_NAMES, 'bench-empty', ...API_FUNCTION_NAMES.map((name) => `naive-${name}`)].sort(),
    );
  });

  it('packages the floor like the functions: a minified ES module, sized like the API functions', () => {
    expect(fn('bench-empty').Metadata).toEqual({
      'pictura:entry': 'bench/fixtures/empty-handler.ts',
      'pictura:name': 'bench-empty',
    });
    expect(fn('bench-empty').Properties.MemorySize).toBe(fn('images').Properties.MemorySize);
    expect(assetFiles('bench-empty')).toEqual(['index.mjs']);
    expect(code('bench-empty', 'index.mjs')).toMatch(/^import \{ createRequire as __picturaCreateRequire \}/);
  });

  it.each(API_FUNCTION_NAMES)(
    'naive-%s runs the same entry, environment, sizing and role, packaged the naive way',
    (name) => {
      const naive = fn(`naive-${name}`);
      const real = fn(name);
      expect(naive.Metadata).toEqual({
        'pictura:entry': real.Metadata['pictura:entry'],
        'pictura:name': `naive-${name}`,
        'pictura:packaging': 'naive',
      });
      for (const key of ['Environment', 'MemorySize', 'Timeout', 'Role', 'Runtime', 'Architectures']) {
        expect(naive.Properties[key]).toEqual(real.Properties[key]);
      }
      // CommonJS, unminified, the SDK taken from the runtime: NodejsFunction's defaults.
      expect(assetFiles(`naive-${name}`)).toEqual(['index.js']);
      const bundle = code(`naive-${name}`, 'index.js');
      expect(bundle).toMatch(/require\("@aws-sdk\/client-(s3|dynamodb)"\)/);
      expect(bundle.length / bundle.split('\n').length).toBeLessThan(100);
    },
  );

  it('reaches the baselines only through the Lambda API: no route, no queue', () => {
    const baselineIds = new Set(
      ['bench-empty', ...API_FUNCTION_NAMES.map((name) => `naive-${name}`)].map(
        (name) => functionNamed(bench.json, name)[0],
      ),
    );
    const references = JSON.stringify(
      [
        ...resourcesOfType(bench.json, 'AWS::ApiGateway::Method'),
        ...resourcesOfType(bench.json, 'AWS::Lambda::EventSourceMapping'),
        ...resourcesOfType(bench.json, 'AWS::Lambda::Permission'),
      ].map(([, resource]) => resource),
    );
    for (const id of baselineIds) expect(references).not.toContain(id);
  });

  it('the floor loads and answers in a fresh Node process', () => {
    const dir = bench.assetDir(codeAssetHash(fn('bench-empty')));
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(dir, 'index.mjs'))}); console.log(JSON.stringify(await m.handler({})));`,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ statusCode: 200, body: '' });
  });
});
