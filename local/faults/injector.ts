/**
 * Decides, with seeded randomness, which calls, invocations, notifications and deliveries get a fault, and
 * counts every fault it injects. One instance per local cloud (`cloud.faults`); its counters are served at
 * `GET /_pictura/faults` on the AWS endpoint.
 */
import { randomInt } from 'node:crypto';
import {
  checkFaultTargets,
  EDGE_KINDS,
  type EdgeKind,
  type EdgeService,
  type FaultConfig,
  type FaultRule,
} from './config.ts';
import { SeededRandom, streamSeed } from './random.ts';

/** Default `[min, max]` ms of a `delay` at the edge and of a delayed notification. */
const EDGE_DELAY_MS: [number, number] = [50, 500];
const NOTIFICATION_DELAY_MS: [number, number] = [200, 2000];
/** Duration assumed for a function not yet seen, to place a kill part-way through its work. */
const FIRST_GUESS_MS = 1000;

export interface EdgeFault {
  kind: EdgeKind;
  delayMs: number;
}

/** What the function runtime does to one invocation (see function-runtime.ts). */
export interface InvocationFault {
  kind: 'crash' | 'timeout' | 'partial';
  /** When, after the invocation was handed over, the instance is killed (`crash`, `partial`) or frozen. */
  afterMs: number;
  /** For `timeout`: when, after the hand-over, the invocation is answered as timed out. */
  hangMs: number | undefined;
  /** The runtime calls this when the fault happens (an invocation that ended first had none). */
  fired(): void;
}

/** What `GET /_pictura/faults` answers. */
export interface FaultSnapshot {
  enabled: true;
  seed: number;
  /** Calls, invocations, notifications and deliveries that were eligible, by domain (`s3`, `invocations`, …). */
  seen: Record<string, number>;
  /** Faults injected, by `<domain>.<kind>` (`s3.SlowDown`, `invocations.crash`, `deliveries.duplicate`). */
  injected: Record<string, number>;
  total: number;
}

export interface FaultInjectorOptions {
  /** Functions consumed from SQS (their names): the default target of invocation faults. */
  consumers: readonly string[];
  /**
   * Every function name and logical name of the stack: when given, `invocations.functions` may name only
   * these (the constructor throws `FaultConfigError` otherwise, see config.ts `checkFaultTargets`).
   */
  functions?: readonly string[];
}

export class FaultInjector {
  readonly config: FaultConfig;
  readonly seed: number;
  readonly #random: Record<'edge' | 'invocations' | 'notifications' | 'deliveries', SeededRandom>;
  readonly #seen = new Map<string, number>();
  readonly #injected = new Map<string, number>();
  readonly #durations = new Map<string, number>();
  readonly #consumers: ReadonlySet<string>;
  #heldNotifications: Array<() => void> = [];

  constructor(config: FaultConfig, options: FaultInjectorOptions) {
    if (options.functions) checkFaultTargets(config, options.functions);
    this.config = config;
    this.seed = config.seed ?? randomInt(0, 2 ** 32 - 1);
    const stream = (name: string) => new SeededRandom(streamSeed(this.seed, name));
    this.#random = {
      edge: stream('edge'),
      invocations: stream('invocations'),
      notifications: stream('notifications'),
      deliveries: stream('deliveries'),
    };
    this.#consumers = new Set(options.consumers);
  }

  /** The fault for one call to `service`'s `operation`, or `undefined` (forward it as it is). */
  edgeFault(service: EdgeService, operation: string): EdgeFault | undefined {
    const settings = this.config[service];
    if (!settings) return undefined;
    const rule = operationRule(settings, settings.operations?.[operation]);
    this.#bump(this.#seen, service);
    const random = this.#random.edge;
    if (!random.chance(rule.rate)) return undefined;
    const kind = random.pick(rule.kinds ?? evenly(EDGE_KINDS[service])) as EdgeKind | undefined;
    if (!kind) return undefined;
    const [min, max] = rule.delayMs ?? EDGE_DELAY_MS;
    this.#bump(this.#injected, `${service}.${kind}`);
    return { kind, delayMs: kind === 'delay' ? random.between(min, max) : 0 };
  }

  /**
   * The fault for one invocation of `functionName` (label: its logical name), or `undefined`. A kill
   * part-way lands at a uniform point of the function's usual duration (a moving average of its
   * invocations), so that it interrupts real work rather than always the start or never.
   */
  invocationFault(functionName: string, label: string, timeoutMs: number): InvocationFault | undefined {
    const settings = this.config.invocations;
    if (!settings) return undefined;
    const targets = settings.functions;
    const targeted = targets
      ? targets.includes(functionName) || targets.includes(label)
      : this.#consumers.has(functionName);
    if (!targeted) return undefined;
    this.#bump(this.#seen, 'invocations');
    const random = this.#random.invocations;
    if (!random.chance(settings.rate)) return undefined;
    const kind = random.pick(settings.kinds ?? { crash: 1, timeout: 1, partial: 1 });
    if (!kind) return undefined;
    const usual = this.#durations.get(functionName) ?? FIRST_GUESS_MS;
    const afterMs = kind === 'crash' ? 0 : Math.floor(random.next() * usual);
    return {
      kind,
      afterMs,
      hangMs: kind === 'timeout' ? Math.max(afterMs, settings.hangMs ?? timeoutMs) : undefined,
      fired: () => this.#bump(this.#injected, `invocations.${kind}`),
    };
  }

  /** Notes how long an invocation of `functionName` took (for placing part-way kills). */
  invocationEnded(functionName: string, durationMs: number): void {
    const previous = this.#durations.get(functionName);
    this.#durations.set(
      functionName,
      previous === undefined ? durationMs : previous * 0.8 + durationMs * 0.2,
    );
  }

  /**
   * Sends one S3 event notification with `send`, faulted or not: twice (`duplicate`), after a delay
   * (`delay`), or held until the next notification has gone (`reorder`, at most the delay range's maximum).
   */
  async deliverNotification(send: () => Promise<void>): Promise<void> {
    const settings = this.config.notifications;
    const random = this.#random.notifications;
    if (settings) this.#bump(this.#seen, 'notifications');
    const kind =
      settings && random.chance(settings.rate)
        ? random.pick(settings.kinds ?? { duplicate: 1, delay: 1, reorder: 1 })
        : undefined;
    const [min, max] = settings?.delayMs ?? NOTIFICATION_DELAY_MS;
    if (kind) this.#bump(this.#injected, `notifications.${kind}`);
    if (kind === 'delay') await sleep(random.between(min, max));
    if (kind === 'reorder') {
      await Promise.race([new Promise<void>((resolve) => this.#heldNotifications.push(resolve)), sleep(max)]);
    }
    await send();
    if (kind === 'duplicate') await send();
    if (kind !== 'reorder') this.#releaseHeld();
  }

  /** Which of a batch's messages an event source mapping also hands to a second, concurrent invocation. */
  duplicateDeliveries<T>(messages: readonly T[]): T[] {
    const settings = this.config.deliveries;
    if (!settings) return [];
    const random = this.#random.deliveries;
    return messages.filter(() => {
      this.#bump(this.#seen, 'deliveries');
      if (!random.chance(settings.rate)) return false;
      this.#bump(this.#injected, 'deliveries.duplicate');
      return true;
    });
  }

  /** The counters: what was eligible and what was injected, by kind. */
  snapshot(): FaultSnapshot {
    const injected = Object.fromEntries([...this.#injected].sort());
    return {
      enabled: true,
      seed: this.seed,
      seen: Object.fromEntries([...this.#seen].sort()),
      injected,
      total: Object.values(injected).reduce((sum, n) => sum + n, 0),
    };
  }

  #releaseHeld(): void {
    const held = this.#heldNotifications;
    this.#heldNotifications = [];
    for (const release of held) release();
  }

  #bump(counters: Map<string, number>, key: string): void {
    counters.set(key, (counters.get(key) ?? 0) + 1);
  }
}

/**
 * The rule for one operation: its own `rate`, and its own `kinds` and `delayMs` where it sets them, else the
 * service's (so `{"kinds": {"InternalError": 1}, "operations": {"DeleteObject": {"rate": 1}}}` answers
 * DeleteObject with InternalError, not every kind). No operation rule: the service's.
 */
export function operationRule(service: FaultRule, operation: FaultRule | undefined): FaultRule {
  if (!operation) return service;
  const kinds = operation.kinds ?? service.kinds;
  const delayMs = operation.delayMs ?? service.delayMs;
  return { rate: operation.rate, ...(kinds ? { kinds } : {}), ...(delayMs ? { delayMs } : {}) };
}

function evenly(kinds: readonly string[]): Record<string, number> {
  return Object.fromEntries(kinds.map((kind) => [kind, 1]));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
