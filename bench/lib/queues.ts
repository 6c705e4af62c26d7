/** Reading the local cloud's queues from a benchmark: depths, and the messages parked in a DLQ. */
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** Visible plus in-flight messages of a queue (`ApproximateNumberOfMessages` + `…NotVisible`). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

/** The depth of every queue, by queue name. */
export async function queueDepths(
  sqs: SQSClient,
  queues: ReadonlyArray<{ name: string; url: string }>,
): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  for (const queue of queues) depths[queue.name] = await queueDepth(sqs, queue.url);
  return depths;
}

/**
 * Every message in a queue, received (with their system attributes) and left hidden for `hideSeconds`, so
 * that each is read once: for reading a DLQ at the end of a run, not for consuming it.
 */
export async function drainForReading(
  sqs: SQSClient,
  queueUrl: string,
  hideSeconds = 300,
): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: hideSeconds,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages);
  }
}
