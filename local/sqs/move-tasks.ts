import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { readBody, sendJson } from '../http-util.ts';
import type { LocalQueue } from '../template/stack-model.ts';

interface MoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

function sqsError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(
    res,
    status,
    { __type: `com.amazonaws.sqs#${code}`, message },
    { 'x-amzn-query-error': `${code};Sender` },
  );
}

/**
 * SQS DLQ redrive (`StartMessageMoveTask`, `ListMessageMoveTasks`, `CancelMessageMoveTask`, JSON protocol),
 * which fauxqs lacks: messages move from a DLQ back to the queue whose redrive policy points at it (or to an
 * explicit destination), keeping their bodies and message attributes.
 */
export function redriveRoute(queues: readonly LocalQueue[], sqs: SQSClient): EdgeRoute {
  const tasks: MoveTask[] = [];
  const byArn = new Map(queues.map((q) => [q.arn, q]));
  const sourceOf = (dlqArn: string) =>
    queues.find(
      (q) =>
        q.attributes.RedrivePolicy && JSON.parse(q.attributes.RedrivePolicy).deadLetterTargetArn === dlqArn,
    );

  const move = async (task: MoveTask, from: LocalQueue, to: LocalQueue) => {
    for (;;) {
      if (task.Status !== 'RUNNING') return;
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: from.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages as Message[]) {
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: to.url,
            MessageBody: message.Body ?? '',
            MessageAttributes: message.MessageAttributes,
          }),
        );
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: from.url, ReceiptHandle: message.ReceiptHandle }),
        );
        task.ApproximateNumberOfMessagesMoved += 1;
      }
    }
    task.Status = 'COMPLETED';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, action: string) => {
    const input = JSON.parse((await readBody(req, 256 * 1024)).toString('utf8') || '{}') as Record<
      string,
      string
    >;
    if (action === 'ListMessageMoveTasks') {
      sendJson(res, 200, { Results: tasks.filter((t) => t.SourceArn === input.SourceArn).reverse() });
      return;
    }
    if (action === 'CancelMessageMoveTask') {
      const task = tasks.find((t) => t.TaskHandle === input.TaskHandle);
      if (!task) return sqsError(res, 400, 'ResourceNotFoundException', 'no such task');
      if (task.Status === 'RUNNING') task.Status = 'FAILED';
      sendJson(res, 200, { ApproximateNumberOfMessagesMoved: task.ApproximateNumberOfMessagesMoved });
      return;
    }
    const from = byArn.get(input.SourceArn ?? '');
    if (!from)
      return sqsError(
        res,
        400,
        'ResourceNotFoundException',
        `source queue ${input.SourceArn} does not exist`,
      );
    const to = input.DestinationArn ? byArn.get(input.DestinationArn) : sourceOf(from.arn);
    if (!to) {
      return sqsError(
        res,
        400,
        'InvalidParameterValue',
        'no destination: the source is not a DLQ of any queue and no DestinationArn was given',
      );
    }
    if (tasks.some((t) => t.SourceArn === from.arn && t.Status === 'RUNNING')) {
      return sqsError(
        res,
        400,
        'UnsupportedOperation',
        'a message move task is already running for this queue',
      );
    }
    const task: MoveTask = {
      TaskHandle: Buffer.from(JSON.stringify({ id: randomUUID(), source: from.arn })).toString('base64'),
      Status: 'RUNNING',
      SourceArn: from.arn,
      ...(input.DestinationArn ? { DestinationArn: input.DestinationArn } : {}),
      ApproximateNumberOfMessagesMoved: 0,
      ApproximateNumberOfMessagesToMove: 0,
      StartedTimestamp: Date.now(),
    };
    tasks.push(task);
    move(task, from, to).catch((error: Error) => {
      task.Status = 'FAILED';
      task.FailureReason = error.message;
    });
    sendJson(res, 200, { TaskHandle: task.TaskHandle });
  };

  return (req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = /^AmazonSQS\.(StartMessageMoveTask|ListMessageMoveTasks|CancelMessageMoveTask)$/.exec(
      target,
    )?.[1];
    if (!action) return false;
    handle(req, res, action).catch((error: Error) => sqsError(res, 500, 'InternalError', error.message));
    return true;
  };
}
