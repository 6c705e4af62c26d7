import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parseRenderJob } from '#shared/queue/messages.ts';
import { markRenderFailed, renderImage } from '#shared/rendering.ts';
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

/** `render` queue consumer: renders every variant of one image from one decode. */
export const handler = sqsConsumer({
  logger,
  sqs,
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: async (record) => {
    await renderImage(deps, parseRenderJob(record.body));
  },
  onLastReceive: (record) => markRenderFailed(deps, parseRenderJob(record.body)),
});
