import { describe, expect, it } from 'vitest';
import { packageOf } from '#bench/cold-start/bundles.ts';
import {
  benchEvent,
  deployedName,
  kindOf,
  parseReport,
  templateFunctions,
} from '#bench/cold-start/lambda.ts';
import { REPO_ROOT } from '#infra/bundling.ts';
import { bundleForHost } from '#local/lambda/build.ts';
import { buildStackModel } from '#local/template/stack-model.ts';
import type { StackTemplate } from '#local/template/template.ts';

describe('parseReport', () => {
  it('reads a cold REPORT line by field name (AWS order, tab-separated)', () => {
    const log = [
      'START RequestId: 1 Version: $LATEST',
      'some output',
      'END RequestId: 1',
      'REPORT RequestId: 1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 88 MB\tInit Duration: 201.50 ms\t',
    ].join('\n');
    expect(parseReport(log)).toEqual({
      durationMs: 12.34,
      maxMemoryUsedMb: 88,
      memorySizeMb: 512,
      initMs: 201.5,
    });
  });

  it('has no init on a warm invocation, and tolerates fields it does not know', () => {
    const log =
      'REPORT RequestId: 2\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\tXRAY TraceId: 1-abc\tSegmentId: x\n';
    expect(parseReport(log)).toEqual({ durationMs: 1, maxMemoryUsedMb: 70, memorySizeMb: 128 });
  });

  it('answers undefined without a REPORT line (a truncated tail)', () => {
    expect(parseReport('START RequestId: 3\n')).toBeUndefined();
  });
});

describe('deployedName', () => {
  const names = [
    'Pictura-FunctionsUpload1A2B3C4D-AbCdEf123456',
    'Pictura-FunctionsNaiveUpload9F8E7D6C-ZyXw98765432',
    'Pictura-FunctionsBenchEmpty11223344',
  ];
  it('finds CloudFormation names and the local cloud’s, without confusing a function with its naive copy', () => {
    expect(deployedName('Pictura', 'FunctionsUpload1A2B3C4D', names)).toBe(names[0]);
    expect(deployedName('Pictura', 'FunctionsNaiveUpload9F8E7D6C', names)).toBe(names[1]);
    expect(deployedName('Pictura', 'FunctionsBenchEmpty11223344', names)).toBe(names[2]);
    expect(deployedName('Pictura', 'FunctionsImages55667788', names)).toBeUndefined();
  });
});

describe('functions and events', () => {
  it('classifies the floor, API functions, naive copies, sharp functions and other workers', () => {
    expect(
      ['bench-empty', 'upload', 'naive-images', 'thumbnail', 'metadata', 'purge', 'sweeper'].map(kindOf),
    ).toEqual(['floor', 'api', 'naive', 'sharp', 'sharp', 'worker', 'worker']);
  });

  it('gives a naive copy the same benign event as its function', () => {
    expect(benchEvent('naive-upload')).toEqual(benchEvent('upload'));
    expect(benchEvent('images')).toMatchObject({ httpMethod: 'GET', resource: '/v1/images/{id}' });
    expect(benchEvent('metadata')).toEqual({ Records: [] });
  });

  it('reads packaging from the template metadata, for the benchmark and the local cloud alike', () => {
    const stack: StackTemplate = {
      stackName: 'Pictura',
      outputs: {},
      conditions: {},
      resources: {
        FunctionsNaiveUpload9F8E7D6C: {
          Type: 'AWS::Lambda::Function',
          Properties: { Handler: 'index.handler' },
          Metadata: {
            'pictura:entry': 'functions/upload/handler.ts',
            'pictura:name': 'naive-upload',
            'pictura:packaging': 'naive',
          },
        },
        FunctionsUpload1A2B3C4D: {
          Type: 'AWS::Lambda::Function',
          Properties: { Handler: 'index.handler' },
          Metadata: { 'pictura:entry': 'functions/upload/handler.ts', 'pictura:name': 'upload' },
        },
      },
    };
    expect(templateFunctions(stack).map((f) => [f.label, f.packaging])).toEqual([
      ['naive-upload', 'naive'],
      ['upload', 'optimized'],
    ]);
    const model = buildStackModel(stack, {
      region: 'us-east-1',
      accountId: '000000000000',
      awsEndpoint: 'http://localhost:4566',
      cdnHost: 'localhost:3001',
      apiHost: 'localhost:3000',
    });
    expect(model.functions.map((f) => [f.label, f.packaging])).toEqual([
      ['naive-upload', 'naive'],
      ['upload', undefined],
    ]);
  });
});

describe('the naive packaging, as the local cloud builds it', () => {
  it('is unminified CommonJS that requires the SDK from node_modules', async () => {
    const naive = await bundleForHost(
      { entry: 'functions/upload/handler.ts', label: 'naive-upload', packaging: 'naive' },
      REPO_ROOT,
    );
    const code = Buffer.from(naive.code).toString('utf8');
    expect(naive.extension).toBe('.cjs');
    expect(code).toMatch(/require\("@aws-sdk\/client-s3"\)/);
    expect(code).toMatch(/\n {2}\S/); // indented, i.e. not minified
    expect(code).not.toMatch(/^import /m);
  });
});

describe('packageOf', () => {
  it('names the npm package of a metafile input, or the project', () => {
    expect(packageOf('node_modules/@aws-sdk/client-s3/dist-es/index.js')).toBe('@aws-sdk/client-s3');
    expect(packageOf('node_modules/@smithy/core/node_modules/uuid/dist/index.js')).toBe('uuid');
    expect(packageOf('node_modules/tslib/tslib.es6.mjs')).toBe('tslib');
    expect(packageOf('shared/config.ts')).toBe('project');
  });
});
