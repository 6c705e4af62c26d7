import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKeySourceType,
  Cors,
  EndpointType,
  type IApiKey,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  Period,
  ResponseType,
  RestApi,
  type UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';

/**
 * The stage's access log line: one JSON object per request, with who (source IP, the API key's id, never
 * its value, user agent), what (method, resource, path), the outcome (status, API Gateway's error type
 * such as THROTTLED or INVALID_API_KEY, latency) and the request id that links to the function's log.
 * See https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html
 */
export const ACCESS_LOG_FORMAT: Record<string, string> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  apiKeyId: '$context.identity.apiKeyId',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  errorType: '$context.error.responseType',
  integrationLatency: '$context.integration.latency',
  responseLatency: '$context.responseLatency',
};

/**
 * Stage name. The routes themselves carry the version (`/v1/...`), so the stage is not named after it:
 * URLs read `https://{api}.execute-api.{region}.amazonaws.com/prod/v1/images`, and through the CDN
 * `https://{cdn}/v1/images`.
 */
export const STAGE_NAME = 'prod';

/**
 * Stage-wide throttle, applied to every method including the public ones (read by id, health, delete):
 * a cap on what anonymous traffic can cost. Far below the account's 10,000 rps default.
 */
export const STAGE_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const;

/**
 * The default usage plan, per API key. 25 rps (burst 50) is plenty for an application uploading on behalf
 * of its users and keeps one leaked key from running up the bill; the monthly quota (1,000,000 requests)
 * bounds the worst case of a key at roughly the "1M uploads" budget in docs/deploy.md. Heavier clients get
 * their own plan.
 */
export const USAGE_PLAN = {
  throttle: { rateLimit: 25, burstLimit: 50 },
  quota: { limit: 1_000_000, period: Period.MONTH },
} as const;

/**
 * `Retry-After` on API Gateway's 429s, which send none of their own; a gateway response can only add a
 * static value. A throttled key or stage regains tokens within a second (25 and 100 rps). A spent quota comes
 * back at the start of the next period, which a static header cannot name: an hour tells a client to back
 * off for real instead of retrying at once.
 */
const RETRY_AFTER: Record<string, Record<string, string>> = {
  THROTTLED: { 'Retry-After': "'1'" },
  QUOTA_EXCEEDED: { 'Retry-After': "'3600'" },
};

export interface ApiProps {
  corsAllowOrigin: string;
  /** What happens to the access log group when the stack is deleted; DESTROY unless given. */
  logRemovalPolicy?: RemovalPolicy;
  /**
   * The stage throttle and the default usage plan; {@link STAGE_THROTTLE} and {@link USAGE_PLAN} unless
   * given. Only the local cloud's throttling tests shrink them (test/integration/fixtures/throttle-app.ts).
   */
  limits?: {
    stageThrottle?: { rateLimit: number; burstLimit: number };
    usagePlan?: {
      throttle: { rateLimit: number; burstLimit: number };
      quota: { limit: number; period: Period };
    };
  };
}

/** The functions behind the routes. */
export interface ApiRoutes {
  upload: IFunction;
  images: IFunction;
  delete: IFunction;
}

/**
 * The HTTP API: an API Gateway REST API (v1), because it brings API keys and usage plans and LocalStack's
 * free tier serves it. Every route is a Lambda proxy integration; the functions own validation and
 * responses, API Gateway owns keys, throttling and CORS preflight.
 *
 * The API exists before its routes ({@link Api.addRoutes}) because the CDN is built from the API's id and
 * the functions behind the routes need the CDN's domain.
 */
export class Api extends Construct {
  readonly restApi: RestApi;
  readonly apiKey: IApiKey;
  readonly usagePlan: UsagePlan;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);

    // Access logs (the trail's API part, docs/deploy.md): kept a month like the functions' logs.
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: 'pictura',
      description: 'Pictura image-hosting API',
      // Regional, not edge-optimised: on AWS the API sits behind our own CloudFront distribution, and an
      // edge-optimised endpoint would put a second (AWS-managed) distribution behind it.
      endpointTypes: [EndpointType.REGIONAL],
      // A raw upload (`Content-Type: image/...`) reaches the function base64-encoded and byte-exact,
      // instead of being read as UTF-8 text.
      binaryMediaTypes: ['image/*'],
      apiKeySourceType: ApiKeySourceType.HEADER,
      // Execution logging would need the account-wide API Gateway CloudWatch role, which one stack must
      // not own; the functions log every request themselves. Access logs need no such role (they are
      // written through the CloudWatch Logs service-linked role).
      cloudWatchRole: false,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
        throttlingRateLimit: (props.limits?.stageThrottle ?? STAGE_THROTTLE).rateLimit,
        throttlingBurstLimit: (props.limits?.stageThrottle ?? STAGE_THROTTLE).burstLimit,
        // X-Ray on the stage: the API request is the root of its trace, and its trace header reaches the
        // function, so an upload's gateway time and its function are one trace (README, "Observability").
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [props.corsAllowOrigin],
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        // CDK's defaults already include Authorization (delete tokens) and X-Api-Key.
        allowHeaders: Cors.DEFAULT_HEADERS,
        // Credentials travel in headers, never in cookies, so no `Allow-Credentials`.
        allowCredentials: false,
        // Browsers cap preflight caching at about two hours anyway.
        maxAge: Duration.hours(2),
      },
    });

    // RestApi adds its own `Endpoint` output; the stack outputs the same URL as `ApiUrl`, so drop the copy.
    this.restApi.node.tryRemoveChild('Endpoint');

    // Request size: API Gateway's front door rejects bodies over 10 MB with a plain-text 413 that no
    // gateway response shapes, and an event over Lambda's 6 MB invoke limit gets 413 `Request Too Long`
    // (both as captured on AWS: see local/apigateway/gateway-responses.ts); the upload function enforces the
    // real limit (MAX_DIRECT_UPLOAD_BYTES, well under both) and answers 413 in the API's own error format.
    //
    // No request validator or body model: the checks API Gateway could make (JSON shape of the presigned
    // upload request) would answer 400 where the contract promises 413 or 415 with the function's error
    // codes, and would be a second copy of rules the upload function must keep anyway for the local cloud.
    // API Gateway checks what only it can: the API key, the quota and the throttle.

    this.apiKey = this.restApi.addApiKey('DefaultKey', {
      description: 'Default Pictura client key (value: aws apigateway get-api-key --include-value)',
    });
    this.usagePlan = this.restApi.addUsagePlan('DefaultPlan', {
      name: 'pictura-default',
      description: 'Per-key throttle and monthly quota for Pictura clients',
      throttle: (props.limits?.usagePlan ?? USAGE_PLAN).throttle,
      quota: (props.limits?.usagePlan ?? USAGE_PLAN).quota,
      apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
    });
    this.usagePlan.addApiKey(this.apiKey);

    this.addProblemResponses(props.corsAllowOrigin);
    this.addNagSuppressions();
  }

  /**
   * The API's cdk-nag (AwsSolutions) findings that are decisions, each with its evidence: request
   * validation and execution logging on the REST API and everything under it; the missing regional web
   * ACL on the stage. Authorization findings are suppressed per method (suppressMethodFindings).
   */
  private addNagSuppressions(): void {
    NagSuppressions.addResourceSuppressions(
      this.restApi,
      [
        {
          id: 'AwsSolutions-APIG2',
          reason:
            "No request validator: the functions validate every request and answer in the contract's " +
            'problem format with its codes (413, 415, 400 INVALID_BODY); a validator would answer a bare ' +
            '400 first and duplicate rules the functions keep for the local cloud (see the comment in ' +
            'infra/constructs/api.ts).',
        },
        {
          id: 'AwsSolutions-APIG6',
          reason:
            'Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), ' +
            'which one stack must not own (deleting it would break other APIs in the account); the stage ' +
            'has JSON access logs, and every function logs each request with its API Gateway request id.',
        },
      ],
      true,
    );
    // On the stage only, where the rule looks for a regional web ACL association.
    NagSuppressions.addResourceSuppressions(this.restApi.deploymentStage, [
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'No regional web ACL on the stage. The CloudFront web ACL (per-IP rate rules, AWS managed rules) ' +
          'exists only when the stack is deployed in us-east-1 or given -c wafWebAclArn (docs/deploy.md); ' +
          'elsewhere the distribution has none. The functions refuse requests without the CDN origin ' +
          "secret (shared/http/origin-verify.ts), but API Gateway's own answers (missing key, throttling, " +
          'unknown route) come before that check, so direct callers reach those; the stage throttle and ' +
          'usage plans bound them. A regional ACL would bill each request a second time.',
      },
    ]);
  }

  /** Adds the `/v1` routes, each a Lambda proxy integration. */
  addRoutes(routes: ApiRoutes): void {
    const upload = new LambdaIntegration(routes.upload, { proxy: true, allowTestInvoke: false });
    const images = new LambdaIntegration(routes.images, { proxy: true, allowTestInvoke: false });
    const remove = new LambdaIntegration(routes.delete, { proxy: true, allowTestInvoke: false });

    const v1 = this.restApi.root.addResource('v1');
    const imagesResource = v1.addResource('images');
    const uploadMethod = imagesResource.addMethod('POST', upload, { apiKeyRequired: true });
    const list = imagesResource.addMethod('GET', images, {
      apiKeyRequired: true,
      requestParameters: {
        'method.request.querystring.limit': false,
        'method.request.querystring.cursor': false,
      },
    });
    const imageResource = imagesResource.addResource('{id}');
    // Public: ids are unguessable, and a published image is meant to be shared.
    const read = imageResource.addMethod('GET', images);
    // The owner's delete needs the key, so API Gateway refuses a disabled or deleted key here as it does for
    // upload and list, and the usage plan counts it; the function then checks the key owns the image.
    const ownerDelete = imageResource.addMethod('DELETE', remove, { apiKeyRequired: true });
    // A delete-token holder has no key: `Authorization: Bearer <deleteToken>`, checked by the function in
    // constant time against the stored hash. Bounded by the stage throttle and the CDN's per-IP rule.
    const tokenDelete = imageResource.addResource('token').addMethod('DELETE', remove);
    const health = v1.addResource('health').addMethod('GET', images);
    // The OpenAPI document (docs/openapi.json, bundled into the images function): a route on an existing
    // read function costs no new function, and unlike a mock integration it needs nothing new from the
    // local API Gateway emulator. Public, like any API description; the CDN may cache it (max-age=300).
    const openApi = v1.addResource('openapi.json').addMethod('GET', images);
    this.suppressMethodFindings({
      keyed: [uploadMethod, list, ownerDelete],
      public: [read, tokenDelete, health, openApi],
    });
  }

  /**
   * cdk-nag's AwsSolutions-APIG4 and -COG4 (no authorizer) on the methods named here only, each with its
   * reason, so that any other method (a route added later and left without apiKeyRequired, say) is still
   * reported.
   */
  private suppressMethodFindings(methods: { keyed: Method[]; public: Method[] }): void {
    const noAccounts = 'Pictura has no user accounts and no Cognito user pool; ';
    NagSuppressions.addResourceSuppressions(methods.keyed, [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'apiKeyRequired: API Gateway refuses a missing, disabled or deleted API key before the function, ' +
          'which then checks that the key owns the image. No Lambda authorizer: it would add a cold start ' +
          'to every request (SECURITY.md).',
      },
      { id: 'AwsSolutions-COG4', reason: `${noAccounts}its clients are applications holding API keys.` },
    ]);
    NagSuppressions.addResourceSuppressions(methods.public, [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Public by design: GET /v1/images/{id} (unguessable 128-bit ids, a published image is meant to be ' +
          'shared), GET /v1/health, GET /v1/openapi.json (the API description), and DELETE ' +
          '/v1/images/{id}/token, whose caller proves a per-image delete ' +
          'token (Authorization: Bearer, compared by the function in constant time with its stored hash).',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: `${noAccounts}these methods are public or take a per-image delete token.`,
      },
    ]);
  }

  /**
   * API Gateway's own errors, reshaped into the API's error format (`application/problem+json`, RFC 9457)
   * and given CORS headers so that a browser can read them. Two statuses change on purpose: a missing or
   * unknown API key is 401 (API Gateway says 403), and an unknown route is 404 (API Gateway says 403
   * "Missing Authentication Token").
   */
  private addProblemResponses(corsAllowOrigin: string): void {
    // nosniff and no-store as on the functions' own responses (issue 12): API Gateway's errors are per
    // request and must never be cached by the CDN or a browser, nor sniffed as another type.
    const headers = {
      'Content-Type': "'application/problem+json'",
      'Access-Control-Allow-Origin': `'${corsAllowOrigin}'`,
      'X-Content-Type-Options': "'nosniff'",
      'Cache-Control': "'no-store'",
    };
    const problem = (status: number | undefined, title: string, detail: string, code: string): string =>
      JSON.stringify({
        type: 'about:blank',
        title,
        ...(status !== undefined ? { status } : {}),
        detail: '@DETAIL@',
        code,
      }).replace('"@DETAIL@"', detail);
    const quoted = (text: string): string => JSON.stringify(text);
    // `$context.error.messageString` is API Gateway's message, already a quoted JSON string.
    const gatewayMessage = '$context.error.messageString';
    const responses: [string, ResponseType, number | undefined, string, string, string][] = [
      [
        'InvalidApiKey',
        ResponseType.INVALID_API_KEY,
        401,
        'Unauthorized',
        quoted('A valid API key is required in the x-api-key header.'),
        'API_KEY_REQUIRED',
      ],
      [
        'UnknownRoute',
        ResponseType.MISSING_AUTHENTICATION_TOKEN,
        404,
        'Not found',
        quoted('No such route.'),
        'ROUTE_NOT_FOUND',
      ],
      [
        'ResourceNotFound',
        ResponseType.RESOURCE_NOT_FOUND,
        404,
        'Not found',
        quoted('No such route.'),
        'ROUTE_NOT_FOUND',
      ],
      ['Throttled', ResponseType.THROTTLED, 429, 'Too many requests', gatewayMessage, 'THROTTLED'],
      [
        'QuotaExceeded',
        ResponseType.QUOTA_EXCEEDED,
        429,
        'Too many requests',
        gatewayMessage,
        'QUOTA_EXCEEDED',
      ],
      [
        'RequestTooLarge',
        ResponseType.REQUEST_TOO_LARGE,
        413,
        'Payload too large',
        gatewayMessage,
        // The function's own code for an upload over its limit: one code for "too large", whoever says it.
        'FILE_TOO_LARGE',
      ],
      [
        'UnsupportedMediaType',
        ResponseType.UNSUPPORTED_MEDIA_TYPE,
        415,
        'Unsupported media type',
        gatewayMessage,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      // A function that crashed or timed out: explicit, so the problem document carries its status.
      [
        'IntegrationFailure',
        ResponseType.INTEGRATION_FAILURE,
        502,
        'Bad gateway',
        gatewayMessage,
        'INTEGRATION_FAILURE',
      ],
      [
        'IntegrationTimeout',
        ResponseType.INTEGRATION_TIMEOUT,
        504,
        'Gateway timeout',
        gatewayMessage,
        'INTEGRATION_TIMEOUT',
      ],
      // The fallbacks keep API Gateway's status; its response type (UPPER_SNAKE already) is the code.
      [
        'Default4xx',
        ResponseType.DEFAULT_4XX,
        undefined,
        'Request rejected',
        gatewayMessage,
        '$context.error.responseType',
      ],
      [
        'Default5xx',
        ResponseType.DEFAULT_5XX,
        undefined,
        'Gateway error',
        gatewayMessage,
        '$context.error.responseType',
      ],
    ];
    for (const [id, type, status, title, detail, code] of responses) {
      this.restApi.addGatewayResponse(id, {
        type,
        ...(status !== undefined ? { statusCode: String(status) } : {}),
        responseHeaders: { ...headers, ...RETRY_AFTER[type.responseType] },
        templates: { 'application/json': problem(status, title, detail, code) },
      });
    }
  }
}
