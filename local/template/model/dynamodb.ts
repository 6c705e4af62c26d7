import type { ModelContext, Properties } from './context.ts';

export interface LocalTable {
  logicalId: string;
  name: string;
  /** The table's CreateTable input (key schema, attributes, indexes), resolved. */
  definition: Record<string, unknown>;
}

/**
 * A global secondary index as CreateTable takes it: the template's `IndexName`, `KeySchema`, `Projection`
 * and `ProvisionedThroughput` (when set); other properties (contributor insights, warm throughput) are
 * not CreateTable's.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-dynamodb-table-globalsecondaryindex.html
 */
function globalSecondaryIndex(index: Properties): Properties {
  return {
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: index.Projection,
    ...(index.ProvisionedThroughput ? { ProvisionedThroughput: index.ProvisionedThroughput } : {}),
  };
}

/**
 * The CreateTable input of one `AWS::DynamoDB::Table`'s resolved properties: `AttributeDefinitions`,
 * `KeySchema`, `BillingMode`, `ProvisionedThroughput` and the secondary indexes. An absent `BillingMode`
 * becomes `PAY_PER_REQUEST` (CloudFormation's default is `PROVISIONED`, but local tables have no capacity).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
 */
export function tableDefinition(tableName: string, p: Properties): Record<string, unknown> {
  const definition: Record<string, unknown> = {
    TableName: tableName,
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    BillingMode: p.BillingMode ?? 'PAY_PER_REQUEST',
  };
  if (p.ProvisionedThroughput) definition.ProvisionedThroughput = p.ProvisionedThroughput;
  if (Array.isArray(p.GlobalSecondaryIndexes)) {
    definition.GlobalSecondaryIndexes = p.GlobalSecondaryIndexes.map(globalSecondaryIndex);
  }
  if (Array.isArray(p.LocalSecondaryIndexes)) definition.LocalSecondaryIndexes = p.LocalSecondaryIndexes;
  return definition;
}

/**
 * The stack's tables (`AWS::DynamoDB::Table`; a `GlobalTable` is named but not created locally).
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
 */
export function buildTables(context: ModelContext): LocalTable[] {
  return context.ofType('AWS::DynamoDB::Table').map(([logicalId, resource]) => ({
    logicalId,
    name: context.refOf(logicalId),
    definition: tableDefinition(context.refOf(logicalId), context.properties(resource)),
  }));
}
