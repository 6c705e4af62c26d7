import { type ModelContext, type Properties, str } from './context.ts';

/** A token bucket's settings: `rateLimit` tokens per second refill a bucket of `burstLimit`. */
export interface LocalThrottle {
  rateLimit: number;
  burstLimit: number;
}

/** A usage plan's request quota per key: `limit` requests per `period`, `offset` fewer in the first one. */
export interface LocalQuota {
  limit: number;
  period: 'DAY' | 'WEEK' | 'MONTH';
  offset: number;
}

export interface LocalUsagePlan {
  /** `Ref` of the plan (its logical id locally). */
  id: string;
  name: string;
  /** Per-key throttle for the whole stage; absent = none. */
  throttle?: LocalThrottle;
  /** Per-key throttle of single methods, by `/<resource path>/<METHOD>` (the plan's `ApiStages[].Throttle`). */
  methodThrottles: Record<string, LocalThrottle>;
  quota?: LocalQuota;
  /** `Ref`s of the keys attached by `AWS::ApiGateway::UsagePlanKey`. */
  keyIds: string[];
  /** The plan's `ApiStages` as GetUsagePlans lists them: API id and stage name (a stage `Ref` resolved to its name). */
  apiStages: { apiId: string; stage: string }[];
}

/** A stage's method throttle setting (`MethodSettings[]`): `*` and `/*` match every method and path. */
export interface LocalMethodThrottle extends LocalThrottle {
  httpMethod: string;
  resourcePath: string;
}

/** What the local API throttles with: the stage's method settings and the usage plans of the stage. */
export interface LocalThrottling {
  methodSettings: LocalMethodThrottle[];
  usagePlans: LocalUsagePlan[];
}

/**
 * A `{ RateLimit, BurstLimit }` (usage plan) or `ThrottlingRateLimit`/`ThrottlingBurstLimit` pair (method
 * setting), or `undefined` when neither is set. A missing half is unlimited, as on AWS.
 */
export function throttleOf(rate: unknown, burst: unknown): LocalThrottle | undefined {
  if (rate === undefined && burst === undefined) return undefined;
  return {
    rateLimit: rate === undefined ? Number.POSITIVE_INFINITY : Number(rate),
    burstLimit: burst === undefined ? Number.POSITIVE_INFINITY : Number(burst),
  };
}

/** `/~1v1~1images` → `/v1/images` (the leading `/` is the setting's own; `/*` stays). */
function resourcePathOf(path: string): string {
  return path === '/*' ? path : path.slice(1).replaceAll('~1', '/');
}

/**
 * A stage's `MethodSettings` (or a deployment's `StageDescription.MethodSettings`) with a throttle; the
 * resource path unescaped (`/~1v1~1images` → `/v1/images`: a leading `/`, then the path with `/` as `~1`).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigateway-stage-methodsetting.html
 */
export function methodThrottles(settings: unknown): LocalMethodThrottle[] {
  const result: LocalMethodThrottle[] = [];
  for (const raw of Array.isArray(settings) ? (settings as Properties[]) : []) {
    const throttle = throttleOf(raw.ThrottlingRateLimit, raw.ThrottlingBurstLimit);
    if (!throttle) continue;
    result.push({
      httpMethod: str(raw.HttpMethod, '*').toUpperCase(),
      resourcePath: resourcePathOf(str(raw.ResourcePath, '/*')),
      ...throttle,
    });
  }
  return result;
}

/**
 * One `AWS::ApiGateway::UsagePlan`'s resolved properties, if an `ApiStages` entry names the stage (by name,
 * or by the `Ref` of its `AWS::ApiGateway::Stage`, which is its logical id locally): `Throttle`, `Quota` and the
 * `Throttle` map of its `ApiStages` entry for that stage (keys `/<path>/<METHOD>`).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-usageplan.html
 */
export function usagePlan(id: string, p: Properties, stageRefs: string[]): LocalUsagePlan | undefined {
  const apiStages = (p.ApiStages as Properties[] | undefined) ?? [];
  const entry = apiStages.find((s) => stageRefs.includes(str(s.Stage)));
  if (!entry) return undefined;
  const throttle = p.Throttle as Properties | undefined;
  const quota = p.Quota as Properties | undefined;
  const methodThrottles: Record<string, LocalThrottle> = {};
  for (const [path, t] of Object.entries((entry.Throttle ?? {}) as Record<string, Properties>)) {
    const parsed = throttleOf(t.RateLimit, t.BurstLimit);
    if (parsed) methodThrottles[path] = parsed;
  }
  // stageRefs[0] is the stage's name; a Ref to its AWS::ApiGateway::Stage is listed by that name, as on AWS.
  const stages = apiStages.map((s) => ({
    apiId: str(s.ApiId),
    stage: stageRefs.includes(str(s.Stage)) ? (stageRefs[0] ?? str(s.Stage)) : str(s.Stage),
  }));
  const plan: LocalUsagePlan = {
    id,
    name: str(p.UsagePlanName, id),
    methodThrottles,
    keyIds: [],
    apiStages: stages,
  };
  const planThrottle = throttle && throttleOf(throttle.RateLimit, throttle.BurstLimit);
  if (planThrottle) plan.throttle = planThrottle;
  if (quota?.Limit !== undefined) {
    const period = str(quota.Period, 'MONTH').toUpperCase();
    if (period !== 'DAY' && period !== 'WEEK' && period !== 'MONTH')
      throw new Error(`usage plan ${id}: quota period ${period} is not DAY, WEEK or MONTH`);
    plan.quota = { limit: Number(quota.Limit), period, offset: Number(quota.Offset ?? 0) };
  }
  return plan;
}

/**
 * The throttling of the stack's stage `stage`: the `MethodSettings` of its `AWS::ApiGateway::Stage` (or,
 * without one, of the deployment's `StageDescription`), and every usage plan covering the stage with the
 * keys its `AWS::ApiGateway::UsagePlanKey`s attach.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
 */
export function buildThrottling(context: ModelContext, stage: string): LocalThrottling {
  const stages = context
    .ofType('AWS::ApiGateway::Stage')
    .map(([logicalId, resource]) => ({
      ref: context.refOf(logicalId) || logicalId,
      p: context.properties(resource),
    }))
    .filter(({ p }) => str(p.StageName) === stage);
  const stageResource = stages[0]?.p;
  const stageRefs = [stage, ...stages.map(({ ref }) => ref)];
  const description = context
    .ofType('AWS::ApiGateway::Deployment')
    .map(([, resource]) => context.properties(resource))
    .find((p) => str(p.StageName) === stage)?.StageDescription as Properties | undefined;
  const methodSettings = methodThrottles((stageResource ?? description)?.MethodSettings);
  const plans = new Map<string, LocalUsagePlan>();
  for (const [logicalId, resource] of context.ofType('AWS::ApiGateway::UsagePlan')) {
    const id = context.refOf(logicalId) || logicalId;
    const plan = usagePlan(id, context.properties(resource), stageRefs);
    if (plan) plans.set(id, plan);
  }
  for (const [, resource] of context.ofType('AWS::ApiGateway::UsagePlanKey')) {
    const p = context.properties(resource);
    plans.get(str(p.UsagePlanId))?.keyIds.push(str(p.KeyId));
  }
  return { methodSettings, usagePlans: [...plans.values()] };
}
