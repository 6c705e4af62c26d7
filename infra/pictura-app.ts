import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Tags } from 'aws-cdk-lib';
import { REPO_ROOT } from './bundling.ts';
import { readSettings, type Settings } from './settings.ts';
import { PicturaStack } from './stack.ts';

/** Stack name, the same on every target; the template lands in `cdk.out/Pictura.template.json`. */
export const STACK_NAME = 'Pictura';

/** CDK's context key listing the stacks whose assets are bundled; `[]` bundles none. */
const BUNDLING_STACKS_KEY = 'aws:cdk:bundling-stacks';

export interface CreateAppOptions {
  /** Context values, as `-c key=value` would give them. */
  context?: Record<string, unknown>;
  /** Cloud assembly directory; the CLI's (`CDK_OUTDIR`) or a temporary one by default. */
  outdir?: string;
}

export interface PicturaApp {
  app: App;
  stack: PicturaStack;
  settings: Settings;
}

/**
 * Builds the app. The CLI, a direct `node infra/app.ts` (which is how the local cloud can synthesize
 * without the CLI's start-up cost) and the tests all come through here, so they build the same template.
 *
 * cdk.json's context (the feature flags) is the base layer: the CLI passes it anyway, and a direct run
 * or a test gets the same flags instead of CDK's legacy defaults. Context from the CLI or `CDK_CONTEXT_JSON`
 * still wins over it.
 */
export function createApp(options: CreateAppOptions = {}): PicturaApp {
  const app = new App({
    context: { ...cdkJsonContext(), ...options.context },
    ...(options.outdir !== undefined ? { outdir: options.outdir } : {}),
  });
  const settings = readSettings((key) => app.node.tryGetContext(key));
  // The CLI refuses `-c aws:cdk:bundling-stacks=[]` ("aws:" keys are reserved), so `-c bundling=false`
  // sets it here, before any asset exists. A direct run can pass the standard key in CDK_CONTEXT_JSON.
  if (!settings.bundling) {
    app.node.setContext(BUNDLING_STACKS_KEY, []);
  }
  const stack = new PicturaStack(app, STACK_NAME, {
    settings,
    description: `Pictura serverless image hosting (${settings.target})`,
  });
  Tags.of(app).add('project', 'pictura');
  return { app, stack, settings };
}

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}
