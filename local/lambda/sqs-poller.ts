import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import type { LocalEventSourceMapping } from '../template/stack-model.ts';
import { sqsRecord } from './events.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';

export interface PollerOptions {
  mapping: LocalEventSourceMapping;
  queueUrl: string;
  region: string;
  sqs: SQSClient;
  runtime: FunctionRuntime;
  /** Batches in flight at once (Lambda scales pollers up; a laptop caps it). */
  concurrency: number;
  log: (line: string) => void;
  /** Fault injection (local/faults): messages also handed to a second, concurrent invocation. */
  faults?: { duplicateDeliveries<T>(messages: readonly T[]): T[] };
}

/** Which messages of a batch to delete, from the function's response (Lambda's partial batch rules). */
export function acknowledged(
  messages: readonly Message[],
  outcome: { failed: boolean; payload: unknown },
  reportBatchItemFailures: boolean,
): Message[] {
  if (outcome.failed) return [];
  if (!reportBatchItemFailures) return [...messages];
  const failures = (outcome.payload as Partial<SQSBatchResponse> | null)?.batchItemFailures;
  if (failures === undefined || failures === null) return [...messages];
  if (!Array.isArray(failures)) return [];
  const ids = new Set(messages.map((m) => m.MessageId));
  // A response naming an id that is not in the batch (or none at all) fails the whole batch, as on AWS.
  if (failures.some((f) => !f || typeof f.itemIdentifier !== 'string' || !ids.has(f.itemIdentifier)))
    return [];
  const failed = new Set<string | undefined>(failures.map((f) => f.itemIdentifier));
  return messages.filter((m) => !failed.has(m.MessageId));
}

/**
 * An SQS event source mapping: long-polls the queue, gathers a batch (batch size, batching window), invokes
 * the function and deletes what it acknowledged. What it does not delete returns after the queue's
 * visibility timeout, and the queue's redrive policy moves it to the DLQ after `maxReceiveCount` tries.
 */
export class SqsPoller {
  readonly #options: PollerOptions;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(options: PollerOptions) {
    this.#options = options;
  }

  start(): void {
    for (let i = 0; i < this.#options.concurrency; i += 1) this.#loops.push(this.#loop());
  }

  /** Stops receiving; batches already handed to the function finish first. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        const batch = await this.#gather(signal);
        if (batch.length > 0) await this.#handle(batch);
      } catch (error) {
        if (signal.aborted) return;
        this.#options.log(`poller ${this.#options.mapping.functionName}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async #receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<Message[]> {
    const { Messages = [] } = await this.#options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: signal },
    );
    return Messages;
  }

  async #gather(signal: AbortSignal): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.#options.mapping;
    const batch = await this.#receive(batchSize, 20, signal);
    if (batch.length === 0 || maxBatchingWindowSeconds === 0) return batch;
    // With a batching window, keep gathering until the batch is full or the window closes.
    const closes = Date.now() + maxBatchingWindowSeconds * 1000;
    while (batch.length < batchSize && Date.now() < closes && !signal.aborted) {
      const wait = Math.max(0, Math.min(20, Math.floor((closes - Date.now()) / 1000)));
      let more: Message[];
      try {
        more = await this.#receive(batchSize - batch.length, wait, signal);
      } catch (error) {
        // Stopping mid-window: what was already received is handed over, not left invisible until its
        // visibility timeout runs out.
        if (signal.aborted) break;
        throw error;
      }
      batch.push(...more);
      if (wait === 0 && more.length === 0) break;
    }
    return batch;
  }

  /**
   * An injected duplicate delivery (a standard queue delivers at least once, now and then to two consumers
   * at the same time): the chosen messages also go to a second invocation at once. Its outcome deletes
   * nothing; the first delivery's does, as before.
   */
  #deliverAgain(messages: Message[]): void {
    const again = this.#options.faults?.duplicateDeliveries(messages) ?? [];
    if (again.length === 0) return;
    const { mapping, region, runtime } = this.#options;
    const event = { Records: again.map((m) => sqsRecord(m, mapping.queueArn, region)) };
    runtime.invoke(mapping.functionName, event).catch((error: Error) => {
      this.#options.log(`poller ${mapping.functionName}: duplicate delivery failed: ${error.message}`);
    });
  }

  async #handle(messages: Message[]): Promise<void> {
    const { mapping, queueUrl, region, runtime, sqs } = this.#options;
    const event = { Records: messages.map((m) => sqsRecord(m, mapping.queueArn, region)) };
    this.#deliverAgain(messages);
    let outcome: { failed: boolean; payload: unknown };
    try {
      const invocation = await runtime.invoke(mapping.functionName, event);
      outcome = { failed: invocation.functionError !== undefined, payload: invocation.payload };
    } catch (error) {
      this.#options.log(`poller ${mapping.functionName}: invoke failed: ${(error as Error).message}`);
      outcome = { failed: true, payload: null };
    }
    const done = acknowledged(messages, outcome, mapping.reportBatchItemFailures);
    for (let start = 0; start < done.length; start += 10) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done
            .slice(start, start + 10)
            .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
  }
}
