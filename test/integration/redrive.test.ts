import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdated,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PicturaClient } from '#test/support/api-client.ts';
import { orientedJpeg } from '#test/support/images.ts';
import { ROOT, startTestCloud, type TestCloud, waitFor } from '#test/support/local-cloud.ts';

// Issue 11: "a message parked in a DLQ shows on the image and comes back with npm run redrive", end to end
// through the local cloud: the render function is broken (its bucket renamed), so the render job fails on
// every receive until SQS moves it to the DLQ; the image must say so instead of staying `processing`; once
// the function is mended, the redrive tool moves the job back and the image becomes ready.
const run = promisify(execFile);
let cloud: TestCloud;
let lambda: LambdaClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  lambda = new LambdaClient({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 120_000);
afterAll(() => cloud?.stop());

async function setEnvironment(functionName: string, variables: Record<string, string>): Promise<void> {
  await lambda.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: functionName,
      Environment: { Variables: variables },
    }),
  );
  await waitUntilFunctionUpdated({ client: lambda, maxWaitTime: 30 }, { FunctionName: functionName });
}

describe('work that ends in a DLQ', () => {
  it('shows as failed on the image, and npm run redrive brings it back to ready', async () => {
    const thumbnail = cloud.model.functions.find((fn) => fn.label === 'thumbnail')?.name ?? '';
    const { Environment } = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: thumbnail }),
    );
    const deployed = Environment?.Variables ?? {};
    await setEnvironment(thumbnail, { ...deployed, BUCKET_NAME: 'pictura-no-such-bucket' });

    const client = new PicturaClient(cloud.urls.api ?? '', cloud.apiKey);
    const upload = await client.uploadDirect(await orientedJpeg(1), 'image/jpeg');
    expect(upload.status).toBe(202);
    const failed = await client.waitUntilSettled(upload.body.id, 90_000);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toMatchObject({ code: 'PROCESSING_FAILED', stage: 'render', retryable: true });
    expect(failed.variants).toEqual([]);

    await setEnvironment(thumbnail, deployed);
    const dry = await run(
      process.execPath,
      [join(ROOT, 'scripts/redrive.ts'), '--endpoint', cloud.urls.aws, '--queue', 'render', '--dry-run'],
      { cwd: ROOT },
    );
    expect(JSON.parse(dry.stdout)).toMatchObject({ queue: 'render', dryRun: true, waiting: 1 });
    const moved = await run(
      process.execPath,
      [join(ROOT, 'scripts/redrive.ts'), '--endpoint', cloud.urls.aws, '--queue', 'render'],
      { cwd: ROOT },
    );
    expect(JSON.parse(moved.stdout)).toMatchObject({ queue: 'render', status: 'COMPLETED', moved: 1 });

    // `failed` is where a polling client stops, so wait for the redriven job to move the image on.
    const ready = await waitFor(
      async () => {
        const { body } = await client.get(upload.body.id);
        return body.status === 'failed' || body.status === 'processing' ? undefined : body;
      },
      60_000,
      'the redriven render',
    );
    expect(ready.status).toBe('ready');
    expect(ready.failure).toBeUndefined();
    expect(ready.variants.map((v) => v.name).sort()).toEqual(['small', 'thumb']);
  });
});
