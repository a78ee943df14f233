import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

/**
 * A seeded random stream. Each table draws from its own stream (seed + name), so the rows of one
 * table stay the same when another table's size changes.
 */
export class Random {
  private readonly rng: RandomGenerator;

  constructor(seed: number, stream: string) {
    this.rng = xoroshiro128plus((seed ^ Number(Bun.hash.crc32(stream))) | 0);
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return uniformInt(this.rng, min, max);
  }

  /** A float in [0, 1). */
  float(): number {
    return uniformFloat64(this.rng);
  }

  chance(probability: number): boolean {
    return this.float() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  /** An index in [0, n) skewed towards 0: a few popular items, a long tail. */
  skewedIndex(n: number, power: number): number {
    return Math.min(n - 1, Math.floor(n * this.float() ** power));
  }

  /** A 32-bit value as 8 hex digits. */
  hex8(): string {
    return (this.rng.next() >>> 0).toString(16).padStart(8, "0");
  }

  /** Fisher–Yates, in place. */
  shuffle<T extends { length: number; [index: number]: number }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      const swap = items[i] as number;
      items[i] = items[j] as number;
      items[j] = swap;
    }
    return items;
  }
}
