import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '#shared/clients/lambda-credentials.ts';

// The credentials Lambda gives a function: its execution role's, in the environment
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
describe("defaultProvider (the bundles' credential chain)", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("reads the execution role's credentials from the environment, session token included", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLEEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token');
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: 'ASIAEXAMPLEEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    });
  });

  it("fails with the SDK's own error when the environment has none (nothing else is tried)", async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    await expect(defaultProvider()()).rejects.toThrow('Unable to find environment variable credentials');
  });
});
