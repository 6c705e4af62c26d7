import { createHash } from 'node:crypto';
import type { PhysicalResource, StackTemplate } from '../template.ts';
import type { LocalAddresses, Properties } from './context.ts';

/**
 * Physical ids (what `Ref` returns) and `Fn::GetAtt` attributes of the resources the local cloud emulates,
 * one function per CloudFormation type, each following the "Return values" section of its reference page
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-<service>-<type>.html).
 * Names come from the template's unresolved properties: a name built from an intrinsic is not supported.
 */
type PhysicalIdOf = (logicalId: string, properties: Properties, naming: Naming) => PhysicalResource;

/** What a physical id may depend on besides the resource itself. */
export interface Naming {
  stackName: string;
  addresses: LocalAddresses;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * A readable, valid, deterministic local name for a resource CloudFormation would have named
 * (`<stack>-<logicalId>`, cut to `max` characters with a hash suffix when longer).
 */
export function localName(stack: string, logicalId: string, max: number, lowercase = false): string {
  const raw = `${stack}-${logicalId}`.replace(/[^A-Za-z0-9-]/g, '-');
  const name = raw.length <= max ? raw : `${raw.slice(0, max - 9)}-${shortHash(raw)}`;
  return lowercase ? name.toLowerCase() : name;
}

/** `AWS::S3::Bucket`: `Ref` is the `BucketName` (3–63 lower-case characters). */
const bucket: PhysicalIdOf = (logicalId, p, { stackName, addresses }) => {
  const name = typeof p.BucketName === 'string' ? p.BucketName : localName(stackName, logicalId, 63, true);
  return {
    ref: name,
    attributes: {
      Arn: `arn:aws:s3:::${name}`,
      DomainName: `${name}.s3.amazonaws.com`,
      RegionalDomainName: `${name}.s3.${addresses.region}.amazonaws.com`,
      WebsiteURL: `${addresses.awsEndpoint}/${name}`,
    },
  };
};

/** `AWS::SQS::Queue`: `Ref` is the queue URL; a FIFO queue's `QueueName` ends in `.fifo` (80 characters at most). */
const queue: PhysicalIdOf = (logicalId, p, { stackName, addresses }) => {
  const { region, accountId } = addresses;
  const fifo = p.FifoQueue === true || p.FifoQueue === 'true';
  const name =
    typeof p.QueueName === 'string'
      ? p.QueueName
      : `${localName(stackName, logicalId, fifo ? 75 : 80)}${fifo ? '.fifo' : ''}`;
  const url = `http://sqs.${region}.localhost:${new URL(addresses.awsEndpoint).port}/${accountId}/${name}`;
  return {
    ref: url,
    attributes: { Arn: `arn:aws:sqs:${region}:${accountId}:${name}`, QueueName: name, QueueUrl: url },
  };
};

/** `AWS::DynamoDB::Table` and `AWS::DynamoDB::GlobalTable`: `Ref` is the `TableName`. */
const table: PhysicalIdOf = (logicalId, p, { stackName, addresses }) => {
  const name = typeof p.TableName === 'string' ? p.TableName : localName(stackName, logicalId, 255);
  const arn = `arn:aws:dynamodb:${addresses.region}:${addresses.accountId}:table/${name}`;
  return { ref: name, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } };
};

/** `AWS::Lambda::Function`: `Ref` is the `FunctionName` (64 characters at most). */
const lambdaFunction: PhysicalIdOf = (logicalId, p, { stackName, addresses }) => {
  const name = typeof p.FunctionName === 'string' ? p.FunctionName : localName(stackName, logicalId, 64);
  return {
    ref: name,
    attributes: { Arn: `arn:aws:lambda:${addresses.region}:${addresses.accountId}:function:${name}` },
  };
};

/** `AWS::ApiGateway::RestApi`: `Ref` is the API id; `RootResourceId` is the id `/`'s children name as parent. */
const restApi: PhysicalIdOf = (logicalId) => ({
  ref: `local${shortHash(logicalId)}`,
  attributes: { RootResourceId: `${logicalId}#root` },
});

/** `AWS::CloudFront::Distribution`: `Ref` and `Id` are the distribution id; `DomainName` is the local CDN. */
const distribution: PhysicalIdOf = (logicalId, _p, { addresses }) => {
  const id = `E${shortHash(logicalId).toUpperCase()}LOCAL`;
  return { ref: id, attributes: { DomainName: addresses.cdnHost, Id: id } };
};

/**
 * Any other type (IAM, alarms, custom resources): `Ref` is the logical id and every attribute a placeholder
 * ARN, so that references to resources the local cloud does not run still resolve.
 */
const placeholder: PhysicalIdOf = (logicalId, _p, { addresses }) => ({
  ref: logicalId,
  attributes: new Proxy({} as Record<string, string>, {
    get: (_target, attribute) =>
      typeof attribute === 'string'
        ? `arn:aws:local:${addresses.region}:${addresses.accountId}:${logicalId}/${attribute}`
        : undefined,
  }),
});

const PHYSICAL_IDS = new Map<string, PhysicalIdOf>([
  ['AWS::S3::Bucket', bucket],
  ['AWS::SQS::Queue', queue],
  ['AWS::DynamoDB::Table', table],
  ['AWS::DynamoDB::GlobalTable', table],
  ['AWS::Lambda::Function', lambdaFunction],
  ['AWS::ApiGateway::RestApi', restApi],
  ['AWS::CloudFront::Distribution', distribution],
]);

/**
 * Local physical ids and attributes for every resource of the stack, by logical id, whatever its
 * `Condition` (the model leaves excluded resources out; their ids cost nothing).
 */
export function physicalResources(
  stack: StackTemplate,
  addresses: LocalAddresses,
): Map<string, PhysicalResource> {
  const naming: Naming = { stackName: stack.stackName, addresses };
  const physical = new Map<string, PhysicalResource>();
  for (const [logicalId, resource] of Object.entries(stack.resources)) {
    const physicalIdOf = PHYSICAL_IDS.get(resource.Type) ?? placeholder;
    physical.set(logicalId, physicalIdOf(logicalId, resource.Properties ?? {}, naming));
  }
  return physical;
}
