import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { attemptOf, clearImageKeys } from '../observability/image-log.ts';
import { dimensionCode, messageParked, type PipelineQueue } from '../observability/metrics.ts';
import { type BackoffSettings, backoffSeconds, isDependencyFailure } from './backoff.ts';

export interface ConsumerOptions {
  logger: Logger;
  /** The pipeline queue this consumer reads: the `queue` dimension of `MessagesParked`. */
  queue: PipelineQueue;
  sqs: SQSClient;
  /** The source queue's DLQ: messages that can never succeed are parked there at once. */
  deadLetterQueueUrl: string;
  /** The queue the event source mapping reads: failed records' visibility is changed there. */
  sourceQueueUrl: string;
  /** The source queue's redrive `maxReceiveCount`: the receive after which SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  retryBackoff: BackoffSettings;
  handleRecord: (record: SQSRecord) => Promise<void>;
  /**
   * Called when a record fails on its last receive (SQS moves it to the DLQ next), to record that on what
   * it was for (an image turns `failed`). Its own errors are logged, never thrown: the sweeper catches
   * what it could not mark.
   */
  onLastReceive?: (record: SQSRecord, error: unknown) => Promise<void>;
  /** Jitter source (tests pin it). */
  random?: () => number;
}

/**
 * Consecutive records failing on a dependency (throttling, 5xx, timeouts — after the SDK's own retries)
 * before the rest of the batch fails without being tried. Two, not one: a single record can meet a single
 * bad partition or key; two in a row, each after three attempts, is a dependency that is down.
 */
export const FAIL_FAST_AFTER = 2;

/** Raised for records not tried because the batch's dependency is down; they come back after a backoff. */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';
}

/** One invocation's bookkeeping: the circuit breaker and the visibility each failed record gets. */
interface BatchState {
  dependencyFailuresInARow: number;
  failFast: boolean;
  visibility: Map<string, { receiptHandle: string; seconds: number }>;
}

/**
 * An SQS consumer with partial batch responses (Powertools' BatchProcessor).
 *
 * - A {@link PermanentError} (a message that does not parse) is copied to the DLQ with the reason and
 *   acknowledged: it burns no retries and is still kept for a person to inspect and redrive.
 * - Any other error reports the record as a batch item failure, after changing its visibility timeout to
 *   {@link backoffSeconds} of its receive count: Lambda leaves a failed record in the queue until its
 *   visibility timeout ends (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html),
 *   so a record that keeps failing waits longer each time instead of coming back at the queue's fixed
 *   timeout. On its last receive ({@link ConsumerOptions.maxReceiveCount}) it gets
 *   {@link ConsumerOptions.onLastReceive} and visibility 0, so it reaches the DLQ (and its alarm) at once.
 * - Records are processed in sequence (`processInParallel: false`; BatchProcessor runs them in parallel by
 *   default, https://docs.powertools.aws.dev/lambda/typescript/latest/features/batch/), so that after
 *   {@link FAIL_FAST_AFTER} records in a row fail on a dependency, the rest of the batch fails at once,
 *   without calls, instead of spending the function's timeout on a dependency that is down. Sequence costs
 *   little here: ingest is CPU-bound on about one vCPU, render takes one record, purge waits on nobody.
 */
export function sqsConsumer(options: ConsumerOptions) {
  const { logger } = options;
  const processor = new BatchProcessor(EventType.SQS);

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context) => {
      const batch: BatchState = { dependencyFailuresInARow: 0, failFast: false, visibility: new Map() };
      const response = await processPartialResponse(
        event,
        (record: SQSRecord) => handleOne(options, batch, record),
        processor,
        { context, throwOnFullBatchFailure: false, processInParallel: false },
      );
      await changeVisibility(options, batch);
      if (batch.failFast) {
        logger.warn('a dependency is failing; the rest of the batch failed without being tried', {
          records: event.Records.length,
          failed: response.batchItemFailures.length,
        });
      }
      return response;
    });
}

async function handleOne(options: ConsumerOptions, batch: BatchState, record: SQSRecord): Promise<void> {
  // The previous record's image keys (left for the lines about its failure) must not name this one.
  clearImageKeys(options.logger);
  try {
    if (batch.failFast) throw new DependencyUnavailableError('not tried: a dependency failed for this batch');
    await options.handleRecord(record);
    batch.dependencyFailuresInARow = 0;
  } catch (error) {
    if (error instanceof PermanentError) return park(options, record, error);
    if (!(error instanceof DependencyUnavailableError)) {
      batch.dependencyFailuresInARow = isDependencyFailure(error) ? batch.dependencyFailuresInARow + 1 : 0;
      if (batch.dependencyFailuresInARow >= FAIL_FAST_AFTER) batch.failFast = true;
    }
    await backOff(options, batch, record, error);
    throw error;
  }
}

/** Decides the failed record's visibility; on its last receive, marks what it was for first. */
async function backOff(
  options: ConsumerOptions,
  batch: BatchState,
  record: SQSRecord,
  error: unknown,
): Promise<void> {
  const receiveCount = attemptOf(record);
  const last = options.maxReceiveCount > 0 && receiveCount >= options.maxReceiveCount;
  const seconds = last ? 0 : backoffSeconds(receiveCount, options.retryBackoff, options.random);
  options.logger.warn(last ? 'record failed on its last receive; it goes to the DLQ' : 'record failed', {
    messageId: record.messageId,
    receiveCount,
    visibilityTimeout: seconds,
    error: error as Error,
  });
  batch.visibility.set(record.messageId, { receiptHandle: record.receiptHandle, seconds });
  if (last) messageParked(options.queue, lastReceiveReason(error));
  if (last && options.onLastReceive) {
    await options.onLastReceive(record, error).catch((markError: unknown) =>
      options.logger.error('could not record the failure; the sweeper will', {
        messageId: record.messageId,
        error: markError as Error,
      }),
    );
  }
}

/**
 * One ChangeMessageVisibilityBatch call (up to ten entries, a Lambda batch's largest SQS size here) for
 * every failed record. If SQS itself fails, the queue's own visibility timeout applies: nothing is lost.
 */
async function changeVisibility(options: ConsumerOptions, batch: BatchState): Promise<void> {
  const entries = [...batch.visibility.entries()].map(([id, { receiptHandle, seconds }]) => ({
    Id: id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80),
    ReceiptHandle: receiptHandle,
    VisibilityTimeout: seconds,
  }));
  for (let start = 0; start < entries.length; start += 10) {
    try {
      const result = await options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: options.sourceQueueUrl,
          Entries: entries.slice(start, start + 10),
        }),
      );
      if (result.Failed?.length) {
        options.logger.warn('some visibility changes failed', { failed: result.Failed });
      }
    } catch (error) {
      options.logger.warn('could not change visibility; the queue default applies', {
        error: error as Error,
      });
    }
  }
}

/** Why a message went to the DLQ on its last receive: the error's stable code, else `RETRIES_EXHAUSTED`. */
function lastReceiveReason(error: unknown): string {
  const code = dimensionCode((error as { code?: unknown } | undefined)?.code);
  return code === 'OTHER' ? 'RETRIES_EXHAUSTED' : code;
}

async function park(options: ConsumerOptions, record: SQSRecord, error: PermanentError): Promise<void> {
  options.logger.error('record can never succeed; parking it in the DLQ', {
    messageId: record.messageId,
    code: error.code,
    error,
  });
  await options.sqs.send(
    new SendMessageCommand({
      QueueUrl: options.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        'pictura-error-code': { DataType: 'String', StringValue: error.code },
        'pictura-error-detail': { DataType: 'String', StringValue: error.message.slice(0, 1024) },
        'pictura-source-message-id': { DataType: 'String', StringValue: record.messageId },
      },
    }),
  );
  messageParked(options.queue, error.code);
}
