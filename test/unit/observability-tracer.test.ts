import { createSocket, type Socket } from 'node:dgram';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The tracer as it runs on Lambda with active tracing: the real X-Ray SDK, in its Lambda mode (Lambda
 * sets `LAMBDA_TASK_ROOT` and the invocation's `_X_AMZN_TRACE_ID`), sending its subsegments over UDP to the
 * daemon address Lambda gives it (`AWS_XRAY_DAEMON_ADDRESS`), here a socket of this test. Each datagram is
 * the daemon protocol's header line and one segment document
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon).
 */
let daemon: Socket;
const received: Record<string, unknown>[] = [];
let modules: {
  observability: typeof import('#shared/observability/middleware.ts');
  tracer: typeof import('#shared/observability/tracer.ts');
};

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (datagram) => {
    const [header, body] = datagram.toString('utf8').split('\n');
    expect(JSON.parse(header ?? '')).toEqual({ format: 'json', version: 1 });
    received.push(JSON.parse(body ?? '{}'));
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: 'Pictura-FunctionsThumbnail',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    POWERTOOLS_TRACE_ENABLED: 'true',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  });
  // Imported now: the SDK and the tracer read their environment when they load.
  modules = {
    observability: await import('#shared/observability/middleware.ts'),
    tracer: await import('#shared/observability/tracer.ts'),
  };
});
afterAll(() => daemon?.close());

const context = { functionName: 'Pictura-FunctionsThumbnail', awsRequestId: 'r-1' } as unknown as Context;

/** Every subsegment received, flattened, nested ones included. */
function subsegments(): Record<string, unknown>[] {
  const all: Record<string, unknown>[] = [];
  const walk = (segment: Record<string, unknown>) => {
    all.push(segment);
    for (const child of (segment.subsegments as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  for (const segment of received) walk(segment);
  return all;
}

describe('Powertools Tracer on Lambda', () => {
  it('is on, and annotates one image’s work with its id in its own subsegment', async () => {
    const { tracer, traceImage } = modules.tracer;
    expect(tracer.isTracingEnabled()).toBe(true);
    const handler = middy(async () => {
      await traceImage('AbCdEfGhIjKlMnOpQrStUv', async () => {});
      return { ok: true, deleteToken: 'secret-token' };
    }).use(modules.observability.observability());
    await handler({}, context);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const image = subsegments().find((s) => s.name === '### image');
    expect(image?.annotations).toEqual({ imageId: 'AbCdEfGhIjKlMnOpQrStUv' });
    const handlerSegment = subsegments().find((s) => s.name === '## index.handler');
    expect(handlerSegment?.annotations).toMatchObject({ ColdStart: true, Service: 'pictura' });
    expect(handlerSegment?.trace_id).toBe('1-5759e988-bd862e3fe1be46a994272793');
    // The response (an upload's carries its one-time delete token) is never trace metadata.
    expect(JSON.stringify(received)).not.toContain('secret-token');
  });

  it('records a failing image as an error on its subsegment, and rethrows', async () => {
    received.length = 0;
    const failing = modules.tracer.traceImage('ZyXwVuTsRqPoNmLkJiHgFe', async () => {
      throw new Error('render failed');
    });
    // Outside a handler the current segment is Lambda's facade: the subsegment is sent on its own.
    await expect(failing).rejects.toThrow('render failed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const image = subsegments().find((s) => s.name === '### image');
    expect(image).toMatchObject({ annotations: { imageId: 'ZyXwVuTsRqPoNmLkJiHgFe' }, fault: true });
  });
});
