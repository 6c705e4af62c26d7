/**
 * A seeded pseudo-random stream (mulberry32: 32-bit state, passes the usual statistical tests, and is tiny),
 * so that a run with faults can be repeated with the same decisions. `Math.random` cannot be seeded.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Whether an event of probability `rate` (0–1) happens. */
  chance(rate: number): boolean {
    return rate > 0 && this.next() < rate;
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One key of `weights`, drawn in proportion to its weight; `undefined` when every weight is 0. */
  pick<K extends string>(weights: Partial<Record<K, number>>): K | undefined {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    if (total <= 0) return undefined;
    let roll = this.next() * total;
    for (const [key, weight] of entries) {
      roll -= weight;
      if (roll < 0 && weight > 0) return key;
    }
    return entries.findLast(([, w]) => w > 0)?.[0];
  }
}

/** Derives an independent stream's seed from the run's seed and a name (FNV-1a over both). */
export function streamSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}
