import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '#local/aws-endpoint.ts';
import { s3CorsRoute } from '#local/s3/cors.ts';
import { LocalNames } from '#local/security/local-names.ts';
import type { LocalBucket } from '#local/template/stack-model.ts';

/**
 * Bucket CORS on the local AWS endpoint (local/s3/cors.ts), held to what S3 answered when LocalStack
 * recorded it on AWS: tests/aws/services/s3/test_s3_cors.snapshot.json (TestS3Cors::test_cors_match_origins,
 * test_cors_match_methods, test_cors_match_headers, test_cors_http_options_no_config), with the rule those
 * tests configure (origin https://localhost:4200, methods GET and PUT, max age 3000). The page origin here
 * is http://localhost:4200: the edge refuses pages of other sites before any CORS rule is read.
 */
const PAGE = 'http://localhost:4200';
const RULE = {
  allowedOrigins: [PAGE],
  allowedMethods: ['GET', 'PUT'],
  allowedHeaders: ['x-amz-request-payer', 'x-amz-expected-bucket-owner'],
  exposedHeaders: [],
  maxAgeSeconds: 3000,
};
const BUCKETS: LocalBucket[] = [
  { logicalId: 'Cors', name: 'cors-bucket', notifications: [], cors: [RULE] },
  {
    logicalId: 'Any',
    name: 'any-origin-bucket',
    notifications: [],
    cors: [
      { ...RULE, allowedOrigins: ['*'], allowedMethods: ['POST'], exposedHeaders: ['ETag', 'Location'] },
    ],
  },
  { logicalId: 'Plain', name: 'plain-bucket', notifications: [], cors: [] },
];
/** The CORS headers of an answer, by lower-cased name. */
const corsOf = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => /^access-control-|^vary$/.test(name)));

let endpoint: AwsEndpoint;
beforeAll(async () => {
  const names = new LocalNames('127.0.0.1');
  names.addPort(4200);
  endpoint = await startAwsEndpoint({ port: 0, names });
  endpoint.addRoute(s3CorsRoute(BUCKETS));
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: endpoint.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  for (const { name } of BUCKETS) {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'test', Body: 'test-cors' }));
  }
});
afterAll(async () => {
  await endpoint?.close();
});

const options = (path: string, headers: Record<string, string>) =>
  fetch(`${endpoint.url}${path}`, { method: 'OPTIONS', headers });

describe('S3 bucket CORS on the local endpoint, as recorded on AWS', () => {
  it('answers a preflight its rule allows: 200, the origin, credentials, methods, max age, Vary ("opt-right-origin")', async () => {
    const response = await options('/cors-bucket/test', {
      origin: PAGE,
      'access-control-request-method': 'PUT',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    expect(corsOf(response)).toEqual({
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT',
      'access-control-allow-origin': PAGE,
      'access-control-max-age': '3000',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    });
  });

  it('echoes the requested headers it allows ("opt-get-two")', async () => {
    const response = await options('/cors-bucket/test', {
      origin: PAGE,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-amz-request-payer, x-amz-expected-bucket-owner',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'x-amz-request-payer, x-amz-expected-bucket-owner',
    );
  });

  it.each([
    [
      'a method the rule lacks ("opt-put" of test_cors_match_methods)',
      { 'access-control-request-method': 'DELETE' },
    ],
    [
      'a header the rule lacks ("opt-get-non-allowed")',
      { 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-evil' },
    ],
  ])('refuses a preflight with %s: 403 AccessForbidden, ResourceType OBJECT', async (_what, headers) => {
    const response = await options('/cors-bucket/test', { origin: PAGE, ...headers });
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toContain('<Code>AccessForbidden</Code>');
    expect(body).toContain(
      "<Message>CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.</Message>",
    );
    expect(body).toContain('<ResourceType>OBJECT</ResourceType>');
    expect(corsOf(response)).toEqual({});
  });

  it('refuses a preflight without Origin with 400 BadRequest ("opt-no-origin")', async () => {
    const response = await options('/cors-bucket/test', { 'access-control-request-method': 'GET' });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(
      '<Code>BadRequest</Code><Message>Insufficient information. Origin request header needed.</Message>',
    );
  });

  it('refuses a preflight to a bucket without CORS, naming the bucket ("options-with-origin-and-method")', async () => {
    const response = await options('/plain-bucket', { origin: PAGE, 'access-control-request-method': 'PUT' });
    expect(response.status).toBe(403);
    const body = await response.text();
    expect(body).toContain('<Message>CORSResponse: CORS is not enabled for this bucket.</Message>');
    expect(body).toContain('<Method>PUT</Method><ResourceType>BUCKET</ResourceType>');
  });

  it('adds the CORS headers to an allowed request, and none to a GET without Origin ("get-right-origin", "get-no-origin")', async () => {
    const allowed = await fetch(`${endpoint.url}/cors-bucket/test`, { headers: { origin: PAGE } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe('test-cors');
    expect(corsOf(allowed)).toMatchObject({
      'access-control-allow-origin': PAGE,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT',
      vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
    });
    const plain = await fetch(`${endpoint.url}/cors-bucket/test`);
    expect(corsOf(plain)).toEqual({});
  });

  it('answers a wildcard rule with * and no credentials ("opt-random-wildcard-origin"); the upload form POST is allowed', async () => {
    const response = await options('/any-origin-bucket', {
      origin: PAGE,
      'access-control-request-method': 'POST',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBe('ETag, Location');
  });

  it('leaves requests to other paths (SQS, unknown buckets) to the emulators', async () => {
    const response = await options('/other-bucket', { origin: PAGE, 'access-control-request-method': 'GET' });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
