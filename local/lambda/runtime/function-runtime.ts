import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { FaultInjector, InvocationFault } from '../../faults/injector.ts';
import { TYPESCRIPT_CHILD_FLAGS } from '../../node-flags.ts';
import type { LocalFunction } from '../../template/stack-model.ts';
import { LOCAL_ENVIRONMENT } from '../environment.ts';
import type {
  ChildMessage,
  FunctionErrorShape,
  InitErrorMessage,
  InvokeMessage,
  ReadyMessage,
  ResultMessage,
} from './protocol.ts';
import { outputEndMarker } from './protocol.ts';
import {
  completedInvocation,
  exitError,
  logGroupOf,
  logStreamName,
  reportLine,
  timeoutError,
} from './report.ts';

const BOOTSTRAP = new URL('./bootstrap.ts', import.meta.url);
/** Lambda gives a function's init 10 s before it fails the invocation. */
const INIT_TIMEOUT_MS = 10_000;
/** Idle instances are retired after this long, like Lambda reclaiming execution environments. */
const IDLE_RETIRE_MS = 10 * 60_000;

/** How an instance's init ended when it did not become ready. */
type InitEnd = { type: 'timeout' } | { type: 'exit'; status: [number | null, NodeJS.Signals | null] };

/** What one invocation produced, in the terms of the Lambda API. */
export interface Invocation {
  requestId: string;
  payload: unknown;
  functionError?: 'Unhandled';
  error?: FunctionErrorShape;
  /** START/function output/END/REPORT lines, as `LogType: Tail` returns them. */
  log: string;
  report: {
    durationMs: number;
    billedMs: number;
    memoryMb: number;
    maxMemoryUsedMb: number;
    initMs?: number;
  };
}

/** Receives every line a function prints, tagged with the function's name. */
export type LogSink = (functionName: string, line: string) => void;

/**
 * One line of a function's log as Lambda sends it to CloudWatch Logs: the function's (physical) name, the
 * instance's log stream, the time it was written (epoch ms) and the line, including the runtime's own
 * `START`/`END`/`REPORT`/`INIT_REPORT` lines (which the `LogSink`, the console, does not get).
 */
export interface FunctionLogEvent {
  functionName: string;
  logStreamName: string;
  timestamp: number;
  message: string;
}

export interface RuntimeOptions {
  /** Project root: function entries in the template are relative to it. */
  root: string;
  /** Environment every instance gets besides the function's own (endpoint, credentials, region). */
  baseEnvironment: Record<string, string>;
  logSink: LogSink;
  /** Receives every log line with its stream (the local CloudWatch Logs, local/logs). */
  logEvents?: (event: FunctionLogEvent) => void;
  /** Concurrent instances per function (Lambda's reserved concurrency); extra invocations wait. */
  maxInstancesPerFunction?: number;
  /** Sees every event handed to a function, before the function runs (conformance tests capture them). */
  onInvoke?: (functionName: string, event: unknown) => void;
  /** Fault injection (local/faults): may crash an invocation's instance, hang it, or kill it part-way. */
  faults?: Pick<FaultInjector, 'invocationFault' | 'invocationEnded'>;
}

/** An instance that could not initialise: what the runtime reported, and what it logged meanwhile. */
class InitFailure extends Error {
  readonly error: FunctionErrorShape;
  readonly lines: string[];
  readonly initMs: number;
  readonly logStreamName: string;

  constructor(error: FunctionErrorShape, lines: string[], initMs: number, logStreamName: string) {
    super(`${error.errorType}: ${error.errorMessage}`);
    this.error = error;
    this.lines = lines;
    this.initMs = initMs;
    this.logStreamName = logStreamName;
  }
}

interface Instance {
  child: ChildProcess;
  busy: boolean;
  /** Init duration, reported on this instance's first invocation only. */
  pendingInitMs: number | undefined;
  lastUsed: number;
  /** The configuration revision it started with; an updated function retires older instances. */
  revision: number;
  /** Settles when the process exits (one listener for the instance's life, not one per invocation). */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  lines: string[];
  /** Lambda's log stream of this execution environment (`YYYY/MM/DD/[$LATEST]<id>`). */
  logStreamName: string;
  pending?: { requestId: string; resolve: (message: ResultMessage) => void };
  /** How many of its output streams have delivered each invocation's end marker ({@link outputEndMarker}). */
  outputEnds: Map<string, number>;
  /** Called when a marker arrives, while an invocation's result waits for its output. */
  onOutputEnd?: () => void;
}

interface FunctionState {
  config: LocalFunction;
  instances: Set<Instance>;
  waiters: Array<() => void>;
  revision: number;
}

/**
 * Runs functions in isolated child processes, each with the function's own environment, memory limit
 * (V8 heap) and timeout. One instance serves one invocation at a time; a new instance is a real cold
 * start (a new process importing the module), measured and reported as `Init Duration`.
 */
export class FunctionRuntime {
  readonly #functions = new Map<string, FunctionState>();
  readonly #options: RuntimeOptions;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #reaper: NodeJS.Timeout;
  #closing = false;

  constructor(functions: LocalFunction[], options: RuntimeOptions) {
    this.#options = options;
    for (const config of functions) {
      this.#functions.set(config.name, {
        config: { ...config },
        instances: new Set(),
        waiters: [],
        revision: 1,
      });
    }
    this.#reaper = setInterval(() => this.#retireIdle(), 30_000).unref();
  }

  /** Every function's current configuration. */
  list(): LocalFunction[] {
    return [...this.#functions.values()].map((state) => state.config);
  }

  /** One function's configuration by name or ARN, or `undefined`. */
  get(nameOrArn: string): LocalFunction | undefined {
    return this.#state(nameOrArn)?.config;
  }

  /**
   * Changes a function's configuration at once (the next invocation gets a new instance with it) and
   * retires its idle instances; busy ones retire when their invocation ends. The returned promise settles
   * once the idle instances have exited: the moment `LastUpdateStatus` becomes `Successful`.
   * `undefined` for an unknown function.
   */
  update(
    nameOrArn: string,
    patch: Partial<Pick<LocalFunction, 'environment' | 'timeoutSeconds' | 'memoryMb'>>,
  ): Promise<void> | undefined {
    const state = this.#state(nameOrArn);
    if (!state) return undefined;
    state.config = { ...state.config, ...patch };
    state.revision += 1;
    const exits: Promise<unknown>[] = [];
    for (const instance of state.instances) {
      if (instance.busy) continue;
      exits.push(instance.exited);
      this.#retire(state, instance);
    }
    return Promise.all(exits).then(() => undefined);
  }

  /** Invokes a function and waits for its result (the `RequestResponse` invocation type). */
  invoke(nameOrArn: string, event: unknown): Promise<Invocation> {
    const state = this.#state(nameOrArn);
    if (!state) return Promise.reject(new Error(`Function not found: ${nameOrArn}`));
    if (this.#closing) return Promise.reject(new Error('the local cloud is shutting down'));
    const work = this.#invoke(state, event);
    this.#inFlight.add(work);
    work.finally(() => this.#inFlight.delete(work)).catch(() => {});
    return work;
  }

  /** Stops taking work, waits for in-flight invocations (up to `drainMs`), then stops every instance. */
  async close(drainMs = 30_000): Promise<void> {
    this.#closing = true;
    clearInterval(this.#reaper);
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => setTimeout(r, drainMs))]);
    for (const state of this.#functions.values())
      for (const instance of state.instances) this.#retire(state, instance);
  }

  #state(nameOrArn: string): FunctionState | undefined {
    const name = /function:([^:/]+)/.exec(nameOrArn)?.[1] ?? nameOrArn;
    return this.#functions.get(name);
  }

  async #invoke(state: FunctionState, event: unknown): Promise<Invocation> {
    const requestId = randomUUID();
    this.#options.onInvoke?.(state.config.name, event);
    let instance: Instance;
    try {
      instance = await this.#acquire(state, requestId);
    } catch (error) {
      if (error instanceof InitFailure) return this.#initFailed(state, requestId, error);
      throw error;
    }
    // The configuration the invocation started with: an update meanwhile applies to the next instance.
    const { config } = state;
    const initMs = instance.pendingInitMs;
    instance.pendingInitMs = undefined;
    instance.lines = [];
    this.#log(config, instance, `START RequestId: ${requestId} Version: $LATEST`, false);
    try {
      const result = await this.#run(state, config, instance, requestId, event);
      if (result.logLine) this.#log(config, instance, result.logLine);
      const invocation = completedInvocation(config, requestId, result, instance.lines, initMs);
      // END and REPORT, which completedInvocation appended, go to CloudWatch Logs too.
      for (const line of instance.lines.slice(-2)) this.#emit(config, instance.logStreamName, line);
      return invocation;
    } finally {
      this.#release(state, instance);
    }
  }

  /**
   * Sends the invocation and waits for whichever comes first: the function's result, the function's
   * timeout, or its process exiting. The last two are answered as Lambda answers them.
   */
  async #run(
    state: FunctionState,
    config: LocalFunction,
    instance: Instance,
    requestId: string,
    event: unknown,
  ): Promise<ResultMessage> {
    const timeoutMs = config.timeoutSeconds * 1000;
    const timers: NodeJS.Timeout[] = [];
    const started = performance.now();
    const fault = this.#options.faults?.invocationFault(config.name, config.label, timeoutMs);
    try {
      return await Promise.race([
        sendInvocation(instance, requestId, event, Date.now() + timeoutMs).then(async (result) => {
          await outputDrained(instance, requestId);
          return result;
        }),
        new Promise<ResultMessage>((resolve) => {
          // The function's own timeout and an injected one end the invocation the same way.
          const timeOut = () => resolve(this.#timedOut(state, instance, requestId, config));
          timers.push(setTimeout(timeOut, timeoutMs));
          if (fault) this.#injectFault(fault, timers, timeOut, instance);
        }),
        instance.exited.then(([code, signal]) =>
          errorResult(requestId, performance.now() - started, exitError(requestId, code, signal)),
        ),
      ]);
    } finally {
      for (const timer of timers) clearTimeout(timer);
      // Only undisturbed invocations teach the injector how long this function usually runs.
      if (!fault) this.#options.faults?.invocationEnded(config.name, performance.now() - started);
    }
  }

  /**
   * An injected fault: the instance is killed (`crash` at once, `partial` part-way, answered as a process
   * exit) or frozen with SIGSTOP part-way and answered as timed out at `hangMs` (`timeout`).
   */
  #injectFault(
    fault: InvocationFault,
    timers: NodeJS.Timeout[],
    timeOut: () => void,
    instance: Instance,
  ): void {
    // A crash is the instance dying as the invocation starts: killed now, not on a timer, so that a quick
    // handler cannot answer first (which made the fault a no-op under load).
    if (fault.kind === 'crash') {
      fault.fired();
      instance.child.kill('SIGKILL');
      return;
    }
    timers.push(
      setTimeout(() => {
        fault.fired();
        if (fault.kind !== 'timeout') return void instance.child.kill('SIGKILL');
        // process.kill, not child.kill: the latter marks the child `killed`, and #retire would then skip
        // the SIGKILL that ends the frozen instance once it has timed out.
        if (instance.child.pid !== undefined) process.kill(instance.child.pid, 'SIGSTOP');
        timers.push(setTimeout(timeOut, Math.max(0, (fault.hangMs ?? 0) - fault.afterMs)));
      }, fault.afterMs),
    );
  }

  /** Lambda freezes and discards an environment that timed out; so do we. */
  #timedOut(
    state: FunctionState,
    instance: Instance,
    requestId: string,
    config: LocalFunction,
  ): ResultMessage {
    this.#retire(state, instance);
    const error = timeoutError(requestId, config.timeoutSeconds);
    return errorResult(requestId, config.timeoutSeconds * 1000, error);
  }

  /**
   * Frees an instance after its invocation and hands the slot to the next waiting invocation; an instance
   * already retired, or started with an older configuration, goes.
   */
  #release(state: FunctionState, instance: Instance): void {
    instance.pending = undefined;
    instance.busy = false;
    instance.lastUsed = Date.now();
    if (!state.instances.has(instance) || instance.revision !== state.revision) this.#retire(state, instance);
    state.waiters.shift()?.();
  }

  /**
   * An invocation whose instance failed to initialise. Lambda answers it as a function error (HTTP 200,
   * `X-Amz-Function-Error: Unhandled`, the init error as payload) and retries init on the next invocation
   * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle, Init phase).
   */
  #initFailed(state: FunctionState, requestId: string, failure: InitFailure): Invocation {
    const { config } = state;
    const { errorType } = failure.error;
    const initReport = `INIT_REPORT Init Duration: ${failure.initMs.toFixed(2)} ms\tPhase: init\tStatus: error\tError Type: ${errorType}`;
    this.#options.logSink(config.label, initReport);
    const report = { durationMs: 0, billedMs: 0, memoryMb: config.memoryMb, maxMemoryUsedMb: 0 };
    const runtimeLines = [
      initReport,
      `START RequestId: ${requestId} Version: $LATEST`,
      `END RequestId: ${requestId}`,
      reportLine(requestId, report, ['Status: error', `Error Type: ${errorType}`]),
    ];
    for (const line of runtimeLines) this.#emit(config, failure.logStreamName, line);
    const lines = [...failure.lines, ...runtimeLines];
    return {
      requestId,
      payload: failure.error,
      functionError: 'Unhandled',
      error: failure.error,
      log: `${lines.join('\n')}\n`,
      report,
    };
  }

  /** A line the runtime writes into an instance's log (to the console too, unless `toSink` is false). */
  #log(config: LocalFunction, instance: Instance, line: string, toSink = true): void {
    instance.lines.push(line);
    if (toSink) this.#options.logSink(config.label, line);
    this.#emit(config, instance.logStreamName, line);
  }

  #emit(config: LocalFunction, logStreamName: string, message: string): void {
    this.#options.logEvents?.({ functionName: config.name, logStreamName, timestamp: Date.now(), message });
  }

  async #acquire(state: FunctionState, requestId: string): Promise<Instance> {
    for (;;) {
      for (const instance of state.instances) {
        if (!instance.busy && instance.revision === state.revision && instance.child.exitCode === null) {
          instance.busy = true;
          return instance;
        }
      }
      if (state.instances.size < (this.#options.maxInstancesPerFunction ?? 10))
        return this.#start(state, requestId);
      await new Promise<void>((resolve) => state.waiters.push(resolve));
    }
  }

  /**
   * Starts a new instance (a cold start) for `requestId` and waits until it is ready; the instance comes
   * back busy, marked with its init duration for the invocation that takes it. Throws an `InitFailure`
   * when init fails, times out or the process exits, having retired the instance.
   */
  async #start(state: FunctionState, requestId: string): Promise<Instance> {
    const { config } = state;
    const streamName = logStreamName();
    const child = this.#fork(config, streamName);
    const instance: Instance = {
      child,
      busy: true,
      pendingInitMs: undefined,
      lastUsed: Date.now(),
      revision: state.revision,
      exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
      lines: [],
      logStreamName: streamName,
      outputEnds: new Map(),
    };
    state.instances.add(instance);
    this.#pipeOutput(config, instance);
    child.on('exit', () => {
      state.instances.delete(instance);
      // A slot freed by a crash or a failed init must wake an invocation waiting for one.
      state.waiters.shift()?.();
    });
    const started = performance.now();
    const ready = await initEnd(instance);
    if (ready.type !== 'ready') {
      const initMs = performance.now() - started;
      this.#retire(state, instance);
      throw this.#initFailure(config, instance, requestId, ready, initMs);
    }
    instance.pendingInitMs = ready.initMs;
    // The first invocation takes it while it is still marked with its init duration.
    return instance;
  }

  /** A process running the bootstrap with the function's module, environment and memory limit (V8 heap). */
  #fork(config: LocalFunction, streamName: string): ChildProcess {
    const entry = pathToFileURL(resolve(this.#options.root, config.entry)).href;
    return fork(BOOTSTRAP, [entry, config.handlerExport, config.name, String(config.memoryMb)], {
      cwd: this.#options.root,
      env: {
        PATH: process.env.PATH ?? '',
        ...this.#options.baseEnvironment,
        ...config.environment,
        AWS_LAMBDA_FUNCTION_NAME: config.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_EXECUTION_ENV: `AWS_Lambda_${config.runtime}`,
        AWS_LAMBDA_LOG_GROUP_NAME: logGroupOf(config.name),
        AWS_LAMBDA_LOG_STREAM_NAME: streamName,
        // After the function's own: what a local process must not do whatever the template says (tracing).
        ...LOCAL_ENVIRONMENT,
      },
      execArgv: [...TYPESCRIPT_CHILD_FLAGS, `--max-old-space-size=${Math.max(64, config.memoryMb)}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
  }

  /** Every line the process prints goes to the instance's log (for `LogType: Tail`) and to the log sink. */
  #pipeOutput(config: LocalFunction, instance: Instance): void {
    for (const stream of [instance.child.stdout, instance.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (line.startsWith(OUTPUT_END_PREFIX)) {
          const requestId = line.slice(OUTPUT_END_PREFIX.length);
          instance.outputEnds.set(requestId, (instance.outputEnds.get(requestId) ?? 0) + 1);
          instance.onOutputEnd?.();
          return;
        }
        this.#log(config, instance, line);
      });
    }
  }

  /** The failure an init that did not become ready makes: the runtime's init error, a timeout or an exit. */
  #initFailure(
    config: LocalFunction,
    instance: Instance,
    requestId: string,
    end: InitErrorMessage | InitEnd,
    initMs: number,
  ): InitFailure {
    if (end.type === 'init-error') {
      this.#log(config, instance, end.logLine);
      return new InitFailure(end.error, instance.lines, initMs, instance.logStreamName);
    }
    const error =
      end.type === 'timeout'
        ? timeoutError(requestId, INIT_TIMEOUT_MS / 1000)
        : exitError(requestId, ...end.status);
    return new InitFailure(error, instance.lines, initMs, instance.logStreamName);
  }

  #retire(state: FunctionState, instance: Instance): void {
    state.instances.delete(instance);
    if (instance.child.exitCode === null && !instance.child.killed) instance.child.kill('SIGKILL');
  }

  #retireIdle(): void {
    const now = Date.now();
    for (const state of this.#functions.values()) {
      for (const instance of state.instances) {
        if (!instance.busy && now - instance.lastUsed > IDLE_RETIRE_MS) this.#retire(state, instance);
      }
    }
  }
}

/** Hands an invocation to an instance; settles with the result the instance sends back for it. */
function sendInvocation(
  instance: Instance,
  requestId: string,
  event: unknown,
  deadlineMs: number,
): Promise<ResultMessage> {
  return new Promise<ResultMessage>((resolve) => {
    instance.pending = { requestId, resolve };
    const message: InvokeMessage = { type: 'invoke', requestId, event, deadlineMs };
    instance.child.send(message);
  });
}

/** The start of {@link outputEndMarker}'s line, before the request id. */
const OUTPUT_END_PREFIX = outputEndMarker('');
/** How long a result waits for its output's end markers at most (a function may have closed its stdout). */
const OUTPUT_END_WAIT_MS = 2_000;

/**
 * Settles once every output stream of the instance has delivered `requestId`'s end marker, i.e. all the
 * function printed for it is in the log (or after {@link OUTPUT_END_WAIT_MS}).
 */
function outputDrained(instance: Instance, requestId: string): Promise<void> {
  const streams = [instance.child.stdout, instance.child.stderr].filter(Boolean).length;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      instance.outputEnds.delete(requestId);
      instance.onOutputEnd = undefined;
      resolve();
    };
    const timer = setTimeout(finish, OUTPUT_END_WAIT_MS);
    instance.onOutputEnd = () => {
      if ((instance.outputEnds.get(requestId) ?? 0) >= streams) finish();
    };
    instance.onOutputEnd();
  });
}

/** A result the runtime makes itself for an invocation the function did not answer. */
function errorResult(requestId: string, durationMs: number, error: FunctionErrorShape): ResultMessage {
  return { type: 'result', requestId, durationMs, maxRssMb: 0, error };
}

/**
 * How an instance's init ends: its ready or init-error message, `INIT_TIMEOUT_MS` passing, or its process
 * exiting. The message listener also hands each invocation's result to the invocation waiting for it, for
 * the instance's whole life.
 */
function initEnd(instance: Instance): Promise<ReadyMessage | InitErrorMessage | InitEnd> {
  const { child } = instance;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ type: 'timeout' }), INIT_TIMEOUT_MS);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'result' && instance.pending?.requestId === message.requestId) {
        instance.pending.resolve(message);
        return;
      }
      if (message.type === 'ready' || message.type === 'init-error') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // An init error message sent just before exiting may still be queued: let it settle this first.
      setImmediate(() => resolve({ type: 'exit', status: [code, signal] }));
    });
  });
}
