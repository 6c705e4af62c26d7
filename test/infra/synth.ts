import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Template } from 'aws-cdk-lib/assertions';
import { REPO_ROOT } from '#infra/bundling.ts';
import { createApp } from '#infra/pictura-app.ts';
import type { Settings } from '#infra/settings.ts';
import type { PicturaStack } from '#infra/stack.ts';

/**
 * Synthesis for the infra tests. Bundling five functions (and installing sharp twice) is the slow part,
 * so every test file synthesizes into one shared cloud assembly directory: asset hashes are fingerprints
 * of the sources (infra/bundling.ts), and CDK skips bundling when `asset.<hash>` already exists there. The
 * first file to get here bundles; the others, and every later run with unchanged sources, do not.
 *
 * Test files run in parallel processes, so the directory is guarded by a lock held for the whole synth
 * (two processes must not bundle the same asset at once, nor read a template while the other rewrites it).
 */
export const ASSEMBLY_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'pictura-infra-test', 'cdk.out');
const LOCK_DIR = `${ASSEMBLY_DIR}.lock`;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
export type Json = any;

export interface Synthesized {
  stack: PicturaStack;
  settings: Settings;
  template: Template;
  /** The template as plain JSON, for checks that walk every resource. */
  json: Json;
  /** The synthesized assembly's asset directories, by asset hash. */
  assetDir(hash: string): string;
}

/** Synthesizes the app with the given context (`{ target: 'localstack' }`, …). */
export async function synthesize(context: Record<string, unknown> = {}): Promise<Synthesized> {
  return withLock(() => {
    const { stack, settings } = createApp({ context, outdir: ASSEMBLY_DIR });
    const template = Template.fromStack(stack);
    pruneStaleAssets();
    return {
      stack,
      settings,
      template,
      json: template.toJSON(),
      assetDir: (hash: string) => join(ASSEMBLY_DIR, `asset.${hash}`),
    };
  });
}

/** Asset hash of a function's code, from its `Code.S3Key` (`<hash>.zip`). */
export function codeAssetHash(functionResource: Json): string {
  const key: unknown = functionResource?.Properties?.Code?.S3Key;
  if (typeof key !== 'string' || !key.endsWith('.zip')) throw new Error('Function has no asset code');
  return key.slice(0, -'.zip'.length);
}

/** Resources of a type, as `[logicalId, resource]` pairs. */
export function resourcesOfType(json: Json, type: string): [string, Json][] {
  return Object.entries(json.Resources as Record<string, Json>).filter(
    ([, resource]) => resource.Type === type,
  );
}

/** The one resource of a type, as `[logicalId, resource]`; throws unless there is exactly one. */
export function single(json: Json, type: string): [string, Json] {
  const found = resourcesOfType(json, type);
  if (found.length !== 1 || !found[0]) throw new Error(`Expected one ${type}, found ${found.length}`);
  return found[0];
}

/**
 * The images bucket (originals/ and variants/), as `[logicalId, resource]`: the stack's other bucket is
 * the access-log bucket (`Storage/LogBucket`).
 */
export function imagesBucket(json: Json): [string, Json] {
  const found = resourcesOfType(json, 'AWS::S3::Bucket').filter(([id]) =>
    /^StorageBucket[0-9A-F]{8}$/.test(id),
  );
  if (found.length !== 1 || !found[0]) throw new Error(`Expected one images bucket, found ${found.length}`);
  return found[0];
}

/** The Lambda function resource whose `pictura:name` metadata is `name`. */
export function functionNamed(json: Json, name: string): [string, Json] {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').find(
    ([, resource]) => resource.Metadata?.['pictura:name'] === name,
  );
  if (!found) throw new Error(`No function named ${name}`);
  return found;
}

/**
 * Removes asset directories the current assembly no longer references (earlier source versions), so the
 * cache holds one set of bundles, not one per edit. Only old ones: a parallel test file that read the
 * sources a moment earlier or later may still be using its own.
 */
function pruneStaleAssets(): void {
  const cutoff = Date.now() - 60 * 60_000;
  const manifest = JSON.parse(readFileSync(join(ASSEMBLY_DIR, 'Pictura.assets.json'), 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  const live = new Set(Object.values(manifest.files).map((file) => file.source.path));
  for (const entry of readdirSync(ASSEMBLY_DIR)) {
    const path = join(ASSEMBLY_DIR, entry);
    if (entry.startsWith('asset.') && !live.has(entry) && statSync(path).mtimeMs < cutoff) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}

async function withLock<T>(work: () => T): Promise<T> {
  mkdirSync(ASSEMBLY_DIR, { recursive: true });
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (lockIsStale()) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${LOCK_DIR}`);
      await sleep(250);
    }
  }
  try {
    return work();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** A lock left behind by a process that died (a killed test run) must not block the next run. */
function lockIsStale(): boolean {
  try {
    process.kill(Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8')), 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    if (code === 'ENOENT') {
      // No pid yet: the owner is between mkdir and writing it, unless it died right there.
      try {
        return Date.now() - statSync(LOCK_DIR).mtimeMs > 10_000;
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** Stack outputs on every target; the AWS target adds the CDN's (`CdnUrl`, `DistributionId`). */
export const COMMON_OUTPUTS = [
  'ApiUrl',
  'BucketName',
  'TableName',
  'ApiKeyId',
  'IngestQueueUrl',
  'RenderQueueUrl',
  'PurgeQueueUrl',
  'IngestDlqUrl',
  'RenderDlqUrl',
  'PurgeDlqUrl',
  'SweeperFunctionName',
] as const;
