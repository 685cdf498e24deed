/**
 * Seeded pseudo-random numbers for everything that must repeat: shuffles, batch order,
 * augmentation offsets and the integer seeds handed to tfjs random ops.
 *
 * mulberry32 (Tommy Ettinger, public domain) has a 32-bit state, so one seed fully
 * determines the stream and the state can be saved in a checkpoint to resume training.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng seed must be a finite number, got ${seed}.`);
    this.state = seed >>> 0;
  }

  /** Current 32-bit state, enough to restore the stream with `Rng.fromState`. */
  getState(): number {
    return this.state;
  }

  static fromState(state: number): Rng {
    return new Rng(state);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** Draws a fresh 31-bit seed for a tfjs random op (tfjs seeds are plain numbers), never 0: see `tfjsSeed`. */
  seed(): number {
    return tfjsSeed(this.int(0x7fffffff));
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[] | Int32Array | Uint32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = items[i];
      items[i] = items[j];
      items[j] = swap;
    }
  }
}

/**
 * Derives a 31-bit seed from a base seed and a counter (a training step, a sample index),
 * so per-step randomness needs no saved state and a resumed run repeats exactly.
 */
export function deriveSeed(seed: number, counter: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(counter >>> 0, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return tfjsSeed((h >>> 0) & 0x7fffffff);
}

/**
 * Zero as a tfjs seed would mean no seed: tfjs 4.22's random ops (randomNormal, randomUniform)
 * take `seed ? seed : Math.random()`, so a seed of 0 gives different numbers on every call.
 * Every seed that reaches a tfjs random op passes through here. Zero becomes 2^32, a number
 * no unsigned 32-bit seed equals, and every other seed is returned unchanged.
 */
export function tfjsSeed(seed: number): number {
  return seed === 0 ? 2 ** 32 : seed;
}
