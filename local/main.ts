/**
 * `npm start`: the local cloud. Reads its options from the command line and the environment (this file is
 * the only place the local cloud looks at either), starts everything, prints where it all is, and drains
 * in-flight work on Ctrl-C.
 */

import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalCloud } from './cloud.ts';
import { discoveryPath, removeDiscovery, writeDiscovery } from './discovery.ts';
import { type FaultConfig, FaultConfigError, loadFaultConfig } from './faults/index.ts';

const { values } = parseArgs({
  options: {
    clean: { type: 'boolean', default: false },
    'in-memory': { type: 'boolean', default: false },
    'data-dir': { type: 'string', default: '.local-cloud' },
    host: { type: 'string', default: '127.0.0.1' },
    'aws-port': { type: 'string', default: '4566' },
    'api-port': { type: 'string', default: '3000' },
    'cdn-port': { type: 'string', default: '3001' },
    synth: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    'visibility-scale': { type: 'string', default: process.env.PICTURA_LOCAL_VISIBILITY_SCALE ?? '1' },
    faults: { type: 'string', default: process.env.PICTURA_LOCAL_FAULTS },
    'schedule-scale': { type: 'string', default: process.env.PICTURA_LOCAL_SCHEDULE_SCALE ?? '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm start -- [options]

  --clean                  start from empty state (removes the data folder first)
  --in-memory              keep no state on disk
  --data-dir DIR           where state survives restarts (default .local-cloud)
  --host HOST              interface to listen on (default 127.0.0.1, this machine only); requests are
                           answered only under this machine's names (localhost, 127.0.0.1, [::1], HOST),
                           and the AWS endpoint refuses calls from web pages of other sites
  --aws-port / --api-port / --cdn-port   ports (default 4566 / 3000 / 3001)
  --synth                  re-synthesize the CDK app even if cdk.out is fresh
  --source                 run the functions' TypeScript directly instead of host bundles
  --visibility-scale N     multiply queue visibility timeouts (e.g. 0.05 for fast retries)
  --schedule-scale N       multiply the periods of the template's scheduled rules (EventBridge rate(...)),
                           e.g. 0.001 runs the sweeper's 15 minutes every 0.9 s; 0 runs none
  --faults FILE|JSON       inject faults (throttling, 5xx, delays, crashes, duplicate and late deliveries)
                           as the file or inline JSON says; see README "Fault injection" and bench/faults/.
                           Counters: GET <AWS endpoint>/_pictura/faults

Environment: PICTURA_LOCAL_API_KEYS=KEY1,KEY2 (comma-separated, each its own owner and at least 20
             characters, as on API Gateway; default: one generated key kept in the data folder)
             PICTURA_LOCAL_FAULTS=FILE|JSON (as --faults)
             PICTURA_LOCAL_SCHEDULE_SCALE=N (as --schedule-scale)`);
  process.exit(0);
}

let faults: FaultConfig | undefined;
try {
  faults = values.faults ? loadFaultConfig(values.faults) : undefined;
} catch (error) {
  console.error(`local cloud not started: ${(error as Error).message}`);
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = values['in-memory'] ? undefined : values['data-dir'];
const t0 = performance.now();
const cloud = await startLocalCloud({
  root,
  dataDir,
  clean: values.clean,
  host: values.host,
  ports: {
    aws: Number(values['aws-port']),
    api: Number(values['api-port']),
    cdn: Number(values['cdn-port']),
  },
  synth: values.synth,
  code: values.source ? 'source' : 'bundle',
  apiKeys: process.env.PICTURA_LOCAL_API_KEYS,
  visibilityScale: Number(values['visibility-scale']),
  scheduleScale: Number(values['schedule-scale']),
  faults,
}).catch((error: Error) => {
  // A fault configuration naming functions the template does not have is a usage error, like a bad --faults.
  if (error instanceof FaultConfigError) {
    console.error(`local cloud not started: ${error.message}`);
    process.exit(2);
  }
  console.error(`local cloud failed to start: ${error.message}`);
  process.exit(1);
});

const key = cloud.apiKeys[0]?.value ?? '';
// The CLI (`pictura`) finds this cloud and its key here (0600; local/discovery.ts); removed on exit.
const discovery = discoveryPath();
if (cloud.urls.api) {
  writeDiscovery({
    api: cloud.urls.api,
    cdn: cloud.urls.cdn,
    aws: cloud.urls.aws,
    apiKey: key,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  });
  process.on('exit', () => removeDiscovery(process.pid, discovery));
}
const ready = ((performance.now() - t0) / 1000).toFixed(1);
// The images bucket, as the functions know it (the template also has a log bucket).
const bucket =
  cloud.model.functions.find((f) => f.label === 'upload')?.environment.BUCKET_NAME ??
  cloud.model.buckets[0]?.name ??
  '';
const table = cloud.model.tables[0]?.name ?? '';
const queue = cloud.model.queues.find((q) => !/dlq|dead/i.test(q.name))?.url ?? '';
// The read function answers a health check without a key: an invocation that shows a real answer.
const fn = (cloud.model.functions.find((f) => f.label === 'images') ?? cloud.model.functions[0])?.name ?? '';
const healthEvent = '{"httpMethod":"GET","path":"/v1/health","resource":"/v1/health","headers":{}}';
const exposed = ['0.0.0.0', '::'].includes(values.host)
  ? `\n  WARNING    listening on every interface (--host ${values.host}): anyone on your network can read the bucket\n             and change functions; AWS signatures are not checked. Use only on a network you trust.`
  : '';
console.log(`
  Pictura local cloud — ${cloud.model.stackName}, ready in ${ready}s (synth ${(cloud.timings.synthMs / 1000).toFixed(1)}s)

  API        ${cloud.urls.api ?? '(no API in the template)'}
  CDN        ${cloud.urls.cdn ?? '(no CDN in the template)'}${cloud.urls.cdn ? `   (upload page: open ${cloud.urls.cdn}/ and paste the key below)` : ''}
  AWS        ${cloud.urls.aws}   (S3, SQS, DynamoDB, Lambda)
  API key    ${key}${cloud.apiKeys.length > 1 ? `  (+${cloud.apiKeys.length - 1} more)` : ''}
  Metrics    ${cloud.urls.aws}/_pictura/metrics.html   (one image's steps: npm run trace -- <image-id>)
  State      ${dataDir ?? 'in memory'}${exposed}${cloud.faults ? `\n  Faults     ON (seed ${cloud.faults.seed}); counters: ${cloud.urls.aws}/_pictura/faults` : ''}

  Upload an image and watch it:
    curl -s -X POST ${cloud.urls.api}/v1/images -H 'x-api-key: ${key}' \\
         -H 'content-type: image/jpeg' --data-binary @photo.jpg
    curl -s ${cloud.urls.api}/v1/images -H 'x-api-key: ${key}'

  Inspect it with the AWS CLI (any credentials):
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
    aws --endpoint-url ${cloud.urls.aws} sqs list-queues
    aws --endpoint-url ${cloud.urls.aws} sqs get-queue-attributes --queue-url ${queue} --attribute-names All
    aws --endpoint-url ${cloud.urls.aws} s3 ls s3://${bucket} --recursive
    aws --endpoint-url ${cloud.urls.aws} dynamodb scan --table-name ${table}
    aws --endpoint-url ${cloud.urls.aws} lambda invoke --function-name ${fn} --log-type Tail \\
        --payload '${healthEvent}' out.json
        # AWS CLI v2: add --cli-binary-format raw-in-base64-out

  Command-line client (finds this cloud through ${discovery}):
    npx pictura upload photo.jpg --wait

  Ctrl-C stops (in-flight work finishes first).
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nstopping: letting in-flight work finish (Ctrl-C again to force) …');
    cloud
      .close(30_000)
      .then(() => process.exit(0))
      .catch((error: Error) => {
        console.error(error.message);
        process.exit(1);
      });
  });
}
