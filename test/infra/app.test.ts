import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';
import { createApp } from '#infra/pictura-app.ts';
import { DEFAULT_SETTINGS, readSettings } from '#infra/settings.ts';
import type { Json } from './synth.ts';

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'pictura-infra-'));
  scratch.push(dir);
  return dir;
};

describe('settings (CDK context)', () => {
  const read = (context: Record<string, unknown>) => readSettings((key) => context[key]);

  it('defaults to a dev stack on AWS', () => {
    expect(read({})).toEqual(DEFAULT_SETTINGS);
  });

  it('reads -c values, which arrive as strings', () => {
    expect(
      read({
        target: 'localstack',
        retainData: 'true',
        corsAllowOrigin: 'https://app.example',
        localstackUrl: 'http://h:4566/',
      }),
    ).toMatchObject({
      target: 'localstack',
      retainData: true,
      corsAllowOrigin: 'https://app.example',
      localstackUrl: 'http://h:4566',
    });
  });

  it('rejects typos instead of deploying the default', () => {
    expect(() => read({ target: 'localstak' })).toThrow(/target/);
    expect(() => read({ retainData: 'yes' })).toThrow(/retainData/);
    expect(() => read({ localstackUrl: 'localhost:4566' })).toThrow(/localstackUrl/);
    expect(() => read({ alarmEmail: 'nobody' })).toThrow(/alarmEmail/);
    expect(() => read({ bundling: 'no' })).toThrow(/bundling/);
    expect(() => read({ production: 'yes' })).toThrow(/production/);
  });

  it('refuses a production deploy that lets any origin call the API (CORS *), saying what to set', () => {
    expect(() => read({ production: 'true' })).toThrow(/production=true.*corsAllowOrigin=https:\/\//);
    expect(() => read({ production: true, corsAllowOrigin: '*' })).toThrow(/corsAllowOrigin/);
    expect(read({ production: 'true', corsAllowOrigin: 'https://app.example' })).toMatchObject({
      production: true,
      corsAllowOrigin: 'https://app.example',
    });
    // A dev stack keeps the convenient default.
    expect(read({}).corsAllowOrigin).toBe('*');
  });

  it.each([
    'null',
    'https://*',
    'https://*.example.com',
    'https://a.example, *',
    'https://a.example,https://b.example',
    'https://a.example https://b.example',
    "https://a.example'",
    'https://a.example/',
    'https://a.example/app',
    'https://A.example',
    'http://app.example',
    'app.example',
    'https://',
    'https://a.example:',
  ])('refuses a production corsAllowOrigin of %j, naming it', (origin) => {
    const expected = new RegExp(
      `corsAllowOrigin.*${JSON.stringify(origin).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    );
    expect(() => read({ production: 'true', corsAllowOrigin: origin })).toThrow(expected);
  });

  it('takes one https origin with a port, or http only for localhost, in production', () => {
    for (const origin of [
      'https://app.example.com',
      'https://app.example.com:8443',
      'http://localhost:5173',
    ]) {
      expect(read({ production: 'true', corsAllowOrigin: origin }).corsAllowOrigin).toBe(origin);
    }
  });

  it.each([
    "*'",
    'https://a.example, *',
    'https://a.example"',
    'https://a.example\nX-Injected: 1',
    'https://a.example\\',
  ])('refuses a quote, comma, backslash or line break in a dev corsAllowOrigin too (%j)', (origin) => {
    expect(() => read({ corsAllowOrigin: origin })).toThrow(/corsAllowOrigin.*quotes, commas or line breaks/);
  });

  it('keeps * and any single origin allowed outside production', () => {
    expect(read({ corsAllowOrigin: '*' }).corsAllowOrigin).toBe('*');
    expect(read({ corsAllowOrigin: 'http://dev.example:8080' }).corsAllowOrigin).toBe(
      'http://dev.example:8080',
    );
  });

  it('fails synth itself on a production deploy with CORS *', () => {
    expect(() => createApp({ context: { bundling: false, production: 'true' } })).toThrow(/corsAllowOrigin/);
  });

  it('takes a CDN domain and its us-east-1 certificate together, or neither', () => {
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333';
    expect(read({ cdnDomainName: 'img.example.com', cdnCertificateArn: arn }).cdnDomain).toEqual({
      domainName: 'img.example.com',
      certificateArn: arn,
    });
    expect(() => read({ cdnDomainName: 'img.example.com' })).toThrow(/both or neither/);
    expect(() => read({ cdnCertificateArn: arn })).toThrow(/both or neither/);
    expect(() =>
      read({ cdnDomainName: 'img.example.com', cdnCertificateArn: arn.replace('us-east-1', 'eu-west-1') }),
    ).toThrow(/us-east-1/);
  });
});

describe('synth without bundling (how the local cloud synthesizes)', () => {
  const functionsOf = (template: Json): Json[] =>
    Object.values(template.Resources as Record<string, Json>).filter((r) => r.Metadata?.['pictura:entry']);

  it('`node infra/app.ts` with the standard aws:cdk:bundling-stacks=[] context bundles nothing, fast', () => {
    const outdir = tempDir();
    const started = performance.now();
    execFileSync(process.execPath, [join(REPO_ROOT, 'infra', 'app.ts')], {
      cwd: tempDir(), // any working directory: paths are resolved from the repository
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
      },
      stdio: 'pipe',
    });
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeLessThan(30);
    // Staged, not bundled: only the upload page's deployment (its files, CDK's helper and AWS CLI layer),
    // which the local cloud copies into the site bucket (local/template/provision.ts).
    const staged = readdirSync(outdir).filter((entry) => entry.startsWith('asset.'));
    const manifest = JSON.parse(readFileSync(join(outdir, 'Pictura.assets.json'), 'utf8'));
    const owners = Object.values(manifest.files as Record<string, Json>)
      .filter((file) => staged.includes(file.source.path))
      .map((file) => file.displayName);
    expect(owners).toHaveLength(staged.length);
    for (const owner of owners) expect(owner).toMatch(/^(Cdn\/Site\/Deploy\/|Custom::CDKBucketDeployment)/);
    const template = JSON.parse(readFileSync(join(outdir, 'Pictura.template.json'), 'utf8'));
    const functions = functionsOf(template);
    expect(functions.map((f) => f.Metadata['pictura:entry']).sort()).toEqual(
      ['delete', 'images', 'metadata', 'purge', 'sweeper', 'thumbnail', 'upload'].map(
        (name) => `functions/${name}/handler.ts`,
      ),
    );
  });

  it('-c bundling=false does the same through the CLI, which refuses aws:* keys', () => {
    const outdir = tempDir();
    const { stack } = createApp({ context: { bundling: 'false', target: 'localstack' }, outdir });
    const template = Template.fromStack(stack).toJSON();
    expect(readdirSync(outdir).filter((entry) => entry.startsWith('asset.'))).toEqual([]);
    expect(functionsOf(template)).toHaveLength(7);
  });
});

describe('toolchain', () => {
  it('cdk.json runs the app with Node’s type stripping, and applies the recommended feature flags', () => {
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'));
    expect(cdkJson.app).toBe('node infra/app.ts');
    expect(cdkJson.context['@aws-cdk/aws-iam:minimizePolicies']).toBe(true);
  });

  it('pins a CLI that reads this library’s cloud assembly', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['aws-cdk']).toBe('2.1148.1');
    expect(pkg.scripts).toMatchObject({
      synth: expect.stringContaining('cdk synth'),
      deploy: expect.stringContaining('cdk deploy'),
      'deploy:local': 'bash scripts/deploy-localstack.sh',
      'test:infra': 'vitest run --project infra',
    });
  });
});
