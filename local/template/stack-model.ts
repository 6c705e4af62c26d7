import { createHash } from 'node:crypto';
import type { CfnResource, PhysicalResource, StackTemplate } from './template.ts';
import { Resolver } from './template.ts';

/** Addresses of the local cloud, which resolved template values point at. */
export interface LocalAddresses {
  region: string;
  accountId: string;
  /** The AWS endpoint (edge) URL, e.g. `http://localhost:4566`. */
  awsEndpoint: string;
  /** Host and port of the CDN, e.g. `localhost:3001` (what a distribution's DomainName resolves to). */
  cdnHost: string;
  /** Host and port of the API, e.g. `localhost:3000`. */
  apiHost: string;
}

export interface LocalQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
  /** CreateQueue attributes, resolved (RedrivePolicy as JSON). */
  attributes: Record<string, string>;
}

export interface QueueNotification {
  queueArn: string;
  events: string[];
  prefix: string;
  suffix: string;
}

export interface LocalBucket {
  logicalId: string;
  name: string;
  notifications: QueueNotification[];
}

export interface LocalTable {
  logicalId: string;
  name: string;
  /** The table's CreateTable input (key schema, attributes, indexes), resolved. */
  definition: Record<string, unknown>;
}

export interface LocalFunction {
  logicalId: string;
  name: string;
  /** Short name for logs (the `pictura:name` metadata, else the logical id). */
  label: string;
  arn: string;
  /** Source entry relative to the project root (from the `pictura:entry` metadata). */
  entry: string;
  handlerExport: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memoryMb: number;
  runtime: string;
  architecture: string;
  /**
   * `naive` (the `pictura:packaging` metadata) for the cold-start benchmark's naive baselines, which the
   * local cloud must build the naive way too; absent for the project's own packaging.
   */
  packaging?: 'naive';
}

export interface LocalEventSourceMapping {
  functionName: string;
  queueArn: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  maxConcurrency: number;
  enabled: boolean;
}

export interface LocalRoute {
  method: string;
  /** Route template, e.g. `/v1/images/{id}`. */
  resource: string;
  pattern: RegExp;
  parameterNames: string[];
  apiKeyRequired: boolean;
  /** Proxy integration target; absent for MOCK integrations (CORS preflight). */
  functionName?: string;
  mock?: { statusCode: number; headers: Record<string, string> };
}

/** A customised API Gateway error answer (AWS::ApiGateway::GatewayResponse). */
export interface LocalGatewayResponse {
  statusCode?: number;
  headers: Record<string, string>;
  /** The `application/json` response template, with `$context` variables still in it. */
  template?: string;
}

export interface LocalApi {
  restApiId: string;
  /** Customised error answers by response type (`INVALID_API_KEY`, `DEFAULT_4XX`, …). */
  gatewayResponses: Record<string, LocalGatewayResponse>;
  name: string;
  stage: string;
  binaryMediaTypes: string[];
  routes: LocalRoute[];
  usesApiKeys: boolean;
}

export interface LocalCacheBehavior {
  pathPattern: string;
  origin: { kind: 's3'; bucket: string; originPath: string } | { kind: 'api'; originPath: string };
  defaultTtl: number;
  maxTtl: number;
  minTtl: number;
  headers: Record<string, string>;
  /** The response headers policy's CORS settings, applied to requests that carry an `Origin`. */
  cors?: { allowOrigins: string[] };
}

export interface LocalDistribution {
  id: string;
  /** Ordered: specific behaviours first, the default last. */
  behaviors: LocalCacheBehavior[];
  /** Key prefixes the distribution may read from the bucket (from the OAC bucket policy). */
  readablePrefixes: string[];
}

/** Everything the local cloud runs, derived from one synthesized stack. */
export interface StackModel {
  stackName: string;
  buckets: LocalBucket[];
  queues: LocalQueue[];
  tables: LocalTable[];
  functions: LocalFunction[];
  mappings: LocalEventSourceMapping[];
  api: LocalApi | undefined;
  distribution: LocalDistribution | undefined;
  outputs: Record<string, string>;
}

const MANAGED_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** A readable, valid, deterministic local name for a resource CloudFormation would have named. */
function localName(stack: string, logicalId: string, max: number, lowercase = false): string {
  const raw = `${stack}-${logicalId}`.replace(/[^A-Za-z0-9-]/g, '-');
  const name = raw.length <= max ? raw : `${raw.slice(0, max - 9)}-${shortHash(raw)}`;
  return lowercase ? name.toLowerCase() : name;
}

function props(resource: CfnResource): Record<string, unknown> {
  return resource.Properties ?? {};
}

function str(value: unknown, fallback = ''): string {
  return value === undefined || value === null ? fallback : String(value);
}

/**
 * Builds the local model of a stack: physical names and URLs for every resource the local cloud emulates,
 * then every property that matters resolved against them. Resources it does not emulate (IAM, alarms,
 * custom resources) still get placeholder values so references to them resolve.
 */
export function buildStackModel(stack: StackTemplate, addresses: LocalAddresses): StackModel {
  const { region, accountId } = addresses;
  const physical = new Map<string, PhysicalResource>();
  const endpointPort = new URL(addresses.awsEndpoint).port;
  const entries = Object.entries(stack.resources);

  for (const [logicalId, resource] of entries) {
    const p = props(resource);
    switch (resource.Type) {
      case 'AWS::S3::Bucket': {
        const name =
          typeof p.BucketName === 'string' ? p.BucketName : localName(stack.stackName, logicalId, 63, true);
        physical.set(logicalId, {
          ref: name,
          attributes: {
            Arn: `arn:aws:s3:::${name}`,
            DomainName: `${name}.s3.amazonaws.com`,
            RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
            WebsiteURL: `${addresses.awsEndpoint}/${name}`,
          },
        });
        break;
      }
      case 'AWS::SQS::Queue': {
        const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
        const name =
          typeof p.QueueName === 'string'
            ? p.QueueName
            : `${localName(stack.stackName, logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
        const url = `http://sqs.${region}.localhost:${endpointPort}/${accountId}/${name}`;
        physical.set(logicalId, {
          ref: url,
          attributes: { Arn: `arn:aws:sqs:${region}:${accountId}:${name}`, QueueName: name, QueueUrl: url },
        });
        break;
      }
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        const name =
          typeof p.TableName === 'string' ? p.TableName : localName(stack.stackName, logicalId, 255);
        const arn = `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
        physical.set(logicalId, { ref: name, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } });
        break;
      }
      case 'AWS::Lambda::Function': {
        const name =
          typeof p.FunctionName === 'string' ? p.FunctionName : localName(stack.stackName, logicalId, 64);
        physical.set(logicalId, {
          ref: name,
          attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${name}` },
        });
        break;
      }
      case 'AWS::ApiGateway::RestApi':
        physical.set(logicalId, {
          ref: `local${shortHash(logicalId)}`,
          attributes: { RootResourceId: `${logicalId}#root` },
        });
        break;
      case 'AWS::CloudFront::Distribution':
        physical.set(logicalId, {
          ref: `E${shortHash(logicalId).toUpperCase()}LOCAL`,
          attributes: { DomainName: addresses.cdnHost, Id: `E${shortHash(logicalId).toUpperCase()}LOCAL` },
        });
        break;
      default:
        physical.set(logicalId, {
          ref: logicalId,
          attributes: new Proxy({} as Record<string, string>, {
            get: (_target, attribute) =>
              typeof attribute === 'string'
                ? `arn:aws:local:${region}:${accountId}:${logicalId}/${attribute}`
                : undefined,
          }),
        });
    }
  }

  const resolver = new Resolver(
    physical,
    {
      'AWS::Region': region,
      'AWS::AccountId': accountId,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack.stackName,
      'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${stack.stackName}/local`,
      'AWS::NoValue': '',
    },
    stack.conditions,
  );
  const resolve = <T>(value: unknown): T => resolver.resolve(value) as T;
  const included = entries.filter(
    ([, resource]) => !resource.Condition || resolver.condition(resource.Condition),
  );
  const ofType = (type: string) => included.filter(([, resource]) => resource.Type === type);
  const refOf = (logicalId: string) => physical.get(logicalId)?.ref ?? '';

  const queues: LocalQueue[] = ofType('AWS::SQS::Queue').map(([logicalId, resource]) => {
    const p = resolve<Record<string, unknown>>(props(resource));
    const attributes: Record<string, string> = {};
    for (const key of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'MaximumMessageSize',
      'ReceiveMessageWaitTimeSeconds',
      'FifoQueue',
      'ContentBasedDeduplication',
    ]) {
      if (p[key] !== undefined) attributes[key] = String(p[key]);
    }
    if (p.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
    const ref = physical.get(logicalId);
    return {
      logicalId,
      name: str(ref?.attributes.QueueName),
      url: str(ref?.ref),
      arn: str(ref?.attributes.Arn),
      attributes,
    };
  });

  const notifications = new Map<string, QueueNotification[]>();
  const addNotifications = (bucketName: string, configuration: unknown) => {
    const list = notifications.get(bucketName) ?? [];
    const queueConfigurations =
      ((configuration ?? {}) as { QueueConfigurations?: unknown[] }).QueueConfigurations ?? [];
    for (const raw of queueConfigurations) {
      const c = raw as {
        QueueArn?: string;
        Queue?: string;
        Events?: string[];
        Event?: string;
        Filter?: {
          S3Key?: { Rules?: { Name: string; Value: string }[] };
          Key?: { FilterRules?: { Name: string; Value: string }[] };
        };
      };
      const rules = c.Filter?.S3Key?.Rules ?? c.Filter?.Key?.FilterRules ?? [];
      const rule = (name: string) => rules.find((r) => r.Name.toLowerCase() === name)?.Value ?? '';
      list.push({
        queueArn: str(c.QueueArn ?? c.Queue),
        events: c.Events ?? (c.Event ? [c.Event] : []),
        prefix: rule('prefix'),
        suffix: rule('suffix'),
      });
    }
    notifications.set(bucketName, list);
  };
  for (const [logicalId, resource] of ofType('AWS::S3::Bucket')) {
    addNotifications(refOf(logicalId), resolve(props(resource).NotificationConfiguration));
  }
  // CDK configures notifications through a custom resource (so it can merge with existing ones).
  for (const [, resource] of included.filter(([, r]) => r.Type === 'Custom::S3BucketNotifications')) {
    const p = resolve<Record<string, unknown>>(props(resource));
    addNotifications(str(p.BucketName), p.NotificationConfiguration);
  }
  const buckets: LocalBucket[] = ofType('AWS::S3::Bucket').map(([logicalId]) => ({
    logicalId,
    name: refOf(logicalId),
    notifications: notifications.get(refOf(logicalId)) ?? [],
  }));

  const tables: LocalTable[] = ofType('AWS::DynamoDB::Table').map(([logicalId, resource]) => {
    const p = resolve<Record<string, unknown>>(props(resource));
    const definition: Record<string, unknown> = {
      TableName: refOf(logicalId),
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      BillingMode: p.BillingMode ?? 'PAY_PER_REQUEST',
    };
    if (p.ProvisionedThroughput) definition.ProvisionedThroughput = p.ProvisionedThroughput;
    if (Array.isArray(p.GlobalSecondaryIndexes)) {
      definition.GlobalSecondaryIndexes = p.GlobalSecondaryIndexes.map((index: Record<string, unknown>) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection,
        ...(index.ProvisionedThroughput ? { ProvisionedThroughput: index.ProvisionedThroughput } : {}),
      }));
    }
    if (Array.isArray(p.LocalSecondaryIndexes)) definition.LocalSecondaryIndexes = p.LocalSecondaryIndexes;
    return { logicalId, name: refOf(logicalId), definition };
  });

  const functions: LocalFunction[] = ofType('AWS::Lambda::Function')
    .filter(([, resource]) => typeof resource.Metadata?.['pictura:entry'] === 'string')
    .map(([logicalId, resource]) => {
      const p = resolve<Record<string, unknown>>(props(resource));
      const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
        {}) as Record<string, unknown>;
      const environment = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, localiseUrl(str(value), addresses)]),
      );
      const handler = str(p.Handler, 'index.handler');
      return {
        logicalId,
        name: refOf(logicalId),
        label: str(resource.Metadata?.['pictura:name'], logicalId),
        arn: str(physical.get(logicalId)?.attributes.Arn),
        entry: str(resource.Metadata?.['pictura:entry']),
        handlerExport: handler.slice(handler.lastIndexOf('.') + 1) || 'handler',
        environment,
        timeoutSeconds: Number(p.Timeout ?? 3),
        memoryMb: Number(p.MemorySize ?? 128),
        runtime: str(p.Runtime, 'nodejs24.x'),
        architecture: str((p.Architectures as string[] | undefined)?.[0], 'x86_64'),
        ...(resource.Metadata?.['pictura:packaging'] === 'naive' ? { packaging: 'naive' as const } : {}),
      };
    });
  const functionNameOf = (reference: string): string => {
    const match = /function:([^:/]+)/.exec(reference);
    return match?.[1] ?? reference;
  };

  const mappings: LocalEventSourceMapping[] = ofType('AWS::Lambda::EventSourceMapping')
    .map(([, resource]) => resolve<Record<string, unknown>>(props(resource)))
    .filter((p) => str(p.EventSourceArn).startsWith('arn:aws:sqs:'))
    .map((p) => ({
      functionName: functionNameOf(str(p.FunctionName)),
      queueArn: str(p.EventSourceArn),
      batchSize: Number(p.BatchSize ?? 10),
      maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
      reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
        'ReportBatchItemFailures',
      ),
      maxConcurrency: Number(
        (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? 5,
      ),
      enabled: p.Enabled !== false && p.Enabled !== 'false',
    }));

  const api = buildApi(stack, included, resolve, refOf, functionNameOf);
  const distribution = buildDistribution(included, resolve, refOf);

  const outputs: Record<string, string> = {};
  for (const [name, output] of Object.entries(stack.outputs)) {
    try {
      outputs[name] = localiseUrl(str(resolve(output.Value)), addresses);
    } catch {
      // An output that references something the local cloud does not run is simply not shown.
    }
  }
  return {
    stackName: stack.stackName,
    buckets,
    queues,
    tables,
    functions,
    mappings,
    api,
    distribution,
    outputs,
  };
}

/** Rewrites URLs that point at the local CDN or API to plain http (the local servers do not speak TLS). */
export function localiseUrl(value: string, addresses: LocalAddresses): string {
  let result = value;
  for (const host of [addresses.cdnHost, addresses.apiHost])
    result = result.replaceAll(`https://${host}`, `http://${host}`);
  return result;
}

type Included = [string, CfnResource][];

function buildApi(
  stack: StackTemplate,
  included: Included,
  resolve: <T>(value: unknown) => T,
  refOf: (logicalId: string) => string,
  functionNameOf: (reference: string) => string,
): LocalApi | undefined {
  const restApi = included.find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi');
  if (!restApi) return undefined;
  const [apiLogicalId, apiResource] = restApi;
  const apiProps = resolve<Record<string, unknown>>(props(apiResource));
  const paths = new Map<string, string>([[`${apiLogicalId}#root`, '']]);
  const resources = included.filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource');
  // Resources reference their parent; resolve paths until no more can be added (order in a template is free).
  for (let changed = true; changed; ) {
    changed = false;
    for (const [logicalId, resource] of resources) {
      if (paths.has(logicalId)) continue;
      const p = resolve<Record<string, unknown>>(props(resource));
      const parent = paths.get(str(p.ParentId));
      if (parent === undefined) continue;
      paths.set(logicalId, `${parent}/${str(p.PathPart)}`);
      changed = true;
    }
  }
  const routes: LocalRoute[] = [];
  for (const [, method] of included.filter(([, r]) => r.Type === 'AWS::ApiGateway::Method')) {
    const p = resolve<Record<string, unknown>>(props(method));
    const resourcePath = paths.get(str(p.ResourceId)) || '/';
    const integration = (p.Integration ?? {}) as Record<string, unknown>;
    const parameterNames = [...resourcePath.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] ?? '');
    const pattern = new RegExp(
      `^${resourcePath
        .split('/')
        .map((segment) =>
          /^\{[^}]+\+\}$/.test(segment)
            ? '(.+)'
            : /^\{[^}]+\}$/.test(segment)
              ? '([^/]+)'
              : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('/')}/?$`,
    );
    const route: LocalRoute = {
      method: str(p.HttpMethod).toUpperCase(),
      resource: resourcePath,
      pattern,
      parameterNames,
      apiKeyRequired: p.ApiKeyRequired === true || p.ApiKeyRequired === 'true',
    };
    if (integration.Type === 'MOCK') {
      const response =
        ((integration.IntegrationResponses as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(
        (response.ResponseParameters ?? {}) as Record<string, string>,
      )) {
        const header = /^method\.response\.header\.(.+)$/.exec(name)?.[1];
        if (header) headers[header] = value.replace(/^'(.*)'$/, '$1');
      }
      route.mock = { statusCode: Number(response.StatusCode ?? 200), headers };
    } else {
      route.functionName = functionNameOf(str(integration.Uri).replace(/\/invocations$/, ''));
    }
    routes.push(route);
  }
  const gatewayResponses: Record<string, LocalGatewayResponse> = {};
  for (const [, resource] of included.filter(([, r]) => r.Type === 'AWS::ApiGateway::GatewayResponse')) {
    const p = resolve<Record<string, unknown>>(props(resource));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries((p.ResponseParameters ?? {}) as Record<string, string>)) {
      const header = /^gatewayresponse\.header\.(.+)$/.exec(name)?.[1];
      if (header) headers[header] = value.replace(/^'(.*)'$/, '$1');
    }
    const templates = (p.ResponseTemplates ?? {}) as Record<string, string>;
    gatewayResponses[str(p.ResponseType)] = {
      ...(p.StatusCode !== undefined ? { statusCode: Number(p.StatusCode) } : {}),
      headers,
      ...(templates['application/json'] !== undefined ? { template: templates['application/json'] } : {}),
    };
  }
  const stage = included.find(([, r]) => r.Type === 'AWS::ApiGateway::Stage');
  return {
    restApiId: refOf(apiLogicalId),
    gatewayResponses,
    name: str(apiProps.Name, stack.stackName),
    stage: stage ? str(resolve<Record<string, unknown>>(props(stage[1])).StageName, 'prod') : 'prod',
    binaryMediaTypes: ((apiProps.BinaryMediaTypes as string[] | undefined) ?? []).map((t) =>
      t.replace('~1', '/'),
    ),
    routes,
    usesApiKeys: included.some(([, r]) => r.Type === 'AWS::ApiGateway::ApiKey'),
  };
}

function buildDistribution(
  included: Included,
  resolve: <T>(value: unknown) => T,
  refOf: (logicalId: string) => string,
): LocalDistribution | undefined {
  const found = included.find(([, r]) => r.Type === 'AWS::CloudFront::Distribution');
  if (!found) return undefined;
  const [logicalId, resource] = found;
  const config = (resolve<Record<string, unknown>>(props(resource)).DistributionConfig ?? {}) as Record<
    string,
    unknown
  >;
  const origins = new Map<string, Record<string, unknown>>();
  for (const origin of (config.Origins as Record<string, unknown>[] | undefined) ?? [])
    origins.set(str(origin.Id), origin);
  const policies = new Map<string, Record<string, unknown>>();
  for (const [id, r] of included) {
    if (r.Type === 'AWS::CloudFront::CachePolicy' || r.Type === 'AWS::CloudFront::ResponseHeadersPolicy') {
      policies.set(refOf(id), resolve<Record<string, unknown>>(props(r)));
    }
  }
  const behavior = (raw: Record<string, unknown>, pathPattern: string): LocalCacheBehavior => {
    const origin = origins.get(str(raw.TargetOriginId)) ?? {};
    const domain = str(origin.DomainName);
    const cache = (policies.get(str(raw.CachePolicyId))?.CachePolicyConfig ?? {}) as Record<string, unknown>;
    const disabled = str(raw.CachePolicyId) === MANAGED_CACHING_DISABLED;
    const headersPolicy = (policies.get(str(raw.ResponseHeadersPolicyId))?.ResponseHeadersPolicyConfig ??
      {}) as Record<string, unknown>;
    return {
      pathPattern,
      origin:
        origin.S3OriginConfig !== undefined || /\.s3[.-]/.test(domain)
          ? { kind: 's3', bucket: domain.split('.s3')[0] ?? '', originPath: str(origin.OriginPath) }
          : { kind: 'api', originPath: str(origin.OriginPath) },
      defaultTtl: disabled ? 0 : Number(cache.DefaultTTL ?? 86400),
      maxTtl: disabled ? 0 : Number(cache.MaxTTL ?? 31536000),
      minTtl: disabled ? 0 : Number(cache.MinTTL ?? 0),
      headers: securityHeaders(headersPolicy),
      ...corsSettings(headersPolicy),
    };
  };
  const behaviors = ((config.CacheBehaviors as Record<string, unknown>[] | undefined) ?? []).map((raw) =>
    behavior(raw, str(raw.PathPattern)),
  );
  behaviors.push(behavior((config.DefaultCacheBehavior ?? {}) as Record<string, unknown>, '*'));

  // Which keys the distribution may read: the bucket policy statements granting CloudFront s3:GetObject.
  const readablePrefixes: string[] = [];
  for (const [, r] of included.filter(([, r]) => r.Type === 'AWS::S3::BucketPolicy')) {
    const document = (resolve<Record<string, unknown>>(props(r)).PolicyDocument ?? {}) as {
      Statement?: unknown[];
    };
    for (const raw of document.Statement ?? []) {
      const statement = raw as {
        Effect?: string;
        Principal?: { Service?: unknown };
        Action?: unknown;
        Resource?: unknown;
      };
      const actions = [statement.Action].flat().map(String);
      if (statement.Effect !== 'Allow' || !actions.includes('s3:GetObject')) continue;
      if (!JSON.stringify(statement.Principal ?? {}).includes('cloudfront.amazonaws.com')) continue;
      for (const arn of [statement.Resource].flat().map(String)) {
        const key = arn.split(':::')[1]?.split('/').slice(1).join('/') ?? '';
        readablePrefixes.push(key.replace(/\*$/, ''));
      }
    }
  }
  return { id: refOf(logicalId), behaviors, readablePrefixes };
}

function corsSettings(policy: Record<string, unknown>): Pick<LocalCacheBehavior, 'cors'> {
  const cors = policy.CorsConfig as Record<string, { Items?: string[] } | number | boolean> | undefined;
  if (!cors) return {};
  const items = (name: string) => ((cors[name] as { Items?: string[] } | undefined)?.Items ?? []).map(String);
  return { cors: { allowOrigins: items('AccessControlAllowOrigins') } };
}

function securityHeaders(policy: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  const security = (policy.SecurityHeadersConfig ?? {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  if (security.ContentTypeOptions) headers['x-content-type-options'] = 'nosniff';
  if (security.FrameOptions?.FrameOption) headers['x-frame-options'] = str(security.FrameOptions.FrameOption);
  if (security.ReferrerPolicy?.ReferrerPolicy)
    headers['referrer-policy'] = str(security.ReferrerPolicy.ReferrerPolicy);
  if (security.ContentSecurityPolicy?.ContentSecurityPolicy) {
    headers['content-security-policy'] = str(security.ContentSecurityPolicy.ContentSecurityPolicy);
  }
  if (security.StrictTransportSecurity) {
    const sts = security.StrictTransportSecurity;
    headers['strict-transport-security'] = [
      `max-age=${str(sts.AccessControlMaxAgeSec, '31536000')}`,
      sts.IncludeSubdomains ? 'includeSubDomains' : '',
      sts.Preload ? 'preload' : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  if (security.XSSProtection) {
    headers['x-xss-protection'] = security.XSSProtection.Protection ? '1; mode=block' : '0';
  }
  const custom =
    ((policy.CustomHeadersConfig ?? {}) as { Items?: { Header: string; Value: string }[] }).Items ?? [];
  for (const item of custom) headers[item.Header.toLowerCase()] = item.Value;
  return headers;
}
