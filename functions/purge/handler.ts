import { createCloudFrontClient } from '#shared/clients/cloudfront.ts';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { purgeImage, recordPurgeFailed } from '#shared/purge.ts';
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

/** `purge` queue consumer: removes a deleted image's objects, its CDN cache entries, then its record. */
export const handler = sqsConsumer({
  logger,
  sqs,
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  sourceQueueUrl: config.sourceQueueUrl,
  maxReceiveCount: config.maxReceiveCount,
  retryBackoff: config.retryBackoff,
  handleRecord: (record) => purgeImage(deps, parsePurgeJob(record.body).id),
  onLastReceive: (record) => recordPurgeFailed(deps, parsePurgeJob(record.body).id),
});
