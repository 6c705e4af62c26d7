import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyToApi } from '#local/cloudfront/api-origin.ts';
import type { LocalCacheBehavior } from '#local/template/model/cloudfront.ts';
import { behaviorOrigin, originCustomHeaders } from '#local/template/model/cloudfront.ts';

/**
 * The local CDN sends the API origin the origin custom headers of the template's distribution (the API's
 * origin secret), over any header of the same name the viewer sent, as CloudFront does:
 * "If the viewer request includes a header with the same name, CloudFront overwrites it."
 * See https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
 * and the origin shape https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-distribution-origincustomheader.html
 */
const TEMPLATE_ORIGIN = {
  DomainName: 'abc.execute-api.eu-west-1.amazonaws.com',
  OriginPath: '/prod',
  OriginCustomHeaders: [{ HeaderName: 'X-Origin-Verify', HeaderValue: 'from-the-template' }],
};

describe('origin custom headers in the template model', () => {
  it('reads OriginCustomHeaders by lower-cased name', () => {
    expect(originCustomHeaders(TEMPLATE_ORIGIN)).toEqual({ 'x-origin-verify': 'from-the-template' });
    expect(behaviorOrigin(TEMPLATE_ORIGIN)).toEqual({
      kind: 'api',
      originPath: '/prod',
      customHeaders: { 'x-origin-verify': 'from-the-template' },
    });
  });

  it.each([
    ['absent', {}],
    ['not a list', { OriginCustomHeaders: 'x' }],
    ['an item without a name', { OriginCustomHeaders: [{ HeaderValue: 'v' }] }],
  ])('ignores a malformed list (%s)', (_name, extra) => {
    expect(originCustomHeaders({ DomainName: 'd', ...extra })).toEqual({});
  });
});

let origin: Server;
let cdn: Server;
const received: IncomingHttpHeaders[] = [];
beforeAll(async () => {
  origin = createServer((req, res) => {
    received.push(req.headers);
    res.end('ok');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const behavior: LocalCacheBehavior = {
    pathPattern: '/v1/*',
    origin: behaviorOrigin(TEMPLATE_ORIGIN),
    defaultTtl: 0,
    maxTtl: 0,
    minTtl: 0,
    headers: {},
  };
  const port = (origin.address() as AddressInfo).port;
  cdn = createServer((req, res) =>
    proxyToApi(req, res, behavior, new URL(`http://127.0.0.1:${port}${req.url}`), () => {}),
  );
  await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
});
afterAll(() => {
  cdn?.close();
  origin?.close();
});

function viaCdn(headers: Record<string, string>): Promise<number> {
  const { port } = cdn.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/health', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local CDN in front of the API', () => {
  it('adds the origin secret from the template', async () => {
    expect(await viaCdn({})).toBe(200);
    expect(received.at(-1)?.['x-origin-verify']).toBe('from-the-template');
  });

  it("overwrites a viewer's header of the same name, whatever its case", async () => {
    await viaCdn({ 'X-Origin-Verify': 'forged' });
    expect(received.at(-1)?.['x-origin-verify']).toBe('from-the-template');
  });
});
