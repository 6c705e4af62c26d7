import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EdgeRoute } from '../aws-endpoint.ts';
import { requestUrl, sendJson } from '../http-util.ts';
import type { LocalFunction } from '../template/stack-model.ts';
import { LambdaApiError, LambdaProvider, type LambdaResponse } from './provider.ts';
import type { FunctionRuntime } from './runtime/function-runtime.ts';

export { lastModified } from './models.ts';
export { logTail } from './provider.ts';

/** An operation on one function: its REST-JSON method and path suffix under `/2015-03-31/functions/{name}`. */
type FunctionOperation = (
  provider: LambdaProvider,
  fn: LocalFunction,
  req: IncomingMessage,
) => LambdaResponse | Promise<LambdaResponse>;

/** `METHOD action` (the path segment after the function's name, empty for none) → operation. */
const FUNCTION_OPERATIONS = new Map<string, FunctionOperation>([
  ['GET ', (provider, fn) => provider.getFunction(fn)],
  ['GET configuration', (provider, fn) => provider.getFunctionConfiguration(fn)],
  ['PUT configuration', (provider, fn, req) => provider.updateFunctionConfiguration(fn, req)],
  ['POST invocations', (provider, fn, req) => provider.invoke(fn, req)],
]);

/**
 * The Lambda API on the AWS endpoint (REST-JSON under `/2015-03-31/functions`): `Invoke` (with `LogType:
 * Tail`), `GetFunction`, `GetFunctionConfiguration`, `ListFunctions` (paged with `MaxItems`/`Marker`) and
 * `UpdateFunctionConfiguration` (environment, timeout, memory; `LastUpdateStatus` goes `InProgress`, then
 * `Successful` once the old instances are gone), so the SDK, the AWS CLI (its `function-updated` waiter
 * included) and the cold-start benchmark work against the local cloud unchanged. Environment variables
 * that would run code on the host are refused (see `checkEnvironment`). The operations are in
 * `LambdaProvider` (provider.ts); this routes requests to them and sends their answers.
 */
export function lambdaApiRoute(runtime: FunctionRuntime, log: (line: string) => void): EdgeRoute {
  const provider = new LambdaProvider(runtime, log);
  return (req, res) => {
    if (!(req.url ?? '').startsWith('/2015-03-31/functions')) return false;
    dispatch(provider, req)
      .then((response) => send(res, response))
      .catch((error: Error) => {
        if (error instanceof LambdaApiError) return sendError(res, error);
        log(`lambda api: ${error.message}`);
        if (!res.headersSent) sendError(res, new LambdaApiError(500, 'ServiceException', error.message));
      });
    return true;
  };
}

/** The Lambda API's names for the calls under `/2015-03-31/functions` the local cloud does not implement. */
const UNSUPPORTED_OPERATIONS = new Map<string, string>([
  ['POST', 'CreateFunction'],
  ['DELETE ', 'DeleteFunction'],
  ['PUT code', 'UpdateFunctionCode'],
  ['POST versions', 'PublishVersion'],
  ['GET versions', 'ListVersionsByFunction'],
  ['POST aliases', 'CreateAlias'],
  ['GET aliases', 'ListAliases'],
  ['GET policy', 'GetPolicy'],
  ['POST policy', 'AddPermission'],
  ['PUT concurrency', 'PutFunctionConcurrency'],
  ['DELETE concurrency', 'DeleteFunctionConcurrency'],
]);

/** Finds the operation a request calls and runs it; an unknown function or call is refused as AWS refuses it. */
async function dispatch(provider: LambdaProvider, req: IncomingMessage): Promise<LambdaResponse> {
  const url = requestUrl(req);
  if (!url) throw new LambdaApiError(404, 'ResourceNotFoundException', 'Function not found');
  const { name, action } = functionPath(url);
  if (!name) {
    if (req.method === 'GET') return provider.listFunctions(url.searchParams);
    throw unsupported(req.method, url);
  }
  const fn = provider.find(name);
  if (!fn) throw new LambdaApiError(404, 'ResourceNotFoundException', `Function not found: ${name}`);
  const operation = FUNCTION_OPERATIONS.get(`${req.method} ${action ?? ''}`);
  if (!operation) throw unsupported(`${req.method} ${action ?? ''}`, url);
  return operation(provider, fn, req);
}

/**
 * The refusal of a call the local cloud does not implement: 400 `InvalidParameterValueException`, a modelled
 * Lambda error, so the SDK and the CLI print its type and message ("An error occurred
 * (InvalidParameterValueException) when calling the UpdateFunctionCode operation: …") and give up at once.
 * Not 404 `ResourceNotFoundException` (the function exists) and not a 5xx, which botocore and the SDK retry as
 * transient (`500`–`504` in botocore's retry rules; any 5xx for the SDK's standard strategy).
 */
function unsupported(call: string | undefined, url: URL): LambdaApiError {
  const operation = UNSUPPORTED_OPERATIONS.get(call ?? '');
  const what = operation ?? `${call?.split(' ')[0]} ${url.pathname}`;
  return new LambdaApiError(
    400,
    'InvalidParameterValueException',
    `The local cloud does not implement ${what}: its functions are the template's, built from source. It supports Invoke, GetFunction, GetFunctionConfiguration, ListFunctions and UpdateFunctionConfiguration.`,
  );
}

/** The function's name (percent-decoded) and the action after it, from `/2015-03-31/functions/{name}/{action}`. */
function functionPath(url: URL): { name: string; action: string | undefined } {
  const parts = url.pathname
    .replace(/^\/2015-03-31\/functions\/?/, '')
    .split('/')
    .filter(Boolean);
  try {
    return { name: decodeURIComponent(parts[0] ?? ''), action: parts[1] };
  } catch {
    throw new LambdaApiError(400, 'ValidationException', 'The function name is not valid percent-encoding');
  }
}

function send(res: ServerResponse, response: LambdaResponse): void {
  if ('body' in response) sendJson(res, response.status, response.body, response.headers);
  else res.writeHead(response.status, response.headers).end();
}

/**
 * An error as the Lambda API sends it: the type in `x-amzn-errortype`, and a JSON body with `Type` and
 * `message` (`Message` for ResourceNotFoundException), as recorded on AWS in LocalStack's
 * tests/aws/services/lambda_/test_lambda_api.snapshot.json.
 */
function sendError(res: ServerResponse, error: LambdaApiError): void {
  const body =
    error.errorType === 'ResourceNotFoundException'
      ? { Type: 'User', Message: error.message }
      : { Type: 'User', message: error.message };
  sendJson(res, error.status, body, { 'x-amzn-errortype': error.errorType });
}
