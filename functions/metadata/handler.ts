import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { ingestOriginal, markIngestFailed } from '#shared/ingest.ts';
import { createLogger } from '#shared/logger.ts';
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

/** `ingest` queue consumer: S3 `ObjectCreated` events for originals. */
export const handler = sqsConsumer({
  logger,
  sqs,
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: async (record) => {
    for (const object of parseS3Notification(record.body)) await ingestOriginal(deps, object);
  },
  onLastReceive: (record) => markIngestFailed(deps, parseS3Notification(record.body)),
});
