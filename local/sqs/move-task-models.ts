import { randomUUID } from 'node:crypto';

/** A message move task as `ListMessageMoveTasks` reports it (API_ListMessageMoveTasksResultEntry). */
export interface MoveTask {
  TaskHandle: string;
  Status: 'RUNNING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';
  SourceArn: string;
  DestinationArn?: string;
  ApproximateNumberOfMessagesMoved: number;
  ApproximateNumberOfMessagesToMove: number;
  StartedTimestamp: number;
  FailureReason?: string;
}

/** A new running task moving up to `toMove` messages from `sourceArn` (to `destinationArn` when given). */
export function newMoveTask(sourceArn: string, destinationArn: string | undefined, toMove: number): MoveTask {
  return {
    // The handle encodes the task id and the source ARN, as AWS's does (base64 JSON in LocalStack's tests).
    TaskHandle: Buffer.from(JSON.stringify({ taskId: randomUUID(), sourceArn })).toString('base64'),
    Status: 'RUNNING',
    SourceArn: sourceArn,
    ...(destinationArn !== undefined ? { DestinationArn: destinationArn } : {}),
    ApproximateNumberOfMessagesMoved: 0,
    ApproximateNumberOfMessagesToMove: toMove,
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

  /** Up to `max` tasks from `sourceArn`, newest first, as `ListMessageMoveTasks` lists them. */
  from(sourceArn: string, max: number): MoveTask[] {
    return this.#tasks
      .filter((t) => t.SourceArn === sourceArn)
      .reverse()
      .slice(0, max);
  }

  byHandle(handle: unknown): MoveTask | undefined {
    return this.#tasks.find((t) => t.TaskHandle === handle);
  }
}
