/**
 * Deployment settings, read from CDK context (`-c key=value` on the command line, or `context` in
 * cdk.json). Kept apart from the constructs so that every switch is listed, parsed and validated in one
 * place, and so that a typo fails the synth instead of silently deploying the default.
 */

/** Where the stack is deployed. LocalStack's free tier has no CloudFront, so that target leaves it out. */
export type Target = 'aws' | 'localstack';

export interface Settings {
  target: Target;
  /**
   * Keep the bucket and the table when the stack is deleted (and protect the table from deletion). Off by
   * default: a dev stack should leave nothing behind on `cdk destroy`.
   */
  retainData: boolean;
  /** `Access-Control-Allow-Origin` for the API, its error responses and browser uploads to the bucket. */
  corsAllowOrigin: string;
  /** Where alarm notifications are e-mailed; no subscription when absent. */
  alarmEmail: string | undefined;
  /** LocalStack's edge URL as seen by API clients; variant URLs point at its S3 on that target. */
  localstackUrl: string;
  /**
   * Bundle the functions (the default). `false` synthesizes the template alone, for tools that run the
   * TypeScript sources themselves (the local cloud).
   */
  bundling: boolean;
  /**
   * Add the cold-start benchmark's baselines (`bench/cold-start.ts`): an empty handler packaged like the
   * functions (the floor) and the API functions packaged the naive way. Off by default, so the normal
   * template, its snapshot and the infra tests never see them.
   */
  benchBaselines: boolean;
  /**
   * A production deploy (`-c production=true`): refuses settings that are fine for a dev stack but not for
   * real users, today `corsAllowOrigin: '*'` (any site could call the API with a key its page holds).
   */
  production: boolean;
  /**
   * The CDN's own domain and its ACM certificate ARN (the certificate must be in us-east-1), both or
   * neither. With them the distribution answers on that domain with TLS 1.2 at least (TLSv1.2_2021);
   * without them it uses the default `*.cloudfront.net` certificate, with which CloudFront allows TLSv1.
   */
  cdnDomain: { domainName: string; certificateArn: string } | undefined;
}

export const DEFAULT_SETTINGS: Settings = {
  target: 'aws',
  retainData: false,
  corsAllowOrigin: '*',
  alarmEmail: undefined,
  localstackUrl: 'http://localhost:4566',
  bundling: true,
  benchBaselines: false,
  production: false,
  cdnDomain: undefined,
};

type ContextReader = (key: string) => unknown;

/** Parses the settings from a context reader (`(key) => app.node.tryGetContext(key)`). */
export function readSettings(context: ContextReader): Settings {
  const target = text(context('target')) ?? DEFAULT_SETTINGS.target;
  if (target !== 'aws' && target !== 'localstack') {
    throw new Error(`Context "target" must be "aws" or "localstack", got "${target}"`);
  }
  const localstackUrl = (text(context('localstackUrl')) ?? DEFAULT_SETTINGS.localstackUrl).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^/]+$/.test(localstackUrl)) {
    throw new Error(`Context "localstackUrl" must be an http(s) origin such as http://localhost:4566`);
  }
  const alarmEmail = text(context('alarmEmail'));
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) {
    throw new Error(`Context "alarmEmail" must be an e-mail address, got "${alarmEmail}"`);
  }
  const production = flag(context('production'), 'production');
  const corsAllowOrigin = text(context('corsAllowOrigin')) ?? DEFAULT_SETTINGS.corsAllowOrigin;
  checkCorsAllowOrigin(corsAllowOrigin, production);
  const cdnDomainName = text(context('cdnDomainName'));
  const cdnCertificateArn = text(context('cdnCertificateArn'));
  if ((cdnDomainName === undefined) !== (cdnCertificateArn === undefined)) {
    throw new Error('Context "cdnDomainName" and "cdnCertificateArn" go together: set both or neither');
  }
  if (
    cdnCertificateArn !== undefined &&
    !/^arn:aws[\w-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/.test(cdnCertificateArn)
  ) {
    throw new Error(
      `Context "cdnCertificateArn" must be an ACM certificate ARN in us-east-1 (CloudFront's region), got "${cdnCertificateArn}"`,
    );
  }
  return {
    target,
    retainData: flag(context('retainData'), 'retainData'),
    corsAllowOrigin,
    alarmEmail,
    localstackUrl,
    bundling: context('bundling') === undefined ? true : flag(context('bundling'), 'bundling'),
    benchBaselines: flag(context('benchBaselines'), 'benchBaselines'),
    production,
    cdnDomain:
      cdnDomainName !== undefined && cdnCertificateArn !== undefined
        ? { domainName: cdnDomainName, certificateArn: cdnCertificateArn }
        : undefined,
  };
}

// One serialized origin (https://fetch.spec.whatwg.org/#origin-header): scheme, lower-case host, optional port,
// nothing after. Browsers compare Access-Control-Allow-Origin to their Origin byte for byte, so a path, a
// trailing slash or upper case would make every request fail CORS; plain http only for a local front end.
const PRODUCTION_ORIGIN =
  /^(https:\/\/[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|http:\/\/localhost)(?::\d{1,5})?$/;

/**
 * Refuses a `corsAllowOrigin` that would be unsafe or malformed. The value is written inside a single-quoted
 * gateway-response header template (`'<origin>'`, infra/constructs/api.ts), so a quote, comma or line break
 * is refused everywhere. A production deploy needs exactly one origin (`https://host[:port]`, or
 * `http://localhost[:port]`): not `*`, not `null` (which sandboxed pages and `file:` URLs send), no wildcard,
 * no list. Throws an Error naming the value.
 */
function checkCorsAllowOrigin(origin: string, production: boolean): void {
  if (/['",\r\n\\]/.test(origin)) {
    throw new Error(
      `Context "corsAllowOrigin" must be one origin without quotes, commas or line breaks, got ${JSON.stringify(origin)}`,
    );
  }
  if (!production || PRODUCTION_ORIGIN.test(origin)) return;
  throw new Error(
    `A production deploy (-c production=true) needs exactly one browser origin allowed to call the API, ` +
      `such as -c corsAllowOrigin=https://app.example.com (https://, lower-case host, optional port, no path, ` +
      `no wildcard; "*" is the default, for dev stacks only), got ${JSON.stringify(origin)}`,
  );
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

// `-c retainData=true` arrives as a string, cdk.json may hold a real boolean: accept both, reject the rest.
function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new Error(`Context "${name}" must be true or false, got "${String(value)}"`);
}
