import { randomUUID } from 'node:crypto';

/** A message move task as `ListMessageMoveTasks` reports it (API_ListMessageMoveTasksResultEntry). */
export interface MoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  /** The rate the task was started with, listed only when one was given (API_ListMessageMoveTasksResultEntry). */
  MaxNumberOfMessagesPerSecond?: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

/** A task as `ListMessageMoveTasks` lists it: the handle only while it runs. */
export type MoveTaskEntry = Omit<MoveTask, 'TaskHandle'> & { TaskHandle?: string };

/** What `StartMessageMoveTask` was asked: the source, and the destination and rate when given. */
export interface MoveTaskRequest {
  sourceArn: string;
  destinationArn?: string | undefined;
  maxNumberOfMessagesPerSecond?: number | undefined;
}

/** A new running task moving up to `toMove` messages as `request` asks. */
export function newMoveTask(request: MoveTaskRequest, toMove: number): MoveTask {
  const { sourceArn, destinationArn, maxNumberOfMessagesPerSecond: rate } = request;
  return {
    // The handle encodes the task id and the source ARN, as AWS's does (base64 JSON in LocalStack's tests).
    TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
    Status: 'RUNNING',
    SourceArn: sourceArn,
    ...(destinationArn !== undefined ? { DestinationArn: destinationArn } : {}),
    ApproximateNumberOfMessagesMoved: 0,
    ApproximateNumberOfMessagesToMove: toMove,
    ...(rate !== undefined ? { MaxNumberOfMessagesPerSecond: rate } : {}),
    StartedTimestamp: Date.now(),
  };
}

/** Every move task started since the local cloud started, oldest first (tasks are never forgotten). */
export class MoveTasks {
  readonly #tasks: MoveTask[] = [];

  add(task: MoveTask): void {
    this.#tasks.push(task);
  }

  /** Whether a task from `sourceArn` is still running (AWS allows one per source queue). */
  isRunning(sourceArn: string): boolean {
    return this.#tasks.some((t) => t.SourceArn === sourceArn && t.Status === 'RUNNING');
  }

  /**
   * Up to `max` tasks from `sourceArn`, newest first, as `ListMessageMoveTasks` lists them: the `TaskHandle`
   * "is only populated for tasks that are in RUNNING status" (API_ListMessageMoveTasksResultEntry; recorded on
   * AWS in LocalStack's tests/aws/services/sqs/test_sqs_move_task.snapshot.json, test_move_task_cancel).
   */
  from(sourceArn: string, max: number): MoveTaskEntry[] {
    return this.#tasks
      .filter((t) => t.SourceArn === sourceArn)
      .reverse()
      .slice(0, max)
      .map(({ TaskHandle, ...rest }) => (rest.Status === 'RUNNING' ? { TaskHandle, ...rest } : rest));
  }

  byHandle(handle: unknown): MoveTask | undefined {
    return this.#tasks.find((t) => t.TaskHandle === handle);
  }
}
