import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelMessageMoveTaskCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { redriveRoute } from '#local/sqs/move-tasks.ts';
import { awsCli } from '#test/support/aws-cli.ts';

// The bundled SQS emulator (fauxqs, patched in patches/: see patches/README.md) and the local move-task route,
// held to what AWS answers, with the SDK v3 client and the AWS CLI (botocore) on the wire.
let endpoint: AwsEndpoint;
let sqs: SQSClient;

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0 });
  sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: endpoint.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  endpoint.addRoute(redriveRoute(sqs));
});
afterAll(() => endpoint?.close());

let counter = 0;
async function createQueue(attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  counter += 1;
  const name = `conf-${process.pid}-${counter}`;
  const { QueueUrl = '' } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl, arn: Attributes.QueueArn ?? '' };
}

/** A queue whose redrive policy sends a message to a new DLQ after one receive (`maxReceiveCount: 1`). */
async function createDlqPipe(): Promise<{
  source: { url: string; arn: string };
  dlq: { url: string; arn: string };
}> {
  const dlq = await createQueue();
  const source = await createQueue({
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
  });
  return { source, dlq };
}

async function approximateCount(url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages);
}

/** The AWS CLI against the emulator, without retries (a refusal is final, and tests stay quick). */
const cli = (...args: string[]) => awsCli(args, { endpoint: endpoint.url, maxAttempts: 1 });

describe('SendMessage DelaySeconds', () => {
  // "DelaySeconds … Valid values: 0 to 900. Maximum: 15 minutes."
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html); AWS's message
  // as it answers it: "Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.";
  // its JSON type is InvalidParameterValueException and its query code InvalidParameterValue (QueryErrorCode in
  // LocalStack's AWS-recorded tests/aws/services/sqs/test_sqs.snapshot.json, test_fifo_queue_send_message_with_delay_seconds_fails).
  it('refuses 901 with InvalidParameterValue and accepts 900', async () => {
    const { url } = await createQueue();
    const error = await sqs
      .send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 }))
      .catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } });
    expect(error).toMatchObject({
      name: 'InvalidParameterValue',
      message:
        'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 900 })),
    ).resolves.toHaveProperty('MessageId');
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: -1 })),
    ).rejects.toThrow('Value -1 for parameter DelaySeconds is invalid');
  });

  it('fails just that entry of a SendMessageBatch', async () => {
    const { url } = await createQueue();
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'x' },
          { Id: 'late', MessageBody: 'y', DelaySeconds: 901 },
        ],
      }),
    );
    expect(result.Successful?.map((e) => e.Id)).toEqual(['ok']);
    expect(result.Failed).toEqual([
      {
        Id: 'late',
        SenderFault: true,
        Code: 'InvalidParameterValue',
        Message:
          'Value 901 for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.',
      },
    ]);
  });

  it('is refused through the AWS CLI with the code boto3 shows', async () => {
    const { url } = await createQueue();
    const failure = await cli(
      'sqs',
      'send-message',
      '--queue-url',
      url,
      '--message-body',
      'x',
      '--delay-seconds',
      '901',
    );
    expect(failure.code).not.toBe(0);
    expect(failure.stderr).toContain('(InvalidParameterValue) when calling the SendMessage operation');
  });
});

describe('CreateQueue names', () => {
  // "A queue name can have up to 80 characters. Valid values: alphanumeric characters, hyphens (-), and
  // underscores (_). A FIFO queue name must end with the .fifo suffix."
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html); the messages are
  // AWS's as LocalStack reproduces them (localstack-core/localstack/services/sqs/models.py `_assert_queue_name`),
  // the code InvalidParameterValue as for every parameter SQS refuses (patch 011).
  const STANDARD = 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length';
  const FIFO =
    'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length';
  it.each([
    ['bad name!', STANDARD],
    ['a'.repeat(81), STANDARD],
    ['../etc', STANDARD],
    ['q.name', STANDARD],
    ['é', STANDARD],
    ['new\nline', STANDARD],
    [`${'a'.repeat(76)}.fifo`, FIFO],
    ['bad name.fifo', FIFO],
  ])('refuses %j with 400 InvalidParameterValue', async (QueueName, message) => {
    await expect(sqs.send(new CreateQueueCommand({ QueueName }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message,
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('accepts 80 characters of every allowed kind, and a FIFO name of 80 with its suffix', async () => {
    const standard = `Aa0-_${process.pid}`.padEnd(80, 'z');
    await expect(sqs.send(new CreateQueueCommand({ QueueName: standard }))).resolves.toHaveProperty(
      'QueueUrl',
    );
    const fifo = `f${process.pid}`.padEnd(75, 'z').concat('.fifo');
    await expect(
      sqs.send(new CreateQueueCommand({ QueueName: fifo, Attributes: { FifoQueue: 'true' } })),
    ).resolves.toHaveProperty('QueueUrl');
  });

  it('is refused through the AWS CLI: `aws sqs create-queue --queue-name "bad name!"`', async () => {
    const failure = await cli('sqs', 'create-queue', '--queue-name', 'bad name!');
    expect(failure.code).not.toBe(0);
    expect(failure.stderr).toContain(
      `An error occurred (InvalidParameterValue) when calling the CreateQueue operation: ${STANDARD}`,
    );
  });
});

describe('ReceiveMessage MaxNumberOfMessages', () => {
  // LocalStack's AWS-recorded tests/aws/services/sqs/test_sqs.snapshot.json, test_send_receive_max_number_of_messages
  // [sqs]: HTTP 400, Code InvalidParameterValue, QueryErrorCode InvalidParameterValueException, Message below
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html: 1 to 10).
  it.each([11, 0, -1])('refuses %i with AWS’s message', async (value) => {
    const { url } = await createQueue();
    await expect(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: value })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: `Value ${value} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('answers the AWS CLI with that code and message, and accepts 10', async () => {
    const { url } = await createQueue();
    const failure = await cli('sqs', 'receive-message', '--queue-url', url, '--max-number-of-messages', '11');
    expect(failure.code).not.toBe(0);
    expect(failure.stderr).toContain(
      'An error occurred (InvalidParameterValue) when calling the ReceiveMessage operation: Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.',
    );
    await expect(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 })),
    ).resolves.toBeDefined();
  });
});

describe('receipt handles', () => {
  // LocalStack's AWS-validated test_sqs.py::test_delete_message_with_illegal_receipt_handle: AWS answers
  // ReceiptHandleIsInvalid, 'The input receipt handle "garbage" is not a valid receipt handle.'
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html, Errors).
  it.each([
    ['garbage', 'garbage'],
    ['empty', ''],
    ['a space', ' '],
    ['a path', '../../etc'],
    ['2000 characters', 'x'.repeat(2000)],
  ])('DeleteMessage refuses a malformed handle (%s)', async (_label, handle) => {
    const { url } = await createQueue();
    const error = await sqs
      .send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle }))
      .catch((e: unknown) => e as { name: string; message: string });
    if (handle === '') {
      expect(error).toMatchObject({ name: 'MissingParameter' });
      return;
    }
    expect(error).toMatchObject({
      name: 'ReceiptHandleIsInvalid',
      message: `The input receipt handle "${handle}" is not a valid receipt handle.`,
    });
  });

  it('DeleteMessage accepts a handle that is well formed but stale, as AWS does', async () => {
    const { url } = await createQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    const handle = Messages[0]?.ReceiptHandle ?? '';
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle }));
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handle })),
    ).resolves.toBeDefined();
  });

  it('DeleteMessageBatch fails only the malformed entry', async () => {
    const { url } = await createQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }));
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    const result = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'good', ReceiptHandle: Messages[0]?.ReceiptHandle },
          { Id: 'bad', ReceiptHandle: 'garbage' },
        ],
      }),
    );
    expect(result.Successful).toEqual([{ Id: 'good' }]);
    expect(result.Failed).toEqual([
      {
        Id: 'bad',
        SenderFault: true,
        Code: 'ReceiptHandleIsInvalid',
        Message: 'The input receipt handle "garbage" is not a valid receipt handle.',
      },
    ]);
  });

  // LocalStack's AWS-validated test_sqs.py::test_invalid_receipt_handle_should_return_error_message.
  it('ChangeMessageVisibility refuses a malformed handle with ReceiptHandleIsInvalid', async () => {
    const { url } = await createQueue();
    await expect(
      sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: 'INVALID',
          VisibilityTimeout: 60,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ReceiptHandleIsInvalid' });
  });

  it('the AWS CLI reports ReceiptHandleIsInvalid as AWS does', async () => {
    const { url } = await createQueue();
    const failure = await cli('sqs', 'delete-message', '--queue-url', url, '--receipt-handle', 'garbage');
    expect(failure.code).not.toBe(0);
    expect(failure.stderr).toContain('(ReceiptHandleIsInvalid) when calling the DeleteMessage operation');
  });
});

describe('ListDeadLetterSourceQueues', () => {
  // LocalStack's AWS-validated test_sqs.py::test_dead_letter_queue_list_sources: both queues whose
  // RedrivePolicy targets the DLQ are listed under `queueUrls`
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListDeadLetterSourceQueues.html).
  it('lists the queues whose redrive policy targets the DLQ, and pages with MaxResults', async () => {
    const dlq = await createQueue();
    const policy = { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 5 }) };
    const one = await createQueue(policy);
    const two = await createQueue(policy);
    await createQueue(); // not a source
    const all = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url }));
    expect(all.queueUrls?.sort()).toEqual([one.url, two.url].sort());
    expect(all.NextToken).toBeUndefined();

    const first = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url, MaxResults: 1 }));
    expect(first.queueUrls).toHaveLength(1);
    const second = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq.url, MaxResults: 1, NextToken: first.NextToken }),
    );
    expect([...(first.queueUrls ?? []), ...(second.queueUrls ?? [])].sort()).toEqual(
      [one.url, two.url].sort(),
    );
    expect(second.NextToken).toBeUndefined();

    const none = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: one.url }));
    expect(none.queueUrls).toEqual([]);
  });

  it('answers QueueDoesNotExist for a missing queue', async () => {
    await expect(
      sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: `${endpoint.url}/000000000000/nope` })),
    ).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
  });

  it('works from the AWS CLI (aws sqs list-dead-letter-source-queues)', async () => {
    const { source, dlq } = await createDlqPipe();
    const listed = await cli('sqs', 'list-dead-letter-source-queues', '--queue-url', dlq.url);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ queueUrls: [source.url] });
  });
});

describe('ListQueues paging', () => {
  it('pages over mixed-case names without losing any', async () => {
    const prefix = `page${process.pid}`;
    for (const suffix of ['B', 'a', 'C', 'b']) {
      await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}${suffix}` }));
    }
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken }),
      );
      names.push(...(page.QueueUrls ?? []).map((u) => u.slice(u.lastIndexOf('/') + 1 + prefix.length)));
      NextToken = page.NextToken;
    } while (NextToken);
    expect(names.sort()).toEqual(['B', 'C', 'a', 'b']);
  });
});

describe('message move tasks (DLQ redrive)', () => {
  /** Sends `bodies` to the source and receives each twice so that it moves to the DLQ. */
  async function fillDlq(source: string, dlq: string, bodies: string[]): Promise<void> {
    for (const body of bodies)
      await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
    for (let i = 0; i < bodies.length * 2 + 2 && (await approximateCount(dlq)) < bodies.length; i++) {
      await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: source, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
    }
    expect(await approximateCount(dlq)).toBe(bodies.length);
  }

  async function waitForStatus(sourceArn: string, status: string) {
    for (let i = 0; i < 100; i++) {
      const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn }));
      if (Results[0]?.Status === status) return Results[0];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`move task never reached ${status}`);
  }

  // LocalStack's AWS-recorded tests/aws/services/sqs/test_sqs_move_task.snapshot.json,
  // test_move_task_workflow_with_default_destination: two messages, ApproximateNumberOfMessagesToMove 2,
  // ApproximateNumberOfMessagesMoved 2, Status COMPLETED, no DestinationArn in the result
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html).
  it('moves a run-time DLQ back to its source and reports the count it started with', async () => {
    const { source, dlq } = await createDlqPipe();
    await fillDlq(source.url, dlq.url, ['message-1', 'message-2']);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    expect(TaskHandle).toBeTruthy();
    const result = await waitForStatus(dlq.arn, 'COMPLETED');
    expect(result).toMatchObject({
      ApproximateNumberOfMessagesMoved: 2,
      ApproximateNumberOfMessagesToMove: 2,
      SourceArn: dlq.arn,
      Status: 'COMPLETED',
    });
    expect(result).not.toHaveProperty('DestinationArn');
    expect(result).not.toHaveProperty('MaxNumberOfMessagesPerSecond');
    expect(result).not.toHaveProperty('TaskHandle');
    expect(await approximateCount(dlq.url)).toBe(0);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: source.url, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.map((m) => m.Body).sort()).toEqual(['message-1', 'message-2']);
  });

  // Same file, test_basic_move_task_workflow: an explicit DestinationArn is echoed in the result.
  it('moves to an explicit DestinationArn created at run time', async () => {
    const { source, dlq } = await createDlqPipe();
    const destination = await createQueue();
    await fillDlq(source.url, dlq.url, ['m']);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: destination.arn }));
    const result = await waitForStatus(dlq.arn, 'COMPLETED');
    expect(result).toMatchObject({
      ApproximateNumberOfMessagesToMove: 1,
      ApproximateNumberOfMessagesMoved: 1,
      DestinationArn: destination.arn,
    });
    expect(await approximateCount(destination.url)).toBe(1);
  });

  // Same file: test_source_needs_redrive_policy (400 InvalidParameterValue) and
  // test_destination_needs_to_exist (404 ResourceNotFoundException).
  it('refuses a source that is not a DLQ and a destination that does not exist, as AWS does', async () => {
    const plain = await createQueue();
    await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: plain.arn }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Source queue must be configured as a Dead Letter Queue.',
      $metadata: { httpStatusCode: 400 },
    });
    const { dlq } = await createDlqPipe();
    await expect(
      sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: dlq.arn,
          DestinationArn: 'arn:aws:sqs:us-east-1:000000000000:does-not-exist',
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
      $metadata: { httpStatusCode: 404 },
    });
    for (const SourceArn of ['', 'not-an-arn', 'arn:aws:sqs:us-east-1:000000000000:../../x']) {
      await expect(sqs.send(new StartMessageMoveTaskCommand({ SourceArn }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    }
  });

  // Same file, test_move_task_with_throughput_limit: at MaxNumberOfMessagesPerSecond=1, 4 messages take at least
  // 3 s; test_move_task_cancel: the rate is listed back (`MaxNumberOfMessagesPerSecond: 1`) while RUNNING, with
  // the TaskHandle, and after the task ends, without it (API_ListMessageMoveTasksResultEntry: "only populated for
  // tasks that are in RUNNING status").
  it('moves at MaxNumberOfMessagesPerSecond, stays RUNNING meanwhile, and lists the rate', async () => {
    const { source, dlq } = await createDlqPipe();
    const destination = await createQueue();
    await fillDlq(source.url, dlq.url, ['m1', 'm2', 'm3']);
    const started = Date.now();
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: destination.arn,
        MaxNumberOfMessagesPerSecond: 2,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { Results: [running] = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }),
    );
    expect(running).toMatchObject({ Status: 'RUNNING', TaskHandle, MaxNumberOfMessagesPerSecond: 2 });
    expect(running?.ApproximateNumberOfMessagesMoved).toBeLessThan(3);
    const done = await waitForStatus(dlq.arn, 'COMPLETED');
    // One message, then a 0.5 s pause after each: 3 messages at 2 per second take 1.5 s, never under 1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(done).toMatchObject({ ApproximateNumberOfMessagesMoved: 3, MaxNumberOfMessagesPerSecond: 2 });
    expect(done).not.toHaveProperty('TaskHandle');
    expect(await approximateCount(destination.url)).toBe(3);
  });

  it('cancels a rate-limited task at once; moved messages stay moved and the rest stay in the DLQ', async () => {
    const { source, dlq } = await createDlqPipe();
    const destination = await createQueue();
    await fillDlq(source.url, dlq.url, ['a', 'b', 'c', 'd']);
    const { TaskHandle } = await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: destination.arn,
        MaxNumberOfMessagesPerSecond: 1,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cancelled = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    expect(cancelled.ApproximateNumberOfMessagesMoved).toBe(1);
    const { Results: [after] = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
    expect(after).toMatchObject({
      Status: 'CANCELLED',
      MaxNumberOfMessagesPerSecond: 1,
      ApproximateNumberOfMessagesToMove: 4,
    });
    expect(after).not.toHaveProperty('TaskHandle');
    expect(await approximateCount(dlq.url)).toBe(3);
    expect(await approximateCount(destination.url)).toBe(1);
  });

  // Same file, test_move_task_delete_destination_queue_while_running: FAILED with that FailureReason.
  it('fails with AWS.SimpleQueueService.NonExistentQueue when the destination is deleted while moving', async () => {
    const { source, dlq } = await createDlqPipe();
    const destination = await createQueue();
    await fillDlq(source.url, dlq.url, ['x', 'y', 'z']);
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlq.arn,
        DestinationArn: destination.arn,
        MaxNumberOfMessagesPerSecond: 2,
      }),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: destination.url }));
    const failed = await waitForStatus(dlq.arn, 'FAILED');
    expect(failed).toMatchObject({
      FailureReason: 'AWS.SimpleQueueService.NonExistentQueue',
      MaxNumberOfMessagesPerSecond: 2,
    });
  });

  // API_StartMessageMoveTask: "The maximum value for messages per second is 500"; the code is SQS's for a value
  // out of range (InvalidParameterValue), the reason the local cloud's wording of that range.
  it.each([0, 501, -1, 1.5])('refuses MaxNumberOfMessagesPerSecond=%s and starts no task', async (rate) => {
    const { dlq } = await createDlqPipe();
    await expect(
      sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: rate })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining(`Value ${rate} for parameter MaxNumberOfMessagesPerSecond is invalid`),
      $metadata: { httpStatusCode: 400 },
    });
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn }));
    expect(Results).toEqual([]);
  });

  // Same file, test_cancel_with_invalid_task_handle.
  it('refuses to cancel an unknown task handle', async () => {
    await expect(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'nope' }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Value for parameter TaskHandle is invalid.',
    });
  });
});

describe('persisted state (a data folder, as `npm start` keeps it)', () => {
  // fauxqs writes SQS messages through to SQLite only when it has a data folder (the other tests run in memory),
  // so these run against their own endpoint started with one.
  let folder: string;
  let persisted: AwsEndpoint;
  let client: SQSClient;

  async function start(): Promise<void> {
    persisted = await startAwsEndpoint({ port: 0, dataDir: folder });
    client = new SQSClient({
      region: 'us-east-1',
      endpoint: persisted.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  }
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'pictura-sqs-persist-'));
    await start();
  });
  afterAll(async () => {
    await persisted?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  async function queue(name: string, attributes: Record<string, string> = {}) {
    const { QueueUrl = '' } = await client.send(
      new CreateQueueCommand({ QueueName: `persist-${process.pid}-${name}`, Attributes: attributes }),
    );
    const { Attributes = {} } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    return { url: QueueUrl, arn: Attributes.QueueArn ?? '' };
  }
  const receive = (url: string) =>
    client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
  const release = (url: string, receiptHandle: string | undefined) =>
    client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: 0,
      }),
    );

  // "ChangeMessageVisibility … VisibilityTimeout 0 … the message is immediately visible to other consumers"
  // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html);
  // ApproximateReceiveCount is "the number of times a message has been received across all queues but not
  // deleted" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
  // fauxqs 2.4.1 wrote NULL into the NOT NULL receive count here: an SQLite error, the message lost (patch 013).
  it('ChangeMessageVisibility 0 releases a message, keeping its receive count, also across a restart', async () => {
    const { url } = await queue('release', { VisibilityTimeout: '30' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'once' }));
    const first = (await receive(url)).Messages?.[0];
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    await release(url, first?.ReceiptHandle);
    const second = (await receive(url)).Messages?.[0];
    expect(second?.MessageId).toBe(first?.MessageId);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    await release(url, second?.ReceiptHandle);

    await persisted.close();
    await start();
    const third = (await receive(url)).Messages?.[0];
    expect(third?.MessageId).toBe(first?.MessageId);
    expect(third?.Attributes?.ApproximateReceiveCount).toBe('3');
  });

  // "When the ReceiveCount for a message exceeds the maxReceiveCount for a queue, Amazon SQS moves the message
  // to the dead-letter-queue" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
  // RedrivePolicy). The consumer releases a record on its last receive so that it gets there at once.
  it('a message released past maxReceiveCount reaches its DLQ', async () => {
    const dlq = await queue('dlq');
    const { url } = await queue('source', {
      VisibilityTimeout: '30',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
    });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    const first = (await receive(url)).Messages?.[0];
    await release(url, first?.ReceiptHandle);
    expect((await receive(url)).Messages ?? []).toEqual([]);
    const parked = (await receive(dlq.url)).Messages?.[0];
    expect(parked?.MessageId).toBe(first?.MessageId);
    expect(parked?.Body).toBe('poison');
  });
});
