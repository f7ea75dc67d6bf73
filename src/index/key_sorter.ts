/**
 * Sorting journal records by key without copying keys: a multikey radix sort.
 *
 * Each record is represented by an 8-byte window of its key, read once from the
 * journal and held as two u32 (big-endian, so numeric order is byte order; a key
 * shorter than the window is padded with zero bytes). The windows are sorted by
 * an LSD radix sort (stable, 8- or 16-bit digits, a pass skipped when every item
 * has the same digit). Items whose windows tie form a run; a run is resolved one
 * level deeper:
 *
 * ```text
 * run of equal windows at depth d (all share key bytes [0, d + 8), zero-padded)
 *   keys that end inside the window (len <= d + 8)   proper prefixes of the others:
 *                                                    first, ordered by length
 *   keys that go on                                  next window [d + 8, d + 16),
 *                                                    sorted the same way (depth d + 8)
 * runs of at most 24 items                           insertion sort by full compares
 * ```
 *
 * Every level is linear in the items it touches, so keys sharing a long prefix
 * (`user:00000001`, …) cost one journal read per item per 8 shared bytes, never
 * a quadratic number of compares. Levels are kept on an explicit stack (keys may
 * be 65,535 bytes long). The sort is stable: items with equal keys keep their
 * input order, and are flagged so that callers can detect duplicates.
 *
 * @module
 */

import type { OrderedKeySource } from "./ordered_index.ts";

/** Runs of at most this many items are sorted by full key compares. */
const SMALL = 24;
/** Ranges of at least this many items use 16-bit digits (4 passes), smaller ones 8-bit digits (8 passes). */
const WIDE_DIGITS_FROM = 1 << 16;

/** The result of {@linkcode sortByKey}. */
export interface KeyOrder {
  /** Indices into the input offsets, in key order (ties in input order). */
  readonly perm: Uint32Array;
  /** `same[i]` is 1 when the key at `perm[i]` equals the key at `perm[i - 1]`, else 0. */
  readonly same: Uint8Array;
}

// The window read by readWindow(), returned through module state (no allocation).
let windowHi = 0;
let windowLo = 0;

/**
 * Reads the 8-byte window `[depth, depth + 8)` of the key `buf[start, start + len)`
 * into `windowHi` / `windowLo`, zero-padded past the key's end.
 */
function readWindow(buf: Uint8Array, start: number, len: number, depth: number): void {
  const p = start + depth;
  const avail = len - depth;
  if (avail >= 8) {
    windowHi = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
    windowLo = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
    return;
  }
  let h = 0;
  let l = 0;
  for (let i = 0; i < 4; i++) h = (h << 8) | (i < avail ? buf[p + i]! : 0);
  for (let i = 4; i < 8; i++) l = (l << 8) | (i < avail ? buf[p + i]! : 0);
  windowHi = h >>> 0;
  windowLo = l >>> 0;
}

/**
 * The first 6 bytes of a key (zero-padded) as an exact integer below 2^48, so
 * that `keyPrefix(a) < keyPrefix(b)` implies `a < b` in byte order (equal
 * prefixes decide nothing).
 *
 * @param buf The buffer holding the key.
 * @param start Where the key starts in `buf`.
 * @param len The key's length.
 * @returns The prefix as a number.
 */
export function keyPrefix(buf: Uint8Array, start: number, len: number): number {
  if (len >= 6) {
    return (buf[start]! * 256 + buf[start + 1]!) * 4294967296 +
      (((buf[start + 2]! << 24) | (buf[start + 3]! << 16) | (buf[start + 4]! << 8) | buf[start + 5]!) >>> 0);
  }
  let p = 0;
  for (let i = 0; i < 6; i++) p = p * 256 + (i < len ? buf[start + i]! : 0);
  return p;
}

/**
 * Sorts records by key.
 *
 * @param src Reads and compares the records' keys.
 * @param offsets Journal offsets of the records (not modified).
 * @param count How many of `offsets` to sort.
 * @returns The permutation in key order and the equal-to-previous flags.
 */
export function sortByKey(src: OrderedKeySource, offsets: Float64Array, count: number): KeyOrder {
  const perm = new Uint32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  const same = new Uint8Array(count);
  if (count < 2) return { perm, same };
  if (count <= SMALL) {
    new Sorter(src, offsets, perm, same, new Uint32Array(0), new Uint32Array(0)).smallSort(0, count);
    return { perm, same };
  }
  const hi = new Uint32Array(count);
  const lo = new Uint32Array(count);
  const at = new Int32Array(2);
  for (let i = 0; i < count; i++) {
    const buf = src.keyAt(offsets[i]!, at);
    readWindow(buf, at[0]!, at[1]!, 0);
    hi[i] = windowHi;
    lo[i] = windowLo;
  }
  new Sorter(src, offsets, perm, same, hi, lo).run(count);
  return { perm, same };
}

/** The working state of one sort. */
class Sorter {
  readonly #src: OrderedKeySource;
  readonly #offs: Float64Array;
  readonly #perm: Uint32Array;
  readonly #same: Uint8Array;
  readonly #hi: Uint32Array;
  readonly #lo: Uint32Array;
  #tPerm: Uint32Array = new Uint32Array(0);
  #tHi: Uint32Array = new Uint32Array(0);
  #tLo: Uint32Array = new Uint32Array(0);
  #hist8: Int32Array | undefined;
  #hist16: Int32Array | undefined;
  readonly #at = new Int32Array(2);

  constructor(
    src: OrderedKeySource,
    offs: Float64Array,
    perm: Uint32Array,
    same: Uint8Array,
    hi: Uint32Array,
    lo: Uint32Array,
  ) {
    this.#src = src;
    this.#offs = offs;
    this.#perm = perm;
    this.#same = same;
    this.#hi = hi;
    this.#lo = lo;
  }

  /** Sorts all `count` items, whose windows at depth 0 are loaded. */
  run(count: number): void {
    this.#tPerm = new Uint32Array(count);
    this.#tHi = new Uint32Array(count);
    this.#tLo = new Uint32Array(count);
    // Tasks (start, end, depth): items [start, end) share key bytes [0, depth) and hold their window at depth.
    const stack: number[] = [0, count, 0];
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const end = stack.pop()!;
      const start = stack.pop()!;
      if (end - start <= SMALL) {
        this.smallSort(start, end);
        continue;
      }
      this.#radix(start, end);
      const hi = this.#hi;
      const lo = this.#lo;
      for (let i = start; i < end;) {
        const h = hi[i]!;
        const l = lo[i]!;
        let j = i + 1;
        while (j < end && hi[j] === h && lo[j] === l) j++;
        if (j - i >= 2) this.#resolveRun(i, j, depth, stack);
        i = j;
      }
    }
  }

  /** Items [a, b) have equal windows at `depth`: order the keys ending there, queue the others one level deeper. */
  #resolveRun(a: number, b: number, depth: number, stack: number[]): void {
    if (b - a <= SMALL) {
      this.smallSort(a, b);
      return;
    }
    const perm = this.#perm;
    const at = this.#at;
    const next = depth + 8;
    // Ended keys (proper prefixes of the others) go to the front, in their input order for now.
    const ended: number[] = [];
    const endedLen: number[] = [];
    let k = a;
    for (let i = a; i < b; i++) {
      const p = perm[i]!;
      const buf = this.#src.keyAt(this.#offs[p]!, at);
      const len = at[1]!;
      if (len <= next) {
        ended.push(p);
        endedLen.push(len);
        continue;
      }
      readWindow(buf, at[0]!, len, next);
      this.#tPerm[k] = p;
      this.#tHi[k] = windowHi;
      this.#tLo[k] = windowLo;
      k++;
    }
    const ne = ended.length;
    // Shift the continuing items right by `ne` and load their new windows.
    const cont = k - a;
    perm.set(this.#tPerm.subarray(a, k), a + ne);
    this.#hi.set(this.#tHi.subarray(a, k), a + ne);
    this.#lo.set(this.#tLo.subarray(a, k), a + ne);
    if (ne > 0) {
      // Ended keys agree on every byte they have, so they differ only by length (stable insertion sort).
      const order = ended.map((_, i) => i);
      order.sort((x, y) => endedLen[x]! - endedLen[y]! || x - y);
      for (let i = 0; i < ne; i++) {
        const o = order[i]!;
        perm[a + i] = ended[o]!;
        this.#same[a + i] = i > 0 && endedLen[o] === endedLen[order[i - 1]!] ? 1 : 0;
      }
    }
    if (cont > 0) {
      this.#same[a + ne] = 0;
      if (cont >= 2) stack.push(a + ne, b, next);
    }
  }

  /** Stable insertion sort of items [a, b) by full key compares; sets their `same` flags. */
  smallSort(a: number, b: number): void {
    const perm = this.#perm;
    const offs = this.#offs;
    const src = this.#src;
    for (let i = a + 1; i < b; i++) {
      const p = perm[i]!;
      const off = offs[p]!;
      let j = i - 1;
      while (j >= a && src.compareRecords(offs[perm[j]!]!, off) > 0) {
        perm[j + 1] = perm[j]!;
        j--;
      }
      perm[j + 1] = p;
    }
    this.#same[a] = 0;
    for (let i = a + 1; i < b; i++) {
      this.#same[i] = src.compareRecords(offs[perm[i - 1]!]!, offs[perm[i]!]!) === 0 ? 1 : 0;
    }
  }

  /** Stable LSD radix sort of items [start, end) by their 64-bit window. */
  #radix(start: number, end: number): void {
    const n = end - start;
    const wide = n >= WIDE_DIGITS_FROM;
    const bits = wide ? 16 : 8;
    const buckets = 1 << bits;
    const mask = buckets - 1;
    const passes = 64 / bits;
    const half = passes / 2;
    let hist: Int32Array;
    if (wide) hist = this.#hist16 ??= new Int32Array(passes * buckets);
    else hist = this.#hist8 ??= new Int32Array(passes * buckets);
    hist.fill(0);
    {
      const hi = this.#hi;
      const lo = this.#lo;
      for (let i = start; i < end; i++) {
        const h = hi[i]!;
        const l = lo[i]!;
        for (let p = 0; p < half; p++) {
          hist[p * buckets + ((l >>> (p * bits)) & mask)]!++;
          hist[(p + half) * buckets + ((h >>> (p * bits)) & mask)]!++;
        }
      }
    }
    let sPerm = this.#perm;
    let sHi = this.#hi;
    let sLo = this.#lo;
    let dPerm = this.#tPerm;
    let dHi = this.#tHi;
    let dLo = this.#tLo;
    for (let p = 0; p < passes; p++) {
      const base = p * buckets;
      const useHi = p >= half;
      const shift = (useHi ? p - half : p) * bits;
      const first = ((useHi ? sHi[start]! : sLo[start]!) >>> shift) & mask;
      if (hist[base + first] === n) continue; // every item has this digit: the pass changes nothing
      let sum = start;
      for (let d = 0; d < buckets; d++) {
        const c = hist[base + d]!;
        hist[base + d] = sum;
        sum += c;
      }
      for (let i = start; i < end; i++) {
        const h = sHi[i]!;
        const l = sLo[i]!;
        const k = hist[base + (((useHi ? h : l) >>> shift) & mask)]!++;
        dHi[k] = h;
        dLo[k] = l;
        dPerm[k] = sPerm[i]!;
      }
      [sPerm, dPerm] = [dPerm, sPerm];
      [sHi, dHi] = [dHi, sHi];
      [sLo, dLo] = [dLo, sLo];
    }
    if (sPerm !== this.#perm) {
      this.#perm.set(sPerm.subarray(start, end), start);
      this.#hi.set(sHi.subarray(start, end), start);
      this.#lo.set(sLo.subarray(start, end), start);
    }
  }
}
