import { type ModelContext, type Properties, str } from './context.ts';
import { functionNameOf } from './lambda.ts';
import { buildThrottling, type LocalThrottling } from './throttling.ts';

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
  /** The stage's method throttles and the usage plans covering it (model/throttling.ts). */
  throttling?: LocalThrottling;
}

/**
 * The path of every `AWS::ApiGateway::Resource`, by logical id, from its `ParentId` and `PathPart`: the
 * API's root (`RootResourceId`, `<api logical id>#root` locally) has path ''. Resources may come in any
 * order in a template, so paths are resolved until a pass adds none; a resource whose parent is unknown
 * (another API, or a cycle) gets no path.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-resource.html
 */
export function resourcePaths(apiLogicalId: string, resources: { logicalId: string; p: Properties }[]) {
  const paths = new Map<string, string>([[`${apiLogicalId}#root`, '']]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const { logicalId, p } of resources) {
      if (paths.has(logicalId)) continue;
      const parent = paths.get(str(p.ParentId));
      if (parent === undefined) continue;
      paths.set(logicalId, `${parent}/${str(p.PathPart)}`);
      changed = true;
    }
  }
  return paths;
}

/**
 * The path parameters of a resource path (`{id}` → `id`, greedy `{proxy+}` → `proxy`) and a pattern that
 * matches request paths against it: `{name}` matches one segment, `{name+}` the rest of the path, other
 * segments literally; a trailing slash is allowed.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
 */
export function routePattern(resourcePath: string): { pattern: RegExp; parameterNames: string[] } {
  const parameterNames = [...resourcePath.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] ?? '');
  const segments = resourcePath.split('/').map((segment) => {
    if (/^\{[^}]+\+\}$/.test(segment)) return '(.+)';
    if (/^\{[^}]+\}$/.test(segment)) return '([^/]+)';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return { pattern: new RegExp(`^${segments.join('/')}/?$`), parameterNames };
}

/**
 * Header values of a parameter mapping (`<prefix>.header.<Name>` → `'value'`), keyed by header name; the
 * quotes around a static value are removed, other keys are ignored.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
 */
export function mappedHeaders(parameters: unknown, prefix: string): Record<string, string> {
  const key = new RegExp(`^${prefix.replaceAll('.', '\\.')}\\.header\\.(.+)$`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((parameters ?? {}) as Record<string, string>)) {
    const header = key.exec(name)?.[1];
    if (header) headers[header] = value.replace(/^'(.*)'$/, '$1');
  }
  return headers;
}

/**
 * The answer of a `MOCK` integration: its first `IntegrationResponses` entry's `StatusCode` (200 when
 * absent) and the headers its `ResponseParameters` set (`method.response.header.<Name>`).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigateway-method-integration.html
 */
export function mockResponse(integration: Properties): NonNullable<LocalRoute['mock']> {
  const response = ((integration.IntegrationResponses as Properties[] | undefined) ?? [])[0] ?? {};
  return {
    statusCode: Number(response.StatusCode ?? 200),
    headers: mappedHeaders(response.ResponseParameters, 'method.response'),
  };
}

/**
 * One route from an `AWS::ApiGateway::Method`'s resolved properties: `HttpMethod`, the path of its
 * `ResourceId` (`/` for the root), `ApiKeyRequired`, and its `Integration`: a `MOCK` answer, or else the
 * function its `Uri` invokes (`…:function:<name>/invocations`).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-method.html
 */
export function methodRoute(p: Properties, paths: Map<string, string>): LocalRoute {
  const resourcePath = paths.get(str(p.ResourceId)) || '/';
  const integration = (p.Integration ?? {}) as Properties;
  const route: LocalRoute = {
    method: str(p.HttpMethod).toUpperCase(),
    resource: resourcePath,
    ...routePattern(resourcePath),
    apiKeyRequired: p.ApiKeyRequired === true || p.ApiKeyRequired === 'true',
  };
  if (integration.Type === 'MOCK') route.mock = mockResponse(integration);
  else route.functionName = functionNameOf(str(integration.Uri).replace(/\/invocations$/, ''));
  return route;
}

/**
 * One customised error answer from an `AWS::ApiGateway::GatewayResponse`'s resolved properties:
 * `StatusCode`, the headers of `ResponseParameters` (`gatewayresponse.header.<Name>`) and the
 * `application/json` entry of `ResponseTemplates`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-gatewayresponse.html
 */
export function gatewayResponse(p: Properties): LocalGatewayResponse {
  const templates = (p.ResponseTemplates ?? {}) as Record<string, string>;
  return {
    ...(p.StatusCode !== undefined ? { statusCode: Number(p.StatusCode) } : {}),
    headers: mappedHeaders(p.ResponseParameters, 'gatewayresponse'),
    ...(templates['application/json'] !== undefined ? { template: templates['application/json'] } : {}),
  };
}

/** Gateway responses by `ResponseType` (CloudFormation allows one per type and API). */
function gatewayResponses(context: ModelContext): Record<string, LocalGatewayResponse> {
  const responses: Record<string, LocalGatewayResponse> = {};
  for (const [, resource] of context.ofType('AWS::ApiGateway::GatewayResponse')) {
    const p = context.properties(resource);
    responses[str(p.ResponseType)] = gatewayResponse(p);
  }
  return responses;
}

/** Routes of every `AWS::ApiGateway::Method`, on the resource paths of the API `apiLogicalId`. */
function routes(context: ModelContext, apiLogicalId: string): LocalRoute[] {
  const resources = context
    .ofType('AWS::ApiGateway::Resource')
    .map(([logicalId, resource]) => ({ logicalId, p: context.properties(resource) }));
  const paths = resourcePaths(apiLogicalId, resources);
  return context
    .ofType('AWS::ApiGateway::Method')
    .map(([, method]) => methodRoute(context.properties(method), paths));
}

/**
 * The stack's REST API (its first `AWS::ApiGateway::RestApi`; undefined without one): `Name` (the stack's
 * name when absent), `BinaryMediaTypes` (`~1` unescaped to `/`), the first `AWS::ApiGateway::Stage`'s
 * `StageName` (`prod`), routes, gateway responses, and whether any `AWS::ApiGateway::ApiKey` exists.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html
 */
export function buildApi(context: ModelContext): LocalApi | undefined {
  const restApi = context.ofType('AWS::ApiGateway::RestApi')[0];
  if (!restApi) return undefined;
  const [apiLogicalId, apiResource] = restApi;
  const apiProps = context.properties(apiResource);
  const apiRoutes = routes(context, apiLogicalId);
  const responses = gatewayResponses(context);
  const stage = context.ofType('AWS::ApiGateway::Stage')[0];
  const stageName = stage ? str(context.properties(stage[1]).StageName, 'prod') : 'prod';
  return {
    restApiId: context.refOf(apiLogicalId),
    gatewayResponses: responses,
    name: str(apiProps.Name, context.stackName),
    stage: stageName,
    binaryMediaTypes: ((apiProps.BinaryMediaTypes as string[] | undefined) ?? []).map((t) =>
      t.replace('~1', '/'),
    ),
    routes: apiRoutes,
    usesApiKeys: context.ofType('AWS::ApiGateway::ApiKey').length > 0,
    throttling: buildThrottling(context, stageName),
  };
}
