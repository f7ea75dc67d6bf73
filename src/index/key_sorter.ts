/**
 * Sorting journal records by key without copying keys: a multikey radix sort.
 *
 * Each record is represented by an 8-byte window of its key, read once from the
 * journal and held as two u32 (big-endian, so numeric order is byte order; a key
 * shorter than the window is padded with zero bytes). The windows are sorted by
 * an MSD radix sort on their bytes (256 buckets per level, so that after the
 * first split each bucket stays in cache; a level where every item has the same
 * byte moves nothing; buckets of at most 32 items are insertion-sorted). Items
 * whose windows tie form a run; a run is resolved one level deeper:
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
 * cost at most one journal read per item per 8 shared bytes, never a quadratic
 * number of compares. Most often they cost nothing extra: the prefix that a
 * sample of 16 keys shares (`user:00` for `user:00000001`…) is checked on every
 * key as its window is read, and the window starts after it; the rare keys
 * without that prefix sort before or after all the others and are sorted apart. Levels are kept on an explicit stack (keys may
 * be 65,535 bytes long). Records with equal keys end up next to each other and
 * are flagged, so that callers can find them. Buckets are permuted in place:
 * fresh memory is expensive here (a first touch costs about 14 µs per 4 KiB page
 * on the test VM), so the sort allocates 12 bytes per record and nothing else.
 * (Reading the journal in offset order first, through a radix sort of the
 * offsets, was measured: it cost more than it saved on both runtimes.)
 *
 * @module
 */

/** How the ordered index reads keys (the engine implements it over the mmap'd journal). */
export interface OrderedKeySource {
  /** Compares the keys of the records at offsets a and b: <0, 0, >0 in unsigned byte order (a proper prefix sorts first). */
  compareRecords(a: number, b: number): number;
  /** Compares the key of the record at `offset` with key[start, start + len). */
  compareRecordTo(offset: number, key: Uint8Array, start: number, len: number): number;
  /** The buffer holding the key of the record at `offset`; writes the key's start into out[0] and length into out[1]. No allocation. */
  keyAt(offset: number, out: Int32Array): Uint8Array;
}

/** Runs of at most this many items are sorted by full key compares. */
const SMALL = 24;
/** Ranges of at most this many items are insertion-sorted by window. */
const INSERTION_MAX = 32;

/** The result of {@linkcode sortByKey}. */
export interface KeyOrder {
  /** Indices into the input offsets, in key order (records with equal keys next to each other, in no set order). */
  readonly perm: Uint32Array;
  /** `same[i]` is 1 when the key at `perm[i]` equals the key at `perm[i - 1]`; undefined when no two keys are equal. */
  readonly same: Uint8Array | undefined;
  /** `prefix[j]` is {@linkcode keyPrefix} of input record j from byte `prefixDepth` on (input order); if asked for. */
  readonly prefix: Float64Array | undefined;
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
  const n = avail < 4 ? avail : 4;
  for (let i = 0; i < n; i++) h |= buf[p + i]! << (24 - 8 * i);
  for (let i = 4; i < avail; i++) l |= buf[p + i]! << (56 - 8 * i);
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
 * Sorts records by key. Working memory: 12 bytes per record (the permutation and the windows), sorted in place.
 *
 * @param src Reads and compares the records' keys.
 * @param offsets Journal offsets of the records (not modified).
 * @param count How many of `offsets` to sort.
 * @param prefixDepth When >= 0, also return each key's prefix from this byte on.
 * @returns The permutation in key order, the equal-to-previous flags and the prefixes.
 */
export function sortByKey(src: OrderedKeySource, offsets: Float64Array, count: number, prefixDepth = -1): KeyOrder {
  return sortRecords(src, offsets, count, prefixDepth, true);
}

/** Records sampled to guess the bytes that all keys share. */
const SAMPLES = 16;

function sortRecords(
  src: OrderedKeySource,
  offsets: Float64Array,
  count: number,
  prefixDepth: number,
  sample: boolean,
): KeyOrder {
  const perm = new Uint32Array(count);
  const prefix = prefixDepth >= 0 ? new Float64Array(count) : undefined;
  const hi = new Uint32Array(count);
  const lo = new Uint32Array(count);
  const at = new Int32Array(2);
  // Keys often share a prefix ("user:00…"): guessed from a sample, it is checked for every key and skipped, so
  // that windows start where keys differ. Keys without it sort before or after all the others and are sorted
  // apart (without sampling, so this happens at most once).
  const shared = sample && count > 4 * SAMPLES ? sampledPrefix(src, offsets, count) : new Uint8Array(0);
  const depth = shared.length;
  const before: number[] = [];
  const after: number[] = [];
  let m = 0;
  for (let i = 0; i < count; i++) {
    const buf = src.keyAt(offsets[i]!, at);
    const p = at[0]!;
    const len = at[1]!;
    if (prefix !== undefined) {
      prefix[i] = len > prefixDepth ? keyPrefix(buf, p + prefixDepth, len - prefixDepth) : 0;
    }
    if (depth > 0) {
      const n = len < depth ? len : depth;
      let j = 0;
      while (j < n && buf[p + j] === shared[j]) j++;
      if (j < depth) {
        (j < n && buf[p + j]! > shared[j]! ? after : before).push(i);
        continue;
      }
    }
    perm[m] = i;
    if (len - depth >= 8) {
      const q = p + depth;
      hi[m] = ((buf[q]! << 24) | (buf[q + 1]! << 16) | (buf[q + 2]! << 8) | buf[q + 3]!) >>> 0;
      lo[m] = ((buf[q + 4]! << 24) | (buf[q + 5]! << 16) | (buf[q + 6]! << 8) | buf[q + 7]!) >>> 0;
    } else {
      readWindow(buf, p, len, depth);
      hi[m] = windowHi;
      lo[m] = windowLo;
    }
    m++;
  }
  const nb = before.length;
  if (nb > 0) {
    perm.copyWithin(nb, 0, m);
    hi.copyWithin(nb, 0, m);
    lo.copyWithin(nb, 0, m);
  }
  const sorter = new Sorter(src, offsets, perm, hi, lo);
  if (m <= SMALL) sorter.smallSort(nb, nb + m);
  else sorter.run(nb, nb + m, depth);
  let same = sorter.same;
  // The keys without the shared prefix, each group sorted on its own.
  const place = (group: number[], at: number): void => {
    if (group.length === 0) return;
    const sub = Float64Array.from(group, (i) => offsets[i]!);
    const order = sortRecords(src, sub, sub.length, -1, false);
    for (let k = 0; k < group.length; k++) perm[at + k] = group[order.perm[k]!]!;
    if (order.same !== undefined) {
      same ??= new Uint8Array(count);
      same.set(order.same, at);
    }
  };
  place(before, 0);
  place(after, nb + m);
  return { perm, same, prefix };
}

/** The bytes that a sample of the keys all start with (empty when they share none). */
function sampledPrefix(src: OrderedKeySource, offsets: Float64Array, count: number): Uint8Array {
  const at = new Int32Array(2);
  const buf0 = src.keyAt(offsets[0]!, at);
  const ref = buf0.slice(at[0]!, at[0]! + at[1]!);
  let common = ref.length;
  for (let k = 1; k < SAMPLES && common > 0; k++) {
    const buf = src.keyAt(offsets[Math.floor((k * count) / SAMPLES)]!, at);
    const n = Math.min(common, at[1]!);
    let j = 0;
    while (j < n && buf[at[0]! + j] === ref[j]) j++;
    common = j;
  }
  return ref.subarray(0, common);
}

/** The working state of one sort. */
class Sorter {
  readonly #src: OrderedKeySource;
  readonly #offs: Float64Array;
  readonly #perm: Uint32Array;
  readonly #hi: Uint32Array;
  readonly #lo: Uint32Array;
  readonly #at = new Int32Array(2);
  /** Equal-to-previous flags, allocated at the first pair of equal keys (usually never). */
  same: Uint8Array | undefined;

  constructor(src: OrderedKeySource, offs: Float64Array, perm: Uint32Array, hi: Uint32Array, lo: Uint32Array) {
    this.#src = src;
    this.#offs = offs;
    this.#perm = perm;
    this.#hi = hi;
    this.#lo = lo;
  }

  #markSame(i: number): void {
    (this.same ??= new Uint8Array(this.#perm.length))[i] = 1;
  }

  /** Sorts items [start, end), which share key bytes [0, depth) and hold their windows at `depth`. */
  run(start0: number, end0: number, depth0: number): void {
    const counts = new Int32Array(256);
    const heads = new Int32Array(256);
    const tails = new Int32Array(256);
    const perm = this.#perm;
    const hi = this.#hi;
    const lo = this.#lo;
    // Tasks (start, end, depth, byte): items [start, end) share key bytes [0, depth + byte), hold their window at
    // depth, and are to be split on the window's byte `byte` (MSD radix, 8-bit digits, permuted in place: each
    // level's buckets soon fit in cache, and no second copy of the arrays is needed).
    const stack: number[] = [start0, end0, depth0, 0];
    while (stack.length > 0) {
      const byte = stack.pop()!;
      const depth = stack.pop()!;
      const end = stack.pop()!;
      const start = stack.pop()!;
      const n = end - start;
      if (n <= INSERTION_MAX) {
        this.#insertionByWindow(start, end);
        for (let i = start; i < end;) {
          let j = i + 1;
          while (j < end && hi[j] === hi[i] && lo[j] === lo[i]) j++;
          if (j - i >= 2) this.#resolveRun(i, j, depth, stack);
          i = j;
        }
        continue;
      }
      if (byte === 8) {
        this.#resolveRun(start, end, depth, stack);
        continue;
      }
      const useHi = byte < 4;
      const words = useHi ? hi : lo;
      const shift = 24 - 8 * (byte & 3);
      counts.fill(0);
      for (let i = start; i < end; i++) counts[(words[i]! >>> shift) & 255]!++;
      if (counts[(words[start]! >>> shift) & 255] === n) {
        // One bucket: nothing to move. Skip every byte the items share (keys with a common prefix).
        const h0 = hi[start]!;
        const l0 = lo[start]!;
        let dh = 0;
        let dl = 0;
        for (let i = start + 1; i < end; i++) {
          dh |= hi[i]! ^ h0;
          dl |= lo[i]! ^ l0;
        }
        if ((dh | dl) === 0) this.#resolveRun(start, end, depth, stack);
        else stack.push(start, end, depth, dh !== 0 ? Math.clz32(dh) >>> 3 : 4 + (Math.clz32(dl) >>> 3));
        continue;
      }
      let sum = start;
      for (let d = 0; d < 256; d++) {
        const c = counts[d]!;
        if (c >= 2) stack.push(sum, sum + c, depth, byte + 1);
        heads[d] = sum;
        sum += c;
        tails[d] = sum;
      }
      // In-place permutation (American flag sort): each item is carried to the next free slot of its bucket.
      for (let d = 0; d < 256; d++) {
        while (heads[d]! < tails[d]!) {
          const at = heads[d]!;
          let h = hi[at]!;
          let l = lo[at]!;
          let p = perm[at]!;
          let dd = ((useHi ? h : l) >>> shift) & 255;
          while (dd !== d) {
            const k = heads[dd]!++;
            const h2 = hi[k]!;
            const l2 = lo[k]!;
            const p2 = perm[k]!;
            hi[k] = h;
            lo[k] = l;
            perm[k] = p;
            h = h2;
            l = l2;
            p = p2;
            dd = ((useHi ? h : l) >>> shift) & 255;
          }
          hi[at] = h;
          lo[at] = l;
          perm[at] = p;
          heads[d]!++;
        }
      }
    }
  }

  /** Insertion sort of items [a, b) by window. */
  #insertionByWindow(a: number, b: number): void {
    const perm = this.#perm;
    const hi = this.#hi;
    const lo = this.#lo;
    for (let i = a + 1; i < b; i++) {
      const h = hi[i]!;
      const l = lo[i]!;
      const p = perm[i]!;
      let j = i - 1;
      while (j >= a && (hi[j]! > h || (hi[j] === h && lo[j]! > l))) {
        hi[j + 1] = hi[j]!;
        lo[j + 1] = lo[j]!;
        perm[j + 1] = perm[j]!;
        j--;
      }
      hi[j + 1] = h;
      lo[j + 1] = l;
      perm[j + 1] = p;
    }
  }

  /** Items [a, b) have equal windows at `depth`: order the keys ending there, queue the others one level deeper. */
  #resolveRun(a: number, b: number, depth: number, stack: number[]): void {
    if (b - a <= SMALL) {
      this.smallSort(a, b);
      return;
    }
    const perm = this.#perm;
    const hi = this.#hi;
    const lo = this.#lo;
    const at = this.#at;
    const next = depth + 8;
    // Keys that end in this window (proper prefixes of the others) are set aside; the others move up, in place,
    // with their next window.
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
      perm[k] = p;
      hi[k] = windowHi;
      lo[k] = windowLo;
      k++;
    }
    const ne = ended.length;
    const cont = k - a;
    if (ne > 0) {
      // The ended keys go first. They agree on every byte they have, so they differ only by length.
      perm.copyWithin(a + ne, a, k);
      hi.copyWithin(a + ne, a, k);
      lo.copyWithin(a + ne, a, k);
      const order = ended.map((_, i) => i);
      order.sort((x, y) => endedLen[x]! - endedLen[y]!);
      for (let i = 0; i < ne; i++) {
        const o = order[i]!;
        perm[a + i] = ended[o]!;
        if (i > 0 && endedLen[o] === endedLen[order[i - 1]!]) this.#markSame(a + i);
      }
    }
    if (cont >= 2) stack.push(a + ne, b, next, 0);
  }

  /** Insertion sort of items [a, b) by full key compares; flags equal neighbours. */
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
    for (let i = a + 1; i < b; i++) {
      if (src.compareRecords(offs[perm[i - 1]!]!, offs[perm[i]!]!) === 0) this.#markSame(i);
    }
  }
}
