import type { CfnResource, PhysicalResource, StackTemplate } from '../template.ts';
import { Resolver } from '../template.ts';

/** Addresses of the local cloud, which resolved template values point at. */
export interface LocalAddresses {
  region: string;
  accountId: string;
  /** The AWS endpoint (edge) URL, e.g. `http://localhost:4566`. */
  awsEndpoint: string;
  /** Host and port of the CDN, e.g. `localhost:3001` (what a distribution's DomainName resolves to). */
  cdnHost: string;
  /** Host and port of the API, e.g. `localhost:3000`. */
  apiHost: string;
}

/** Rewrites URLs that point at the local CDN or API to plain http (the local servers do not speak TLS). */
export function localiseUrl(value: string, addresses: LocalAddresses): string {
  let result = value;
  for (const host of [addresses.cdnHost, addresses.apiHost])
    result = result.replaceAll(`https://${host}`, `http://${host}`);
  return result;
}

/** One resource of a template with its logical id. */
export type TemplateEntry = [logicalId: string, resource: CfnResource];

/** A property bag as it appears in a template (a resource's `Properties`, or a nested property). */
export type Properties = Record<string, unknown>;

/** `String(value)`, with `fallback` for an absent (`undefined` or `null`) value. */
export function str(value: unknown, fallback = ''): string {
  return value === undefined || value === null ? fallback : String(value);
}

/**
 * The pseudo parameters a template may `Ref`, with their local values.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
 */
export function pseudoParameters(stackName: string, addresses: LocalAddresses): Record<string, string> {
  const { region, accountId } = addresses;
  return {
    'AWS::Region': region,
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/local`,
    'AWS::NoValue': '',
  };
}

/**
 * What each service's model reads: the stack's resources whose `Condition` holds (in template order), their
 * local physical ids, and a resolver for the intrinsics in their properties.
 *
 * A resource whose `Condition` is false is not created by CloudFormation, so it is left out of `included`.
 * See https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
 *
 * Throws (from the constructor) when a resource names a condition the template does not define.
 */
export class ModelContext {
  readonly stackName: string;
  readonly addresses: LocalAddresses;
  readonly included: TemplateEntry[];
  readonly #physical: Map<string, PhysicalResource>;
  readonly #resolver: Resolver;

  constructor(stack: StackTemplate, addresses: LocalAddresses, physical: Map<string, PhysicalResource>) {
    this.stackName = stack.stackName;
    this.addresses = addresses;
    this.#physical = physical;
    this.#resolver = new Resolver(physical, pseudoParameters(stack.stackName, addresses), stack.conditions);
    this.included = Object.entries(stack.resources).filter(
      ([, resource]) => !resource.Condition || this.#resolver.condition(resource.Condition),
    );
  }

  /** A template value with its intrinsics resolved; throws on a reference the local cloud cannot resolve. */
  resolve<T = Properties>(value: unknown): T {
    return this.#resolver.resolve(value) as T;
  }

  /** A resource's `Properties`, resolved (an empty object when it has none). */
  properties(resource: CfnResource): Properties {
    return this.resolve(resource.Properties ?? {});
  }

  /** The included resources of one CloudFormation type, in template order. */
  ofType(type: string): TemplateEntry[] {
    return this.included.filter(([, resource]) => resource.Type === type);
  }

  /** What `Ref` returns for a resource ('' for one the model does not know). */
  refOf(logicalId: string): string {
    return this.#physical.get(logicalId)?.ref ?? '';
  }

  /** What `Fn::GetAtt` returns for a resource's attribute ('' when absent). */
  attributeOf(logicalId: string, attribute: string): string {
    return str(this.#physical.get(logicalId)?.attributes[attribute]);
  }
}
