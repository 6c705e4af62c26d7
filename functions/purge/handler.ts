import middy from '@middy/core';
import { createCloudFrontClient } from '#shared/clients/cloudfront.ts';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { attemptOf, forImage, gaveUp } from '#shared/observability/image-log.ts';
import { observability } from '#shared/observability/middleware.ts';
import { type PurgeOutcome, purgeImage, recordPurgeFailed } from '#shared/purge.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parsePurgeJob } from '#shared/queue/messages.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['deadLetterQueueUrl', 'sourceQueueUrl']);
const sqs = createSqsClient(config);
const logger = createLogger('purge');
const deps = {
  config,
  s3: createS3Client(config),
  cloudfront: createCloudFrontClient(config),
  images: imageRepository(config),
  logger,
};

const purged = { steps: ['purge'] } as const;
/** A purge that found the image already gone: still its step line, marked so (no PurgeTime was counted). */
const duplicate = { steps: ['purge'], fields: { outcome: 'duplicate' } } as const;

/**
 * `purge` queue consumer (SQS event, partial batch responses): removes a deleted image's objects, its CDN
 * cache entries, then its record; the image's `purge` step.
 */
const consumer = sqsConsumer({
  logger,
  sqs,
  queue: 'purge',
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: async (record) => {
    const { id, uploadRequestId } = parsePurgeJob(record.body);
    const attempt = attemptOf(record);
    // The job names the upload request: a purge redelivered after the record's removal still has it.
    const work = {
      logger,
      imageId: id,
      uploadRequestId,
      attempt,
      outcome: (outcome: PurgeOutcome) => (outcome === 'duplicate' ? duplicate : purged),
      errorStep: 'purge' as const,
    };
    await forImage(work, () => purgeImage(deps, id));
  },
  onLastReceive: async (record) => {
    const { id } = parsePurgeJob(record.body);
    await gaveUp(logger, id, attemptOf(record), () => recordPurgeFailed(deps, id));
  },
});

export const handler = middy(consumer).use(observability());
