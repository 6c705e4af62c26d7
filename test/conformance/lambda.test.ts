// The Lambda API of the local cloud held to what AWS documents and records, through real clients: the AWS
// CLI (v1) and the SDK's LambdaClient, on the wire against `lambdaApiRoute` over fixture functions. Sources:
// - AWS docs: nodejs-exceptions.html (error payload), nodejs-context.html (context), API_Invoke.html,
//   API_ListFunctions.html, API_UpdateFunctionConfiguration.html, API_FunctionConfiguration.html,
//   configuration-envvars-runtime.html (reserved keys), all under https://docs.aws.amazon.com/lambda/latest/.
// - The Node.js runtime: github.com/aws/aws-lambda-nodejs-runtime-interface-client (src/utils/error.ts,
//   src/runtime/lifecycle-manager.ts, src/logging/formatter.ts).
// - Responses recorded on AWS: github.com/localstack/localstack tests/aws/services/lambda_/
//   test_lambda_common.snapshot.json, test_lambda_api.snapshot.json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaApiRoute } from '#local/lambda/api.ts';
import type { FunctionRuntime } from '#local/lambda/runtime/function-runtime.ts';
import { awsCli } from '#test/support/aws-cli.ts';
import { listenOnFreePort, localFunction, startFixtureRuntime } from '#test/support/functions.ts';
import { ROOT } from '#test/support/local-cloud.ts';

const FIXTURES = 'test/conformance/fixtures';
const PRELOAD = join(ROOT, FIXTURES, 'preload.cjs');

/** A fixture function as the tests below deploy it: 3 s and 128 MB, so the context shows them. */
const fixture = (name: string, entry: string, handlerExport: string, environment = {}) =>
  localFunction({
    name,
    entry: `${FIXTURES}/${entry}`,
    handlerExport,
    environment,
    timeoutSeconds: 3,
    memoryMb: 128,
  });

const FUNCTIONS = [
  fixture('echo', 'lambda-functions.ts', 'echo', { MARKER: 'deployed' }),
  fixture('uncaught', 'lambda-functions.ts', 'uncaught'),
  fixture('coded', 'lambda-functions.ts', 'coded'),
  fixture('init-throws', 'init-throws.ts', 'handler'),
  fixture('missing-module', 'does-not-exist.ts', 'handler'),
  // The control for the NODE_OPTIONS attack: set by the (trusted) template, the preload does run.
  fixture('preloaded', 'lambda-functions.ts', 'echo', { NODE_OPTIONS: `--require ${PRELOAD}` }),
];

let runtime: FunctionRuntime;
let server: Server;
let endpoint: string;
let requests: string[];
let lambda: LambdaClient;
let scratch: string;
const logs: string[] = [];
/** Names of the functions handed an event, in order (the runtime's `onInvoke`). */
const invoked: string[] = [];

beforeAll(async () => {
  runtime = startFixtureRuntime(FUNCTIONS, {
    logSink: (fn, line) => logs.push(`${fn} ${line}`),
    onInvoke: (fn) => invoked.push(fn),
  });
  const route = lambdaApiRoute(runtime, (line) => logs.push(`api ${line}`));
  requests = [];
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (!route(req, res)) res.writeHead(404).end();
  });
  endpoint = (await listenOnFreePort(server)).base;
  lambda = new LambdaClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  scratch = mkdtempSync(join(tmpdir(), 'pictura-lambda-conformance-'));
});
afterAll(async () => {
  await runtime?.close(1000);
  server?.closeAllConnections();
  server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** The AWS CLI against the endpoint, retrying as it does on AWS: tests count the requests it sends. */
const aws = (...args: string[]) => awsCli(args, { endpoint });
/** `aws lambda update-function-configuration --environment Variables={<variables>}`. */
const updateEnvironment = (name: string, variables: string) =>
  aws(
    'lambda',
    'update-function-configuration',
    '--function-name',
    name,
    '--environment',
    `Variables={${variables}}`,
  );
/** `aws lambda wait function-updated`: polls GetFunctionConfiguration until LastUpdateStatus is Successful. */
const waitUntilUpdated = (name: string) => aws('lambda', 'wait', 'function-updated', '--function-name', name);

const decode = (bytes: Uint8Array | undefined) => JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));
const tail = (logResult: string | undefined) => Buffer.from(logResult ?? '', 'base64').toString('utf8');
const ISO = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

describe('Invoke: function errors as the Node.js runtime reports them', () => {
  it('answers a thrown error with {errorType, errorMessage, trace}, trace starting with `Name: message`', async () => {
    const result = await lambda.send(
      new InvokeCommand({
        FunctionName: 'uncaught',
        LogType: 'Tail',
        Payload: JSON.stringify({ error_msg: 'some_error_msg' }),
      }),
    );
    // LocalStack test_lambda_common.snapshot.json, test_uncaught_exception_invoke[nodejs*] (recorded on AWS):
    // StatusCode 200, FunctionError Unhandled, Payload {errorType: Error, errorMessage: "Error: some_error_msg",
    // trace}; the trace's shape from nodejs-exceptions.html and src/utils/error.ts `formatError`.
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBe('Unhandled');
    expect(result.ExecutedVersion).toBe('$LATEST');
    const payload = decode(result.Payload);
    expect(Object.keys(payload)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(payload.errorType).toBe('Error');
    expect(payload.errorMessage).toBe('Error: some_error_msg');
    expect(payload.trace[0]).toBe('Error: Error: some_error_msg');
    expect(payload.trace.slice(1).every((line: string) => line.startsWith('    at '))).toBe(true);
    expect(payload).not.toHaveProperty('stackTrace');
  });

  it('puts the runtime’s `ERROR Invoke Error` line in the tail log, in the runtime’s text format', async () => {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: 'uncaught', LogType: 'Tail', Payload: '{"error_msg":"tail"}' }),
    );
    const requestId = result.$metadata.requestId ?? '';
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const lines = tail(result.LogResult).split('\n');
    // src/runtime/lifecycle-manager.ts `fail` → `structuredConsole.logError("Invoke Error", error)`, written by
    // src/logging/formatter.ts `formatTextMessage`: time, request id, level, util.format(label, "\t" + JSON).
    const line = lines.find((l) => l.includes('Invoke Error')) ?? '';
    expect(line).toMatch(new RegExp(`^${ISO}\\t${requestId}\\tERROR\\tInvoke Error \\t\\{`));
    const json = JSON.parse(line.slice(line.indexOf('Invoke Error \t') + 'Invoke Error \t'.length));
    expect(Object.keys(json)).toEqual(['errorType', 'errorMessage', 'stack']);
    expect(json).toMatchObject({ errorType: 'Error', errorMessage: 'Error: tail' });
    expect(json.stack[0]).toBe('Error: Error: tail');
    // The line sits between START and END, as the runtime writes it during the invocation.
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(at('START RequestId:')).toBeLessThan(lines.indexOf(line));
    expect(lines.indexOf(line)).toBeLessThan(at('END RequestId:'));
  });

  it('includes an error’s own properties (`code`) in the Invoke Error line, not in the payload', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'coded', LogType: 'Tail' }));
    expect(decode(result.Payload)).toMatchObject({ errorType: 'RangeError', errorMessage: 'out of range' });
    expect(decode(result.Payload)).not.toHaveProperty('code');
    const line = tail(result.LogResult)
      .split('\n')
      .find((l) => l.includes('Invoke Error'));
    expect(line).toContain(
      '{"errorType":"RangeError","errorMessage":"out of range","code":"E_RANGE","stack":[',
    );
  });

  it('answers an init failure with HTTP 200, X-Amz-Function-Error: Unhandled and the init error (AWS CLI)', async () => {
    const outfile = join(scratch, 'init-throws.json');
    const before = requests.length;
    const cli = await aws('lambda', 'invoke', '--function-name', 'init-throws', outfile);
    // One request: a 200 answer is final, where a 500 ServiceException made the CLI retry four times.
    expect(requests.length - before).toBe(1);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      ExecutedVersion: '$LATEST',
    });
    const payload = JSON.parse(readFileSync(outfile, 'utf8'));
    expect(payload).toMatchObject({ errorType: 'TypeError', errorMessage: 'cannot start: missing setting' });
    expect(payload.trace[0]).toBe('TypeError: cannot start: missing setting');
  });

  it('names a module that cannot be found Runtime.ImportModuleError, as the runtime does (SDK)', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'missing-module', LogType: 'Tail' }));
    expect(result.StatusCode).toBe(200);
    expect(result.FunctionError).toBe('Unhandled');
    // src/function/module-loader.ts wraps the loader's error: `new ImportModuleError(err)`.
    const payload = decode(result.Payload);
    expect(payload.errorType).toBe('Runtime.ImportModuleError');
    expect(payload.errorMessage).toMatch(/^Error.*: Cannot find module .*does-not-exist\.ts/);
    expect(payload.trace[0]).toBe(`Runtime.ImportModuleError: ${payload.errorMessage.split('\n')[0]}`);
    expect(tail(result.LogResult)).toMatch(
      /\tundefined\tERROR\tUncaught Exception \t\{"errorType":"Runtime\.ImportModuleError"/,
    );
  });
});

describe('the context a function receives (nodejs-context.html)', () => {
  it('has the documented properties, its request id the one Invoke answers with', async () => {
    const result = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: '{"a":1}' }));
    const body = decode(result.Payload);
    expect(body.event).toEqual({ a: 1 });
    expect(body.context).toMatchObject({
      functionName: 'echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:echo',
      memoryLimitInMB: '128',
      awsRequestId: result.$metadata.requestId,
      logGroupName: '/aws/lambda/echo',
      callbackWaitsForEmptyEventLoop: expect.any(Boolean),
    });
    // monitoring-cloudwatchlogs.html: `YYYY/MM/DD/[version]` and the environment's id.
    expect(body.context.logStreamName).toMatch(/^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(body.remainingMs).toBeGreaterThan(0);
    expect(body.remainingMs).toBeLessThanOrEqual(3000);
  });
});

describe('UpdateFunctionConfiguration', () => {
  it('sets LastModified to now, answers InProgress, then Successful for `aws lambda wait function-updated`', async () => {
    await lambda.send(new InvokeCommand({ FunctionName: 'echo' }));
    const sent = Date.now();
    const cli = await updateEnvironment('echo', 'MARKER=changed');
    expect(cli.code).toBe(0);
    const updated = JSON.parse(cli.stdout);
    // test_lambda_api.snapshot.json `update_func_conf_response` (recorded on AWS).
    expect(updated).toMatchObject({
      LastUpdateStatus: 'InProgress',
      LastUpdateStatusReason: 'The function is being created.',
      LastUpdateStatusReasonCode: 'Creating',
      State: 'Active',
      Environment: { Variables: { MARKER: 'changed' } },
    });
    // API_FunctionConfiguration: LastModified in ISO-8601 (YYYY-MM-DDThh:mm:ss.sTZD), e.g. 2018-11-27T15:10:45.123+0000.
    expect(updated.LastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    const modified = Date.parse(updated.LastModified.replace('+0000', 'Z'));
    expect(modified).toBeGreaterThanOrEqual(sent - 1000);
    expect(modified).toBeLessThanOrEqual(Date.now());

    expect((await waitUntilUpdated('echo')).code).toBe(0);
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    expect(after.LastUpdateStatus).toBe('Successful');
    expect(after.LastUpdateStatusReason).toBeUndefined();
    expect(after.LastModified).toBe(updated.LastModified);
    expect(after.RevisionId).toBe(updated.RevisionId);
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'echo' }))).Payload).marker).toBe(
      'changed',
    );
  });

  it('refuses a second update while one is in progress: 409 ResourceConflictException', async () => {
    await lambda.send(new InvokeCommand({ FunctionName: 'echo' }));
    const update = (marker: string) =>
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'echo',
          Environment: { Variables: { MARKER: marker } },
        }),
      );
    const results = await Promise.allSettled([update('first'), update('second')]);
    // test_lambda_api.snapshot.json `update-during-in-progress-update-exc` (recorded on AWS).
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    expect(refused?.reason).toMatchObject({
      name: 'ResourceConflictException',
      message: `The operation cannot be performed at this time. An update is in progress for resource: ${FUNCTIONS[0]?.arn}`,
      $metadata: { httpStatusCode: 409 },
    });
    expect((await waitUntilUpdated('echo')).code).toBe(0);
  });

  it('refuses AWS’s reserved keys the way AWS does, listing them in request order', async () => {
    const attempt = lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'echo',
        Environment: { Variables: { AWS_REGION: 'eu-west-1', OK: 'x', AWS_LAMBDA_FUNCTION_NAME: 'other' } },
      }),
    );
    // configuration-envvars-runtime.html (reserved keys); the message as AWS sends it.
    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message:
        'Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION, AWS_LAMBDA_FUNCTION_NAME',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses NODE_OPTIONS with a --require payload, and the payload never runs (AWS CLI)', async () => {
    const cli = await updateEnvironment('echo', `NODE_OPTIONS=--require ${PRELOAD}`);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain('(InvalidParameterValueException)');
    expect(cli.stderr).toContain('NODE_OPTIONS');
    const body = decode((await lambda.send(new InvokeCommand({ FunctionName: 'echo' }))).Payload);
    expect(body.preloaded).toBe(false);
    expect(body.nodeOptions).toBeNull();
    // The control: the same payload set by the template reaches the process and runs.
    const control = decode((await lambda.send(new InvokeCommand({ FunctionName: 'preloaded' }))).Payload);
    expect(control.preloaded).toBe(true);
  });

  it.each([
    ['LD_PRELOAD', '/tmp/evil.so'],
    ['LD_LIBRARY_PATH', '/tmp'],
    ['NODE_PATH', '/tmp'],
    ['node_options', '--import=/tmp/x.mjs'],
    ['NODE_V8_COVERAGE', '/tmp/out'],
    ['PATH', '/tmp'],
    ['BASH_ENV', '/tmp/x.sh'],
    ['OPENSSL_CONF', '/tmp/openssl.cnf'],
  ])('refuses %s, which would load code on the host', async (key, value) => {
    await expect(
      lambda.send(
        new UpdateFunctionConfigurationCommand({
          FunctionName: 'echo',
          Environment: { Variables: { [key]: value } },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: expect.stringContaining(key),
    });
  });

  it('accepts the template’s own value sent back unchanged, and NODE_ENV', async () => {
    const deployed = FUNCTIONS.find((f) => f.name === 'preloaded')?.environment ?? {};
    const updated = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'preloaded',
        Environment: { Variables: { ...deployed, NODE_ENV: 'production' } },
      }),
    );
    expect(updated.Environment?.Variables).toEqual({ ...deployed, NODE_ENV: 'production' });
    expect((await waitUntilUpdated('preloaded')).code).toBe(0);
  });

  // API_Environment: keys match [a-zA-Z]([a-zA-Z0-9_])+ (two characters at least); configuration-envvars.html:
  // 4 KB in all; API_UpdateFunctionConfiguration: Timeout 1-900, MemorySize 128-10240.
  it.each([
    [
      'a key with a dash',
      { Environment: { Variables: { 'BAD-KEY': 'x' } } },
      'ValidationException',
      /regular expression pattern/,
    ],
    [
      'a one-letter key',
      { Environment: { Variables: { A: 'x' } } },
      'ValidationException',
      /regular expression pattern/,
    ],
    [
      'a number as value',
      { Environment: { Variables: { AB: 1 } } },
      'ValidationException',
      /Member must be a string/,
    ],
    [
      'variables over 4 KB',
      { Environment: { Variables: { AB: 'x'.repeat(5000) } } },
      'InvalidParameterValueException',
      /exceeded the 4KB limit/,
    ],
    ['Timeout 0', { Timeout: 0 }, 'ValidationException', /'timeout' failed to satisfy constraint/],
    ['MemorySize 1e9', { MemorySize: 1e9 }, 'ValidationException', /less than or equal to 10240/],
    // API_EphemeralStorage: Size 512-10240 (MB); the member name as AWS's validation errors spell members.
    [
      'EphemeralStorage 511',
      { EphemeralStorage: { Size: 511 } },
      'ValidationException',
      /Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512/,
    ],
    [
      'EphemeralStorage 10241',
      { EphemeralStorage: { Size: 10241 } },
      'ValidationException',
      /less than or equal to 10240/,
    ],
    [
      'EphemeralStorage without Size',
      { EphemeralStorage: {} },
      'ValidationException',
      /ephemeralStorage.size/,
    ],
    [
      'a Handler with an Environment',
      { Handler: 'index.other', Environment: { Variables: { OTHER: 'x' } } },
      'InvalidParameterValueException',
      /cannot change Handler/,
    ],
    [
      'a body that is not JSON',
      '{not json',
      'InvalidRequestContentException',
      /Could not parse request body into json/,
    ],
    ['a JSON array', '[1,2]', 'InvalidRequestContentException', /Could not parse request body into json/],
  ])('answers %s with 400 %s and changes nothing', async (_label, body, errorType, message) => {
    const response = await fetch(`${endpoint}/2015-03-31/functions/echo/configuration`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe(errorType);
    expect(JSON.stringify(await response.json())).toMatch(message);
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    expect(Object.keys(current.Environment?.Variables ?? {})).toEqual(['MARKER']);
    expect(current.Timeout).toBe(3);
    expect(current.MemorySize).toBe(128);
  });
});

describe('UpdateFunctionConfiguration: settings the local cloud cannot honour', () => {
  // API_UpdateFunctionConfiguration takes Handler, Runtime, Layers and EphemeralStorage; the local cloud runs the
  // template's handler from source in this machine's Node.js, without layers, on the host's /tmp, so it refuses
  // a change to them with the error the API documents for a parameter it cannot accept (400
  // InvalidParameterValueException) instead of answering 200 and ignoring it.
  it.each([
    ['--handler', 'index.other', 'Handler'],
    ['--runtime', 'python3.12', 'Runtime'],
    ['--layers', 'arn:aws:lambda:us-east-1:000000000000:layer:shared:1', 'Layers'],
    ['--ephemeral-storage', 'Size=1024', 'EphemeralStorage'],
  ])('refuses %s %s through the AWS CLI, and changes nothing', async (option, value, field) => {
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    const sent = requests.length;
    const cli = await aws(
      'lambda',
      'update-function-configuration',
      '--function-name',
      'echo',
      option,
      value,
    );
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain(
      `An error occurred (InvalidParameterValueException) when calling the UpdateFunctionConfiguration operation: The local cloud cannot change ${field}:`,
    );
    expect(requests.length - sent).toBe(1);
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    expect(after.RevisionId).toBe(before.RevisionId);
    expect(after.LastModified).toBe(before.LastModified);
    expect(after.Handler).toBe('index.echo');
    expect(after.Layers).toBeUndefined();
  });

  // test_lambda_api.snapshot.json (recorded on AWS) reports `EphemeralStorage: {Size: 512}`, the default.
  it('accepts the values the function already has, as a tool sending its configuration back does', async () => {
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' }));
    expect(current.EphemeralStorage).toEqual({ Size: 512 });
    const updated = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: 'echo',
        Handler: current.Handler,
        Runtime: current.Runtime,
        Layers: [],
        EphemeralStorage: { Size: 512 },
      }),
    );
    expect(updated).toMatchObject({
      Handler: 'index.echo',
      Runtime: current.Runtime,
      LastUpdateStatus: 'InProgress',
    });
    expect((await waitUntilUpdated('echo')).code).toBe(0);
  });
});

describe('Lambda API calls the local cloud does not implement', () => {
  // botocore retries 500/502/503/504 and the SDK any 5xx; a 404 without x-amzn-ErrorType printed as
  // "An error occurred (404)". A modelled 4xx error is printed with its type and message and not retried.
  it.each([
    [['delete-function', '--function-name', 'echo'], 'DeleteFunction'],
    [
      ['update-function-code', '--function-name', 'echo', '--s3-bucket', 'code-bucket', '--s3-key', 'k.zip'],
      'UpdateFunctionCode',
    ],
    [['publish-version', '--function-name', 'echo'], 'PublishVersion'],
  ])('answers aws lambda %j with InvalidParameterValueException, in one request', async (args, operation) => {
    const sent = requests.length;
    const cli = await aws('lambda', ...args);
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toContain(
      `An error occurred (InvalidParameterValueException) when calling the ${operation} operation: The local cloud does not implement ${operation}`,
    );
    expect(requests.length - sent).toBe(1);
    // The function is still there.
    await expect(
      lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'echo' })),
    ).resolves.toBeDefined();
  });

  it.each([
    ['POST', '/2015-03-31/functions'],
    ['GET', '/2015-03-31/functions/echo/no-such-action'],
    ['PATCH', '/2015-03-31/functions/echo'],
  ])('answers %s %s with a Lambda error shape', async (method, path) => {
    const response = await fetch(`${endpoint}${path}`, { method, body: method === 'GET' ? undefined : '{}' });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidParameterValueException');
    expect(await response.json()).toMatchObject({
      Type: 'User',
      message: expect.stringContaining('does not implement'),
    });
  });

  it('still answers a call on a missing function with 404 ResourceNotFoundException', async () => {
    const response = await fetch(`${endpoint}/2015-03-31/functions/nope`, { method: 'DELETE' });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
  });
});

describe('ListFunctions', () => {
  it('pages with MaxItems and NextMarker/Marker (SDK), every function once', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await lambda.send(
        new ListFunctionsCommand({ MaxItems: 2, ...(marker ? { Marker: marker } : {}) }),
      );
      expect(page.Functions?.length).toBeLessThanOrEqual(2);
      seen.push(...(page.Functions ?? []).map((f) => f.FunctionName ?? ''));
      marker = page.NextMarker;
      pages += 1;
    } while (marker && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(FUNCTIONS.map((f) => f.name).sort());
  });

  it('pages for the AWS CLI: --page-size sends MaxItems, --max-items stops with a NextToken', async () => {
    const before = requests.length;
    const cli = await aws('lambda', 'list-functions', '--page-size', '2', '--max-items', '3');
    expect(cli.code).toBe(0);
    const listed = JSON.parse(cli.stdout);
    expect(listed.Functions).toHaveLength(3);
    expect(listed.NextToken).toEqual(expect.any(String));
    const sent = requests.slice(before);
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => r.includes('MaxItems=2'))).toBe(true);
    expect(sent[1]).toContain('Marker=');
  });

  // API_ListFunctions documents 400 InvalidParameterValueException for "One of the parameters in the request is
  // not valid"; a marker this API did not hand out is one (it was read as an empty last page: a client stopped
  // paging without an error). Standard base64 of a name (`ZWNobw==` for echo) is not the marker it handed out.
  it.each(['garbage', 'bm9wZQ', 'ZWNobw==', '%00', 'x'.repeat(5000)])(
    'refuses Marker=%s with 400 InvalidParameterValueException',
    async (marker) => {
      const response = await fetch(`${endpoint}/2015-03-31/functions/?Marker=${marker}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('InvalidParameterValueException');
    },
  );

  it('refuses a garbage marker through the SDK too, with the type the SDK knows', async () => {
    await expect(lambda.send(new ListFunctionsCommand({ Marker: 'garbage' }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it.each(['0', '10001', 'abc'])('refuses MaxItems=%s with a ValidationException', async (value) => {
    const response = await fetch(`${endpoint}/2015-03-31/functions/?MaxItems=${value}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('ValidationException');
  });
});

describe('hostile Invoke requests', () => {
  it('refuses a payload over 6 MB with 413 RequestTooLargeException before the function runs', async () => {
    const before = invoked.length;
    const response = await fetch(`${endpoint}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: JSON.stringify({ big: 'x'.repeat(6 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('RequestTooLargeException');
    expect(invoked.length).toBe(before);
    // Just under the limit, it is handed over: the limit is the documented 6 MB, not lower.
    const under = await fetch(`${endpoint}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: JSON.stringify({ big: 'x'.repeat(6 * 1024 * 1024 - 100) }),
    });
    expect(under.status).toBe(200);
    expect(invoked.length).toBe(before + 1);
  });

  it('answers a body that is not JSON with 400 InvalidRequestContentException', async () => {
    const response = await fetch(`${endpoint}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: '{"a":',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
  });

  it.each(['%E0%A4%A', 'no-such-function'])(
    'answers the function name %s with a 4xx, never a 500',
    async (name) => {
      const response = await fetch(`${endpoint}/2015-03-31/functions/${name}/invocations`, {
        method: 'POST',
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    },
  );
});
