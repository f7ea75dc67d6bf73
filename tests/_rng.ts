/**
 * The seeded PRNG of the test suite, in a module with no imports so that child
 * processes (the crash writer) use exactly the same generator as the parent.
 *
 * @module
 */

/**
 * A small, fast, seeded PRNG (sfc32), so that every random test can be replayed
 * from the seed it prints.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = this.seed;
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** A uniformly random unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] (both included). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.fill(out);
    return out;
  }

  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= out.length; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      out[i + 1] = (v >>> 8) & 0xff;
      out[i + 2] = (v >>> 16) & 0xff;
      out[i + 3] = v >>> 24;
    }
    for (; i < out.length; i++) out[i] = this.u32() & 0xff;
  }

  /** A random element of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
