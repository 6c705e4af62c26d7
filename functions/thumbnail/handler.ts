import middy from '@middy/core';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { markStageFailed } from '#shared/give-up.ts';
import { createLogger } from '#shared/logger.ts';
import { attemptOf, forImage, gaveUp } from '#shared/observability/image-log.ts';
import { observability } from '#shared/observability/middleware.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parseRenderJob } from '#shared/queue/messages.ts';
import { renderImage, renderSteps } from '#shared/rendering.ts';
import { imageRepository } from '#shared/repository.ts';

const config = loadConfig(['deadLetterQueueUrl', 'sourceQueueUrl']);
const sqs = createSqsClient(config);
const logger = createLogger('thumbnail');
const deps = {
  config,
  s3: createS3Client(config),
  images: imageRepository(config),
  logger,
};

/**
 * `render` queue consumer (SQS event, partial batch responses): renders every variant of one image from
 * one decode; the image's `render` step, then `ready`.
 */
const consumer = sqsConsumer({
  logger,
  sqs,
  queue: 'render',
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: async (record) => {
    const job = parseRenderJob(record.body);
    const attempt = attemptOf(record);
    const { id: imageId, uploadRequestId } = job;
    await forImage(
      { logger, imageId, uploadRequestId, attempt, outcome: renderSteps, errorStep: 'render' },
      () => renderImage(deps, job),
    );
  },
  onLastReceive: async (record) => {
    const job = parseRenderJob(record.body);
    await gaveUp(logger, job.id, attemptOf(record), () => markStageFailed(deps, job.id, 'render'));
  },
});

export const handler = middy(consumer).use(observability());
