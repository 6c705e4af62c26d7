import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from '#infra/bundling.ts';
import { bundleForHost } from '#local/lambda/build.ts';

const scratch = mkdtempSync(join(tmpdir(), 'pictura-error-names-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('keeps every error class name through the functions’ minified packaging, so logs name the error', async () => {
  const bundle = await bundleForHost(
    { entry: 'test/unit/fixtures/error-names-handler.ts', label: 'error-names' },
    REPO_ROOT,
  );
  const file = join(scratch, `index${bundle.extension}`);
  writeFileSync(file, bundle.code);
  const { handler } = (await import(pathToFileURL(file).href)) as {
    handler: () => Promise<Array<[string, string]>>;
  };
  const names = await handler();
  expect(names.map(([exported]) => exported)).toEqual(
    expect.arrayContaining([
      'PicturaError',
      'UnauthorizedError',
      'ImageRejectedError',
      'MalformedMessageError',
    ]),
  );
  for (const [exported, reported] of names) expect(reported, exported).toBe(exported);
});
