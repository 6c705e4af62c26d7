import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** A CloudFormation resource as synthesized. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
}

/** A synthesized stack: its name and template. */
export interface StackTemplate {
  stackName: string;
  resources: Record<string, CfnResource>;
  outputs: Record<string, { Value: unknown; Description?: string }>;
  conditions: Record<string, unknown>;
  /**
   * The assembly's folder assets by the S3 object key they are published under (`<hash>.zip` in the CDK
   * assets bucket), as absolute paths of their staged folders in the assembly: what a
   * `Custom::CDKBucketDeployment`'s `SourceObjectKeys` name.
   */
  assets?: Record<string, string>;
}

/** An asset manifest's file assets (`<stack>.assets.json`, `files`), as the CDK CLI publishes them. */
interface AssetManifest {
  files?: Record<
    string,
    { source?: { path?: string; packaging?: string }; destinations?: Record<string, { objectKey?: string }> }
  >;
}

/**
 * The staged folder of each folder asset (`packaging: zip`, which the CLI zips when it publishes) of the
 * assembly's asset manifests, by object key. File assets (already zips, such as the AWS CLI layer) and
 * assets outside the assembly folder (the functions, bundled from the project root) are left out.
 * See https://github.com/aws/aws-cdk-cli/tree/main/packages/cdk-assets (asset manifest format)
 */
function folderAssets(outdir: string, manifestFiles: string[]): Record<string, string> {
  const assets: Record<string, string> = {};
  for (const file of manifestFiles) {
    const manifest = JSON.parse(readFileSync(join(outdir, file), 'utf8')) as AssetManifest;
    for (const asset of Object.values(manifest.files ?? {})) {
      const path = asset.source?.path;
      if (asset.source?.packaging !== 'zip' || !path || isAbsolute(path)) continue;
      for (const destination of Object.values(asset.destinations ?? {})) {
        if (destination.objectKey) assets[destination.objectKey] = join(outdir, path);
      }
    }
  }
  return assets;
}

/**
 * Reads the stacks of a cloud assembly (`cdk.out/manifest.json`), in manifest order. Only CloudFormation
 * stack artifacts are returned, each with the assembly's folder assets (what a BucketDeployment copies).
 */
export function readAssembly(outdir: string): StackTemplate[] {
  const manifestPath = join(outdir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`no cloud assembly at ${outdir} (manifest.json missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    artifacts?: Record<
      string,
      { type: string; properties?: { templateFile?: string; file?: string }; displayName?: string }
    >;
  };
  const assetManifests = Object.values(manifest.artifacts ?? {})
    .filter((artifact) => artifact.type === 'cdk:asset-manifest' && artifact.properties?.file)
    .map((artifact) => artifact.properties?.file ?? '');
  const assets = folderAssets(outdir, assetManifests);
  return Object.entries(manifest.artifacts ?? {})
    .filter(
      ([, artifact]) => artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile,
    )
    .map(([name, artifact]) => {
      const template = JSON.parse(
        readFileSync(join(outdir, artifact.properties?.templateFile ?? ''), 'utf8'),
      ) as {
        Resources?: Record<string, CfnResource>;
        Outputs?: Record<string, { Value: unknown; Description?: string }>;
        Conditions?: Record<string, unknown>;
      };
      return {
        stackName: name,
        resources: template.Resources ?? {},
        outputs: template.Outputs ?? {},
        conditions: template.Conditions ?? {},
        assets,
      };
    });
}

/** Local values for the attributes of one resource (what `Ref` and `Fn::GetAtt` return). */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/**
 * Resolves CloudFormation intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`,
 * `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::Base64`) against local physical resources.
 * Unknown references fail loudly: a silently empty value would surface much later as a baffling error.
 */
export class Resolver {
  readonly #physical: Map<string, PhysicalResource>;
  readonly #pseudo: Record<string, string>;
  readonly #conditions: Record<string, unknown>;

  constructor(
    physical: Map<string, PhysicalResource>,
    pseudo: Record<string, string>,
    conditions: Record<string, unknown> = {},
  ) {
    this.#physical = physical;
    this.#pseudo = pseudo;
    this.#conditions = conditions;
  }

  /** Whether a named condition holds. */
  condition(name: string): boolean {
    const definition = this.#conditions[name];
    if (definition === undefined) throw new Error(`unknown condition ${name}`);
    return Boolean(this.resolve(definition));
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [[key, argument]] = entries as [[string, unknown]];
      switch (key) {
        case 'Ref':
          return this.#ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
          return this.#getAtt(String(logicalId), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).join(separator);
        }
        case 'Fn::Sub':
          return this.#sub(argument);
        case 'Fn::Select': {
          const [index, list] = argument as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, source] = argument as [string, unknown];
          return String(this.resolve(source)).split(separator);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = argument as [string, unknown, unknown];
          return this.resolve(this.condition(condition) ? whenTrue : whenFalse);
        }
        case 'Fn::Equals': {
          const [a, b] = argument as [unknown, unknown];
          return JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b));
        }
        case 'Fn::Not':
          return !this.resolve((argument as unknown[])[0]);
        case 'Fn::And':
          return (argument as unknown[]).every((item) => this.resolve(item));
        case 'Fn::Or':
          return (argument as unknown[]).some((item) => this.resolve(item));
        case 'Fn::Base64':
          return Buffer.from(String(this.resolve(argument))).toString('base64');
        case 'Condition':
          return this.condition(String(argument));
        default:
          if (key.startsWith('Fn::')) throw new Error(`${key} is not supported by the local cloud`);
      }
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }

  #ref(name: string): string {
    if (name in this.#pseudo) return this.#pseudo[name] ?? '';
    const resource = this.#physical.get(name);
    if (!resource) throw new Error(`Ref to ${name}, which the local cloud does not provide`);
    return resource.ref;
  }

  #getAtt(logicalId: string, attribute: string): string {
    const resource = this.#physical.get(logicalId);
    const value = resource?.attributes[attribute];
    if (value === undefined) throw new Error(`Fn::GetAtt ${logicalId}.${attribute} is not provided locally`);
    return value;
  }

  #sub(argument: unknown): string {
    const [text, variables] = Array.isArray(argument)
      ? (argument as [string, Record<string, unknown>])
      : [String(argument), {}];
    return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
      // `${!Name}` is CloudFormation's escape for a literal `${Name}`.
      if (literal) return `\${${name}}`;
      if (name in variables) return String(this.resolve(variables[name]));
      if (name.includes('.')) {
        const [logicalId, ...attribute] = name.split('.');
        return this.#getAtt(logicalId ?? '', attribute.join('.'));
      }
      return this.#ref(name);
    });
  }
}
