import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { createDynamoClient } from '#shared/clients/dynamodb.ts';
import { createS3Client } from '#shared/clients/s3.ts';
import { createSqsClient } from '#shared/clients/sqs.ts';
import { loadConfig } from '#shared/config.ts';
import { createLogger } from '#shared/logger.ts';
import { observability } from '#shared/observability/middleware.ts';
import { ImageRepository } from '#shared/repository.ts';
import { type SweepReport, sweep } from '#shared/sweeper.ts';

const config = loadConfig(['ingestQueueUrl', 'renderQueueUrl', 'purgeQueueUrl']);
const logger = createLogger('sweeper');
const db = createDynamoClient(config);
const deps = {
  config,
  db,
  images: new ImageRepository(db, config.tableName),
  s3: createS3Client(config),
  sqs: createSqsClient(config),
  logger,
};

/**
 * The sweeper, run by an EventBridge schedule (the event carries nothing it needs beyond its `time`, which
 * is logged): expires abandoned uploads and re-queues stalled work (see `shared/sweeper.ts`). Returns the
 * report, which is also logged as one structured line. Traced and measured like every function.
 */
const run = async (event: ScheduledEvent, context: Context): Promise<SweepReport> => {
  logger.info('sweep started', { scheduledAt: event?.time, rule: event?.resources?.[0] });
  return sweep({ ...deps, remainingMs: () => context.getRemainingTimeInMillis() });
};

export const handler = middy(run).use(observability());
