import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { awsCli } from '#test/support/aws-cli.ts';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

// Issue 12, gap 1: a key disabled or deleted with the AWS CLI (`aws apigateway …`, the same commands as on
// AWS) can no longer upload, list or delete; the delete token keeps working without any key.

let cloud: TestCloud;
let dataDir: string;
/** `aws apigateway <args>` against the local cloud, its JSON output parsed. */
let aws: (...args: string[]) => Promise<{
  code: number;
  json: Record<string, unknown> & { items?: Record<string, unknown>[] };
  stderr: string;
}>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pictura-keys-'));
  cloud = await startTestCloud({ dataDir: join(dataDir, 'data') });
  aws = async (...args) => {
    const run = await awsCli(['apigateway', ...args], { endpoint: cloud.urls.aws, maxAttempts: 1 });
    return { code: run.code, json: run.stdout.trim() ? JSON.parse(run.stdout) : {}, stderr: run.stderr };
  };
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The template's INVALID_API_KEY answer (the API reshapes API Gateway's 403 into its own problem). */
function invalidKeyStatus(): number {
  return cloud.model.api?.gatewayResponses.INVALID_API_KEY?.statusCode ?? 403;
}

async function expectRefused(response: Promise<{ status: number; body: unknown }>) {
  const { status, body } = await response;
  expect(status).toBe(invalidKeyStatus());
  expect((body as { code?: string }).code).toBe('API_KEY_REQUIRED');
}

async function newKeyInPlan(value: string): Promise<string> {
  const created = await aws(
    'create-api-key',
    '--name',
    `key-${value.slice(0, 6)}`,
    '--value',
    value,
    '--enabled',
  );
  expect(created.code).toBe(0);
  const id = String(created.json.id);
  const plans = await aws('get-usage-plans');
  const planId = String(plans.json.items?.[0]?.id);
  expect(
    (await aws('create-usage-plan-key', '--usage-plan-id', planId, '--key-id', id, '--key-type', 'API_KEY'))
      .code,
  ).toBe(0);
  return id;
}

describe('API keys managed with the AWS CLI', () => {
  it('a new key works only once it is in the usage plan, as on AWS', async () => {
    const value = 'pk_cli_newkey_0123456789abcdef';
    const created = await aws('create-api-key', '--name', 'app-1', '--value', value, '--enabled');
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ name: 'app-1', value, enabled: true });
    const client = new PicturaClient(cloud.urls.api ?? '', value);
    await expectRefused(client.presign('image/png', 100));
    const plans = await aws('get-usage-plans');
    expect(plans.json.items?.[0]).toMatchObject({ name: 'pictura-default' });
    const planId = String(plans.json.items?.[0]?.id);
    const added = await aws(
      'create-usage-plan-key',
      '--usage-plan-id',
      planId,
      '--key-id',
      String(created.json.id),
      '--key-type',
      'API_KEY',
    );
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ id: created.json.id, type: 'API_KEY' });
    expect((await client.presign('image/png', 100)).status).toBe(201);
  });

  it('a disabled key can no longer upload, list or delete; re-enabled it can; deleted it cannot', async () => {
    const value = 'pk_cli_revoked_0123456789abcdef';
    const id = await newKeyInPlan(value);
    const client = new PicturaClient(cloud.urls.api ?? '', value);
    const first = await client.presign('image/png', 100);
    expect(first.status).toBe(201);
    const second = await client.presign('image/png', 100);
    expect((await client.list()).body.items.map((i) => i.id)).toEqual(
      expect.arrayContaining([first.body.id]),
    );

    const listed = await aws('get-api-keys', '--include-values');
    expect(listed.json.items?.find((k) => k.id === id)).toMatchObject({ value, enabled: true });
    const disabled = await aws(
      'update-api-key',
      '--api-key',
      id,
      '--patch-operations',
      'op=replace,path=/enabled,value=false',
    );
    expect(disabled.code).toBe(0);
    expect(disabled.json).toMatchObject({ id, enabled: false });

    await expectRefused(client.presign('image/png', 100));
    await expectRefused(client.list());
    await expectRefused(client.delete(first.body.id));
    // The image is still there: the refused delete did nothing.
    expect((await client.get(first.body.id)).status).toBe(200);

    await aws('update-api-key', '--api-key', id, '--patch-operations', 'op=replace,path=/enabled,value=true');
    expect((await client.delete(first.body.id)).status).toBe(202);

    expect((await aws('delete-api-key', '--api-key', id)).code).toBe(0);
    await expectRefused(client.presign('image/png', 100));
    await expectRefused(client.list());
    await expectRefused(client.delete(second.body.id));
    const gone = await aws('get-api-key', '--api-key', id);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFoundException');
  });

  it('the token route works without a key; a wrong token is 403; another key gets 404', async () => {
    const owner = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
    const other = new PicturaClient(cloud.urls.api ?? '', 'pk_cli_otherkey_0123456789abcdef');
    await newKeyInPlan('pk_cli_otherkey_0123456789abcdef');
    const image = await owner.presign('image/png', 100);
    const wrong = await owner.delete(image.body.id, 'not-the-token-at-all');
    expect(wrong.status).toBe(403);
    expect((wrong.body as unknown as { code: string }).code).toBe('INVALID_DELETE_TOKEN');
    const foreign = await other.delete(image.body.id);
    expect(foreign.status).toBe(404);
    expect((foreign.body as unknown as { code: string }).code).toBe('IMAGE_NOT_FOUND');
    // No key at all on the token route: a bearer token is the whole credential.
    const keyless = new PicturaClient(cloud.urls.api ?? '', '');
    expect((await keyless.delete(image.body.id, image.body.deleteToken)).status).toBe(202);
    expect((await owner.get(image.body.id)).status).toBe(404);
    expect(image.body.links).toMatchObject({
      delete: expect.stringMatching(new RegExp(`/v1/images/${image.body.id}/token$`)),
    });
  });

  it('keeps keys in the data folder, 0600, and the template key still works', async () => {
    const file = join(dataDir, 'data', 'api-keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { value: string; enabled?: boolean }[];
    expect(saved.map((k) => k.value)).toEqual(
      expect.arrayContaining([cloud.apiKey, 'pk_cli_newkey_0123456789abcdef']),
    );
    expect(saved.map((k) => k.value)).not.toContain('pk_cli_revoked_0123456789abcdef');
    expect((await new PicturaClient(cloud.urls.api ?? '', cloud.apiKey).list()).status).toBe(200);
  });
});
