import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type ApiKey, ApiKeyStore, loadApiKeys } from './apigateway/api-keys.ts';
import { apiKeyManagementRoute } from './apigateway/key-management.ts';
import { apiRequestHandler } from './apigateway/server.ts';
import { type AwsEndpoint, type EdgeRoute, startAwsEndpoint } from './aws-endpoint.ts';
import { createCdn } from './cloudfront/distribution.ts';
import { prepareDataDir } from './data-dir.ts';
import { type ScheduleRunner, startSchedules } from './events/schedules.ts';
import {
  type FaultConfig,
  FaultInjector,
  faultInterceptor,
  faultsStatusRoute,
  LOCAL_CLOUD_ACCESS_KEY_ID,
} from './faults/index.ts';
import { type GatedHandler, type RequestHandler, startingHandler } from './http-util.ts';
import { lambdaApiRoute } from './lambda/api.ts';
import { buildForHost } from './lambda/build.ts';
import { FunctionRuntime, type LogSink } from './lambda/runtime/function-runtime.ts';
import { SqsPoller } from './lambda/sqs-poller.ts';
import { type Observability, startObservability } from './observability.ts';
import { s3CorsRoute } from './s3/cors.ts';
import { createS3Notifier } from './s3/notifications.ts';
import { LocalNames } from './security/local-names.ts';
import { refuseForeignHost } from './security/request-guards.ts';
import { redriveRoute } from './sqs/move-tasks.ts';
import { assemblyIsFresh, synthesize } from './template/assembly.ts';
import { provision } from './template/provision.ts';
import { buildStackModel, type StackModel } from './template/stack-model.ts';
import { readAssembly } from './template/template.ts';

export interface LocalCloudOptions {
  /** Project root (where `infra/` and `functions/` are). */
  root: string;
  /** Cloud assembly folder; synthesized there when missing or older than the infra code. */
  outdir?: string;
  /** Ports; 0 picks free ones (tests). Defaults 4566, 3000, 3001. */
  ports?: { aws?: number; api?: number; cdn?: number };
  host?: string;
  /** Folder for state that survives a restart; in memory when undefined. */
  dataDir?: string | undefined;
  /** Remove `dataDir` first. */
  clean?: boolean;
  /** Comma-separated API keys (`PICTURA_LOCAL_API_KEYS`); one is generated when empty. */
  apiKeys?: string | undefined;
  /** Scales queue visibility timeouts (see provision). */
  visibilityScale?: number;
  /** Concurrent batches per event source mapping. */
  pollerConcurrency?: number;
  /** Multiplies the periods of the template's scheduled rules (local/events); 0 runs none. Default 1. */
  scheduleScale?: number;
  /** Always re-synthesize. */
  synth?: boolean;
  /** Extra CDK context for synthesis (e.g. a fixture app's settings). */
  context?: Record<string, unknown>;
  /** The CDK app's entry, relative to `root` (default `infra/app.ts`). */
  app?: string;
  /**
   * `bundle` (default) runs each function built for this host with its Lambda bundling settings; `source`
   * runs the TypeScript directly (no build step; edits apply on the next cold start).
   */
  code?: 'bundle' | 'source';
  logSink?: LogSink;
  /** Sees every event handed to a function (conformance tests validate them against AWS's schemas). */
  onInvoke?: (functionName: string, event: unknown) => void;
  /** Messages from the local cloud itself (not from functions). */
  log?: (line: string) => void;
  /** Fault injection (`--faults`, local/faults): off when absent. */
  faults?: FaultConfig | undefined;
}

export interface LocalCloud {
  urls: { aws: string; api: string | undefined; cdn: string | undefined };
  apiKeys: ApiKey[];
  model: StackModel;
  region: string;
  runtime: FunctionRuntime;
  endpoint: AwsEndpoint;
  /** The fault injector and its counters, when `faults` was given. */
  faults: FaultInjector | undefined;
  /** The scheduled rules being run (`fired` counts invocations per rule). */
  schedules: ScheduleRunner;
  /** The functions' logs and EMF metrics, as CloudWatch keeps them (local/observability.ts). */
  observability: Observability;
  timings: { synthMs: number; startMs: number };
  /** Stops pollers, lets in-flight invocations finish (up to `drainMs`), then stops everything. */
  close(drainMs?: number): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
/** The local cloud's own calls sign with their own key, which fault injection never touches (faults/edge.ts). */
const OWN_CREDENTIALS = { accessKeyId: LOCAL_CLOUD_ACCESS_KEY_ID, secretAccessKey: 'test' };
type Log = (line: string) => void;

/** A listening server whose handler is attached later (until then it answers 503, see `startingHandler`). */
interface GatedServer extends Pick<GatedHandler, 'open'> {
  server: Server;
  port: number;
}

/**
 * Listens on `host` at once (the port goes into the functions' environment and the template's URLs), answering
 * 503 with `Retry-After` until `open`; requests under a `Host` that is not a name of this machine are refused
 * first (DNS rebinding).
 */
async function listenGated(
  what: string,
  port: number,
  host: string,
  names: LocalNames,
): Promise<GatedServer> {
  const gate = startingHandler(what);
  const server = createServer((req, res) => {
    if (!refuseForeignHost(names, req, res)) gate.handler(req, res);
  });
  server.listen(port, host);
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  names.addPort(actual);
  return { server, port: actual, open: gate.open };
}

/**
 * Answers the Lambda and CloudFront APIs 503 (`Retry-After: 1`, which the SDKs retry) until `isReady`: their
 * routes are attached once the functions are built, and until then fauxqs would answer them as S3 calls.
 */
function startingApis(isReady: () => boolean): EdgeRoute {
  return (req, res) => {
    const url = req.url ?? '';
    if (isReady() || !(url.startsWith('/2015-03-31/') || url.startsWith('/2020-05-31/'))) return false;
    req.resume();
    res.writeHead(503, {
      'content-type': 'application/json',
      'retry-after': '1',
      'x-amzn-errortype': 'ServiceException',
    });
    res.end(
      JSON.stringify({ Type: 'Service', Message: 'The local cloud is starting; try again in a second.' }),
    );
    return true;
  };
}

/**
 * The host part of the local cloud's URLs for a listening address: `localhost` for 127.0.0.1 and the wildcard
 * addresses (what clients on this machine reach it by), IPv6 literals bracketed.
 */
function urlHost(host: string): string {
  if (['0.0.0.0', '::', '127.0.0.1'].includes(host)) return 'localhost';
  return isIPv6(host) ? `[${host}]` : host;
}

/** Synthesizes the CDK app when asked or when the assembly is older than the infra code; reads its stack. */
async function readStack(
  root: string,
  outdir: string,
  options: LocalCloudOptions,
  log: (line: string) => void,
) {
  let synthMs = 0;
  if (options.synth || !assemblyIsFresh(root, outdir)) {
    const t = performance.now();
    log('synthesizing the CDK app (no asset bundling) …');
    await synthesize(root, outdir, options.context, options.app);
    synthMs = performance.now() - t;
  }
  const stack = readAssembly(outdir)[0];
  if (!stack) throw new Error(`the assembly in ${outdir} has no stack`);
  return { stack, synthMs };
}

/**
 * Opens every port on `host` before anything else is known (the ports go into the model): the AWS endpoint,
 * which the provisioner needs at once, and the API and CDN, which answer 503 until `open` (and the Lambda and
 * CloudFront APIs until `markReady`).
 */
async function startListeners(options: LocalCloudOptions, host: string) {
  if (options.dataDir) prepareDataDir(options.dataDir, options.clean);
  const names = new LocalNames(host);
  const endpoint = await startAwsEndpoint({
    port: options.ports?.aws ?? 4566,
    host,
    dataDir: options.dataDir ? join(options.dataDir, 'state') : undefined,
    names,
  });
  let ready = false;
  endpoint.addRoute(startingApis(() => ready));
  const api = await listenGated('API', options.ports?.api ?? 3000, host, names);
  const cdn = await listenGated('CDN', options.ports?.cdn ?? 3001, host, names);
  return { endpoint, api, cdn, markReady: () => (ready = true) };
}

/** The functions, built for this host (or run from source), with the local cloud's AWS environment. */
async function startFunctions(
  model: StackModel,
  root: string,
  options: LocalCloudOptions,
  awsUrl: string,
  faults: FaultInjector | undefined,
  observability: Observability,
) {
  const scaled = scaleRetryBackoff(model.functions, options.visibilityScale ?? 1);
  const functions = options.code === 'source' ? scaled : await buildForHost(scaled, root);
  return new FunctionRuntime(functions, {
    root,
    faults,
    logSink: options.logSink ?? ((fn, line) => console.log(`${fn.padEnd(10).slice(0, 10)} │ ${line}`)),
    logEvents: observability.logEvents,
    onInvoke: options.onInvoke,
    baseEnvironment: {
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ENDPOINT_URL: awsUrl,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    },
  });
}

/** One poller per enabled SQS event source mapping, started. */
function startPollers(
  model: StackModel,
  sqs: SQSClient,
  runtime: FunctionRuntime,
  options: LocalCloudOptions,
  faults: FaultInjector | undefined,
) {
  const log = options.log ?? ((line: string) => console.error(line));
  const queueUrlByArn = new Map(model.queues.map((q) => [q.arn, q.url]));
  const pollers = model.mappings
    .filter((mapping) => mapping.enabled)
    .map((mapping) => {
      const queueUrl = queueUrlByArn.get(mapping.queueArn);
      if (!queueUrl) throw new Error(`event source ${mapping.queueArn} is not a queue of the stack`);
      return new SqsPoller({
        mapping,
        queueUrl,
        region: REGION,
        sqs,
        runtime,
        concurrency: Math.min(mapping.maxConcurrency, options.pollerConcurrency ?? 2),
        log,
        faults,
      });
    });
  for (const poller of pollers) poller.start();
  return pollers;
}

/** The S3 notifications the template configures, fed by the endpoint's view of every write and delete. */
function startNotifications(
  endpoint: AwsEndpoint,
  model: StackModel,
  s3: S3Client,
  sqs: SQSClient,
  log: Log,
  faults: FaultInjector | undefined,
) {
  endpoint.onS3Event(
    createS3Notifier({
      buckets: model.buckets,
      queues: model.queues,
      s3,
      sqs,
      region: REGION,
      onError: (error) => log(`s3 notifications: ${error.message}`),
      faults,
    }),
  );
}

/**
 * The consumers' retry backoff (seconds, shared/queue/backoff.ts) scaled like the queues' visibility
 * timeouts, so that a `visibilityScale` that brings failed messages back in seconds does so for backed-off
 * records too: each function's RETRY_BACKOFF_BASE_SECONDS and RETRY_BACKOFF_MAX_SECONDS become
 * max(1, round(value × scale)); other keys, and every function when `scale` is 1, are left as they are.
 * Exported for the step-by-step test pipeline (test/support/pipeline.ts), which scales them the same way.
 */
export function scaleRetryBackoff(
  functions: StackModel['functions'],
  scale: number,
): StackModel['functions'] {
  if (scale === 1) return functions;
  return functions.map((fn) => {
    const environment = { ...fn.environment };
    for (const key of ['RETRY_BACKOFF_BASE_SECONDS', 'RETRY_BACKOFF_MAX_SECONDS']) {
      const value = environment[key];
      if (value !== undefined) environment[key] = String(Math.max(1, Math.round(Number(value) * scale)));
    }
    return { ...fn, environment };
  });
}

type Listeners = Awaited<ReturnType<typeof startListeners>>;

/** Stops accepting requests: the API and CDN servers (open connections closed), then the AWS endpoint. */
async function closeListeners({
  endpoint,
  api,
  cdn,
}: Pick<Listeners, 'endpoint' | 'api' | 'cdn'>): Promise<void> {
  for (const server of [api.server, cdn.server]) {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
  await endpoint.close();
}

/**
 * The fault injector of `options.faults`, checked against the template's functions (an unknown name is a
 * typo that stops the start, after the listeners are closed); `undefined` when faults are off.
 */
async function createFaults(
  options: LocalCloudOptions,
  model: StackModel,
  listeners: Pick<Listeners, 'endpoint' | 'api' | 'cdn'>,
): Promise<FaultInjector | undefined> {
  if (!options.faults) return undefined;
  try {
    return new FaultInjector(options.faults, {
      consumers: model.mappings.map((m) => m.functionName),
      functions: model.functions.flatMap((f) => [f.name, f.label]),
    });
  } catch (error) {
    await closeListeners(listeners);
    throw error;
  }
}

/**
 * The API keys (from `PICTURA_LOCAL_API_KEYS`, else the data folder's key file, else one generated) in a
 * store the API Gateway key calls on the AWS endpoint manage. Keys from the environment are not written to
 * the key file; changes to them last until exit.
 */
function startApiKeys(
  options: LocalCloudOptions,
  model: StackModel,
  endpoint: AwsEndpoint,
  log: (line: string) => void,
) {
  const keyFile = options.dataDir ? join(options.dataDir, 'api-keys.json') : undefined;
  const apiKeys = loadApiKeys(options.apiKeys, keyFile);
  const usagePlans = model.api?.throttling?.usagePlans ?? [];
  const keyStore = new ApiKeyStore(apiKeys, {
    usagePlanIds: usagePlans.map((plan) => plan.id),
    ...(keyFile && !options.apiKeys?.trim() ? { stateFile: keyFile } : {}),
  });
  endpoint.addRoute(apiKeyManagementRoute(keyStore, usagePlans, log));
  return { apiKeys, keyStore };
}

/** The local cloud's own URLs: the AWS endpoint, the API and the CDN, on the name clients should use. */
function localUrls(publicHost: string, { endpoint, api, cdn }: Pick<Listeners, 'endpoint' | 'api' | 'cdn'>) {
  return {
    awsUrl: `http://${publicHost}:${endpoint.port}`,
    apiUrl: `http://${publicHost}:${api.port}`,
    cdnUrl: `http://${publicHost}:${cdn.port}`,
  };
}

/** Creates the template's buckets, queues and tables in the emulators; returns the clients the cloud keeps. */
async function provisionResources(model: StackModel, endpoint: AwsEndpoint, options: LocalCloudOptions) {
  const common = { region: REGION, endpoint: endpoint.url, credentials: OWN_CREDENTIALS };
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  const sqs = new SQSClient(common);
  const dynamo = new DynamoDBClient(common);
  await provision(model, { s3, sqs, dynamo }, { visibilityScale: options.visibilityScale ?? 1 });
  return { s3, sqs };
}

/** Runs the template's EventBridge schedules against the functions (periods scaled by `scheduleScale`). */
function startScheduleRunner(
  model: StackModel,
  runtime: FunctionRuntime,
  options: LocalCloudOptions,
  log: (line: string) => void,
): ScheduleRunner {
  return startSchedules({
    schedules: model.schedules,
    invoke: (name, event) => runtime.invoke(name, event),
    scale: options.scheduleScale ?? 1,
    region: REGION,
    account: ACCOUNT,
    log,
  });
}

const notFound: RequestHandler = (_req, res) => void res.writeHead(404).end();

/**
 * Starts the whole stack on this machine from its synthesized template: the AWS endpoint (S3, SQS,
 * DynamoDB, Lambda API), the functions, S3 notifications and SQS event source mappings, the API and the CDN.
 */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const started = performance.now();
  const root = resolve(options.root);
  const outdir = resolve(root, options.outdir ?? 'cdk.out');
  const host = options.host ?? '127.0.0.1';
  const publicHost = urlHost(host);
  const log = options.log ?? ((line: string) => console.error(line));
  const { stack, synthMs } = await readStack(root, outdir, options, log);

  const { endpoint, api, cdn, markReady } = await startListeners(options, host);
  const { awsUrl, apiUrl, cdnUrl } = localUrls(publicHost, { endpoint, api, cdn });
  const model = buildStackModel(stack, {
    region: REGION,
    accountId: ACCOUNT,
    awsEndpoint: awsUrl,
    apiHost: `${publicHost}:${api.port}`,
    cdnHost: `${publicHost}:${cdn.port}`,
  });
  // Made before provisioning: the fault settings may name only the template's functions (a typo stops the start).
  const faults = await createFaults(options, model, { endpoint, api, cdn });
  const { s3, sqs } = await provisionResources(model, endpoint, options);

  endpoint.addRoute(s3CorsRoute(model.buckets));
  endpoint.addRoute(faultsStatusRoute(faults));
  if (faults) endpoint.intercept(faultInterceptor(faults));
  const observability = startObservability(endpoint, {
    region: REGION,
    account: ACCOUNT,
    dataDir: options.dataDir,
    functionNames: model.functions.map((fn) => fn.name),
  });
  const runtime = await startFunctions(model, root, options, awsUrl, faults, observability);
  endpoint.addRoute(lambdaApiRoute(runtime, log));
  endpoint.addRoute(redriveRoute(sqs));
  startNotifications(endpoint, model, s3, sqs, log, faults);
  const { apiKeys, keyStore } = startApiKeys(options, model, endpoint, log);
  const distribution = model.distribution && createCdn({ distribution: model.distribution, s3, apiUrl, log });
  if (distribution) endpoint.addRoute(distribution.invalidationRoute);
  const pollers = startPollers(model, sqs, runtime, options, faults);
  const schedules = startScheduleRunner(model, runtime, options, log);
  const stop = async (drainMs: number) => {
    await Promise.all([schedules.stop(), ...pollers.map((poller) => poller.stop())]);
    await runtime.close(drainMs);
    observability.close();
    await closeListeners({ endpoint, api, cdn });
  };
  api.open(model.api ? apiRequestHandler({ api: model.api, runtime, keys: keyStore, log }) : notFound);
  cdn.open(distribution?.handler ?? notFound);
  markReady();

  return {
    urls: { aws: awsUrl, api: model.api ? apiUrl : undefined, cdn: distribution ? cdnUrl : undefined },
    apiKeys,
    model,
    region: REGION,
    runtime,
    endpoint,
    faults,
    schedules,
    observability,
    timings: { synthMs, startMs: performance.now() - started - synthMs },
    close: (drainMs = 30_000) => stop(drainMs),
  };
}
