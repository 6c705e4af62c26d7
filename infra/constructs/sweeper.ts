import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * When the sweeper runs and what it counts as abandoned or stalled (handed to the function as `SWEEP_*`
 * variables; `shared/sweeper.ts` reads them). Each deadline is longer than the pipeline itself can take
 * to give up on a message, so the sweeper only picks up what the queues have let go of:
 *
 * - a `pending_upload` expires an hour after its form did (the form is valid 15 minutes; the hour covers
 *   an upload that began just before and an ingest that is retrying). The 24 h DynamoDB TTL stays as a
 *   backstop; the sweeper also removes the late bytes, which TTL never does.
 * - `uploaded`/`processing` untouched for an hour: ingest gives up after 5 receives of 6 minutes and render
 *   after 3 of 12 (visibility = 6 × the consumer's timeout), both within about 36 minutes.
 * - `deleting` untouched for two hours: purge gives up after 20 receives of 3 minutes, about an hour.
 */
export const SWEEPER_SETTINGS = {
  /** How often: the worst case for an abandoned upload is its deadline plus one period. */
  rate: Duration.minutes(15),
  pendingUploadGrace: Duration.hours(1),
  processingStalledAfter: Duration.hours(1),
  deletingStalledAfter: Duration.hours(2),
  /** Records handled per run at most; a backlog is worked through over successive runs. */
  maxRecordsPerRun: 500,
} as const;

export interface SweeperProps {
  /** The sweeper function (Functions.sweeper), with its permissions. */
  fn: IFunction;
}

/**
 * The sweeper's schedule: an EventBridge rule that invokes the function every {@link SWEEPER_SETTINGS}.rate
 * with EventBridge's Scheduled Event. A missed run is not worth retrying for a day (EventBridge's default):
 * the next one comes within a period, so delivery is retried twice within one period and then dropped.
 * See https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html
 */
export class Sweeper extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the Pictura sweeper: expires abandoned uploads, re-queues stalled work',
      schedule: Schedule.rate(SWEEPER_SETTINGS.rate),
      targets: [new LambdaFunction(props.fn, { retryAttempts: 2, maxEventAge: SWEEPER_SETTINGS.rate })],
    });
  }
}
