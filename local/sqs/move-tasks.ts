import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { readBody, sendJson } from '../http-util.ts';

interface MoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

/** An SQS error in the JSON protocol, with the query-compatible code clients read from `x-amzn-query-error`. */
class SqsApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * AWS names InvalidParameterValue `InvalidParameterValueException` in the JSON body and `InvalidParameterValue`
 * in the query-compatible header (QueryErrorCode in LocalStack's AWS-recorded test_sqs_move_task.snapshot.json).
 */
function sendError(res: ServerResponse, error: SqsApiError): void {
  const type = error.code === 'InvalidParameterValue' ? 'InvalidParameterValueException' : error.code;
  sendJson(
    res,
    error.status,
    { __type: `com.amazonaws.sqs#${type}`, message: error.message },
    { 'x-amzn-query-error': `${error.code};Sender` },
  );
}

/**
 * The URL of the queue an ARN names, looked up through the SQS API (so queues created at run time count),
 * or a `ResourceNotFoundException` naming `parameter`, as AWS answers a move task for a missing queue
 * (LocalStack's AWS-recorded tests/aws/services/sqs/test_sqs_move_task.snapshot.json, test_destination_needs_to_exist).
 */
async function queueUrlOf(sqs: SQSClient, arn: string, parameter: string): Promise<string> {
  const [, , service, , account, name] = arn.split(':');
  if (service === 'sqs' && name) {
    try {
      const { QueueUrl } = await sqs.send(
        new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
      );
      if (QueueUrl) return QueueUrl;
    } catch (error) {
      if ((error as { name?: string }).name !== 'QueueDoesNotExist') throw error;
    }
  }
  throw new SqsApiError(
    404,
    'ResourceNotFoundException',
    `The resource that you specified for the ${parameter} parameter doesn't exist.`,
  );
}

/** Moves up to `task.ApproximateNumberOfMessagesToMove` messages, keeping bodies and message attributes. */
async function move(sqs: SQSClient, task: MoveTask, fromUrl: string, toUrl: string): Promise<void> {
  while (
    task.Status === 'RUNNING' &&
    task.ApproximateNumberOfMessagesMoved < task.ApproximateNumberOfMessagesToMove
  ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: fromUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages as Message[]) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: toUrl,
          MessageBody: message.Body ?? '',
          MessageAttributes: message.MessageAttributes,
        }),
      );
      await sqs.send(new DeleteMessageCommand({ QueueUrl: fromUrl, ReceiptHandle: message.ReceiptHandle }));
      task.ApproximateNumberOfMessagesMoved += 1;
    }
  }
  if (task.Status === 'RUNNING') task.Status = 'COMPLETED';
}

/**
 * SQS DLQ redrive (`StartMessageMoveTask`, `ListMessageMoveTasks`, `CancelMessageMoveTask`, JSON protocol),
 * which fauxqs lacks. Messages move from a dead-letter queue to `DestinationArn`, or back to the queue whose
 * redrive policy targets it (`ListDeadLetterSourceQueues`); the task reports the DLQ's
 * `ApproximateNumberOfMessages` when it started as `ApproximateNumberOfMessagesToMove`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
 * Queues are found through the SQS API, so DLQs created at run time work as the template's do.
 * Limitation: AWS sends each message back to its own source queue; with several source queues and no
 * `DestinationArn` the local cloud cannot tell them apart and refuses the task.
 */
export function redriveRoute(sqs: SQSClient): EdgeRoute {
  const tasks: MoveTask[] = [];

  const start = async (input: Record<string, unknown>): Promise<unknown> => {
    const sourceArn = String(input.SourceArn ?? '');
    const fromUrl = await queueUrlOf(sqs, sourceArn, 'SourceArn');
    const { queueUrls = [] } = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: fromUrl }));
    if (queueUrls.length === 0) {
      // test_source_needs_redrive_policy in the same snapshot file.
      throw new SqsApiError(
        400,
        'InvalidParameterValue',
        'Source queue must be configured as a Dead Letter Queue.',
      );
    }
    const destinationArn = input.DestinationArn === undefined ? undefined : String(input.DestinationArn);
    let toUrl: string;
    if (destinationArn !== undefined) toUrl = await queueUrlOf(sqs, destinationArn, 'DestinationArn');
    else if (queueUrls.length === 1) toUrl = queueUrls[0] as string;
    else {
      throw new SqsApiError(
        400,
        'InvalidParameterValue',
        'local cloud: this dead-letter queue has several source queues; give a DestinationArn',
      );
    }
    if (tasks.some((t) => t.SourceArn === sourceArn && t.Status === 'RUNNING')) {
      // test_start_multiple_move_tasks in the same snapshot file.
      throw new SqsApiError(
        400,
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    }
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: fromUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const task: MoveTask = {
      // The handle encodes the task id and the source ARN, as AWS's does (base64 JSON in LocalStack's tests).
      TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
      Status: 'RUNNING',
      SourceArn: sourceArn,
      ...(destinationArn !== undefined ? { DestinationArn: destinationArn } : {}),
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      StartedTimestamp: Date.now(),
    };
    tasks.push(task);
    move(sqs, task, fromUrl, toUrl).catch((error: Error) => {
      task.Status = 'FAILED';
      task.FailureReason = error.message;
    });
    return { TaskHandle: task.TaskHandle };
  };

  const handle = async (action: string, input: Record<string, unknown>): Promise<unknown> => {
    if (action === 'StartMessageMoveTask') return start(input);
    if (action === 'ListMessageMoveTasks') {
      const sourceArn = String(input.SourceArn ?? '');
      await queueUrlOf(sqs, sourceArn, 'SourceArn');
      const max = Number(input.MaxResults ?? 1);
      return {
        Results: tasks
          .filter((t) => t.SourceArn === sourceArn)
          .reverse()
          .slice(0, max),
      };
    }
    const task = tasks.find((t) => t.TaskHandle === input.TaskHandle);
    // test_cancel_with_invalid_task_handle in the same snapshot file.
    if (!task)
      throw new SqsApiError(400, 'InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
    if (task.Status === 'RUNNING') task.Status = 'CANCELLED';
    return { ApproximateNumberOfMessagesMoved: task.ApproximateNumberOfMessagesMoved };
  };

  const respond = async (req: IncomingMessage, res: ServerResponse, action: string) => {
    try {
      const input = JSON.parse((await readBody(req, 256 * 1024)).toString('utf8') || '{}');
      sendJson(res, 200, await handle(action, input as Record<string, unknown>));
    } catch (error) {
      if (error instanceof SqsApiError) return sendError(res, error);
      if (error instanceof SyntaxError)
        return sendError(res, new SqsApiError(400, 'SerializationException', 'malformed JSON'));
      sendError(res, new SqsApiError(500, 'InternalError', (error as Error).message));
    }
  };

  return (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = /^AmazonSQS\.(StartMessageMoveTask|ListMessageMoveTasks|CancelMessageMoveTask)$/.exec(
      target,
    )?.[1];
    if (!action) return false;
    void respond(req, res, action);
    return true;
  };
}
