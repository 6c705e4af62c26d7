import { type ModelContext, type Properties, str } from './context.ts';
import { functionNameOf } from './lambda.ts';
import { localName } from './names.ts';

/** A rule's schedule: `rate(...)` as a period, or a `cron(...)` expression the local cloud does not run. */
export type LocalScheduleExpression =
  | { kind: 'rate'; expression: string; periodMs: number }
  | { kind: 'cron'; expression: string };

/** One Lambda target of a scheduled rule. */
export interface LocalScheduleTarget {
  id: string;
  functionName: string;
  /** The target's constant `Input` (JSON text), which EventBridge sends instead of the event. */
  input?: string;
}

/** One `AWS::Events::Rule` with a `ScheduleExpression`. */
export interface LocalSchedule {
  logicalId: string;
  name: string;
  arn: string;
  schedule: LocalScheduleExpression;
  enabled: boolean;
  targets: LocalScheduleTarget[];
  /** Targets the local cloud does not run (not Lambda, or input paths and transformers), with why. */
  unsupported: string[];
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/**
 * Parses a rule's `ScheduleExpression`. `rate(value unit)`: a positive whole value, and the unit singular
 * for 1 and plural otherwise (`rate(1 minute)`, `rate(5 minutes)`), as EventBridge requires. `cron(...)` is
 * recognised and returned as such (the scheduler refuses it by name). Anything else throws.
 * See https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
export function parseScheduleExpression(expression: string): LocalScheduleExpression {
  if (/^cron\(.+\)$/.test(expression)) return { kind: 'cron', expression };
  const match = RATE.exec(expression);
  const value = Number(match?.[1]);
  const unit = match?.[2] ?? '';
  const singular = unit.endsWith('s') ? unit.slice(0, -1) : unit;
  if (!match || !Number.isSafeInteger(value) || value < 1 || (value === 1) !== (singular === unit)) {
    throw new Error(
      `ScheduleExpression "${expression}" is not rate(<n> <unit>) (minute/hour/day singular for 1, plural otherwise) or cron(...)`,
    );
  }
  return { kind: 'rate', expression, periodMs: value * (UNIT_MS[singular] ?? 0) };
}

function targetOf(target: Properties, unsupported: string[]): LocalScheduleTarget[] {
  const arn = str(target.Arn);
  const id = str(target.Id);
  if (!arn.startsWith('arn:aws:lambda:')) {
    unsupported.push(`target ${id} (${arn}) is not a Lambda function`);
    return [];
  }
  if (target.InputPath !== undefined || target.InputTransformer !== undefined) {
    unsupported.push(`target ${id} uses InputPath or InputTransformer`);
    return [];
  }
  const input = target.Input === undefined ? {} : { input: str(target.Input) };
  return [{ id, functionName: functionNameOf(arn), ...input }];
}

/**
 * The stack's scheduled rules (`AWS::Events::Rule` with a `ScheduleExpression`; rules on event patterns are
 * not run locally), with their Lambda targets. `State` other than `ENABLED` (the default) leaves a rule off.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-rule.html
 */
export function buildSchedules(context: ModelContext): LocalSchedule[] {
  const { region, accountId } = context.addresses;
  return context
    .ofType('AWS::Events::Rule')
    .map(([logicalId, resource]) => [logicalId, context.properties(resource)] as const)
    .filter(([, p]) => typeof p.ScheduleExpression === 'string')
    .map(([logicalId, p]) => {
      const name = typeof p.Name === 'string' ? p.Name : localName(context.stackName, logicalId, 64);
      const unsupported: string[] = [];
      const targets = ((p.Targets as Properties[] | undefined) ?? []).flatMap((t) =>
        targetOf(t, unsupported),
      );
      return {
        logicalId,
        name,
        arn: `arn:aws:events:${region}:${accountId}:rule/${name}`,
        schedule: parseScheduleExpression(str(p.ScheduleExpression)),
        enabled: str(p.State, 'ENABLED') === 'ENABLED',
        targets,
        unsupported,
      };
    });
}
