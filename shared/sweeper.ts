import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Config, SweeperSettings } from './config.ts';
import { originalKey } from './keys.ts';
import type { Logger } from './logger.ts';
import type { ImageRecord, ImageStatus, PipelineStage } from './model.ts';
import { purgeJob, renderJob } from './queue/messages.ts';
import type { ImageRepository, StatusKey } from './repository.ts';
import { deleteObject } from './storage.ts';

/** What a sweep needs. `db` is the table's document client, for the sweeper's own conditional writes. */
export interface SweeperDeps {
  config: Pick<Config, 'bucketName' | 'tableName' | 'presignedPostExpiresSeconds'> & {
    sweeper: SweeperSettings;
    ingestQueueUrl: string;
    renderQueueUrl: string;
    purgeQueueUrl: string;
  };
  db: DynamoDBDocumentClient;
  images: ImageRepository;
  s3: S3Client;
  sqs: SQSClient;
  logger: Logger;
  now?: () => Date;
  /** Milliseconds left in the invocation (Lambda's `getRemainingTimeInMillis`); unbounded when absent. */
  remainingMs?: () => number;
}

/** The queue a stalled record's work is re-sent to. */
export type RequeueTarget = PipelineStage;

/** What one sweep did: the structured log line and the function's return value. */
export interface SweepReport {
  /** The `updatedAt` below which each swept state counted as expired or stalled. */
  cutoffs: Record<'pending_upload' | 'processing' | 'deleting', string>;
  /** Keys read from the status index. */
  examined: number;
  /** `pending_upload` records removed, with `originals/<id>` (late bytes, if any). */
  expired: string[];
  /** Records whose work was sent again, by queue. */
  requeued: Record<RequeueTarget, string[]>;
  /** Records that changed between the index read and the conditional write: left alone. */
  movedOn: number;
  errors: { id: string; error: string }[];
  /** True when the run stopped at its bound (records or time) with more to do: the next run goes on. */
  truncated: boolean;
  durationMs: number;
}

/** The states the sweeper acts on; `ready`, `rejected` and `failed` are never read, let alone touched. */
const SWEPT: readonly ImageStatus[] = ['pending_upload', 'uploaded', 'processing', 'deleting'];
const PAGE_SIZE = 100;
const PARALLEL = 10;
/** Stop taking new pages when the invocation has less than this left (the page in hand must finish). */
const TIME_MARGIN_MS = 10_000;

/**
 * One sweep of the table, from the `byStatus` index (never a scan):
 *
 * - `pending_upload` past its upload deadline (its form's expiry plus `pendingUploadGraceSeconds`): the record
 *   is deleted, on condition it is still `pending_upload` with the `updatedAt` the index showed, and then
 *   `originals/<id>`, in case bytes came late (DynamoDB TTL, which is not emulated locally, removes no object
 *   on AWS either). Record first: bytes that land after it are removed by ingest as an orphan's.
 * - `uploaded` and `processing` untouched for `processingStalledSeconds`: an ingest re-check (an S3-shaped
 *   `ObjectCreated` for the original) when no metadata was recorded yet, else a render job.
 * - `deleting` untouched for `deletingStalledSeconds`: a purge job.
 *
 * A stalled record is claimed before its message is sent, by a conditional write of `updatedAt` (same status,
 * same `updatedAt` as the index showed): a record that moved on is not touched, two overlapping runs (an
 * EventBridge retry) do not both send, and the record is not due again before another full deadline. The
 * consumers are idempotent, so a re-sent job whose original is still in flight costs only a duplicate.
 *
 * At most `maxRecordsPerRun` records per run, and no new page with less than 10 s left; `truncated` says the
 * next run has more to do. A failure on one record is reported and the sweep goes on.
 */
export async function sweep(deps: SweeperDeps): Promise<SweepReport> {
  const started = Date.now();
  const now = (deps.now ?? (() => new Date()))();
  const settings = deps.config.sweeper;
  const before = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
  const cutoffs = {
    pending_upload: before(deps.config.presignedPostExpiresSeconds + settings.pendingUploadGraceSeconds),
    processing: before(settings.processingStalledSeconds),
    deleting: before(settings.deletingStalledSeconds),
  };
  const report: SweepReport = {
    cutoffs,
    examined: 0,
    expired: [],
    requeued: { ingest: [], render: [], purge: [] },
    movedOn: 0,
    errors: [],
    truncated: false,
    durationMs: 0,
  };
  for (const status of SWEPT) {
    const cutoff = status === 'uploaded' ? cutoffs.processing : cutoffs[status as keyof typeof cutoffs];
    const done = await sweepStatus(deps, status, cutoff, now.toISOString(), report);
    if (!done) {
      report.truncated = true;
      break;
    }
  }
  report.durationMs = Date.now() - started;
  deps.logger.info('sweep finished', { ...report, counts: countsOf(report) });
  return report;
}

/** The report in numbers, for dashboards and log queries. */
export function countsOf(report: SweepReport): Record<string, number> {
  return {
    examined: report.examined,
    expired: report.expired.length,
    requeuedIngest: report.requeued.ingest.length,
    requeuedRender: report.requeued.render.length,
    requeuedPurge: report.requeued.purge.length,
    movedOn: report.movedOn,
    errors: report.errors.length,
  };
}

/** Sweeps one state, page by page; false when the run's bound stopped it with pages left. */
async function sweepStatus(
  deps: SweeperDeps,
  status: ImageStatus,
  cutoff: string,
  nowIso: string,
  report: SweepReport,
): Promise<boolean> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const budget = deps.config.sweeper.maxRecordsPerRun - report.examined;
    if (budget <= 0 || (deps.remainingMs && deps.remainingMs() < TIME_MARGIN_MS)) return false;
    const page = await deps.images.listByStatus(status, cutoff, {
      limit: Math.min(PAGE_SIZE, budget),
      startKey,
    });
    report.examined += page.keys.length;
    for (let i = 0; i < page.keys.length; i += PARALLEL) {
      await Promise.all(page.keys.slice(i, i + PARALLEL).map((key) => sweepOne(deps, key, nowIso, report)));
    }
    startKey = page.nextKey;
  } while (startKey);
  return true;
}

async function sweepOne(deps: SweeperDeps, key: StatusKey, nowIso: string, report: SweepReport) {
  try {
    if (key.status === 'pending_upload') {
      const expired = await expirePendingUpload(deps, key);
      if (!expired) {
        report.movedOn += 1;
        return;
      }
      report.expired.push(key.id);
      logSwept(deps.logger, expired, 'expired');
      return;
    }
    const record = await claim(deps, key, nowIso);
    if (!record) {
      report.movedOn += 1;
      return;
    }
    const target = requeueTarget(record);
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrlOf(deps, target),
        MessageBody: messageFor(deps, record, target, nowIso),
      }),
    );
    report.requeued[target].push(key.id);
    logSwept(deps.logger, record, 'requeued', target);
  } catch (error) {
    // Reported, not thrown: one bad record must not stop the sweep. A claimed record whose send failed is due
    // again after another deadline.
    deps.logger.error('sweep failed for a record', {
      imageId: key.id,
      id: key.id,
      status: key.status,
      error: error as Error,
    });
    report.errors.push({ id: key.id, error: (error as Error).message });
  }
}

/**
 * One line per image the sweep acted on, named as every line about an image is (`imageId`, and the
 * `uploadRequestId` of the request that created it, from the record: the `byStatus` index is KEYS_ONLY,
 * so the sweeper has it only from the record its conditional write returned). Its fields, not the
 * logger's keys: records are swept ten at a time.
 */
function logSwept(
  logger: Logger,
  record: Swept,
  action: 'expired' | 'requeued',
  queue?: RequeueTarget,
): void {
  logger.info('image swept', {
    imageId: record.id,
    ...(record.uploadRequestId ? { uploadRequestId: record.uploadRequestId } : {}),
    status: record.status,
    action,
    ...(queue ? { queue } : {}),
  });
}

/**
 * Deletes an expired `pending_upload` record unless it moved on, then its original; the deleted record
 * (`ReturnValues: ALL_OLD`), or undefined when it moved on.
 */
type Swept = Pick<ImageRecord, 'id' | 'status' | 'uploadRequestId'>;

async function expirePendingUpload(deps: SweeperDeps, key: StatusKey): Promise<Swept | undefined> {
  let deleted: Swept;
  try {
    const { Attributes } = await deps.db.send(
      new DeleteCommand({
        TableName: deps.config.tableName,
        Key: { id: key.id },
        ConditionExpression: '#status = :status AND #updatedAt = :seen',
        ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':status': key.status, ':seen': key.updatedAt },
        ReturnValues: 'ALL_OLD',
      }),
    );
    deleted = (Attributes as ImageRecord | undefined) ?? key;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
  // DeleteObject succeeds whether or not the key exists (S3 answers 204), so this is idempotent.
  await deleteObject(deps.s3, deps.config.bucketName, originalKey(key.id));
  return deleted;
}

/** Marks a stalled record as seen now, if it is still as the index showed it; the record, or undefined. */
async function claim(deps: SweeperDeps, key: StatusKey, nowIso: string): Promise<ImageRecord | undefined> {
  try {
    const { Attributes } = await deps.db.send(
      new UpdateCommand({
        TableName: deps.config.tableName,
        Key: { id: key.id },
        UpdateExpression: 'SET #updatedAt = :now',
        ConditionExpression: '#status = :status AND #updatedAt = :seen',
        ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':status': key.status, ':seen': key.updatedAt, ':now': nowIso },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes as ImageRecord;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** Where a stalled record's work resumes: purge if deleting, render once measured, else ingest. */
export function requeueTarget(record: Pick<ImageRecord, 'status' | 'original'>): RequeueTarget {
  if (record.status === 'deleting') return 'purge';
  return record.original ? 'render' : 'ingest';
}

function queueUrlOf(deps: SweeperDeps, target: RequeueTarget): string {
  const { ingestQueueUrl, renderQueueUrl, purgeQueueUrl } = deps.config;
  return { ingest: ingestQueueUrl, render: renderQueueUrl, purge: purgeQueueUrl }[target];
}

function messageFor(deps: SweeperDeps, record: ImageRecord, target: RequeueTarget, nowIso: string): string {
  // The jobs carry the creating request's id, as the ones the API and ingest send do.
  if (target === 'purge') return JSON.stringify(purgeJob(record.id, record.uploadRequestId));
  if (target === 'render') return JSON.stringify(renderJob(record.id, record.uploadRequestId));
  return ingestRecheck(deps.config.bucketName, record.id, nowIso);
}

/**
 * An ingest re-check: the `ObjectCreated` notification S3 would have sent for the image's original (the
 * fields `parseS3Notification` reads, in S3's event structure), with `eventSource` saying who sent it. Ingest
 * treats it as any redelivered event: it reads the object and the record and goes on from where they are.
 * See https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function ingestRecheck(bucket: string, id: string, at: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'pictura:sweeper',
        eventTime: at,
        eventName: 'ObjectCreated:Put',
        s3: { s3SchemaVersion: '1.0', bucket: { name: bucket }, object: { key: originalKey(id) } },
      },
    ],
  });
}
