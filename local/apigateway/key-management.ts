import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { AwsApiError, BodyTooLargeError, readBody, requestUrl, sendJson } from '../http-util.ts';
import { type ApiKey, type ApiKeyStore, MIN_API_KEY_LENGTH } from './api-keys.ts';

/** A usage plan as the template declares it (https://docs.aws.amazon.com/apigateway/latest/api/API_UsagePlan.html). */
export interface ManagedUsagePlan {
  id: string;
  name: string;
  throttle?: { rateLimit: number; burstLimit: number };
  quota?: { limit: number; period: string; offset: number };
  /** The API stages the plan covers (`ApiStages` of the template's `AWS::ApiGateway::UsagePlan`). */
  apiStages?: readonly { apiId: string; stage: string }[];
}

/** An API Gateway error: its type goes in `x-amzn-ErrorType`, its message in the body's `message`. */
export class ApiGatewayError extends AwsApiError {}

// Messages as API Gateway words them (as moto reproduces them: getmoto/moto moto/apigateway/exceptions.py).
const keyNotFound = () =>
  new ApiGatewayError(404, 'NotFoundException', 'Invalid API Key identifier specified');
const planNotFound = () => new ApiGatewayError(404, 'NotFoundException', 'Invalid Usage Plan ID specified');
const badRequest = (message: string) => new ApiGatewayError(400, 'BadRequestException', message);

/** Key management requests are small JSON documents; anything larger is not one. */
// Lists go out under `item` (the wire name of `items` in API Gateway's model, as botocore's service model
// has it: `"items": {"locationName": "item"}`); the CLI prints them as `items`.
const BODY_LIMIT = 64 * 1024;

/**
 * The API Gateway key calls the AWS CLI makes (REST-JSON, https://docs.aws.amazon.com/apigateway/latest/api/):
 * `CreateApiKey` (POST /apikeys), `GetApiKeys` (GET /apikeys, `includeValues`, `nameQuery`), `GetApiKey`
 * (GET /apikeys/{id}, `includeValue`), `UpdateApiKey` (PATCH /apikeys/{id}: replace `/enabled`, `/name`,
 * `/description`), `DeleteApiKey` (DELETE /apikeys/{id}, 202), `GetUsagePlans` (GET /usageplans, `keyId`),
 * `GetUsagePlan`, `CreateUsagePlanKey` (POST /usageplans/{id}/keys, 201), `GetUsagePlanKeys` and
 * `DeleteUsagePlanKey`. Only requests signed for the `apigateway` service are taken (the SigV4 scope in
 * `Authorization`), so an S3 bucket named `apikeys` still reaches S3. Changes apply to the next API request,
 * where AWS takes a few seconds to propagate them.
 */
export function apiKeyManagementRoute(
  store: ApiKeyStore,
  plans: readonly ManagedUsagePlan[],
  log: (line: string) => void,
): EdgeRoute {
  return (req, res) => {
    const url = requestUrl(req);
    if (!url || !/^\/(apikeys|usageplans)(\/|$)/.test(url.pathname)) return false;
    if (!/\/apigateway\/aws4_request/.test(String(req.headers.authorization ?? ''))) return false;
    handle(store, plans, req, url)
      .then(({ status, body }) =>
        body === undefined ? res.writeHead(status).end() : sendJson(res, status, body),
      )
      .catch((error: Error) => sendError(res, error, log));
    return true;
  };
}

function sendError(res: ServerResponse, error: Error, log: (line: string) => void): void {
  if (res.headersSent) {
    res.end();
  } else if (error instanceof ApiGatewayError) {
    sendJson(res, error.status, { message: error.message }, { 'x-amzn-errortype': error.errorType });
  } else if (error instanceof BodyTooLargeError) {
    sendJson(res, 413, { message: 'Request too large' }, { 'x-amzn-errortype': 'BadRequestException' });
  } else {
    log(`apigateway keys: ${error.message}`);
    sendJson(res, 500, { message: 'Internal server error' }, { 'x-amzn-errortype': 'ServiceException' });
  }
}

interface Answer {
  status: number;
  body?: unknown;
}

/** The request's JSON object body (`{}` when empty); anything else is a 400. */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req, BODY_LIMIT)).toString('utf8');
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('Invalid JSON body');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('Invalid JSON body');
  return parsed as Record<string, unknown>;
}

function segments(pathname: string): string[] {
  try {
    return pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    throw badRequest('Invalid path');
  }
}

async function handle(
  store: ApiKeyStore,
  plans: readonly ManagedUsagePlan[],
  req: IncomingMessage,
  url: URL,
): Promise<Answer> {
  const [collection, id, sub, subId, ...rest] = segments(url.pathname);
  const method = req.method ?? 'GET';
  if (rest.length > 0) throw new ApiGatewayError(404, 'NotFoundException', 'Invalid path');
  const query = url.searchParams;
  if (collection === 'apikeys' && !sub) {
    if (!id && method === 'POST')
      return { status: 201, body: shape(createKey(store, await jsonBody(req)), true) };
    if (!id && method === 'GET') return { status: 200, body: listKeys(store, query) };
    if (id && method === 'GET')
      return { status: 200, body: shape(requireKey(store, id), query.get('includeValue') === 'true') };
    if (id && method === 'PATCH')
      return { status: 200, body: shape(updateKey(store, id, await jsonBody(req)), false) };
    if (id && method === 'DELETE') {
      if (!store.remove(id)) throw keyNotFound();
      return { status: 202 };
    }
  }
  if (collection === 'usageplans') {
    if (!id && method === 'GET') return { status: 200, body: listPlans(store, plans, query) };
    const plan = plans.find((p) => p.id === id);
    if (!plan) throw planNotFound();
    if (!sub && method === 'GET') return { status: 200, body: planShape(plan) };
    if (sub === 'keys') return planKeys(store, plan, method, subId, req);
  }
  throw badRequest(`The local cloud does not implement ${method} ${url.pathname}`);
}

function requireKey(store: ApiKeyStore, id: string): ApiKey {
  const key = store.get(id);
  if (!key) throw keyNotFound();
  return key;
}

/** The ApiKey resource; `value` only when asked for (https://docs.aws.amazon.com/apigateway/latest/api/API_GetApiKey.html). */
function shape(key: ApiKey, withValue: boolean) {
  return {
    id: key.id,
    ...(withValue ? { value: key.value } : {}),
    name: key.name ?? key.id,
    ...(key.description !== undefined ? { description: key.description } : {}),
    enabled: key.enabled !== false,
    createdDate: key.createdDate ?? 0,
    lastUpdatedDate: key.lastUpdatedDate ?? key.createdDate ?? 0,
    stageKeys: [],
    tags: {},
  };
}

const now = () => Math.floor(Date.now() / 1000);

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`Invalid ${field}`);
  if (value.length > 1024) throw badRequest(`${field} is too long`);
  return value;
}

/**
 * CreateApiKey: `enabled` defaults to false and a `value` shorter than 20 characters is a 400, as on AWS
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html); without a value one is generated.
 */
function createKey(store: ApiKeyStore, body: Record<string, unknown>): ApiKey {
  const value = optionalString(body, 'value') ?? randomBytes(30).toString('base64url').slice(0, 40);
  if (value.length < MIN_API_KEY_LENGTH) throw badRequest('API Key value should be at least 20 characters');
  if (value.length > 128 || /[^\x21-\x7e]/.test(value)) throw badRequest('Invalid API Key value');
  if (store.list().some((key) => key.value === value))
    throw new ApiGatewayError(409, 'ConflictException', 'API Key already exists');
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw badRequest('Invalid enabled');
  const name = optionalString(body, 'name');
  const description = optionalString(body, 'description');
  const created = now();
  const key: ApiKey = {
    id: `local-${randomBytes(5).toString('hex')}`,
    value,
    ...(name !== undefined ? { name } : {}),
    ...(description !== undefined ? { description } : {}),
    enabled: body.enabled === true,
    createdDate: created,
    lastUpdatedDate: created,
    // A new key is in no usage plan until CreateUsagePlanKey puts it there.
    usagePlanIds: [],
  };
  store.put(key);
  return key;
}

/** GetApiKeys: every key, names filtered by the `name` prefix, values with `includeValues=true`. */
function listKeys(store: ApiKeyStore, query: URLSearchParams) {
  const prefix = query.get('name') ?? '';
  const withValues = query.get('includeValues') === 'true';
  const items = store
    .list()
    .filter((key) => (key.name ?? key.id).startsWith(prefix))
    .map((key) => shape(key, withValues));
  return { item: items };
}

/**
 * UpdateApiKey: `replace` of `/enabled` ("true"/"false"), `/name` or `/description`
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateApiKey.html, PatchOperation); anything else 400.
 */
function updateKey(store: ApiKeyStore, id: string, body: Record<string, unknown>): ApiKey {
  const key = { ...requireKey(store, id) };
  const operations = body.patchOperations ?? [];
  if (!Array.isArray(operations) || operations.length > 50) throw badRequest('Invalid patch operations');
  for (const raw of operations as unknown[]) {
    const { op, path, value } = (raw ?? {}) as Record<string, unknown>;
    if (op !== 'replace') throw badRequest(`Invalid patch operation specified. Must be one of: [replace]`);
    if (value !== undefined && typeof value !== 'string') throw badRequest('Invalid patch value');
    if (path === '/enabled') {
      if (value !== 'true' && value !== 'false')
        throw badRequest(`Invalid value for /enabled: ${String(value).slice(0, 20)}`);
      key.enabled = value === 'true';
    } else if (path === '/name' || path === '/description') {
      if (value === undefined || value.length > 1024) throw badRequest(`Invalid value for ${path}`);
      if (path === '/name') key.name = value;
      else key.description = value;
    } else {
      throw badRequest(`Invalid patch path ${String(path).slice(0, 100)}`);
    }
  }
  key.lastUpdatedDate = now();
  store.put(key);
  return key;
}

/** The UsagePlan resource (https://docs.aws.amazon.com/apigateway/latest/api/API_UsagePlan.html). */
function planShape(plan: ManagedUsagePlan) {
  return {
    id: plan.id,
    name: plan.name,
    apiStages: (plan.apiStages ?? []).map(({ apiId, stage }) => ({ apiId, stage })),
    ...(plan.throttle ? { throttle: plan.throttle } : {}),
    ...(plan.quota ? { quota: plan.quota } : {}),
  };
}

/** GetUsagePlans: the template's plans, or only those holding `keyId`. */
function listPlans(store: ApiKeyStore, plans: readonly ManagedUsagePlan[], query: URLSearchParams) {
  const keyId = query.get('keyId');
  const key = keyId === null ? undefined : requireKey(store, keyId);
  const items = plans.filter((plan) => !key || store.plansOf(key).includes(plan.id)).map(planShape);
  return { item: items };
}

/** The UsagePlanKey resource (https://docs.aws.amazon.com/apigateway/latest/api/API_UsagePlanKey.html). */
const usagePlanKey = (key: ApiKey) => ({
  id: key.id,
  type: 'API_KEY',
  value: key.value,
  name: key.name ?? key.id,
});

/** CreateUsagePlanKey (201), GetUsagePlanKeys, GetUsagePlanKey and DeleteUsagePlanKey (202). */
async function planKeys(
  store: ApiKeyStore,
  plan: ManagedUsagePlan,
  method: string,
  keyId: string | undefined,
  req: IncomingMessage,
): Promise<Answer> {
  const inPlan = (key: ApiKey) => store.plansOf(key).includes(plan.id);
  if (!keyId && method === 'GET')
    return { status: 200, body: { item: store.list().filter(inPlan).map(usagePlanKey) } };
  if (!keyId && method === 'POST') {
    const body = await jsonBody(req);
    if (body.keyType !== 'API_KEY') throw badRequest('Invalid keyType: must be API_KEY');
    const key = requireKey(store, String(body.keyId ?? ''));
    if (inPlan(key))
      throw new ApiGatewayError(
        409,
        'ConflictException',
        `Usage Plan ${plan.id} already has API Key ${key.id}`,
      );
    store.put({ ...key, usagePlanIds: [...store.plansOf(key), plan.id], lastUpdatedDate: now() });
    return { status: 201, body: usagePlanKey(key) };
  }
  if (keyId) {
    const key = requireKey(store, keyId);
    if (!inPlan(key)) throw planNotFound();
    if (method === 'GET') return { status: 200, body: usagePlanKey(key) };
    if (method === 'DELETE') {
      store.put({ ...key, usagePlanIds: store.plansOf(key).filter((p) => p !== plan.id) });
      return { status: 202 };
    }
  }
  throw badRequest(`The local cloud does not implement ${method} on usage plan keys`);
}
