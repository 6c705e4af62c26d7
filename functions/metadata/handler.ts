import middy from '@middy/core';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { markStageFailed } from '#shared/give-up.ts';
import { ingestOriginal, ingestSteps } from '#shared/ingest.ts';
import { imageIdFromOriginalKey } from '#shared/keys.ts';
import { createLogger } from '#shared/logger.ts';
import { attemptOf, forImage, gaveUp } from '#shared/observability/image-log.ts';
import { observability } from '#shared/observability/middleware.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parseS3Notification } from '#shared/queue/messages.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['renderQueueUrl', 'deadLetterQueueUrl', 'sourceQueueUrl']);
const sqs = createSqsClient(config);
const logger = createLogger('metadata');
const deps = {
  config,
  s3: createS3Client(config),
  sqs,
  images: imageRepository(config),
  logger,
};

/**
 * `ingest` queue consumer: S3 `ObjectCreated` events for originals
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html), wrapped in
 * SQS records; answers with partial batch failures. Each original is one image's `ingest` step; a key that
 * names no image of this service is left to `ingestOriginal`, which ignores it.
 */
const consumer = sqsConsumer({
  logger,
  sqs,
  queue: 'ingest',
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: async (record) => {
    for (const object of parseS3Notification(record.body)) {
      const imageId = imageIdFromOriginalKey(object.key);
      const ingest = () => ingestOriginal(deps, object);
      const attempt = attemptOf(record);
      if (!imageId) await ingest();
      else await forImage({ logger, imageId, attempt, outcome: ingestSteps, errorStep: 'ingest' }, ingest);
    }
  },
  onLastReceive: async (record) => {
    for (const object of parseS3Notification(record.body)) {
      const imageId = imageIdFromOriginalKey(object.key);
      if (imageId)
        await gaveUp(logger, imageId, attemptOf(record), () => markStageFailed(deps, imageId, 'ingest'));
    }
  },
});

export const handler = middy(consumer).use(observability());
