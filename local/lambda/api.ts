import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { readBody, requestUrl, sendJson } from '../http-util.ts';
import type { LocalFunction } from '../template/stack-model.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';

/** Lambda returns at most the last 4 KB of the log with `LogType: Tail`. */
const TAIL_BYTES = 4096;

function configuration(fn: LocalFunction) {
  return {
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Runtime: fn.runtime,
    Role: `arn:aws:iam::000000000000:role/${fn.name}-role`,
    Handler: `index.${fn.handlerExport}`,
    CodeSize: 0,
    Description: `local: ${fn.entry}`,
    Timeout: fn.timeoutSeconds,
    MemorySize: fn.memoryMb,
    LastModified: new Date(0).toISOString().replace('Z', '+0000'),
    CodeSha256: createHash('sha256').update(fn.entry).digest('base64'),
    Version: '$LATEST',
    Environment: { Variables: fn.environment },
    Architectures: [fn.architecture],
    PackageType: 'Zip',
    State: 'Active',
    LastUpdateStatus: 'Successful',
  };
}

function notFound(res: ServerResponse, name: string): void {
  sendJson(
    res,
    404,
    { Type: 'User', message: `Function not found: ${name}` },
    { 'x-amzn-errortype': 'ResourceNotFoundException' },
  );
}

/** Tail of a log as Lambda returns it: the last 4 KB, base64. */
export function logTail(log: string): string {
  const bytes = Buffer.from(log, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('base64');
}

/**
 * The Lambda API on the AWS endpoint (REST-JSON under `/2015-03-31/functions`): `Invoke` (with `LogType:
 * Tail`), `GetFunction`, `GetFunctionConfiguration`, `ListFunctions` and `UpdateFunctionConfiguration`, so
 * the SDK, the AWS CLI and the cold-start benchmark work against the local cloud unchanged.
 */
export function lambdaApiRoute(runtime: FunctionRuntime, log: (line: string) => void): EdgeRoute {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req);
    if (!url) {
      notFound(res, '');
      return;
    }
    const parts = url.pathname
      .replace(/^\/2015-03-31\/functions\/?/, '')
      .split('/')
      .filter(Boolean);
    const [rawName, action] = [decodeURIComponent(parts[0] ?? ''), parts[1]];
    if (!rawName && req.method === 'GET') {
      sendJson(res, 200, { Functions: runtime.list().map(configuration) });
      return;
    }
    const fn = runtime.get(rawName);
    if (!fn) {
      notFound(res, rawName);
      return;
    }
    if (req.method === 'GET' && action === undefined) {
      sendJson(res, 200, {
        Configuration: configuration(fn),
        Code: { RepositoryType: 'Local', Location: fn.entry },
        Tags: {},
      });
      return;
    }
    if (req.method === 'GET' && action === 'configuration') {
      sendJson(res, 200, configuration(fn));
      return;
    }
    if (req.method === 'PUT' && action === 'configuration') {
      const patch = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}') as {
        Environment?: { Variables?: Record<string, string> };
        Timeout?: number;
        MemorySize?: number;
      };
      const updated = await runtime.update(fn.name, {
        ...(patch.Environment ? { environment: patch.Environment.Variables ?? {} } : {}),
        ...(patch.Timeout ? { timeoutSeconds: patch.Timeout } : {}),
        ...(patch.MemorySize ? { memoryMb: patch.MemorySize } : {}),
      });
      sendJson(res, 200, configuration(updated ?? fn));
      return;
    }
    if (req.method === 'POST' && action === 'invocations') {
      const body = (await readBody(req, 6 * 1024 * 1024)).toString('utf8');
      let event: unknown;
      try {
        event = body.length > 0 ? JSON.parse(body) : {};
      } catch {
        sendJson(
          res,
          400,
          { Type: 'User', message: 'Could not parse request body into json' },
          {
            'x-amzn-errortype': 'InvalidRequestContentException',
          },
        );
        return;
      }
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (type === 'DryRun') {
        res.writeHead(204).end();
        return;
      }
      if (type === 'Event') {
        runtime
          .invoke(fn.name, event)
          .catch((error: Error) => log(`lambda: async invoke of ${fn.name}: ${error.message}`));
        res.writeHead(202, { 'x-amzn-requestid': 'local' }).end();
        return;
      }
      const invocation = await runtime.invoke(fn.name, event);
      const headers: Record<string, string> = {
        'x-amz-executed-version': '$LATEST',
        'x-amzn-requestid': invocation.requestId,
      };
      if (invocation.functionError) headers['x-amz-function-error'] = invocation.functionError;
      if (String(req.headers['x-amz-log-type'] ?? '') === 'Tail')
        headers['x-amz-log-result'] = logTail(invocation.log);
      sendJson(res, 200, invocation.payload ?? null, headers);
      return;
    }
    sendJson(res, 404, { message: `unsupported Lambda API call ${req.method} ${url.pathname}` });
  };

  return (req, res) => {
    if (!(req.url ?? '').startsWith('/2015-03-31/functions')) return false;
    handle(req, res).catch((error: Error) => {
      log(`lambda api: ${error.message}`);
      if (!res.headersSent)
        sendJson(
          res,
          500,
          { Type: 'Service', message: error.message },
          { 'x-amzn-errortype': 'ServiceException' },
        );
    });
    return true;
  };
}
