import type { Config } from '../config.ts';

/** The settings every AWS client shares: the region and, off AWS, the custom endpoint. */
export function clientOptions(config: Pick<Config, 'region' | 'endpoint'>): {
  region: string;
  endpoint?: string;
} {
  return { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
}
