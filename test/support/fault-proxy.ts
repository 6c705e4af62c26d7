import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One AWS call as the proxy sees it. */
export interface ProxiedCall {
  service: 'dynamodb' | 'sqs' | 's3';
  /** DynamoDB and SQS: the operation from `X-Amz-Target`; S3: `METHOD /bucket/key`. */
  operation: string;
  path: string;
  /** The request body (JSON for DynamoDB and SQS), for the tests that read what was asked. */
  body: string;
}

/** What the proxy answers instead of forwarding: an AWS error in the service's own wire format. */
export interface InjectedFault {
  status: number;
  code: string;
}

/**
 * A fault proxy between the handlers under test and the emulators: it counts every AWS call and, for the
 * calls `rule` picks, answers with the error AWS would (throttling, 5xx) instead of forwarding. Tests read
 * the calls back to measure retries and fail-fast in calls made, not wall-clock time.
 */
export interface FaultProxy {
  url: string;
  calls: ProxiedCall[];
  rule: ((call: ProxiedCall) => InjectedFault | undefined) | undefined;
  close(): Promise<void>;
}

function describe(req: IncomingMessage, bytes: Buffer): ProxiedCall {
  const target = String(req.headers['x-amz-target'] ?? '');
  const path = req.url ?? '/';
  const body = target ? bytes.toString('utf8') : '';
  const operation = target.split('.')[1] ?? '';
  if (target.startsWith('DynamoDB_')) return { service: 'dynamodb', operation, path, body };
  if (target.startsWith('AmazonSQS.')) return { service: 'sqs', operation, path, body };
  return { service: 's3', operation: `${req.method} ${path.split('?')[0]}`, path, body };
}

/** The error body each protocol uses: DynamoDB and SQS speak JSON 1.0, S3 speaks XML. */
function errorResponse(call: ProxiedCall, fault: InjectedFault): { type: string; body: string } {
  if (call.service === 's3') {
    return {
      type: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`,
    };
  }
  const prefix = call.service === 'dynamodb' ? 'com.amazonaws.dynamodb.v20120810#' : 'com.amazonaws.sqs#';
  return {
    type: 'application/x-amz-json-1.0',
    body: JSON.stringify({ __type: `${prefix}${fault.code}`, message: 'injected' }),
  };
}

/** Starts a proxy to `upstream` (the emulators' endpoint) on a free loopback port. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const proxy: FaultProxy = { url: '', calls: [], rule: undefined, close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const call = describe(req, bytes);
    proxy.calls.push(call);
    const fault = proxy.rule?.(call);
    if (fault) {
      const { type, body } = errorResponse(call, fault);
      res.writeHead(fault.status, { 'content-type': type, 'x-amzn-errortype': fault.code });
      res.end(body);
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    forward.end(bytes);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
  return proxy;
}
