import { createAwsClients } from '#shared/aws.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parseRenderJob } from '#shared/queue/messages.ts';
import { renderImage } from '#shared/rendering.ts';
import { ImageRepository } from '#shared/repository.ts';

const config = loadConfig(['deadLetterQueueUrl']);
const { s3, sqs, dynamo } = createAwsClients(config);
const logger = createLogger('thumbnail');
const deps = { config, s3, images: new ImageRepository(dynamo, config.tableName), logger };

/** `render` queue consumer: renders every variant of one image from one decode. */
export const handler = sqsConsumer({
  logger,
  sqs,
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  handleRecord: async (record) => {
    await renderImage(deps, parseRenderJob(record.body));
  },
});
