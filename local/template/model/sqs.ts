import type { ModelContext, Properties } from './context.ts';

export interface LocalQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
  /** CreateQueue attributes, resolved (RedrivePolicy as JSON). */
  attributes: Record<string, string>;
}

/** Properties of `AWS::SQS::Queue` that are CreateQueue attributes of the same name, passed as strings. */
const QUEUE_ATTRIBUTES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'MaximumMessageSize',
  'ReceiveMessageWaitTimeSeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
] as const;

/**
 * The CreateQueue attributes of one `AWS::SQS::Queue`'s resolved properties: the scalar ones as strings, and
 * `RedrivePolicy` (an object in the template) as the JSON string SQS takes.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
 */
export function queueAttributes(p: Properties): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const key of QUEUE_ATTRIBUTES) {
    if (p[key] !== undefined) attributes[key] = String(p[key]);
  }
  if (p.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
  return attributes;
}

/**
 * The stack's queues (`AWS::SQS::Queue`), named and addressed as `names.ts` made them.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queue.html
 */
export function buildQueues(context: ModelContext): LocalQueue[] {
  return context.ofType('AWS::SQS::Queue').map(([logicalId, resource]) => {
    const attributes = queueAttributes(context.properties(resource));
    return {
      logicalId,
      name: context.attributeOf(logicalId, 'QueueName'),
      url: context.refOf(logicalId),
      arn: context.attributeOf(logicalId, 'Arn'),
      attributes,
    };
  });
}
