import { expect, it } from 'vitest';
import { runChaos } from '#bench/lib/chaos-run.ts';
import { loadFaultConfig } from '#local/faults/config.ts';
import { ROOT } from '#test/support/local-cloud.ts';

// The chaos benchmark's run, small: 100 uploads through the local cloud with 10 % of every fault kind
// (bench/faults/ten-percent.json: S3, DynamoDB and SQS throttling, 5xx and delays; invocations crashing,
// timing out and killed part-way; S3 notifications duplicated, delayed and reordered; SQS messages delivered
// twice). Every id must settle, and the bucket, the table and the queues must reconcile with the ids.
it('settles 100 uploads under 10 % of every fault kind: nothing lost, orphaned or stuck, every DLQ message explained', async () => {
  const faults = loadFaultConfig(`${ROOT}/bench/faults/ten-percent.json`);
  const report = await runChaos({
    root: ROOT,
    uploads: 100,
    concurrency: 10,
    faults,
    visibilityScale: 0.02,
    settleTimeoutMs: 150_000,
    hostileEvery: 25,
    inputs: 'small',
    quiet: true,
  });
  const diagnosis = JSON.stringify({ ...report, faults: undefined }, null, 1);
  // Faults of every kind were injected (the run proves nothing otherwise).
  const injected = 'injected' in report.faults ? report.faults.injected : {};
  for (const domain of ['s3', 'dynamodb', 'sqs', 'invocations', 'notifications', 'deliveries'])
    expect(
      Object.keys(injected).some((kind) => kind.startsWith(`${domain}.`)),
      domain,
    ).toBe(true);
  expect(report.uploadErrors, diagnosis).toEqual([]);
  expect(report.accepted).toBe(100);
  expect(report.outcome.stuck, diagnosis).toBe(0);
  expect(report.outcome.ready + report.outcome.rejected + report.outcome.failed).toBe(100);
  expect(report.outcome.rejected).toBe(4);
  expect(report.lost, diagnosis).toBe(0);
  expect(report.orphanedObjects, diagnosis).toEqual([]);
  expect(report.stuckRecords, diagnosis).toEqual([]);
  expect(report.readyWithMissingVariants, diagnosis).toEqual([]);
  expect(
    report.dlq.filter((entry) => !entry.explained),
    diagnosis,
  ).toEqual([]);
}, 240_000);
