import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PermanentError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export interface ConsumerOptions {
  logger: Logger;
  sqs: SQSClient;
  /** The source queue's DLQ: messages that can never succeed are parked there at once. */
  deadLetterQueueUrl: string;
  handleRecord: (record: SQSRecord) => Promise<void>;
}

/**
 * An SQS consumer with partial batch responses. A record that throws a transient error is reported as a
 * batch item failure and comes back after its visibility timeout; one that throws a {@link PermanentError}
 * (a message that does not parse) is copied to the DLQ with the reason and acknowledged, so it burns no
 * retries, blocks nothing, and is still kept for a person to inspect and redrive.
 */
export function sqsConsumer(options: ConsumerOptions) {
  const { logger, sqs, deadLetterQueueUrl, handleRecord } = options;
  const processor = new BatchProcessor(EventType.SQS);

  const recordHandler = async (record: SQSRecord): Promise<void> => {
    try {
      await handleRecord(record);
    } catch (error) {
      if (!(error instanceof PermanentError)) {
        logger.warn('record failed; it will be retried', {
          messageId: record.messageId,
          error: error as Error,
        });
        throw error;
      }
      logger.error('record can never succeed; parking it in the DLQ', {
        messageId: record.messageId,
        code: error.code,
        error,
      });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: record.body,
          MessageAttributes: {
            'pictura-error-code': { DataType: 'String', StringValue: error.code },
            'pictura-error-detail': { DataType: 'String', StringValue: error.message.slice(0, 1024) },
            'pictura-source-message-id': { DataType: 'String', StringValue: record.messageId },
          },
        }),
      );
    }
  };

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) =>
      processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false }),
    );
}
