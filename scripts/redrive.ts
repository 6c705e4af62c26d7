/**
 * Redrive: moves a pipeline stage's dead-letter messages back to its queue, through SQS's
 * `StartMessageMoveTask`, and says what it moved.
 *
 *   npm run redrive -- --queue ingest|render|purge [--dry-run] [--target local|localstack|aws]
 *                      [--endpoint URL] [--stack NAME] [--region REGION]
 *
 * Where the queues are: `local` (default) lists the queues of the running local cloud
 * (http://localhost:4566) and takes the stage's queue and the DLQ its redrive policy names; `localstack`
 * (http://localhost:4566) and `aws` read the stack's outputs (`<Stage>QueueUrl`, `<Stage>DlqUrl`) with
 * CloudFormation `DescribeStacks`.
 *
 * `--dry-run` moves nothing: it prints how many messages wait and why (their `pictura-error-code`
 * attribute, set by a consumer that parked a message it can never process; `receive-limit` for messages
 * SQS moved after `maxReceiveCount` receives). It peeks by receiving with a short visibility timeout and
 * makes each message visible again at once.
 *
 * Output: one JSON object on stdout; progress on stderr. Exit codes: 0 done (also when nothing waited),
 * 1 the move task ended FAILED or CANCELLED, 2 bad arguments, 3 the stack or its queues were not found,
 * 4 an AWS call failed (endpoint unreachable, credentials, permissions).
 *
 * See https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
 * and https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ExitError, TARGET_OPTIONS } from './common.ts';

const STAGES = ['ingest', 'render', 'purge'] as const;
type Stage = (typeof STAGES)[number];
const TARGETS = ['local', 'localstack', 'aws'] as const;
type Target = (typeof TARGETS)[number];

interface Options {
  stage: Stage;
  dryRun: boolean;
  target: Target;
  endpoint: string | undefined;
  stack: string;
  region: string;
  peek: number;
}

const USAGE = `Usage: npm run redrive -- --queue ingest|render|purge [--dry-run] [--target local|localstack|aws]
                          [--endpoint URL] [--stack NAME] [--region REGION] [--peek N]`;

function readOptions(argv: string[]): Options {
  let values: ReturnType<typeof parse>['values'];
  const parse = (args: string[]) =>
    parseArgs({
      args,
      strict: true,
      options: {
        queue: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        ...TARGET_OPTIONS,
        peek: { type: 'string', default: '100' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new ExitError(2, `${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const stage = values.queue as Stage;
  if (!STAGES.includes(stage))
    throw new ExitError(2, `--queue must be one of ${STAGES.join(', ')}\n${USAGE}`);
  const target = values.target as Target;
  if (!TARGETS.includes(target)) throw new ExitError(2, `--target must be one of ${TARGETS.join(', ')}`);
  const peek = Number(values.peek);
  if (!Number.isSafeInteger(peek) || peek < 0 || peek > 10_000) {
    throw new ExitError(2, '--peek must be a whole number from 0 to 10000');
  }
  if (values.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(values.endpoint)) {
    throw new ExitError(2, `--endpoint must be an http(s) URL, got "${values.endpoint}"`);
  }
  const endpoint = values.endpoint ?? (target === 'aws' ? undefined : 'http://localhost:4566');
  return {
    stage,
    dryRun: values['dry-run'] ?? false,
    target,
    endpoint,
    stack: values.stack ?? '',
    region: values.region ?? '',
    peek,
  };
}

/** A queue's URL and ARN. */
interface QueueRef {
  url: string;
  arn: string;
}

const capitalise = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

async function arnOf(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  if (!Attributes?.QueueArn) throw new ExitError(3, `queue ${url} has no ARN`);
  return Attributes.QueueArn;
}

/**
 * The local cloud's queues: the stage's work queue is the one named after it (CDK's `<Stage>Queue` logical
 * id in the name) that has a redrive policy; its DLQ is that policy's target.
 */
async function localQueues(sqs: SQSClient, stage: Stage): Promise<{ source: QueueRef; dlq: QueueRef }> {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  const candidates = QueueUrls.filter((url) =>
    new RegExp(`${stage}queue`, 'i').test(url.split('/').pop() ?? ''),
  );
  for (const url of candidates) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'RedrivePolicy'] }),
    );
    if (!Attributes.RedrivePolicy || !Attributes.QueueArn) continue;
    const dlqArn = String(JSON.parse(Attributes.RedrivePolicy).deadLetterTargetArn ?? '');
    const dlqName = dlqArn.split(':').pop() ?? '';
    const dlqUrl = QueueUrls.find((u) => u.split('/').pop() === dlqName);
    if (dlqUrl) return { source: { url, arn: Attributes.QueueArn }, dlq: { url: dlqUrl, arn: dlqArn } };
  }
  throw new ExitError(
    3,
    `no ${stage} queue with a DLQ among the ${QueueUrls.length} queues listed; is the local cloud running?`,
  );
}

/** The stack's outputs `<Stage>QueueUrl` and `<Stage>DlqUrl` (README "Outputs"), through DescribeStacks. */
async function stackQueues(options: Options, sqs: SQSClient): Promise<{ source: QueueRef; dlq: QueueRef }> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cloudformation = new CloudFormationClient({ region: options.region, endpoint: options.endpoint });
  let outputs: Record<string, string>;
  try {
    const { Stacks = [] } = await cloudformation.send(
      new DescribeStacksCommand({ StackName: options.stack }),
    );
    outputs = Object.fromEntries(
      (Stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
    );
  } catch (error) {
    if (/does not exist/.test((error as Error).message)) {
      throw new ExitError(3, `stack ${options.stack} not found (${options.target}, ${options.region})`);
    }
    throw error;
  }
  const name = capitalise(options.stage);
  const sourceUrl = outputs[`${name}QueueUrl`];
  const dlqUrl = outputs[`${name}DlqUrl`];
  if (!sourceUrl || !dlqUrl)
    throw new ExitError(3, `stack ${options.stack} has no ${name}QueueUrl/${name}DlqUrl outputs`);
  return {
    source: { url: sourceUrl, arn: await arnOf(sqs, sourceUrl) },
    dlq: { url: dlqUrl, arn: await arnOf(sqs, dlqUrl) },
  };
}

/** How many messages wait in the DLQ, and their reasons among up to `peek` of them. */
async function inspect(sqs: SQSClient, dlq: QueueRef, peek: number) {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: dlq.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const waiting = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  const reasons: Record<string, number> = {};
  const seen = new Set<string>();
  while (seen.size < Math.min(peek, waiting)) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['pictura-error-code'],
      }),
    );
    const fresh = Messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      const code = message.MessageAttributes?.['pictura-error-code']?.StringValue ?? 'receive-limit';
      reasons[code] = (reasons[code] ?? 0) + 1;
    }
    // Visible again at once: a peek must not hold messages back from the move or from another look.
    if (Messages.length > 0) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: dlq.url,
          Entries: Messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
    if (fresh.length === 0) break;
  }
  return { waiting, inFlight, peeked: seen.size, reasons };
}

/** Starts the move and follows it until it leaves RUNNING; progress on stderr. */
async function move(sqs: SQSClient, source: QueueRef, dlq: QueueRef) {
  const { TaskHandle } = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: source.arn }),
  );
  for (;;) {
    const { Results = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 10 }),
    );
    const task = Results.find((r) => r.TaskHandle === TaskHandle) ?? Results[0];
    if (!task) throw new ExitError(4, 'the move task is not listed by ListMessageMoveTasks');
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    const total = task.ApproximateNumberOfMessagesToMove;
    process.stderr.write(`redrive: ${task.Status} ${moved}${total === undefined ? '' : `/${total}`} moved\n`);
    if (task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') {
      return {
        taskHandle: TaskHandle,
        status: task.Status ?? 'UNKNOWN',
        moved,
        failureReason: task.FailureReason,
      };
    }
    await sleep(500);
  }
}

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2));
  const sqs = new SQSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // The local cloud and LocalStack take any credentials; AWS uses the default chain.
    ...(options.target === 'aws' ? {} : { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  });
  const { source, dlq } =
    options.target === 'local' ? await localQueues(sqs, options.stage) : await stackQueues(options, sqs);
  const found = await inspect(sqs, dlq, options.dryRun ? options.peek : 0);
  const base = { queue: options.stage, source: source.url, deadLetterQueue: dlq.url, waiting: found.waiting };
  if (options.dryRun) {
    console.log(
      JSON.stringify(
        { ...base, dryRun: true, inFlight: found.inFlight, peeked: found.peeked, reasons: found.reasons },
        null,
        2,
      ),
    );
    return 0;
  }
  if (found.waiting === 0 && found.inFlight === 0) {
    console.log(JSON.stringify({ ...base, moved: 0, status: 'NOTHING_TO_MOVE' }, null, 2));
    return 0;
  }
  const result = await move(sqs, source, dlq);
  console.log(JSON.stringify({ ...base, ...result }, null, 2));
  return result.status === 'COMPLETED' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    const code = error instanceof ExitError ? error.exitCode : 4;
    process.stderr.write(`redrive: ${error.message}\n`);
    process.exit(code);
  },
);
