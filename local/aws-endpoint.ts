import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FauxqsServer, type S3SpyEvent, type SpyMessage, startFauxqs } from 'fauxqs';
import { startingHandler } from './http-util.ts';
import { classifyS3Write, type S3WriteApi, S3WritesInFlight } from './s3/writes.ts';
import { LocalNames } from './security/local-names.ts';
import { refuseCrossSite, refuseForeignHost } from './security/request-guards.ts';

const require = createRequire(import.meta.url);
// dynalite is CommonJS without types; this is the one place that loads it.
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

/** A route the edge can hand a request to before falling back to the emulators. */
export type EdgeRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Sees every call bound for the emulators and calls `forward` to send it on (with `body` if it had to read
 * it), or answers it itself: the fault proxy (local/faults/edge.ts).
 */
export type EdgeInterceptor = (
  req: IncomingMessage,
  res: ServerResponse,
  forward: (body?: Buffer) => void,
) => void;

/** One AWS endpoint (S3 + SQS through fauxqs, DynamoDB through dynalite) and extra routes on one TCP port. */
export interface AwsEndpoint {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`. */
  readonly url: string;
  readonly port: number;
  readonly fauxqs: FauxqsServer;
  /** The private (0700) folder holding the emulators' Unix sockets; removed by `close`. */
  readonly socketDir: string;
  /** Adds a route consulted before the emulators (Lambda API, CloudFront invalidations, observers). */
  addRoute(route: EdgeRoute): void;
  /** Puts `interceptor` between the routes and the emulators (one at a time; fault injection). */
  intercept(interceptor: EdgeInterceptor): void;
  /**
   * Calls `listener` for every S3 object write and delete fauxqs performs (its spy's events), with the API
   * call that made a write (`Put`, `Post`, `Copy`, `CompleteMultipartUpload`).
   */
  onS3Event(listener: (event: S3SpyEvent, api: S3WriteApi) => void): void;
  close(): Promise<void>;
}

/**
 * The largest request fauxqs takes (patch 014; its own default, 11 MiB, refused uploads the API allows: 25 MiB
 * by default). S3 takes up to 5 GiB in one PutObject or POST, but fauxqs holds each request in memory, so a
 * laptop's local cloud stops at 256 MiB: ten times the largest upload Pictura accepts by default.
 */
export const MAX_REQUEST_BYTES = 256 * 1024 * 1024;

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
  /** Where the emulators' private socket folder is made: `os.tmpdir()` by default (`/tmp` if that is too long). */
  socketsIn?: string;
}

/**
 * Starts the edge router and the emulators behind it. The edge first refuses requests under a `Host` that is
 * not a name of this machine (DNS rebinding) and requests from web pages of other sites (see
 * security/request-guards.ts). DynamoDB requests are recognised by their `X-Amz-Target: DynamoDB_20120810.*`
 * header; everything else goes to fauxqs, which speaks S3 and SQS (query and JSON protocols). Requests are
 * streamed, never buffered, so large uploads cost no memory.
 *
 * The emulators listen on Unix sockets in a private (0700) folder, not on TCP ports: a web page scanning
 * loopback ports (DNS rebinding) could otherwise reach them without the edge's checks. The edge listens first,
 * answering 503 with `Retry-After` until they are up, so that fauxqs names the edge's port in its queue URLs.
 * Rejects if the edge cannot listen or an emulator cannot start, leaving nothing running and no folder behind.
 */
export async function startAwsEndpoint(options: AwsEndpointOptions = {}): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const names = options.names ?? new LocalNames(host);
  const gate = startingHandler('AWS endpoint');
  const edge = createServer((req, res) => {
    if (refuseForeignHost(names, req, res) || refuseCrossSite(names, req, res)) return;
    gate.handler(req, res);
  });
  // Long-polling ReceiveMessage holds a request for up to 20 s; keep sockets alive longer than that.
  edge.keepAliveTimeout = 65_000;
  edge.listen(options.port ?? 0, host);
  await once(edge, 'listening');
  const port = (edge.address() as AddressInfo).port;
  const emulators = await startEmulators(port, options).catch(async (error: unknown) => {
    await closeServer(edge);
    throw error;
  });
  const { fauxqs } = emulators;
  const s3 = tapS3Writes(fauxqs);
  const routes: EdgeRoute[] = [];
  let interceptor: EdgeInterceptor | undefined;
  gate.open((req, res) => {
    for (const route of routes) if (route(req, res)) return;
    const target = String(req.headers['x-amz-target'] ?? '');
    const write = classifyS3Write(req);
    if (write) res.on('close', s3.writes.track(write));
    const socket = target.startsWith('DynamoDB_') ? emulators.dynamoSocket : emulators.fauxqsSocket;
    const forward = (body?: Buffer) => proxy(req, res, socket, body);
    if (interceptor) interceptor(req, res, forward);
    else forward();
  });
  return {
    url: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIPv6(host) ? `[${host}]` : host}:${port}`,
    port,
    fauxqs,
    socketDir: emulators.socketDir,
    addRoute: (route) => routes.push(route),
    intercept: (next) => {
      interceptor = next;
    },
    onS3Event: (listener) => s3.listeners.push(listener),
    async close() {
      await closeServer(edge);
      await emulators.close();
    },
  };
}

/** The socket file names: short, since a Unix socket path must fit in 104 bytes on macOS (108 on Linux). */
const FAUXQS_SOCKET = 's3-sqs.sock';
const DYNAMODB_SOCKET = 'dynamodb.sock';
const SOCKET_PATH_MAX = 100;

interface Emulators {
  fauxqs: FauxqsServer;
  socketDir: string;
  fauxqsSocket: string;
  dynamoSocket: string;
  /** Stops both emulators and removes the socket folder. */
  close(): Promise<void>;
}

/**
 * Starts dynalite and fauxqs on Unix sockets in a new private folder; fauxqs names `edgePort` in the queue
 * URLs it builds. If either fails, whatever started is stopped and the folder removed before rejecting.
 */
async function startEmulators(edgePort: number, options: AwsEndpointOptions): Promise<Emulators> {
  const socketDir = privateSocketFolder(options.socketsIn ?? tmpdir());
  // Also on an exit without `close` (a second Ctrl-C, a start that failed further on): the sockets are dead then.
  const removeFolder = () => rmSync(socketDir, { recursive: true, force: true });
  process.once('exit', removeFolder);
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
    removeFolder();
    process.off('exit', removeFolder);
  };
  try {
    const dynamoSocket = join(socketDir, DYNAMODB_SOCKET);
    const dynamo = dynalite({
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
      ...(options.dataDir ? { path: `${options.dataDir}/dynamodb` } : {}),
    });
    dynamo.listen(dynamoSocket);
    await once(dynamo, 'listening');
    stops.push(() => closeServer(dynamo));
    const fauxqsSocket = join(socketDir, FAUXQS_SOCKET);
    const fauxqs = await startFauxqs({
      port: edgePort,
      listenPath: fauxqsSocket,
      logger: false,
      messageSpies: { bufferSize: 1000 },
      bodyLimit: MAX_REQUEST_BYTES,
      host: 'localhost',
      ...(options.dataDir
        ? { dataDir: `${options.dataDir}/fauxqs`, s3StorageDir: `${options.dataDir}/s3` }
        : {}),
    });
    stops.push(() => fauxqs.stop());
    return { fauxqs, socketDir, fauxqsSocket, dynamoSocket, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A new folder only this user can enter (mkdtemp makes it 0700), under `parent` unless the longest socket
 * path would not fit a Unix socket address there; then under `/tmp`.
 */
function privateSocketFolder(parent: string): string {
  const longest = join(parent, 'pictura-XXXXXX', DYNAMODB_SOCKET);
  const base = Buffer.byteLength(longest) <= SOCKET_PATH_MAX ? parent : '/tmp';
  return mkdtempSync(join(base, 'pictura-'));
}

/**
 * fauxqs has no S3 notifications, but its spy sees every write and delete; tap it as events happen instead
 * of polling its bounded buffer, so a burst of uploads cannot evict an event before it is seen.
 */
function tapS3Writes(fauxqs: FauxqsServer) {
  const listeners: Array<(event: S3SpyEvent, api: S3WriteApi) => void> = [];
  const writes = new S3WritesInFlight();
  const spy = fauxqs.spy as typeof fauxqs.spy & { addMessage(message: SpyMessage): void };
  const record = spy.addMessage.bind(spy);
  spy.addMessage = (message) => {
    record(message);
    if (message.service !== 's3') return;
    const api = writes.apiFor(message.bucket, message.key);
    if (message.status === 'uploaded' && writes.isRepeat(message.bucket, message.key, api)) return;
    for (const listener of listeners) listener(message, api);
  };
  return { listeners, writes };
}

/** Closes a server, dropping its open connections (keep-alive sockets would hold `close` open). */
function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Streams `req` to the emulator on `socketPath`, or sends `body` when the request was read already. */
function proxy(req: IncomingMessage, res: ServerResponse, socketPath: string, body?: Buffer): void {
  const upstream = request(
    { socketPath, method: req.method, path: req.url, headers: req.headers },
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`edge: upstream error: ${error.message}`);
  });
  if (body) upstream.end(body);
  else req.pipe(upstream);
}
