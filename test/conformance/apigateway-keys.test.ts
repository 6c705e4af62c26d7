import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, loadApiKeys } from '#local/apigateway/api-keys.ts';
import { apiKeyManagementRoute, type ManagedUsagePlan } from '#local/apigateway/key-management.ts';
import { apiRequestHandler } from '#local/apigateway/server.ts';
import type { FunctionRuntime } from '#local/lambda/runtime/function-runtime.ts';
import type { LocalApi } from '#local/template/stack-model.ts';
import { awsCli } from '#test/support/aws-cli.ts';

// The local API Gateway key calls held to AWS's API reference (https://docs.aws.amazon.com/apigateway/latest/api/,
// one page per call, cited below) through the AWS CLI v1, and the error texts API Gateway gives, as moto
// reproduces them (getmoto/moto, moto/apigateway/exceptions.py: ApiKeyNotFoundException "Invalid API Key
// identifier specified", UsagePlanNotFoundException "Invalid Usage Plan ID specified", ApiKeyValueMinLength
// "API Key value should be at least 20 characters"). The gateway side: a key that is disabled, unknown or in no
// usage plan of the stage gets INVALID_API_KEY, 403 "Forbidden" by default
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).

const PLAN: ManagedUsagePlan = {
  id: 'plan1',
  name: 'default',
  throttle: { rateLimit: 25, burstLimit: 50 },
  quota: { limit: 1000, period: 'MONTH', offset: 0 },
  apiStages: [{ apiId: 'a1b2c3d4e5', stage: 'prod' }],
};
const TEMPLATE_KEY = { id: 'local-template', value: 'pk_template_key_0123456789' };
const api: LocalApi = {
  restApiId: 'a1b2c3d4e5',
  name: 'keys',
  stage: 'prod',
  binaryMediaTypes: [],
  usesApiKeys: true,
  gatewayResponses: {},
  routes: [
    {
      method: 'GET',
      resource: '/keyed',
      pattern: /^\/keyed\/?$/,
      parameterNames: [],
      apiKeyRequired: true,
      mock: { statusCode: 200, headers: {} },
    },
  ],
};

let folder: string;
let store: ApiKeyStore;
let servers: Server[] = [];
let awsUrl: string;
let apiUrl: string;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'pictura-apigw-keys-'));
  store = new ApiKeyStore([TEMPLATE_KEY], {
    usagePlanIds: [PLAN.id],
    stateFile: join(folder, 'api-keys.json'),
  });
  const route = apiKeyManagementRoute(store, [PLAN], () => {});
  // What the edge does after its own routes: anything a route does not take goes on (here: 404 "not taken").
  awsUrl = await listen((req, res) => {
    if (!route(req, res)) res.writeHead(404, { 'x-not-taken': '1' }).end();
  });
  apiUrl = await listen(
    apiRequestHandler({ api, runtime: {} as FunctionRuntime, keys: store, log: () => {} }),
  );
});
afterAll(async () => {
  for (const server of servers) server.close();
  servers = [];
  rmSync(folder, { recursive: true, force: true });
});

async function aws(...args: string[]) {
  const run = await awsCli(['apigateway', ...args], { endpoint: awsUrl, maxAttempts: 1 });
  return { ...run, json: run.code === 0 && run.stdout.trim() ? JSON.parse(run.stdout) : {} };
}
/** CreateUsagePlanKey (API_CreateUsagePlanKey.html): puts an API key in a usage plan (the stack's by default). */
const createUsagePlanKey = (keyId: string, planId = PLAN.id) =>
  aws('create-usage-plan-key', '--usage-plan-id', planId, '--key-id', keyId, '--key-type', 'API_KEY');
const gateway = (key: string) => fetch(`${apiUrl}/keyed`, { headers: { 'x-api-key': key } });

describe('CreateApiKey (https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html)', () => {
  it('is 201 with the ApiKey resource; enabled is false unless asked for', async () => {
    const created = await aws('create-api-key', '--name', 'off', '--value', 'pk_disabled_by_default_01');
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ name: 'off', value: 'pk_disabled_by_default_01', enabled: false });
    expect(typeof created.json.id).toBe('string');
    // Epoch seconds on the wire (rest-json timestamps), which the CLI v1 prints as they came.
    expect(created.json.createdDate).toBeGreaterThan(1.7e9);
    const enabled = await aws('create-api-key', '--name', 'on', '--enabled');
    expect(enabled.json.enabled).toBe(true);
    // Generated when not given: long enough to be a key.
    expect(String(enabled.json.value).length).toBeGreaterThanOrEqual(20);
  });

  it.each([
    ['19 characters', 'a'.repeat(19), 'API Key value should be at least 20 characters'],
    ['a space inside', 'pk_with a space_0123456789', 'Invalid API Key value'],
    ['over 128 characters', 'k'.repeat(129), 'Invalid API Key value'],
  ])('refuses a value of %s with BadRequestException', async (_label, value, message) => {
    const refused = await aws('create-api-key', '--value', value);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('(BadRequestException)');
    expect(refused.stderr).toContain(message);
  });

  it('refuses a value another key has with ConflictException', async () => {
    const refused = await aws('create-api-key', '--value', TEMPLATE_KEY.value);
    expect(refused.stderr).toContain('(ConflictException)');
  });
});

describe('GetApiKeys, GetApiKey (API_GetApiKeys.html, API_GetApiKey.html)', () => {
  it('lists without values unless includeValues; filters by name prefix', async () => {
    const plain = await aws('get-api-keys');
    expect(plain.json.items.length).toBeGreaterThanOrEqual(3);
    for (const key of plain.json.items) expect(key.value).toBeUndefined();
    const withValues = await aws('get-api-keys', '--include-values', '--name-query', 'of');
    expect(withValues.json.items).toEqual([
      expect.objectContaining({ name: 'off', value: 'pk_disabled_by_default_01' }),
    ]);
  });

  it('gets one key, its value only with includeValue; an unknown id is NotFoundException', async () => {
    const one = await aws('get-api-key', '--api-key', TEMPLATE_KEY.id);
    expect(one.json).toMatchObject({ id: TEMPLATE_KEY.id, enabled: true });
    expect(one.json.value).toBeUndefined();
    expect((await aws('get-api-key', '--api-key', TEMPLATE_KEY.id, '--include-value')).json.value).toBe(
      TEMPLATE_KEY.value,
    );
    const missing = await aws('get-api-key', '--api-key', 'nope');
    expect(missing.stderr).toContain('(NotFoundException)');
    expect(missing.stderr).toContain('Invalid API Key identifier specified');
  });
});

describe('UpdateApiKey (API_UpdateApiKey.html, PatchOperation)', () => {
  it('replaces /enabled and /name; the gateway follows at once', async () => {
    const id = String(
      (await aws('create-api-key', '--name', 'flip', '--value', 'pk_flip_key_0123456789ab', '--enabled')).json
        .id,
    );
    await createUsagePlanKey(id);
    expect((await gateway('pk_flip_key_0123456789ab')).status).toBe(200);
    const updated = await aws(
      'update-api-key',
      '--api-key',
      id,
      '--patch-operations',
      'op=replace,path=/enabled,value=false',
      'op=replace,path=/name,value=renamed',
    );
    expect(updated.json).toMatchObject({ id, name: 'renamed', enabled: false });
    const refused = await gateway('pk_flip_key_0123456789ab');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: 'Forbidden' });
    expect(refused.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
  });

  it.each([
    ['an unknown path', 'op=replace,path=/value,value=pk_new_value_0123456789', 'Invalid patch path'],
    ['an op other than replace', 'op=remove,path=/name', 'Must be one of: [replace]'],
    ['enabled that is no boolean', 'op=replace,path=/enabled,value=yes', 'Invalid value for /enabled'],
  ])('refuses %s with BadRequestException', async (_label, operation, message) => {
    const refused = await aws(
      'update-api-key',
      '--api-key',
      TEMPLATE_KEY.id,
      '--patch-operations',
      operation,
    );
    expect(refused.stderr).toContain('(BadRequestException)');
    expect(refused.stderr).toContain(message);
    expect((await gateway(TEMPLATE_KEY.value)).status).toBe(200);
  });
});

describe('usage plans (API_GetUsagePlans.html, API_CreateUsagePlanKey.html)', () => {
  // GetUsagePlans returns each UsagePlan with `apiStages`, "the associated API stages of a usage plan", each
  // an ApiStage `{apiId, stage}` (https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsagePlans.html,
  // https://docs.aws.amazon.com/apigateway/latest/api/API_UsagePlan.html, API_ApiStage.html).
  it('lists the stages each plan covers, as {apiId, stage}', async () => {
    const plans = await aws('get-usage-plans');
    expect(plans.json.items).toEqual([
      expect.objectContaining({ apiStages: [{ apiId: 'a1b2c3d4e5', stage: 'prod' }] }),
    ]);
    expect((await aws('get-usage-plan', '--usage-plan-id', PLAN.id)).json.apiStages).toEqual([
      { apiId: 'a1b2c3d4e5', stage: 'prod' },
    ]);
  });

  it('lists the template plan with its throttle and quota, and by keyId', async () => {
    const plans = await aws('get-usage-plans');
    expect(plans.json.items).toEqual([
      expect.objectContaining({ id: PLAN.id, name: 'default', throttle: PLAN.throttle }),
    ]);
    expect((await aws('get-usage-plans', '--key-id', TEMPLATE_KEY.id)).json.items).toHaveLength(1);
    const orphan = String(
      (await aws('create-api-key', '--value', 'pk_orphan_key_0123456789', '--enabled')).json.id,
    );
    expect((await aws('get-usage-plans', '--key-id', orphan)).json.items).toEqual([]);
  });

  it('an enabled key in no plan is refused by the gateway until it is added; twice is ConflictException', async () => {
    const value = 'pk_planless_0123456789ab';
    const id = String((await aws('create-api-key', '--value', value, '--enabled')).json.id);
    expect((await gateway(value)).status).toBe(403);
    const added = await createUsagePlanKey(id);
    expect(added.json).toEqual({ id, type: 'API_KEY', value, name: id });
    expect((await gateway(value)).status).toBe(200);
    const again = await createUsagePlanKey(id);
    expect(again.stderr).toContain('(ConflictException)');
    const keys = await aws('get-usage-plan-keys', '--usage-plan-id', PLAN.id);
    expect(keys.json.items.map((k: { id: string }) => k.id)).toEqual(
      expect.arrayContaining([TEMPLATE_KEY.id, id]),
    );
  });

  it('an unknown plan or key is NotFoundException', async () => {
    const noPlan = await createUsagePlanKey(TEMPLATE_KEY.id, 'nope');
    expect(noPlan.stderr).toContain('Invalid Usage Plan ID specified');
    const noKey = await createUsagePlanKey('nope');
    expect(noKey.stderr).toContain('Invalid API Key identifier specified');
  });
});

describe('DeleteApiKey (API_DeleteApiKey.html)', () => {
  it('is 202; the key is refused at once and gone from the list; again is NotFoundException', async () => {
    const value = 'pk_deleted_key_0123456789';
    const id = String((await aws('create-api-key', '--value', value, '--enabled')).json.id);
    await createUsagePlanKey(id);
    expect((await gateway(value)).status).toBe(200);
    expect((await aws('delete-api-key', '--api-key', id)).code).toBe(0);
    expect((await gateway(value)).status).toBe(403);
    expect((await aws('get-api-keys')).json.items.map((k: { id: string }) => k.id)).not.toContain(id);
    expect((await aws('delete-api-key', '--api-key', id)).stderr).toContain('(NotFoundException)');
  });
});

describe('hostile requests', () => {
  const signed = {
    authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/apigateway/aws4_request',
  };

  it('leaves unsigned requests and other services alone (an S3 bucket named apikeys)', async () => {
    expect((await fetch(`${awsUrl}/apikeys`)).headers.get('x-not-taken')).toBe('1');
    const s3 = { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request' };
    expect((await fetch(`${awsUrl}/apikeys/x`, { headers: s3 })).headers.get('x-not-taken')).toBe('1');
  });

  it.each([
    ['not JSON', '{"name":'],
    ['a JSON array', '[]'],
    ['a non-string name', '{"name":5}'],
    ['a non-boolean enabled', '{"enabled":"true"}'],
  ])('answers a body that is %s with 400 BadRequestException', async (_label, body) => {
    const response = await fetch(`${awsUrl}/apikeys`, { method: 'POST', headers: signed, body });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
  });

  it('refuses a body over 64 KB with 413, and a bad percent-encoding with 400', async () => {
    const big = await fetch(`${awsUrl}/apikeys`, {
      method: 'POST',
      headers: signed,
      body: 'x'.repeat(70_000),
    });
    expect(big.status).toBe(413);
    const bad = await fetch(`${awsUrl}/apikeys/%E0%A4%A`, { headers: signed });
    expect(bad.status).toBe(400);
  });

  it('answers __proto__ and constructor as unknown keys', async () => {
    for (const id of ['__proto__', 'constructor', 'toString']) {
      const response = await fetch(`${awsUrl}/apikeys/${id}`, { headers: signed });
      expect(response.status).toBe(404);
    }
  });
});

describe('the key file', () => {
  it('holds every change, 0600, and reads back; the old {id, value} format is enabled and in the plans', () => {
    const file = join(folder, 'api-keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { value: string; enabled?: boolean }[];
    expect(saved.find((k) => k.value === 'pk_flip_key_0123456789ab')?.enabled).toBe(false);
    expect(saved.map((k) => k.value)).not.toContain('pk_deleted_key_0123456789');
    const legacy = join(folder, 'legacy.json');
    writeFileSync(legacy, JSON.stringify([TEMPLATE_KEY]));
    const reloaded = new ApiKeyStore(loadApiKeys(undefined, legacy), { usagePlanIds: [PLAN.id] });
    expect(reloaded.validate(TEMPLATE_KEY.value)?.id).toBe(TEMPLATE_KEY.id);
    expect(reloaded.validate('pk_unknown_key_0123456789')).toBeUndefined();
  });
});
