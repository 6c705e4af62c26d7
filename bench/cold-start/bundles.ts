/**
 * What each function's bundle is made of, from esbuild's metafile: bytes per package, and how much of it is
 * the AWS SDK. Built locally with the template's packaging for the function (local/build.ts), so the figures
 * are the same whichever target the benchmark runs against.
 */
import { bundleForHost } from '#local/lambda/build.ts';

export interface BundleFacts {
  bytes: number;
  /** The largest contributors, by bytes in the output. */
  packages: Array<{ name: string; bytes: number }>;
  /** Bytes from `@aws-sdk/*`, `@smithy/*` and `@aws-crypto/*`. */
  sdkBytes: number;
  /** The SDK service clients bundled (`client-s3`, …). */
  sdkClients: string[];
}

/** The npm package an input path belongs to, or `project` for the repository's own code. */
export function packageOf(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return 'project';
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
}

const isSdk = (name: string) => /^@(aws-sdk|smithy|aws-crypto)\//.test(name);

export async function bundleFacts(
  fn: { entry: string; label: string; packaging: 'optimized' | 'naive' },
  root: string,
): Promise<BundleFacts> {
  const bundle = await bundleForHost(
    {
      entry: fn.entry,
      label: fn.label,
      ...(fn.packaging === 'naive' ? { packaging: 'naive' as const } : {}),
    },
    root,
    { metafile: true },
  );
  const byPackage = new Map<string, number>();
  for (const output of Object.values(bundle.metafile?.outputs ?? {})) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = packageOf(path);
      byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  const packages = [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
  return {
    bytes: bundle.code.length,
    packages: packages.slice(0, 8),
    sdkBytes: packages.filter((p) => isSdk(p.name)).reduce((sum, p) => sum + p.bytes, 0),
    sdkClients: packages
      .filter((p) => p.name.startsWith('@aws-sdk/client-'))
      .map((p) => p.name.slice('@aws-sdk/'.length))
      .sort(),
  };
}
