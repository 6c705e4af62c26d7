import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { apiRequestHandler } from '#local/apigateway/server.ts';
import { FunctionRuntime, type RuntimeOptions } from '#local/lambda/runtime/function-runtime.ts';
import type { LocalApi, LocalFunction } from '#local/template/stack-model.ts';
import { ROOT } from '#test/support/local-cloud.ts';

/**
 * A function as the template model describes it, for a fixture module: `name` and `entry` (relative to the
 * project root) given, the rest Lambda's shape with test defaults (handler export `handler`, no environment,
 * 10 s timeout, 256 MB, nodejs24.x on arm64, an ARN in account 000000000000, us-east-1); `overrides` win.
 */
export function localFunction({
  name,
  entry,
  ...overrides
}: Pick<LocalFunction, 'name' | 'entry'> & Partial<LocalFunction>): LocalFunction {
  return {
    logicalId: name,
    name,
    label: name,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    entry,
    handlerExport: 'handler',
    environment: {},
    timeoutSeconds: 10,
    memoryMb: 256,
    runtime: 'nodejs24.x',
    architecture: 'arm64',
    ...overrides,
  };
}

/**
 * A FunctionRuntime over fixture functions, rooted at the project, with no base environment (no endpoint nor
 * credentials: fixtures call no AWS service) and its log lines dropped unless `options.logSink` takes them.
 * The caller closes it (`runtime.close(ms)`).
 */
export function startFixtureRuntime(
  functions: LocalFunction[],
  options: Partial<RuntimeOptions> = {},
): FunctionRuntime {
  return new FunctionRuntime(functions, { root: ROOT, baseEnvironment: {}, logSink: () => {}, ...options });
}

/** Starts `server` on a free port of 127.0.0.1 and gives its base URL (`http://127.0.0.1:<port>`). */
export async function listenOnFreePort(server: NetServer): Promise<{ base: string; port: number }> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, port };
}

/** A port of 127.0.0.1 nothing listens on: bound, then released (a connection to it is refused). */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  const { port } = await listenOnFreePort(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An API Gateway REST API served over fixture functions (`startFixtureApi`). */
export interface FixtureApi {
  runtime: FunctionRuntime;
  server: Server;
  base: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `api` as API Gateway would (local/apigateway/server.ts) on a free port, its routes invoking
 * `functions` in a fixture runtime; `apiKey` is the one usage-plan key (id `key-1`), and an integration
 * times out after 1.5 s (`timeoutMs`) so timeout tests stay quick.
 */
export async function startFixtureApi(options: {
  api: LocalApi;
  functions: LocalFunction[];
  apiKey: string;
  timeoutMs?: number;
  logSink?: RuntimeOptions['logSink'];
}): Promise<FixtureApi> {
  const runtime = startFixtureRuntime(options.functions, options.logSink ? { logSink: options.logSink } : {});
  const handler: RequestListener = apiRequestHandler({
    api: options.api,
    runtime,
    keys: [{ id: 'key-1', value: options.apiKey }],
    log: () => {},
    timeoutMs: options.timeoutMs ?? 1500,
  });
  const server = createServer(handler);
  const { base, port } = await listenOnFreePort(server);
  return {
    runtime,
    server,
    base,
    port,
    async close() {
      server.close();
      await runtime.close(1000);
    },
  };
}
