import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { CreateTableCommand, type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalBucketDeployment, StackModel } from './stack-model.ts';

export interface ProvisionClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
}

export interface ProvisionOptions {
  /**
   * Multiplies every queue's visibility timeout (at least 1 s). Tests use a small factor so a failed
   * message comes back in seconds instead of minutes; 1 keeps the template's values.
   */
  visibilityScale?: number;
}

/** What was created (or found already there, when state persisted from an earlier run). */
export interface ProvisionReport {
  buckets: string[];
  /** Keys written by bucket deployments. */
  deployedKeys: string[];
  queues: string[];
  tables: string[];
}

/**
 * Creates the stack's buckets (and copies in what its BucketDeployments hold), queues (with their attributes, then their redrive policies once every DLQ
 * exists) and tables (with their indexes) on the local endpoint. Idempotent, so a restart with saved state
 * provisions nothing twice.
 */
export async function provision(
  model: StackModel,
  clients: ProvisionClients,
  options: ProvisionOptions = {},
): Promise<ProvisionReport> {
  const scale = options.visibilityScale ?? 1;
  for (const bucket of model.buckets) {
    const exists = await clients.s3
      .send(new HeadBucketCommand({ Bucket: bucket.name }))
      .then(() => true)
      .catch(() => false);
    if (!exists) await clients.s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
  }

  const deployedKeys: string[] = [];
  for (const deployment of model.bucketDeployments) {
    deployedKeys.push(...(await deployFolders(clients.s3, deployment)));
  }

  for (const queue of model.queues) {
    const { RedrivePolicy, ...attributes } = queue.attributes;
    if (attributes.VisibilityTimeout !== undefined) {
      attributes.VisibilityTimeout = String(
        Math.max(1, Math.round(Number(attributes.VisibilityTimeout) * scale)),
      );
    }
    await clients.sqs
      .send(new CreateQueueCommand({ QueueName: queue.name, Attributes: attributes }))
      .catch(async (error) => {
        // An existing queue with other attributes (template changed since the saved state): update it.
        if ((error as { name?: string }).name !== 'QueueNameExists') throw error;
        await clients.sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: attributes }),
        );
      });
  }
  for (const queue of model.queues) {
    const redrive = queue.attributes.RedrivePolicy;
    if (redrive) {
      await clients.sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { RedrivePolicy: redrive } }),
      );
    }
  }

  const existing = new Set((await clients.dynamo.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const table of model.tables) {
    if (existing.has(table.name)) continue;
    await clients.dynamo.send(
      new CreateTableCommand(
        table.definition as unknown as ConstructorParameters<typeof CreateTableCommand>[0],
      ),
    );
  }
  return {
    buckets: model.buckets.map((b) => b.name),
    deployedKeys,
    queues: model.queues.map((q) => q.name),
    tables: model.tables.map((t) => t.name),
  };
}

/**
 * Content types by extension, as the BucketDeployment handler guesses them (Python's `mimetypes`) for the
 * files a site holds; anything else is `application/octet-stream`.
 */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/vnd.microsoft.icon',
  '.txt': 'text/plain',
  '.webmanifest': 'application/manifest+json',
};

/** Every file under `folder`, recursively, as [absolute path, key relative to the folder with `/`]. */
function filesOf(folder: string): [string, string][] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return [path, relative(folder, path).split(sep).join('/')];
    });
}

/**
 * What CDK's BucketDeployment does at deploy (aws-s3-deployment's handler: unzip each source in order,
 * `aws s3 sync` to the destination with the system metadata, `--delete` when pruning), done with the
 * asset folders the assembly staged: every file is put under the prefix with its content type and
 * `Cache-Control`; with `prune`, objects under the prefix that no source holds are removed (state kept
 * from an earlier run may hold an older page). Returns the keys written.
 */
async function deployFolders(s3: S3Client, deployment: LocalBucketDeployment): Promise<string[]> {
  const files = new Map<string, string>();
  for (const source of deployment.sources) {
    for (const [path, key] of filesOf(source)) files.set(`${deployment.prefix}${key}`, path);
  }
  for (const [key, path] of files) {
    await s3.send(
      new PutObjectCommand({
        Bucket: deployment.bucket,
        Key: key,
        Body: readFileSync(path),
        ContentType: CONTENT_TYPES[extname(key).toLowerCase()] ?? 'application/octet-stream',
        ...(deployment.cacheControl ? { CacheControl: deployment.cacheControl } : {}),
      }),
    );
  }
  if (deployment.prune) {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: deployment.bucket, Prefix: deployment.prefix }),
    );
    for (const object of listed.Contents ?? []) {
      if (object.Key && !files.has(object.Key))
        await s3.send(new DeleteObjectCommand({ Bucket: deployment.bucket, Key: object.Key }));
    }
  }
  return [...files.keys()];
}
