// The CDK app (cdk.json: `node infra/app.ts`). Context switches are listed in infra/settings.ts and
// docs/deploy.md: `-c target=localstack` builds the LocalStack variant, `-c bundling=false` skips bundling.
import { createApp } from './pictura-app.ts';

createApp().app.synth();
