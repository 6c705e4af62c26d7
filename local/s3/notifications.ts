import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3SpyEvent } from 'fauxqs';
import type { LocalBucket, LocalQueue } from '../template/stack-model.ts';
import { objectCreatedEvent } from './events.ts';
import type { S3WriteApi } from './writes.ts';

/** Whether a notification configuration's event list covers `eventName` (`s3:ObjectCreated:*` style). */
export function eventMatches(patterns: readonly string[], eventName: string): boolean {
  return patterns.some((pattern) =>
    pattern.endsWith('*')
      ? `s3:${eventName}`.startsWith(pattern.slice(0, -1))
      : pattern === `s3:${eventName}`,
  );
}

export interface S3NotifierOptions {
  buckets: LocalBucket[];
  queues: LocalQueue[];
  s3: S3Client;
  sqs: SQSClient;
  region: string;
  onError: (error: Error) => void;
  /** Fault injection (local/faults): sends a notification twice, late, or after the next one. */
  faults?: { deliverNotification(send: () => Promise<void>): Promise<void> };
}

/**
 * Delivers S3 event notifications to SQS per each bucket's notification configuration (event names,
 * prefix and suffix filters), with the event JSON S3 sends. Fed by the endpoint's S3 event tap.
 */
export function createS3Notifier(options: S3NotifierOptions): (event: S3SpyEvent, api: S3WriteApi) => void {
  const queueUrlByArn = new Map(options.queues.map((q) => [q.arn, q.url]));
  return (event, api) => {
    if (event.status !== 'uploaded') return;
    const bucket = options.buckets.find((b) => b.name === event.bucket);
    if (!bucket) return;
    const targets = bucket.notifications.filter(
      (n) =>
        eventMatches(n.events, `ObjectCreated:${api}`) &&
        event.key.startsWith(n.prefix) &&
        event.key.endsWith(n.suffix),
    );
    if (targets.length === 0) return;
    // S3 delivers its notifications at least once: a failed attempt here (the emulator busy, a socket
    // reset) is tried again rather than losing the event, which would leave the image waiting for good.
    void withRetries(async () => {
      const head = await options.s3.send(new HeadObjectCommand({ Bucket: event.bucket, Key: event.key }));
      const body = objectCreatedEvent({
        bucket: event.bucket,
        key: event.key,
        size: head.ContentLength ?? 0,
        eTag: head.ETag ?? '',
        region: options.region,
        api,
      });
      for (const target of targets) {
        const queueUrl = queueUrlByArn.get(target.queueArn);
        if (!queueUrl)
          throw new Error(`notification targets ${target.queueArn}, which is not a queue of the stack`);
        const send = async () => {
          await options.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        };
        await (options.faults ? options.faults.deliverNotification(send) : send());
      }
    }).catch((error: Error) => {
      // The object may be gone already (deleted right after it was written): S3 would still notify, but
      // without a size; a missing object is not worth an event nobody can act on.
      if ((error as { name?: string }).name !== 'NotFound') options.onError(error);
    });
  };
}

/** Runs `work` up to five times, 100 ms apart and doubling, unless it fails because the object is gone. */
async function withRetries(work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { name?: string }).name === 'NotFound' || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
    }
  }
}
