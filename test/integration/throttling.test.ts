import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCloud, type TestCloud } from '#test/support/local-cloud.ts';
import { expectOpenApiResponse } from '#test/support/openapi.ts';
import { FIXTURE_LIMITS } from './fixtures/throttle-app.ts';

// Throttling, quotas and the CDN's per-IP rule, emulated from the template: the fixture app uses Pictura's own
// Api and Waf constructs with limits small enough to reach (fixtures/throttle-app.ts).
// Statuses and bodies: the template's THROTTLED / QUOTA_EXCEEDED gateway responses (infra/constructs/api.ts);
// x-amzn-ErrorType: TooManyRequestsException / LimitExceededException (LocalStack's
// localstack/services/apigateway/next_gen/execute_api/gateway_response.py); messages "Too Many Requests" and
// "Limit Exceeded" (https://repost.aws/knowledge-center/api-gateway-429-limit).
let cloud: TestCloud;
let api: string;
/** Keyed requests that got through: the quota counts exactly these. */
let keyedAdmitted = 0;

beforeAll(async () => {
  cloud = await startTestCloud({ app: 'test/integration/fixtures/throttle-app.ts' });
  api = cloud.urls.api ?? '';
}, 120_000);
afterAll(() => cloud?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function keyedList(): Promise<Response> {
  const response = await fetch(`${api}/v1/images`, { headers: { 'x-api-key': cloud.apiKey } });
  if (response.status === 200) keyedAdmitted += 1;
  return response;
}

describe('the stage throttle', () => {
  it('throttles a burst on a public route over the stage burst, per method', async () => {
    const { burstLimit } = FIXTURE_LIMITS.stageThrottle;
    const responses = await Promise.all(
      Array.from({ length: burstLimit * 2 }, () => fetch(`${api}/v1/images/some-id`)),
    );
    const statuses = responses.map((r) => r.status);
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(burstLimit);
    expect(ok).toBeLessThan(burstLimit * 2);
    const throttled = responses.find((r) => r.status === 429);
    expect(throttled?.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    expect(throttled?.headers.get('retry-after')).toBe('1');
    const throttledBody = await throttled?.json();
    expect(throttledBody).toMatchObject({ status: 429, code: 'THROTTLED', detail: 'Too Many Requests' });
    expectOpenApiResponse('GET', '/v1/images/{id}', {
      status: 429,
      headers: throttled?.headers ?? {},
      body: throttledBody,
    });
    // Another method has its own bucket ("applied at the API method level").
    expect((await fetch(`${api}/v1/health`)).status).toBe(200);
  });
});

describe('the CDN web ACL', () => {
  it('blocks a client over the per-IP rate rule on public reads with 403, with or without a made-up key', async () => {
    const cdn = cloud.urls.cdn ?? '';
    const { limit } = FIXTURE_LIMITS.waf.anonymous;
    // Half with a made-up key: the rule matches the public route (GET /v1/images/{id}), not the header.
    const read = (i: number) =>
      fetch(`${cdn}/v1/images/some-id`, i % 2 ? { headers: { 'x-api-key': `made-up-${i}` } } : {});
    for (let i = 0; i < limit; i++) {
      expect((await read(i)).status, `request ${i + 1}`).not.toBe(403);
      await sleep(250); // under the stage throttle's 5 rps
    }
    for (const blocked of [await read(0), await read(1)]) {
      expect(blocked.status).toBe(403);
      expect(blocked.headers.get('x-cache')).toBe('Error from cloudfront');
      const page = await blocked.text();
      expect(page).toContain('Request blocked.');
      expectOpenApiResponse('GET', '/v1/images/{id}', { status: 403, headers: blocked.headers, body: page });
    }
    // The public routes share the rule's count; a header the client sets does not change its address.
    const health = await fetch(`${cdn}/v1/health`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(health.status).toBe(403);
    expectOpenApiResponse('GET', '/v1/health', {
      status: 403,
      headers: health.headers,
      body: await health.text(),
    });
    // Keyed routes are outside the rule's scope-down statement (the usage plan limits them).
    const upload = await fetch(`${cdn}/v1/images`, {
      method: 'POST',
      headers: { 'x-api-key': cloud.apiKey, 'content-type': 'image/png' },
      body: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    });
    expect(upload.status).not.toBe(403);
    expect(upload.headers.get('x-cache')).not.toBe('Error from cloudfront');
    if (upload.status !== 429) keyedAdmitted += 1; // the usage plan's quota counts it
  });
});

describe('the usage plan', () => {
  it('throttles a burst over the plan with 429 THROTTLED and Retry-After', async () => {
    await sleep(2000); // the key's bucket refills to its burst
    const { burstLimit } = FIXTURE_LIMITS.usagePlan.throttle;
    const responses = await Promise.all(Array.from({ length: burstLimit + 2 }, () => keyedList()));
    expect(responses.filter((r) => r.status === 200).length).toBe(burstLimit);
    const throttled = responses.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(2);
    expect(throttled[0]?.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
    expect(throttled[0]?.headers.get('retry-after')).toBe('1');
    const throttledBody = await throttled[0]?.json();
    expect(throttledBody).toMatchObject({ status: 429, code: 'THROTTLED' });
    expectOpenApiResponse('GET', '/v1/images', {
      status: 429,
      headers: throttled[0]?.headers ?? {},
      body: throttledBody,
    });
  });

  it('refuses requests over the quota with 429 QUOTA_EXCEEDED, throttled ones not counted', async () => {
    const { limit } = FIXTURE_LIMITS.usagePlan.quota;
    let refused: Response | undefined;
    for (let i = 0; i < limit + 2 && !refused; i++) {
      await sleep(600); // under the plan's 2 rps
      const response = await keyedList();
      if (response.status === 429) refused = response;
    }
    expect(keyedAdmitted).toBe(limit);
    expect(refused?.headers.get('x-amzn-errortype')).toBe('LimitExceededException');
    expect(refused?.headers.get('retry-after')).toBe('3600');
    const refusedBody = await refused?.json();
    expect(refusedBody).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED', detail: 'Limit Exceeded' });
    expectOpenApiResponse('GET', '/v1/images', {
      status: 429,
      headers: refused?.headers ?? {},
      body: refusedBody,
    });
    // Other keyless routes are not the key's quota.
    expect((await fetch(`${api}/v1/health`)).status).toBe(200);
  });
});
