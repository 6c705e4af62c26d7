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
import { AwsApiError, readBody, sendJson } from '../http-util.ts';
import { type MoveTask, MoveTasks, newMoveTask } from './move-task-models.ts';

/** An SQS error in the JSON protocol; its `errorType` is the query-compatible code clients read from `x-amzn-query-error`. */
class SqsApiError extends AwsApiError {}

/**
 * AWS names InvalidParameterValue `InvalidParameterValueException` in the JSON body and `InvalidParameterValue`
 * in the query-compatible header (QueryErrorCode in LocalStack's AWS-recorded test_sqs_move_task.snapshot.json).
 */
function sendError(res: ServerResponse, error: SqsApiError): void {
  const type =
    error.errorType === 'InvalidParameterValue' ? 'InvalidParameterValueException' : error.errorType;
  sendJson(
    res,
    error.status,
    { __type: `com.amazonaws.sqs#${type}`, message: error.message },
    { 'x-amzn-query-error': `${error.errorType};Sender` },
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

/** `StartMessageMoveTask`'s rate bounds: "The maximum value for messages per second is 500" (API_StartMessageMoveTask). */
const RATE = { min: 1, max: 500 };

/** Wakes a task's pause between two messages when it is cancelled, so that a cancel takes effect at once. */
const wakers = new WeakMap<MoveTask, () => void>();

/** Waits `ms`, or less if the task is cancelled meanwhile. */
function pause(task: MoveTask, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wakers.set(task, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Moves up to `task.ApproximateNumberOfMessagesToMove` messages until the task is cancelled or the source is
 * empty; then the task is `COMPLETED` unless it was cancelled. With `MaxNumberOfMessagesPerSecond` it takes one
 * message at a time and pauses 1/rate s after each (as LocalStack's provider does), so that a message waiting
 * its turn is never held in flight; without it, ten at a time as fast as it can.
 */
async function move(sqs: SQSClient, task: MoveTask, fromUrl: string, toUrl: string): Promise<void> {
  const rate = task.MaxNumberOfMessagesPerSecond;
  while (
    task.Status === 'RUNNING' &&
    task.ApproximateNumberOfMessagesMoved < task.ApproximateNumberOfMessagesToMove
  ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: fromUrl,
        MaxNumberOfMessages: rate === undefined ? 10 : 1,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages as Message[]) {
      await moveMessage(sqs, message, fromUrl, toUrl);
      task.ApproximateNumberOfMessagesMoved += 1;
    }
    if (rate !== undefined && task.Status === 'RUNNING') await pause(task, 1000 / rate);
  }
  if (task.Status === 'RUNNING') task.Status = 'COMPLETED';
}

/**
 * A failed task's `FailureReason`: a queue gone while moving is `AWS.SimpleQueueService.NonExistentQueue`
 * (LocalStack's AWS-recorded test_sqs_move_task.snapshot.json, test_move_task_delete_destination_queue_while_running).
 */
function failureReason(error: Error): string {
  return error.name === 'QueueDoesNotExist' ? 'AWS.SimpleQueueService.NonExistentQueue' : error.message;
}

/** `MaxNumberOfMessagesPerSecond` as given (absent when not), refused outside 1–500 or when not an integer. */
function rateOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= RATE.min && value <= RATE.max)
    return value;
  // AWS's "Value … for parameter … is invalid. Reason: …" form (as for MaxNumberOfMessages); this reason is
  // the local cloud's wording of the documented range, not a recorded one.
  throw new SqsApiError(
    400,
    'InvalidParameterValue',
    `Value ${String(value)} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between ${RATE.min} and ${RATE.max}, if provided.`,
  );
}

/** Sends one message on, body and message attributes kept, and only then deletes it from the source. */
async function moveMessage(sqs: SQSClient, message: Message, fromUrl: string, toUrl: string): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: toUrl,
      MessageBody: message.Body ?? '',
      MessageAttributes: message.MessageAttributes,
    }),
  );
  await sqs.send(new DeleteMessageCommand({ QueueUrl: fromUrl, ReceiptHandle: message.ReceiptHandle }));
}

/**
 * The three message move task operations, one method each (LocalStack's provider pattern); they take the
 * JSON protocol's input and return its output, or throw an `SqsApiError`.
 */
class MoveTaskProvider {
  readonly #sqs: SQSClient;
  readonly #tasks = new MoveTasks();

  constructor(sqs: SQSClient) {
    this.#sqs = sqs;
  }

  /** StartMessageMoveTask (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html). */
  async startMessageMoveTask(input: Record<string, unknown>): Promise<unknown> {
    const sourceArn = String(input.SourceArn ?? '');
    const maxNumberOfMessagesPerSecond = rateOf(input.MaxNumberOfMessagesPerSecond);
    const fromUrl = await queueUrlOf(this.#sqs, sourceArn, 'SourceArn');
    const destinationArn = input.DestinationArn === undefined ? undefined : String(input.DestinationArn);
    const toUrl = await this.#destinationUrl(fromUrl, destinationArn);
    if (this.#tasks.isRunning(sourceArn)) {
      // test_start_multiple_move_tasks in the same snapshot file.
      throw new SqsApiError(
        400,
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    }
    const { Attributes = {} } = await this.#sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: fromUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const toMove = Number(Attributes.ApproximateNumberOfMessages ?? 0);
    const task = newMoveTask({ sourceArn, destinationArn, maxNumberOfMessagesPerSecond }, toMove);
    this.#tasks.add(task);
    move(this.#sqs, task, fromUrl, toUrl).catch((error: Error) => {
      task.Status = 'FAILED';
      task.FailureReason = failureReason(error);
    });
    return { TaskHandle: task.TaskHandle };
  }

  /** ListMessageMoveTasks: the source's tasks, newest first, `MaxResults` of them (1 by default). */
  async listMessageMoveTasks(input: Record<string, unknown>): Promise<unknown> {
    const sourceArn = String(input.SourceArn ?? '');
    await queueUrlOf(this.#sqs, sourceArn, 'SourceArn');
    return { Results: this.#tasks.from(sourceArn, Number(input.MaxResults ?? 1)) };
  }

  /** CancelMessageMoveTask: stops a running task; the messages it moved stay moved. */
  async cancelMessageMoveTask(input: Record<string, unknown>): Promise<unknown> {
    const task = this.#tasks.byHandle(input.TaskHandle);
    // test_cancel_with_invalid_task_handle in the same snapshot file.
    if (!task)
      throw new SqsApiError(400, 'InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
    if (task.Status === 'RUNNING') {
      task.Status = 'CANCELLED';
      wakers.get(task)?.();
    }
    return { ApproximateNumberOfMessagesMoved: task.ApproximateNumberOfMessagesMoved };
  }

  /**
   * Where the messages go: `DestinationArn`, or the one queue whose redrive policy targets the source.
   * A source no redrive policy targets is not a dead-letter queue, and is refused.
   */
  async #destinationUrl(fromUrl: string, destinationArn: string | undefined): Promise<string> {
    const { queueUrls = [] } = await this.#sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: fromUrl }),
    );
    if (queueUrls.length === 0) {
      // test_source_needs_redrive_policy in the same snapshot file.
      throw new SqsApiError(
        400,
        'InvalidParameterValue',
        'Source queue must be configured as a Dead Letter Queue.',
      );
    }
    if (destinationArn !== undefined) return queueUrlOf(this.#sqs, destinationArn, 'DestinationArn');
    if (queueUrls.length === 1) return queueUrls[0] as string;
    throw new SqsApiError(
      400,
      'InvalidParameterValue',
      'local cloud: this dead-letter queue has several source queues; give a DestinationArn',
    );
  }
}

type MoveTaskOperation = (provider: MoveTaskProvider, input: Record<string, unknown>) => Promise<unknown>;

/** The `X-Amz-Target` actions this route answers (the rest of SQS is the bundled emulator's). */
const OPERATIONS = new Map<string, MoveTaskOperation>([
  ['AmazonSQS.StartMessageMoveTask', (provider, input) => provider.startMessageMoveTask(input)],
  ['AmazonSQS.ListMessageMoveTasks', (provider, input) => provider.listMessageMoveTasks(input)],
  ['AmazonSQS.CancelMessageMoveTask', (provider, input) => provider.cancelMessageMoveTask(input)],
]);

/**
 * SQS DLQ redrive (`StartMessageMoveTask`, `ListMessageMoveTasks`, `CancelMessageMoveTask`, JSON protocol),
 * which fauxqs lacks. Messages move from a dead-letter queue to `DestinationArn`, or back to the queue whose
 * redrive policy targets it (`ListDeadLetterSourceQueues`); the task reports the DLQ's
 * `ApproximateNumberOfMessages` when it started as `ApproximateNumberOfMessagesToMove`, and moves at
 * `MaxNumberOfMessagesPerSecond` when given (1–500, listed back in the results)
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
 * Queues are found through the SQS API, so DLQs created at run time work as the template's do.
 * Limitation: AWS sends each message back to its own source queue; with several source queues and no
 * `DestinationArn` the local cloud cannot tell them apart and refuses the task.
 */
export function redriveRoute(sqs: SQSClient): EdgeRoute {
  const provider = new MoveTaskProvider(sqs);
  return (req, res) => {
    const operation = OPERATIONS.get(String(req.headers['x-amz-target'] ?? ''));
    if (!operation) return false;
    void respond(req, res, (input) => operation(provider, input));
    return true;
  };
}

/** Runs an operation on the request's JSON body and sends its output, or its error as SQS sends errors. */
async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  operation: (input: Record<string, unknown>) => Promise<unknown>,
): Promise<void> {
  try {
    const input = JSON.parse((await readBody(req, 256 * 1024)).toString('utf8') || '{}');
    sendJson(res, 200, await operation(input as Record<string, unknown>));
  } catch (error) {
    if (error instanceof SqsApiError) return sendError(res, error);
    if (error instanceof SyntaxError)
      return sendError(res, new SqsApiError(400, 'SerializationException', 'malformed JSON'));
    sendError(res, new SqsApiError(500, 'InternalError', (error as Error).message));
  }
}
