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
  // Raised on 2026-11-30 (issue 14) for Powertools Tracer and Metrics in every function: the Tracer brings the
  // X-Ray SDK (about 124 KB minified), Metrics about 12.5 KB, Pictura's own observability code 0.4–2.5 KB.
  // Cold start re-measured (bench/results/cold-start.md, `npm run bench:cold-start -- --target local --runs 15`):
  // the API functions stay within 2× the empty handler (two runs: delete 1.49×/1.91×, images 1.97×/1.85×,
  // upload 1.87×/1.93×). upload and images also carry the API's zod schemas (28 KB) and images the OpenAPI
  // document (issue 13).
  upload: 850_000, // 709,852 bytes on 2026-11-30
  images: 910_000, // 758,971
  delete: 665_000, // 555,494
  metadata: 875_000, // 727,664
  thumbnail: 860_000, // 715,307
  purge: 1_010_000, // 842,779
  sweeper: 810_000, // 674,853
};
