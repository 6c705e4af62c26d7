/**
 * Bundle-size budgets: bytes of each function's JavaScript bundle as its Lambda packaging builds it
 * (`local/lambda/build.ts` with `infra/bundling.ts`: a minified ES module, the AWS SDK bundled, sharp installed beside the
 * bundle and so not counted). Enforced by test/unit/bundle-size.test.ts; sizes are deterministic, so the
 * test is exact where timings could not be.
 *
 * Each budget is about 20% above the size measured when it was set (in the comment). A bundle that grows
 * past its budget fails the test on purpose: every kilobyte is parsed on every cold start. To raise one
 * deliberately, say in the commit why the new code is worth its cold-start cost (re-run
 * `npm run bench:cold-start` and quote the init change), and set the budget about 20% above the new size
 * with the new size in the comment, never just above it.
 */
import type { FunctionName } from '#infra/constructs/pictura-function.ts';

export const BUNDLE_BUDGETS: Record<FunctionName, number> = {
  // Lowered on 2026-11-30 when the bundles dropped the SDK's default credential chain for the environment
  // provider alone (shared/clients/lambda-credentials.ts, about 132 KB less each), so the gain cannot creep
  // back unnoticed. Before that, the same day (issue 14), they had been raised for Powertools Tracer (the X-Ray
  // SDK, about 124 KB) and Metrics (about 12.5 KB), and upload/images carry the API's zod schemas and images
  // the OpenAPI document (issue 13). Cold start: bench/results/cold-start.md.
  upload: 705_000, // 588,023 bytes on 2026-11-30
  images: 780_000, // 649,994
  delete: 505_000, // 420,000
  metadata: 740_000, // 616,891
  thumbnail: 725_000, // 604,485
  purge: 880_000, // 731,547
  sweeper: 675_000, // 564,124
};
