import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * What the functions' bundles use in place of `@aws-sdk/credential-provider-node`'s `defaultProvider` (an
 * esbuild alias set in infra/bundling.ts; nothing imports this module by name). Every SDK v3 client's runtime
 * config imports that default chain statically, so a bundle carries all of it — the SSO, STS and web-identity
 * clients, the INI, process and IMDS/ECS providers: about 130 KB minified, parsed at every cold start — although
 * a Lambda function only ever reaches its first link. Lambda puts the execution role's credentials in
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` ("Defined runtime environment variables",
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), as do
 * LocalStack and the local cloud. Measured: 132 KB less per function and about 8–10 ms less import CPU for
 * `upload` and `delete` (bench/results/cold-start.md).
 *
 * Not for Lambda SnapStart, which serves credentials from a container endpoint instead: Pictura does not use it,
 * and a function without the variables fails on its first AWS call with the SDK's own
 * "Unable to find environment variable credentials".
 *
 * @param init the options the SDK passes to its default provider (a logger); only those `fromEnv` reads are used.
 * @returns a provider reading the credentials from the environment on each call.
 */
export function defaultProvider(init?: Parameters<typeof fromEnv>[0]): ReturnType<typeof fromEnv> {
  return fromEnv(init);
}
