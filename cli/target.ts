/**
 * Which API the CLI talks to and with which key, in this order:
 *
 * 1. `--endpoint` / `PICTURA_ENDPOINT` (the API's base URL), with `--api-key` / `PICTURA_API_KEY`;
 * 2. `--stack` / `PICTURA_STACK`: a deployed stack's `ApiUrl` output (CloudFormation `DescribeStacks`,
 *    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html). The key
 *    is never fetched: it must come from `--api-key` / `PICTURA_API_KEY`, and the error says how to read it
 *    (`aws apigateway get-api-key --api-key <ApiKeyId output> --include-value`);
 * 3. a running local cloud (`npm start`), from its discovery file (local/discovery.ts), key included.
 *
 * The local cloud's key is only ever sent to the local cloud's own URLs, never to an endpoint given by hand.
 */

import { discoveryPath, readDiscovery } from '#local/discovery.ts';
import { CliError, EXIT } from './errors.ts';

export interface TargetOptions {
  endpoint?: string | undefined;
  apiKey?: string | undefined;
  stack?: string | undefined;
  region?: string | undefined;
}

export interface Target {
  endpoint: URL;
  apiKey: string | undefined;
  /**
   * Where the endpoint came from when the user did not type it (a stack's output, a discovery file), said
   * when it cannot be reached; `undefined` for `--endpoint` / `PICTURA_ENDPOINT`.
   */
  from: string | undefined;
  /** Appended to authentication errors: how to get a key for this endpoint. */
  keyHint?: string;
}

/** Parses an endpoint URL (http or https only); anything else is a usage error. */
export function parseEndpoint(text: string, from: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(
      `${from}: ${JSON.stringify(text)} is not a URL (e.g. http://localhost:3000)`,
      EXIT.usage,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(
      `${from}: ${url.protocol} URLs are not supported; use http:// or https://`,
      EXIT.usage,
    );
  if (url.username || url.password || url.search || url.hash)
    throw new CliError(
      `${from}: give the API's base URL only (no credentials, query or fragment)`,
      EXIT.usage,
    );
  return url;
}

/** The stack's outputs by key (DescribeStacks), as CliErrors when the call fails. */
async function stackOutputs(stack: string, region: string | undefined): Promise<Record<string, string>> {
  // Loaded only when a stack is named: the SDK is most of the CLI's start-up time otherwise.
  const sdk = await import('@aws-sdk/client-cloudformation').catch(() => {
    throw new CliError(
      '--stack needs @aws-sdk/client-cloudformation: run npm ci in the checkout',
      EXIT.usage,
    );
  });
  const { CloudFormationClient, DescribeStacksCommand } = sdk;
  const client = new CloudFormationClient(region ? { region } : {});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stack }));
    const outputs = Stacks?.[0]?.Outputs ?? [];
    return Object.fromEntries(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    const { name, message } = error as Error;
    // DescribeStacks answers an unknown stack with ValidationError "Stack with id X does not exist".
    if (name === 'ValidationError') throw new CliError(`stack ${stack}: ${message}`, EXIT.usage);
    if (/Credential|ExpiredToken|AccessDenied|UnrecognizedClient|InvalidClientTokenId/i.test(name))
      throw new CliError(`stack ${stack}: AWS refused the call (${name}: ${message})`, EXIT.auth);
    if (/region/i.test(message)) throw new CliError(`stack ${stack}: ${message}; pass --region`, EXIT.usage);
    throw new CliError(`stack ${stack}: cannot reach CloudFormation (${name}: ${message})`, EXIT.unreachable);
  } finally {
    client.destroy();
  }
}

/**
 * Checks an API key's shape before it is sent: API Gateway's key values are at least 20 characters, and
 * an HTTP header carries printable ASCII only. A key with a line break (a pasted file) or a non-ASCII
 * character would fail in fetch with the key in the message; it is a usage error here, never echoed.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html (value: "at least 20 characters")
 */
export function checkApiKey(key: string | undefined, from: string): string | undefined {
  if (key === undefined) return undefined;
  if (/^[\x21-\x7e]{20,1024}$/.test(key)) return key;
  const why = /[\r\n]/.test(key)
    ? 'it holds a line break'
    : /[^\x20-\x7e]/.test(key)
      ? 'it holds a character that is not printable ASCII'
      : / /.test(key)
        ? 'it holds a space'
        : `it has ${key.length} characters`;
  throw new CliError(
    `the API key from ${from} is malformed (${why}): API keys are 20 to 1024 printable ASCII characters, no spaces`,
    EXIT.usage,
  );
}

/** The key given by flag or environment, checked (see {@link checkApiKey}). */
function givenApiKey(options: TargetOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.apiKey !== undefined) return checkApiKey(options.apiKey, '--api-key');
  return checkApiKey(env.PICTURA_API_KEY || undefined, 'PICTURA_API_KEY');
}

/** The running local cloud, or `undefined`; a corrupt or unreadable discovery file is no local cloud. */
function localCloud(env: NodeJS.ProcessEnv) {
  try {
    return readDiscovery(discoveryPath(env));
  } catch {
    return undefined;
  }
}

/** The endpoint and key, from flags, environment, a stack's outputs or a running local cloud (module doc). */
export async function resolveTarget(
  options: TargetOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target> {
  const givenKey = givenApiKey(options, env);
  const endpointText = options.endpoint ?? (env.PICTURA_ENDPOINT || undefined);
  if (endpointText !== undefined) {
    const flag = options.endpoint !== undefined ? '--endpoint' : 'PICTURA_ENDPOINT';
    const endpoint = parseEndpoint(endpointText, flag);
    // The local cloud's key goes to the local cloud's API or CDN only.
    const local = givenKey === undefined ? localCloud(env) : undefined;
    const isLocal = local && [local.api, local.cdn].some((u) => u && new URL(u).origin === endpoint.origin);
    const apiKey = givenKey ?? (isLocal ? checkApiKey(local.apiKey, 'the local cloud') : undefined);
    return { endpoint, apiKey, from: undefined };
  }
  const stack = options.stack ?? (env.PICTURA_STACK || undefined);
  if (stack) {
    const outputs = await stackOutputs(stack, options.region ?? env.AWS_REGION);
    if (!outputs.ApiUrl) throw new CliError(`stack ${stack} has no ApiUrl output`, EXIT.usage);
    const keyId = outputs.ApiKeyId ?? '<ApiKeyId output>';
    return {
      endpoint: parseEndpoint(outputs.ApiUrl, `stack ${stack} ApiUrl`),
      apiKey: givenKey,
      from: `stack ${stack}'s ApiUrl output`,
      keyHint: ` (read the stack's key with: aws apigateway get-api-key --api-key ${keyId} --include-value --query value --output text)`,
    };
  }
  const local = localCloud(env);
  if (local)
    return {
      endpoint: new URL(local.api),
      apiKey: givenKey ?? checkApiKey(local.apiKey, 'the local cloud'),
      from: `the local cloud's discovery file ${discoveryPath(env)} (left by an npm start that is gone?)`,
    };
  throw new CliError(
    'no endpoint: pass --endpoint URL (or set PICTURA_ENDPOINT), name a deployed stack with --stack, ' +
      'or start the local cloud (npm start)',
    EXIT.usage,
  );
}
