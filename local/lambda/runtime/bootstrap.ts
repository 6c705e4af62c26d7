/**
 * One function instance: a child process that imports the function's module once (the cold start) and then
 * serves invocations one at a time, as a Lambda execution environment does. Started by the runtime with the
 * function's environment only; argv carries the module URL and the handler's export name.
 */
import { performance } from 'node:perf_hooks';
import { lambdaContext, logStreamName } from '../events.ts';
import {
  type ChildMessage,
  errorLogLine,
  errorShape,
  type InvokeMessage,
  outputEndMarker,
} from './protocol.ts';

const [moduleUrl = '', exportName = 'handler', functionName = 'function', memory = '128'] =
  process.argv.slice(2);
/** The handler setting as Lambda shows it (`Handler: index.handler`), which the runtime's messages quote. */
const handlerString = `index.${exportName}`;
/** One stream per execution environment, as on Lambda. */
const stream = logStreamName();

function send(message: ChildMessage): void {
  process.send?.(message);
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/**
 * Names an init failure as the Node.js runtime does (aws-lambda-nodejs-runtime-interface-client
 * `src/function/module-loader.ts`, `handler-resolver.ts`, `src/utils/errors.ts`): a module that cannot be
 * found is `Runtime.ImportModuleError`, a syntax error `Runtime.UserCodeSyntaxError` (both wrapping the
 * original, so the message is `Error: Cannot find module …`), a missing export `Runtime.HandlerNotFound`;
 * anything the module throws while loading is reported as thrown.
 */
class RuntimeError extends Error {
  constructor(type: string, message: string) {
    super(message);
    this.name = `Runtime.${type}`;
  }
}

function initError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
    return new RuntimeError('ImportModuleError', String(error));
  if (error instanceof SyntaxError) return new RuntimeError('UserCodeSyntaxError', String(error));
  return error;
}

let handler: Handler;
try {
  const module = (await import(moduleUrl)) as Record<string, unknown>;
  const candidate = module[exportName];
  if (candidate === undefined)
    throw new RuntimeError('HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof candidate !== 'function')
    throw new RuntimeError('HandlerNotFound', `${handlerString} is not a function`);
  handler = candidate as Handler;
} catch (thrown) {
  const error = initError(thrown);
  // Outside an invocation the runtime's request id is unset: the line reads `undefined`, as on Lambda.
  const message: ChildMessage = {
    type: 'init-error',
    error: errorShape(error),
    logLine: errorLogLine('Uncaught Exception', error, undefined),
  };
  // The runtime exits once the init error is reported (129 after `postInitError`, src/index.ts).
  process.send?.(message, () => process.exit(129));
  await new Promise(() => {});
}
// Lambda's Init Duration covers the runtime starting as well as the function's static code; the nearest
// equivalent here is the time since this process began (performance.now() counts from process start):
// Node's own start, this bootstrap, then the function's module.
send({ type: 'ready', initMs: performance.now() });

process.on('message', async (message: InvokeMessage) => {
  if (message.type !== 'invoke') return;
  const started = performance.now();
  const context = lambdaContext(functionName, message.deadlineMs - Date.now(), Number(memory), stream);
  context.awsRequestId = message.requestId;
  let reply: ChildMessage;
  try {
    const result = await handler(message.event, context);
    reply = { type: 'result', requestId: message.requestId, durationMs: 0, maxRssMb: 0, result };
  } catch (error) {
    reply = {
      type: 'result',
      requestId: message.requestId,
      durationMs: 0,
      maxRssMb: 0,
      error: errorShape(error),
      logLine: errorLogLine('Invoke Error', error, message.requestId),
    };
  }
  reply.durationMs = performance.now() - started;
  reply.maxRssMb = Math.ceil(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(`${outputEndMarker(message.requestId)}\n`);
  process.stderr.write(`${outputEndMarker(message.requestId)}\n`);
  send(reply);
});
