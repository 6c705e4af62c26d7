/**
 * One chaos run: N uploads through a local cloud with faults injected, every image polled until it settles,
 * then every id reconciled with the bucket, the table and the queues. Used by bench/chaos.ts and by
 * test/integration/chaos.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalCloud, startLocalCloud } from '#local/cloud.ts';
import type { FaultConfig } from '#local/faults/config.ts';
import { LOCAL_CLOUD_ACCESS_KEY_ID } from '#local/faults/edge.ts';
import type { FaultSnapshot } from '#local/faults/injector.ts';
import { PicturaClient, TERMINAL } from '#test/support/api-client.ts';
import { largeJpeg, plainPng } from '#test/support/images.ts';
import { endProgress, showProgress } from './progress.ts';
import { drainForReading, queueDepth, queueDepths } from './queues.ts';
import { median, percentile, round } from './stats.ts';
import { pollUntilTerminal, uploadWithRetries } from './uploads.ts';

export interface ChaosOptions {
  root: string;
  uploads: number;
  concurrency: number;
  faults: FaultConfig | undefined;
  /** Queue visibility timeouts × this (failed messages come back in seconds). */
  visibilityScale: number;
  /** Give up polling an image after this long. */
  settleTimeoutMs: number;
  /** Every `hostileEvery`-th upload is a file that must be `rejected` (0: none). */
  hostileEvery?: number;
  /** Input size: `photo` (2 MP JPEGs, as bench:load) or `small` (quick PNGs, for the test). */
  inputs?: 'photo' | 'small';
  /** Reuse a synthesized assembly (a sweep synthesizes once). */
  outdir?: string;
  quiet?: boolean;
}

/** One DLQ message and why it is there. */
export interface DlqEntry {
  queue: string;
  imageId: string | undefined;
  receiveCount: number;
  /** The image's state now, and its `failure` if any. */
  imageStatus: string;
  reason: string;
  /** The image says so (`failed`/`deleting` with a failure of this stage) or settled anyway (a duplicate). */
  explained: boolean;
}

export interface ChaosReport {
  uploads: number;
  concurrency: number;
  visibilityScale: number;
  seed: number | undefined;
  wallSeconds: number;
  accepted: number;
  uploadErrors: string[];
  clientRetries: number;
  outcome: { ready: number; rejected: number; failed: number; stuck: number };
  lost: number;
  /** Records the client never heard of (an upload retried after a 5xx that had created one). */
  unclaimedRecords: Record<string, number>;
  /** Records not terminal at the end (any id in the table). */
  stuckRecords: Array<{ id: string; status: string }>;
  /** Objects whose image has no record. */
  orphanedObjects: string[];
  /** Ready images whose recorded variants are not all in the bucket. */
  readyWithMissingVariants: string[];
  settleMs: { p50: number; p95: number; max: number };
  faults: FaultSnapshot | { enabled: false };
  deliveries: {
    byFunction: Record<string, number>;
    /** Messages handed to a function more than once (same message id). */
    duplicateMessages: number;
    /** Deliveries with ApproximateReceiveCount > 1 (redeliveries after a failure or a lost delete). */
    retries: number;
    /** Ingest messages naming an object already announced (duplicated S3 notifications that arrived). */
    duplicateS3Events: number;
    maxReceiveCount: number;
  };
  queues: Record<string, number>;
  dlq: DlqEntry[];
}

interface Sample {
  id: string;
  startedMs: number;
  settledMs?: number;
  status: string;
}

type SqsEvent = {
  Records?: Array<{ messageId: string; body: string; attributes?: { ApproximateReceiveCount?: string } }>;
};

/** Deliveries the functions received, from the runtime's view of every event. */
class DeliveryLog {
  readonly byFunction: Record<string, number> = {};
  readonly #messages = new Map<string, number>();
  /** Distinct messages announcing each object (more than one: a duplicated S3 notification). */
  readonly #announcements = new Map<string, Set<string>>();
  retries = 0;
  maxReceiveCount = 0;

  record(functionName: string, event: unknown): void {
    const records = (event as SqsEvent)?.Records;
    if (!Array.isArray(records) || !records[0]?.messageId) return;
    for (const r of records) {
      this.byFunction[functionName] = (this.byFunction[functionName] ?? 0) + 1;
      this.#messages.set(r.messageId, (this.#messages.get(r.messageId) ?? 0) + 1);
      const received = Number(r.attributes?.ApproximateReceiveCount ?? 1);
      this.maxReceiveCount = Math.max(this.maxReceiveCount, received);
      if (received > 1) this.retries += 1;
      const key = s3Key(r.body);
      if (key) this.#announcements.set(key, (this.#announcements.get(key) ?? new Set()).add(r.messageId));
    }
  }

  /** `labels`: function name → logical name, for readable keys. */
  summary(labels: Map<string, string>) {
    const duplicateMessages = [...this.#messages.values()].filter((n) => n > 1).length;
    const duplicateS3Events = [...this.#announcements.values()].reduce((sum, ids) => sum + ids.size - 1, 0);
    return {
      byFunction: Object.fromEntries(
        Object.entries(this.byFunction).map(([fn, n]) => [labels.get(fn) ?? fn, n]),
      ),
      duplicateMessages,
      retries: this.retries,
      duplicateS3Events,
      maxReceiveCount: this.maxReceiveCount,
    };
  }
}

/** The object key an S3 event notification body names, if it is one. */
function s3Key(body: string): string | undefined {
  try {
    const key = JSON.parse(body)?.Records?.[0]?.s3?.object?.key;
    return typeof key === 'string' ? decodeURIComponent(key.replaceAll('+', ' ')) : undefined;
  } catch {
    return undefined;
  }
}

/** The image id a pipeline message is about: an S3 event's `originals/<id>`, or a job's `id`/`imageId`. */
function imageIdOf(body: string): string | undefined {
  const key = s3Key(body);
  if (key) return key.split('/')[1];
  try {
    const job = JSON.parse(body) as Record<string, unknown>;
    const id = job.id ?? job.imageId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

async function inputs(kind: 'photo' | 'small'): Promise<Array<{ bytes: Buffer; type: string }>> {
  if (kind === 'photo') {
    const jpegs = await Promise.all([0, 1, 2, 3].map((i) => largeJpeg(1600 + i * 16, 1200)));
    return jpegs.map((bytes) => ({ bytes, type: 'image/jpeg' }));
  }
  const pngs = await Promise.all([0, 1, 2, 3].map((i) => plainPng(400 + i * 40, 300)));
  return pngs.map((bytes) => ({ bytes, type: 'image/png' }));
}

/** A file with an image content type that is not an image: the pipeline must reject it. */
const HOSTILE = {
  bytes: Buffer.from('this is not an image, whatever the header says\n'.repeat(40)),
  type: 'image/jpeg',
};

/** Starts a local cloud, runs the uploads, reconciles, stops the cloud; gives the report. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), 'pictura-chaos-'));
  const deliveries = new DeliveryLog();
  const cloud = await startLocalCloud({
    root: options.root,
    outdir,
    synth: options.outdir === undefined,
    ports: { aws: 0, api: 0, cdn: 0 },
    visibilityScale: options.visibilityScale,
    faults: options.faults,
    logSink: () => {},
    log: () => {},
    onInvoke: (fn, event) => deliveries.record(fn, event),
  });
  try {
    const started = performance.now();
    const { samples, uploadErrors, clientRetries } = await upload(cloud, options);
    const wallSeconds = round((performance.now() - started) / 1000);
    return {
      ...(await reconcile(cloud, options, samples, deliveries)),
      wallSeconds,
      uploadErrors,
      clientRetries,
    };
  } finally {
    await cloud.close(5_000);
    if (options.outdir === undefined) rmSync(outdir, { recursive: true, force: true });
  }
}

async function upload(cloud: LocalCloud, options: ChaosOptions) {
  const client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKeys[0]?.value ?? '');
  const files = await inputs(options.inputs ?? 'photo');
  const samples: Sample[] = [];
  const uploadErrors: string[] = [];
  let clientRetries = 0;
  let next = 0;
  let done = 0;
  const started = performance.now();
  const tenth = { tenth: -1 };
  const deadline = () => Date.now() + options.settleTimeoutMs;
  const worker = async () => {
    for (let index = next++; index < options.uploads; index = next++) {
      const hostile = options.hostileEvery && index % options.hostileEvery === options.hostileEvery - 1;
      const file = hostile ? HOSTILE : (files[index % files.length] ?? HOSTILE);
      const sample: Sample = { id: '', startedMs: performance.now(), status: 'error' };
      try {
        // A hostile file goes through a presigned POST: the direct route refuses it at once (no image to settle).
        const mode = hostile || index % 2 ? 'presigned' : 'direct';
        const result = await uploadWithRetries(client, file.bytes, file.type, mode);
        clientRetries += result.attempts - 1;
        sample.id = result.id;
        samples.push(sample);
        sample.status = await pollUntilTerminal(client, sample.id, deadline());
        sample.settledMs = performance.now() - sample.startedMs;
      } catch (error) {
        uploadErrors.push((error as Error).message);
      }
      done += 1;
      const counts = cloud.faults?.snapshot().total ?? 0;
      showProgress(
        {
          done,
          total: options.uploads,
          startedMs: started,
          label: 'settled',
          extra: `${counts} faults`,
          quiet: options.quiet,
        },
        tenth,
      );
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  endProgress(options.quiet);
  return { samples, uploadErrors, clientRetries };
}

/** Waits (up to `ms`) for the work queues to empty: duplicates and late notifications still in flight. */
async function quiesce(cloud: LocalCloud, sqs: SQSClient, ms: number): Promise<void> {
  const work = cloud.model.queues.filter((q) => !/dlq|dead/i.test(q.name));
  const until = Date.now() + ms;
  while (Date.now() < until) {
    let depth = 0;
    for (const queue of work) depth += await queueDepth(sqs, queue.url);
    if (depth === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function reconcile(
  cloud: LocalCloud,
  options: ChaosOptions,
  samples: Sample[],
  deliveries: DeliveryLog,
) {
  // Reconciliation signs as the local cloud itself: its reads are never faulted.
  const common = {
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: LOCAL_CLOUD_ACCESS_KEY_ID, secretAccessKey: 'test' },
  };
  const sqs = new SQSClient(common);
  await quiesce(cloud, sqs, 30_000);
  const records = await scanTable(cloud, common);
  const objects = await listObjects(cloud, common);
  const byId = new Map(records.map((r) => [r.id, r]));
  const known = new Set(samples.map((s) => s.id));

  const objectIds = new Map<string, string[]>();
  for (const key of objects) {
    const id = key.split('/')[1] ?? '';
    objectIds.set(id, [...(objectIds.get(id) ?? []), key]);
  }
  const orphanedObjects = objects.filter((key) => !byId.has(key.split('/')[1] ?? ''));
  const present = new Set(objects);
  const readyWithMissingVariants = records
    .filter((r) => r.status === 'ready')
    .filter((r) => (r.variants ?? []).some((v) => !present.has(v.key)) || (r.variants ?? []).length === 0)
    .map((r) => r.id);
  const stuckRecords = records
    .filter((r) => !TERMINAL.has(r.status))
    .map((r) => ({ id: r.id, status: r.status }));
  const unclaimed: Record<string, number> = {};
  for (const r of records) if (!known.has(r.id)) unclaimed[r.status] = (unclaimed[r.status] ?? 0) + 1;

  const settled = samples.filter((s) => s.settledMs !== undefined && TERMINAL.has(s.status));
  const settle = settled.map((s) => s.settledMs ?? 0);
  const queues = await queueDepths(sqs, cloud.model.queues);
  const dlq = await readDlqs(cloud, sqs, byId);
  return {
    uploads: options.uploads,
    concurrency: options.concurrency,
    visibilityScale: options.visibilityScale,
    seed: cloud.faults?.seed,
    accepted: samples.length,
    outcome: {
      ready: samples.filter((s) => s.status === 'ready').length,
      rejected: samples.filter((s) => s.status === 'rejected').length,
      failed: samples.filter((s) => s.status === 'failed').length,
      stuck: samples.filter((s) => s.status.startsWith('stuck')).length,
    },
    lost: samples.filter((s) => !byId.has(s.id)).length,
    unclaimedRecords: unclaimed,
    stuckRecords,
    orphanedObjects,
    readyWithMissingVariants,
    settleMs: {
      p50: round(median(settle)),
      p95: round(percentile(settle, 95)),
      max: round(settle.length ? Math.max(...settle) : Number.NaN),
    },
    faults: cloud.faults?.snapshot() ?? { enabled: false as const },
    deliveries: deliveries.summary(new Map(cloud.runtime.list().map((f) => [f.name, f.label]))),
    queues,
    dlq,
  };
}

/** What every reconciling client is built with. */
interface Common {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

interface RecordView {
  id: string;
  status: string;
  variants?: Array<{ key: string }>;
  failure?: { stage?: string; code?: string; detail?: string };
}

async function scanTable(cloud: LocalCloud, common: Common) {
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(common));
  const records: RecordView[] = [];
  for (const table of cloud.model.tables) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({ TableName: table.name, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      records.push(...((page.Items ?? []) as RecordView[]));
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return records;
}

async function listObjects(cloud: LocalCloud, common: Common) {
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const keys: string[] = [];
  for (const bucket of cloud.model.buckets) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket.name, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.NextContinuationToken;
    } while (token);
  }
  return keys.filter((k) => k.startsWith('originals/') || k.startsWith('variants/'));
}

/** Reads every DLQ and explains each message by the state of its image. */
async function readDlqs(
  cloud: LocalCloud,
  sqs: SQSClient,
  byId: Map<string, RecordView>,
): Promise<DlqEntry[]> {
  const entries: DlqEntry[] = [];
  for (const queue of cloud.model.queues.filter((q) => /dlq|dead/i.test(q.name))) {
    const stage = /ingest/i.test(queue.name) ? 'ingest' : /render/i.test(queue.name) ? 'render' : 'purge';
    for (const message of await drainForReading(sqs, queue.url)) {
      const imageId = imageIdOf(message.Body ?? '');
      const record = imageId ? byId.get(imageId) : undefined;
      const failure = record?.failure;
      const says = failure?.stage === stage && (record?.status === 'failed' || record?.status === 'deleting');
      const settledAnyway =
        record !== undefined && (record.status === 'ready' || record.status === 'rejected');
      const gone = imageId !== undefined && record === undefined && stage === 'purge';
      entries.push({
        queue: stage,
        imageId,
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
        imageStatus: record?.status ?? 'no record',
        reason: says
          ? `${failure?.code ?? 'failure'}: ${failure?.detail ?? ''}`
          : settledAnyway
            ? `image ${record?.status} anyway (a duplicate of this message succeeded)`
            : gone
              ? 'image purged anyway (a duplicate purge succeeded)'
              : 'unexplained',
        explained: says || settledAnyway || gone,
      });
    }
  }
  return entries;
}

/** The fault configuration with every non-zero rate replaced by `rate` (for the fault-rate sweep). */
export function atRate(config: FaultConfig, rate: number): FaultConfig {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const [key, value] of Object.entries(copy)) {
    if (!value || typeof value !== 'object') continue;
    const section = value as { rate?: number; operations?: Record<string, { rate: number }> };
    if (typeof section.rate === 'number' && section.rate > 0) section.rate = rate;
    for (const op of Object.values(section.operations ?? {})) if (op.rate > 0) op.rate = rate;
    copy[key] = section;
  }
  return copy as FaultConfig;
}
