import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';

// The local cloud has no list of resources of its own: whatever the CDK app synthesizes, it runs.
let cloud: TestCloud | undefined;
afterEach(async () => {
  await cloud?.stop();
  cloud = undefined;
});

async function start(extra: boolean) {
  cloud = await startTestCloud({
    app: 'test/integration/fixtures/mini-app.ts',
    context: { extra: String(extra) },
  });
  const sqs = new SQSClient({
    region: cloud.region,
    endpoint: cloud.urls.aws,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  return { cloud, queues: QueueUrls };
}

describe('a route or queue added in CDK appears locally with no change under local/', () => {
  it('runs the fixture stack as synthesized', async () => {
    const { cloud, queues } = await start(false);
    expect(queues).toHaveLength(1);
    const response = await fetch(`${cloud.urls.api}/echo`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { resource: string; queues: Record<string, string> };
    expect(body.resource).toBe('/echo');
    expect(Object.values(body.queues)).toEqual(queues);
    expect((await fetch(`${cloud.urls.api}/hello/world`, { method: 'POST' })).status).toBe(403);
  });

  it('picks up the added queue, route, path parameter and environment variable', async () => {
    const { cloud, queues } = await start(true);
    expect(queues).toHaveLength(2);
    const response = await fetch(`${cloud.urls.api}/hello/world%20wide`, { method: 'POST', body: 'hi' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      resource: string;
      pathParameters: Record<string, string>;
      body: string;
      queues: Record<string, string>;
    };
    expect(body).toMatchObject({
      resource: '/hello/{name}',
      // REST APIs hand path parameters on as sent, percent-encoding and all (recorded on AWS: LocalStack's
      // tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json, invocation-payload-with-path-encoded-email).
      pathParameters: { name: 'world%20wide' },
      body: 'hi',
    });
    expect(Object.keys(body.queues).sort()).toEqual(['JOBS_QUEUE_URL', 'MORE_QUEUE_URL']);
    expect(Object.values(body.queues).sort()).toEqual([...queues].sort());
  });
});
