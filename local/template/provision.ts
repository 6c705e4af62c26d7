import { CreateTableCommand, type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { StackModel } from './stack-model.ts';

export interface ProvisionClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
}

export interface ProvisionOptions {
  /**
   * Multiplies every queue's visibility timeout (at least 1 s). Tests use a small factor so a failed
   * message comes back in seconds instead of minutes; 1 keeps the template's values.
   */
  visibilityScale?: number;
}

/** What was created (or found already there, when state persisted from an earlier run). */
export interface ProvisionReport {
  buckets: string[];
  queues: string[];
  tables: string[];
}

/**
 * Creates the stack's buckets, queues (with their attributes, then their redrive policies once every DLQ
 * exists) and tables (with their indexes) on the local endpoint. Idempotent, so a restart with saved state
 * provisions nothing twice.
 */
export async function provision(
  model: StackModel,
  clients: ProvisionClients,
  options: ProvisionOptions = {},
): Promise<ProvisionReport> {
  const scale = options.visibilityScale ?? 1;
  for (const bucket of model.buckets) {
    const exists = await clients.s3
      .send(new HeadBucketCommand({ Bucket: bucket.name }))
      .then(() => true)
      .catch(() => false);
    if (!exists) await clients.s3.send(new CreateBucketCommand({ Bucket: bucket.name }));
  }

  for (const queue of model.queues) {
    const { RedrivePolicy, ...attributes } = queue.attributes;
    if (attributes.VisibilityTimeout !== undefined) {
      attributes.VisibilityTimeout = String(
        Math.max(1, Math.round(Number(attributes.VisibilityTimeout) * scale)),
      );
    }
    await clients.sqs
      .send(new CreateQueueCommand({ QueueName: queue.name, Attributes: attributes }))
      .catch(async (error) => {
        // An existing queue with other attributes (template changed since the saved state): update it.
        if ((error as { name?: string }).name !== 'QueueNameExists') throw error;
        await clients.sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: attributes }),
        );
      });
  }
  for (const queue of model.queues) {
    const redrive = queue.attributes.RedrivePolicy;
    if (redrive) {
      await clients.sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { RedrivePolicy: redrive } }),
      );
    }
  }

  const existing = new Set((await clients.dynamo.send(new ListTablesCommand({}))).TableNames ?? []);
  for (const table of model.tables) {
    if (existing.has(table.name)) continue;
    await clients.dynamo.send(
      new CreateTableCommand(
        table.definition as unknown as ConstructorParameters<typeof CreateTableCommand>[0],
      ),
    );
  }
  return {
    buckets: model.buckets.map((b) => b.name),
    queues: model.queues.map((q) => q.name),
    tables: model.tables.map((t) => t.name),
  };
}
