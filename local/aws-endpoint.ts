import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, isIPv6 } from 'node:net';
import { type FauxqsServer, type S3SpyEvent, type SpyMessage, startFauxqs } from 'fauxqs';
import { classifyS3Write, type S3WriteApi, S3WritesInFlight } from './s3/writes.ts';
import { LocalNames } from './security/local-names.ts';
import { refuseCrossSite, refuseForeignHost } from './security/request-guards.ts';

const require = createRequire(import.meta.url);
// dynalite is CommonJS without types; this is the one place that loads it.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

/** A route the edge can hand a request to before falling back to the emulators. */
export type EdgeRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** One AWS endpoint (S3 + SQS through fauxqs, DynamoDB through dynalite) and extra routes on one port. */
export interface AwsEndpoint {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`. */
  readonly url: string;
  readonly port: number;
  readonly fauxqs: FauxqsServer;
  /** Adds a route consulted before the emulators (Lambda API, CloudFront invalidations, observers). */
  addRoute(route: EdgeRoute): void;
  /**
   * Calls `listener` for every S3 object write and delete fauxqs performs (its spy's events), with the API
   * call that made a write (`Put`, `Post`, `Copy`, `CompleteMultipartUpload`).
   */
  onS3Event(listener: (event: S3SpyEvent, api: S3WriteApi) => void): void;
  close(): Promise<void>;
}

export interface AwsEndpointOptions {
  /** Port for the edge; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Folder for persistent state; in memory when absent. */
  dataDir?: string | undefined;
  /**
   * The local cloud's names and origins: requests under another `Host`, and cross-site requests, are refused.
   * Defaults to the names of `host`, with no own origins. The endpoint's own port is never one: a page the
   * endpoint serves (an HTML object in a bucket) must not drive the AWS APIs.
   */
  names?: LocalNames;
}

/**
 * Starts the emulators and the edge router in front of them. The edge first refuses requests under a `Host`
 * that is not a name of this machine (DNS rebinding) and requests from web pages of other sites (see
 * security/request-guards.ts). DynamoDB requests are recognised by their
 * `X-Amz-Target: DynamoDB_20120810.*` header; everything else goes to fauxqs, which speaks S3 and SQS (query
 * and JSON protocols) on one port. Requests are streamed, never buffered, so large uploads cost no memory.
 */
export async function startAwsEndpoint(options: AwsEndpointOptions = {}): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const fauxqs = await startFauxqs({
    port: 0,
    logger: false,
    messageSpies: { bufferSize: 1000 },
    host: 'localhost',
    ...(options.dataDir
      ? { dataDir: `${options.dataDir}/fauxqs`, s3StorageDir: `${options.dataDir}/s3` }
      : {}),
  });
  const dynamo = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.dataDir ? { path: `${options.dataDir}/dynamodb` } : {}),
  });
  dynamo.listen(0, '127.0.0.1');
  await once(dynamo, 'listening');
  const dynamoPort = (dynamo.address() as AddressInfo).port;

  // fauxqs has no S3 notifications, but its spy sees every write and delete; tap it as events happen instead
  // of polling its bounded buffer, so a burst of uploads cannot evict an event before it is seen.
  const s3Listeners: Array<(event: S3SpyEvent, api: S3WriteApi) => void> = [];
  const writes = new S3WritesInFlight();
  const spy = fauxqs.spy as typeof fauxqs.spy & { addMessage(message: SpyMessage): void };
  const record = spy.addMessage.bind(spy);
  spy.addMessage = (message) => {
    record(message);
    if (message.service !== 's3') return;
    const api = writes.apiFor(message.bucket, message.key);
    if (message.status === 'uploaded' && writes.isRepeat(message.bucket, message.key, api)) return;
    for (const listener of s3Listeners) listener(message, api);
  };

  const names = options.names ?? new LocalNames(host);
  const routes: EdgeRoute[] = [];
  const edge = createServer((req, res) => {
    if (refuseForeignHost(names, req, res) || refuseCrossSite(names, req, res)) return;
    for (const route of routes) if (route(req, res)) return;
    const target = String(req.headers['x-amz-target'] ?? '');
    const write = classifyS3Write(req);
    if (write) res.on('close', writes.track(write));
    proxy(req, res, target.startsWith('DynamoDB_') ? dynamoPort : fauxqs.port);
  });
  // Long-polling ReceiveMessage holds a request for up to 20 s; keep sockets alive longer than that.
  edge.keepAliveTimeout = 65_000;
  edge.listen(options.port ?? 0, host);
  await once(edge, 'listening');
  const port = (edge.address() as AddressInfo).port;

  return {
    url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIPv6(host) ? `[${host}]` : host}:${port}`,
    port,
    fauxqs,
    addRoute: (route) => routes.push(route),
    onS3Event: (listener) => s3Listeners.push(listener),
    async close() {
      edge.closeAllConnections();
      await new Promise<void>((resolve) => edge.close(() => resolve()));
      await new Promise<void>((resolve) => dynamo.close(() => resolve()));
      await fauxqs.stop();
    },
  };
}

function proxy(req: IncomingMessage, res: ServerResponse, port: number): void {
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`edge: upstream error: ${error.message}`);
  });
  req.pipe(upstream);
}
