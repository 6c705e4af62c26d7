import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN_SECRET_HEADER, originCheckEnabled, originSecretMatches } from '#shared/http/origin-verify.ts';
import { type Pipeline, presignRequest, startPipeline, tokenDeleteRequest } from '#test/support/pipeline.ts';

/**
 * The API reachable only through CloudFront: CloudFront adds an origin custom header carrying the
 * stack's secret (infra/constructs/cdn.ts), and the API functions refuse requests without it.
 * CloudFront overwrites a viewer's header of the same name, so only CloudFront can send it.
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
 */
const SECRET = 'Zx9vT3kQm1Lw8pR2sN5aB7cD4eF6gH0jK2mN4pQ6rS8tU0vW';

let cloud: Pipeline;
beforeAll(async () => {
  cloud = await startPipeline({ CDN_ORIGIN_SECRET: SECRET, CORS_ALLOW_ORIGIN: 'https://app.example' });
});
afterAll(() => cloud?.close());

const health = (headers: Record<string, string> = {}) =>
  cloud.http('images', { method: 'GET', resource: '/v1/health', path: '/v1/health', headers });

function expectRefused(response: Awaited<ReturnType<Pipeline['http']>>): void {
  expect(response.statusCode).toBe(403);
  expect(response.headers?.['Content-Type']).toBe('application/problem+json');
  expect(response.json).toMatchObject({ status: 403, code: 'ORIGIN_NOT_ALLOWED' });
  // Refused like any other error: a browser can still read why.
  expect(response.headers?.['Access-Control-Allow-Origin']).toBe('https://app.example');
  expect(response.body).not.toContain(SECRET);
}

describe('API functions behind the CDN (CDN_ORIGIN_SECRET set)', () => {
  it('answer a request carrying the origin secret', async () => {
    expect((await health({ [ORIGIN_SECRET_HEADER]: SECRET })).statusCode).toBe(200);
  });

  it('read the header whatever its case (API Gateway passes the case CloudFront sent)', async () => {
    expect((await health({ 'X-Origin-Verify': SECRET })).statusCode).toBe(200);
  });

  it.each([
    ['no header', {}],
    ['an empty value', { [ORIGIN_SECRET_HEADER]: '' }],
    ['a wrong value', { [ORIGIN_SECRET_HEADER]: 'not-the-secret' }],
    ['the secret with a suffix', { [ORIGIN_SECRET_HEADER]: `${SECRET}x` }],
    ['a prefix of the secret', { [ORIGIN_SECRET_HEADER]: SECRET.slice(0, -1) }],
    ['the secret in other case', { [ORIGIN_SECRET_HEADER]: SECRET.toLowerCase() }],
    ['a 64 KB value', { [ORIGIN_SECRET_HEADER]: 'a'.repeat(65_536) }],
    ['the secret in another header', { 'x-origin-verify-2': SECRET }],
  ])('refuse %s with 403 ORIGIN_NOT_ALLOWED', async (_name, headers) => {
    expectRefused(await health(headers));
  });

  it('refuse before any other check: an upload with a valid key but no secret is 403, not 201', async () => {
    const response = await cloud.http('upload', presignRequest('image/png', 10));
    expectRefused(response);
  });

  it('refuse a delete without the secret (token route)', async () => {
    const response = await cloud.http('delete', tokenDeleteRequest('AAAAAAAAAAAAAAAAAAAAAA', 'x'));
    expectRefused(response);
  });
});

describe('originCheckEnabled', () => {
  it('is off without a value (LocalStack: no CloudFront) and with an empty one', () => {
    expect(originCheckEnabled(undefined)).toBe(false);
    expect(originCheckEnabled('')).toBe(false);
  });

  it('is off for an unresolved dynamic reference (the local cloud runs the template without CloudFormation)', () => {
    expect(originCheckEnabled('{{resolve:secretsmanager:arn:aws:secretsmanager:x:SecretString:::}}')).toBe(
      false,
    );
  });

  it('is on for a resolved value', () => {
    expect(originCheckEnabled(SECRET)).toBe(true);
  });
});

describe('originSecretMatches', () => {
  it('matches only the exact value', () => {
    expect(originSecretMatches(SECRET, SECRET)).toBe(true);
    expect(originSecretMatches(undefined, SECRET)).toBe(false);
    expect(originSecretMatches(`${SECRET} `, SECRET)).toBe(false);
    expect(originSecretMatches('\u0000', SECRET)).toBe(false);
  });
});
