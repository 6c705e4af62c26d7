import type { APIGatewayProxyEvent, Context, SQSEvent } from 'aws-lambda';
import { createCloudFrontClient } from '#shared/clients/cloudfront.ts';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { purgeImage, requestDelete } from '#shared/deletion.ts';
import { httpHandler } from '#shared/http/handler.ts';
import { header } from '#shared/http/request.ts';
import { json } from '#shared/http/response.ts';
import { createLogger } from '#shared/logger.ts';
import { sqsConsumer } from '#shared/queue/consumer.ts';
import { parsePurgeJob } from '#shared/queue/messages.ts';
import { ImageRepository } from '#shared/repository.ts';

const config = loadConfig(['purgeQueueUrl', 'deadLetterQueueUrl']);
const sqs = createSqsClient(config);
const logger = createLogger('delete');
const deps = {
  config,
  s3: createS3Client(config),
  sqs,
  cloudfront: createCloudFrontClient(config),
  images: new ImageRepository(createDynamoClient(config), config.tableName),
  logger,
};

const api = httpHandler(logger, config, async (event) => {
  const id = event.pathParameters?.id ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header(event, 'authorization') ?? '')?.[1];
  await requestDelete(deps, id, { deleteToken: bearer, apiKey: header(event, 'x-api-key') });
  return json(202, { id, status: 'deleting' });
});

const purge = sqsConsumer({
  logger,
  sqs,
  deadLetterQueueUrl: config.deadLetterQueueUrl,
  handleRecord: (record) => purgeImage(deps, parsePurgeJob(record.body).id),
});

/** `DELETE /v1/images/{id}` and the `purge` queue: one function, because both need the same permissions. */
export const handler = (event: APIGatewayProxyEvent | SQSEvent, context: Context) =>
  'Records' in event ? purge(event, context) : api(event, context);
