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
  // Lowered on 2026-11-21 when each function stopped constructing SDK clients it never calls.
  upload: 640_000, // 533,564 bytes on 2026-11-21 (own POST-policy signer instead of @aws-sdk/s3-presigned-post)
  images: 620_000, // 515,120
  delete: 500_000, // 413,612 (the purge moved to its own function)
  metadata: 690_000, // 574,456
  thumbnail: 675_000, // 561,692
  purge: 835_000, // 695,818
  sweeper: 640_000, // 533,410 on 2026-11-22 (issue 11: DynamoDB, S3 and SQS clients; nobody waits on its cold start)
};
