/**
 * What `UpdateFunctionConfiguration` accepts in `Environment.Variables`: AWS's own rules (key pattern, 4 KB,
 * reserved keys), and, because a local function is a plain process on the user's machine and not in
 * Lambda's sandbox, a refusal of the variables that would make that process run or load code of the
 * caller's choosing.
 */

/**
 * Variables every local function gets after its own configuration, whatever the template or an update says:
 * `POWERTOOLS_TRACE_ENABLED=false` turns Powertools Tracer off, since no X-Ray daemon runs here and the
 * X-Ray SDK would otherwise try to send each segment to one (UDP 127.0.0.1:2000) and warn about the missing
 * trace header on every invocation. The local timeline comes from the logs instead (`npm run trace`).
 */
export const LOCAL_ENVIRONMENT: Readonly<Record<string, string>> = { POWERTOOLS_TRACE_ENABLED: 'false' };

/** The refusal, in the Lambda API's error terms. */
export interface EnvironmentRefusal {
  status: number;
  errorType: 'InvalidParameterValueException' | 'ValidationException';
  message: string;
}

/**
 * Keys Lambda sets itself and refuses in a function's configuration ("Defined runtime environment
 * variables", reserved: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html).
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

/**
 * Variables that make a local function's process run or load code, read credentials or configuration of
 * the caller's choosing, or write where it should not, on the host. Lambda allows most of them (its sandbox
 * contains the damage); the local cloud cannot, since anyone who reaches its AWS endpoint could otherwise
 * turn `UpdateFunctionConfiguration` into code execution. A list of families rather than of names, because
 * each of these readers grows new variables:
 * - `NODE_*` (but `NODE_ENV`, an application convention): `NODE_OPTIONS` preloads modules (`--require`,
 *   `--import`, `--loader`) and sets V8 flags; `NODE_PATH` redirects module resolution; `NODE_V8_COVERAGE`,
 *   `NODE_REPL_HISTORY` and `NODE_COMPILE_CACHE` write files to a path of the caller's choosing;
 *   `NODE_EXTRA_CA_CERTS` and `NODE_TLS_REJECT_UNAUTHORIZED` weaken TLS. `NPM_CONFIG_*` likewise for npm.
 * - `AWS_*` (beyond the reserved keys above): the SDK's own settings. `AWS_PROFILE` with `AWS_CONFIG_FILE`
 *   or `AWS_SHARED_CREDENTIALS_FILE` (even pointed at `/proc/self/environ`, whose other variables can carry
 *   a whole profile) makes it run a profile's `credential_process` as a shell command;
 *   `AWS_ENDPOINT_URL*`, `AWS_CA_BUNDLE` and `AWS_CONTAINER_CREDENTIALS_*` redirect its calls and credentials.
 * - `HOME` and `XDG_*`: where the SDK (`~/.aws/config`), GLib and others find configuration files.
 * - `LD_*` (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT`) and macOS's `DYLD_*`: the dynamic loader maps a
 *   shared object of the caller's choosing into the process (sharp loads libvips natively). `GIO_*`
 *   (`GIO_EXTRA_MODULES`, `GIO_MODULE_DIR`) and `VIPS*` (`VIPSHOME`): libvips and its GLib load modules
 *   from them. `GCONV_PATH` (glibc's iconv modules), `GLIBC_TUNABLES`, `MALLOC_*`, `LOCPATH`, `NLSPATH`.
 * - `OPENSSL_*` (engines, providers, configuration) and `SSL_CERT_*`: what OpenSSL loads and trusts.
 * - `PATH` (which binaries a spawned command runs), `BASH_ENV`, `ENV` and `SHELL` (what a shell sources or
 *   is), `TMPDIR`/`TMP`/`TEMP` (where temporary files, which some libraries load back, are written).
 */
const UNSAFE_PREFIXES = [
  'NODE_',
  'NPM_CONFIG_',
  'AWS_',
  'XDG_',
  'LD_',
  'DYLD_',
  'GIO_',
  'VIPS',
  'MALLOC_',
  'OPENSSL_',
  'SSL_CERT_',
];
const UNSAFE_KEYS = new Set([
  'HOME',
  'PATH',
  'BASH_ENV',
  'ENV',
  'SHELL',
  'TMPDIR',
  'TMP',
  'TEMP',
  'GCONV_PATH',
  'GLIBC_TUNABLES',
  'LOCPATH',
  'NLSPATH',
]);
const SAFE_KEYS = new Set(['NODE_ENV']);

/** `Environment.Variables` key pattern (https://docs.aws.amazon.com/lambda/latest/api/API_Environment.html). */
const KEY_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/** "The total size of all environment variables doesn't exceed 4 KB" (configuration-envvars.html). */
const MAX_BYTES = 4096;

/** Whether a key would run code on the host when set on a local function (case-insensitive, to be safe). */
export function isUnsafeLocally(key: string): boolean {
  const upper = key.toUpperCase();
  if (SAFE_KEYS.has(upper)) return false;
  return UNSAFE_KEYS.has(upper) || UNSAFE_PREFIXES.some((prefix) => upper.startsWith(prefix));
}

/**
 * Checks a new `Environment.Variables` map. `deployed` is the function's environment from the template,
 * which is trusted: a key that keeps its deployed value passes (so a client that sends back the whole
 * environment with one change still works even if the template sets, say, `NODE_OPTIONS`). Returns the
 * refusal to send, or `undefined`:
 * - not a map of strings, or a key off the pattern: `ValidationException` (400);
 * - over 4 KB: `InvalidParameterValueException` (400), AWS's message;
 * - reserved keys: `InvalidParameterValueException` (400), AWS's message listing them in request order;
 * - keys unsafe on a local machine: `InvalidParameterValueException` (400), naming them and why.
 */
export function checkEnvironment(
  variables: unknown,
  deployed: Readonly<Record<string, string>>,
): EnvironmentRefusal | undefined {
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables))
    return validation("Value at 'environment.variables' failed to satisfy constraint: Member must be a map");
  const entries = Object.entries(variables as Record<string, unknown>);
  if (entries.some(([, value]) => typeof value !== 'string'))
    return validation(
      "Value at 'environment.variables' failed to satisfy constraint: Map value must satisfy constraint: [Member must be a string]",
    );
  if (entries.some(([key]) => !KEY_PATTERN.test(key)))
    return validation(
      "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
    );
  const measured = JSON.stringify(variables);
  if (Buffer.byteLength(measured) > MAX_BYTES)
    return invalid(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${measured}`,
    );
  const reserved = entries.map(([key]) => key).filter((key) => RESERVED_KEYS.has(key));
  if (reserved.length > 0)
    return invalid(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  const unsafe = entries
    .filter(([key, value]) => isUnsafeLocally(key) && deployed[key] !== value)
    .map(([key]) => key);
  if (unsafe.length > 0)
    return invalid(
      `The local cloud refuses environment variables that would run or load code on this machine (local functions are not sandboxed as on Lambda): ${unsafe.join(', ')}. Set them in the template instead.`,
    );
  return undefined;
}

function invalid(message: string): EnvironmentRefusal {
  return { status: 400, errorType: 'InvalidParameterValueException', message };
}

function validation(detail: string): EnvironmentRefusal {
  return { status: 400, errorType: 'ValidationException', message: `1 validation error detected: ${detail}` };
}
