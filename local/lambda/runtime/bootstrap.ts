/**
 * One function instance: a child process that imports the function's module once (the cold start) and then
 * serves invocations one at a time, as a Lambda execution environment does. Started by the runtime with the
 * function's environment only; argv carries the module URL and the handler's export name.
 */
import { performance } from 'node:perf_hooks';
import { lambdaContext } from '../events.ts';
import { type ChildMessage, errorShape, type InvokeMessage } from './protocol.ts';

const [moduleUrl = '', exportName = 'handler', functionName = 'function', memory = '128'] =
  process.argv.slice(2);

function send(message: ChildMessage): void {
  process.send?.(message);
}

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

let handler: Handler;
try {
  const module = (await import(moduleUrl)) as Record<string, unknown>;
  const candidate = module[exportName];
  if (typeof candidate !== 'function')
    throw new TypeError(`${moduleUrl} does not export a function "${exportName}"`);
  handler = candidate as Handler;
} catch (error) {
  send({ type: 'init-error', error: errorShape(error) });
  process.exit(1);
}
// Lambda's Init Duration covers the runtime starting as well as the function's static code; the nearest
// equivalent here is the time since this process began (performance.now() counts from process start):
// Node's own start, this bootstrap, then the function's module.
send({ type: 'ready', initMs: performance.now() });

process.on('message', async (message: InvokeMessage) => {
  if (message.type !== 'invoke') return;
  const started = performance.now();
  const context = lambdaContext(functionName, message.deadlineMs - Date.now(), Number(memory));
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
    };
  }
  reply.durationMs = performance.now() - started;
  reply.maxRssMb = Math.ceil(process.resourceUsage().maxRSS / 1024);
  send(reply);
});
