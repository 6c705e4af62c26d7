import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Creates the function's structured JSON logger (Powertools). Service name and level come from the standard
 * `POWERTOOLS_SERVICE_NAME` / `POWERTOOLS_LOG_LEVEL` variables that the stack sets; `fn` tags each line
 * with the function, which keeps the local cloud's interleaved output readable.
 */
export function createLogger(fn: string): Logger {
  return new Logger({ serviceName: 'pictura', persistentKeys: { fn } });
}

export type { Logger };
