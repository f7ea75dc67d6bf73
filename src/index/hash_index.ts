/**
 * The hash index: key → journal offset of the key's live record.
 *
 * Sharded open addressing over typed arrays. No JavaScript object or string
 * exists per key, and key bytes are not copied: a candidate slot is confirmed
 * by comparing the key with the bytes in the journal (through its mmap).
 *
 * ```text
 * hash h (32 bits, keyed HalfSipHash)
 *   shard = h & 255                 which of the 256 shards
 *   tag   = h >>> 8                 24 bits stored in the slot
 *   home  = (h * 0x9E3779B1) >>> (32 - log2(capacity))   first slot probed
 *
 * slot (two u32 words, 8 bytes)
 *   word 0 = tag << 8 | offset bits 32..39   (offset counted in 8-byte units)
 *   word 1 = offset bits 0..31
 *   empty  = both words 0 (offset 0 is the file header, never a record)
 * ```
 *
 * Linear probing; a shard doubles on its own when it passes 3/4 full, so a
 * growth step rehashes 1/256 of the keys. Deletion shifts later entries back
 * (no tombstones); the stored tag makes that cheap, since a slot's home is
 * recomputed from `tag << 8 | shard` without touching the journal. Every probe
 * loop ends: the table is only ever filled by this class, which keeps each
 * shard at most 3/4 full.
 *
 * Snapshots (for iterators) are copy-on-write per shard: a snapshot keeps the
 * shard arrays as they are, and the first later change to a frozen shard
 * copies it. While no snapshot is alive a change costs one comparison more.
 *
 * The slot layout is this class's private business: checkpoints store
 * `(hash, offset)` pairs ({@linkcode HashIndex.exportEntries}) and rebuild the
 * table from them ({@linkcode HashIndex.insertUnique}).
 *
 * @module
 */

/** Confirms a candidate: does the record at `offset` hold this key? */
export interface KeySource {
  keyEquals(offset: number, key: Uint8Array, keyStart: number, keyLen: number): boolean;
}

/** Number of shards (a power of two). */
export const SHARDS = 256;
const INITIAL_BITS = 3;
const GOLDEN = 0x9e3779b1;
/** Largest journal offset a slot can hold. */
export const MAX_INDEXED_OFFSET = 2 ** 43 - 8;

/** The live entries of an index, for checkpoints: full 32-bit hashes and byte offsets, in parallel. */
export interface IndexEntries {
  hashes: Uint32Array;
  offsets: Float64Array;
  count: number;
}

/** A frozen view of the index, for iterators. */
export interface HashSnapshot {
  /** The shard arrays as they were (slot layout: see the module doc). */
  readonly shards: readonly Uint32Array[];
  /** Releases the snapshot (idempotent): later writes stop copying shards for it. */
  release(): void;
}

/** Reads the byte offset stored in a slot whose first word is `w0` and second `w1`. */
export function slotOffset(w0: number, w1: number): number {
  return ((w0 & 255) * 4294967296 + w1) * 8;
}

/** A sharded open-addressing hash table from keys to journal offsets. */
export class HashIndex {
  #slots: Uint32Array[] = [];
  #bits: Int32Array = new Int32Array(SHARDS);
  #counts: Int32Array = new Int32Array(SHARDS);
  /** Epoch each shard array was made in; arrays made at or before `#frozen` are shared with a snapshot. */
  #epochs: Int32Array = new Int32Array(SHARDS);
  #epoch = 1;
  #frozen = -1;
  #liveSnapshots = 0;
  #size = 0;

  /** Creates an empty index. */
  constructor() {
    this.clear();
  }

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** Removes every key and returns to the initial capacity. */
  clear(): void {
    this.#slots = [];
    for (let s = 0; s < SHARDS; s++) {
      this.#slots.push(new Uint32Array(2 << INITIAL_BITS));
      this.#bits[s] = INITIAL_BITS;
      this.#counts[s] = 0;
      this.#epochs[s] = this.#epoch;
    }
    this.#size = 0;
  }

  /** Bytes held by the slot arrays and counters. */
  byteSize(): number {
    let n = this.#bits.byteLength + this.#counts.byteLength + this.#epochs.byteLength;
    for (const t of this.#slots) n += t.byteLength;
    return n;
  }

  /** The shard's array, copied first when a live snapshot shares it. */
  #writable(shard: number): Uint32Array {
    const t = this.#slots[shard]!;
    if (this.#epochs[shard]! > this.#frozen) return t;
    const copy = t.slice();
    this.#slots[shard] = copy;
    this.#epochs[shard] = this.#epoch;
    return copy;
  }

  /**
   * Finds the offset stored for a key.
   *
   * @returns The offset, or -1 when absent.
   */
  find(h: number, key: Uint8Array, keyStart: number, keyLen: number, src: KeySource): number {
    const shard = h & 255;
    const t = this.#slots[shard]!;
    const bits = this.#bits[shard]!;
    const mask = (1 << bits) - 1;
    const tag = h >>> 8;
    let i = Math.imul(h, GOLDEN) >>> (32 - bits);
    for (;;) {
      const w0 = t[2 * i]!;
      const w1 = t[2 * i + 1]!;
      if ((w0 | w1) === 0) return -1;
      if (w0 >>> 8 === tag) {
        const off = ((w0 & 255) * 4294967296 + w1) * 8;
        if (src.keyEquals(off, key, keyStart, keyLen)) return off;
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Points a key at `offset`, inserting it if absent.
   *
   * @returns The previous offset, or -1 when the key is new.
   */
  upsert(h: number, key: Uint8Array, keyStart: number, keyLen: number, src: KeySource, offset: number): number {
    const shard = h & 255;
    const t = this.#epochs[shard]! > this.#frozen ? this.#slots[shard]! : this.#writable(shard);
    const bits = this.#bits[shard]!;
    const mask = (1 << bits) - 1;
    const tag = h >>> 8;
    const units = offset / 8;
    const hi = Math.floor(units / 4294967296);
    const lo = units >>> 0;
    let i = Math.imul(h, GOLDEN) >>> (32 - bits);
    for (;;) {
      const w0 = t[2 * i]!;
      const w1 = t[2 * i + 1]!;
      if ((w0 | w1) === 0) break;
      if (w0 >>> 8 === tag) {
        const off = ((w0 & 255) * 4294967296 + w1) * 8;
        if (src.keyEquals(off, key, keyStart, keyLen)) {
          t[2 * i] = ((tag << 8) | hi) >>> 0;
          t[2 * i + 1] = lo;
          return off;
        }
      }
      i = (i + 1) & mask;
    }
    t[2 * i] = ((tag << 8) | hi) >>> 0;
    t[2 * i + 1] = lo;
    this.#size++;
    const count = ++this.#counts[shard]!;
    if (count * 4 > (3 << bits)) this.#grow(shard);
    return -1;
  }

  /**
   * Inserts a key known to be absent, without comparing keys (rebuilding from a checkpoint).
   *
   * @param h The key's full hash.
   * @param offset Its record's offset.
   */
  insertUnique(h: number, offset: number): void {
    const shard = h & 255;
    const t = this.#writable(shard);
    const bits = this.#bits[shard]!;
    const mask = (1 << bits) - 1;
    const units = offset / 8;
    let i = Math.imul(h, GOLDEN) >>> (32 - bits);
    while ((t[2 * i]! | t[2 * i + 1]!) !== 0) i = (i + 1) & mask;
    t[2 * i] = (((h >>> 8) << 8) | Math.floor(units / 4294967296)) >>> 0;
    t[2 * i + 1] = units >>> 0;
    this.#size++;
    const count = ++this.#counts[shard]!;
    if (count * 4 > (3 << bits)) this.#grow(shard);
  }

  /**
   * Removes a key.
   *
   * @returns The offset it had, or -1 when absent.
   */
  remove(h: number, key: Uint8Array, keyStart: number, keyLen: number, src: KeySource): number {
    const shard = h & 255;
    let t = this.#slots[shard]!;
    const bits = this.#bits[shard]!;
    const mask = (1 << bits) - 1;
    const tag = h >>> 8;
    let i = Math.imul(h, GOLDEN) >>> (32 - bits);
    let found = -1;
    for (;;) {
      const w0 = t[2 * i]!;
      const w1 = t[2 * i + 1]!;
      if ((w0 | w1) === 0) return -1;
      if (w0 >>> 8 === tag) {
        const off = ((w0 & 255) * 4294967296 + w1) * 8;
        if (src.keyEquals(off, key, keyStart, keyLen)) {
          found = off;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    t = this.#writable(shard);
    // Backward-shift deletion: pull later members of the cluster into the hole.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const w0 = t[2 * j]!;
      const w1 = t[2 * j + 1]!;
      if ((w0 | w1) === 0) break;
      const k = Math.imul(((w0 >>> 8) << 8) | shard, GOLDEN) >>> (32 - bits);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      t[2 * i] = w0;
      t[2 * i + 1] = w1;
      i = j;
    }
    t[2 * i] = 0;
    t[2 * i + 1] = 0;
    this.#size--;
    this.#counts[shard]!--;
    return found;
  }

  #grow(shard: number, bits: number = this.#bits[shard]! + 1): void {
    const old = this.#slots[shard]!;
    const mask = (1 << bits) - 1;
    const t = new Uint32Array(2 << bits);
    for (let s = 0; s < old.length; s += 2) {
      const w0 = old[s]!;
      const w1 = old[s + 1]!;
      if ((w0 | w1) === 0) continue;
      let i = Math.imul(((w0 >>> 8) << 8) | shard, GOLDEN) >>> (32 - bits);
      while ((t[2 * i]! | t[2 * i + 1]!) !== 0) i = (i + 1) & mask;
      t[2 * i] = w0;
      t[2 * i + 1] = w1;
    }
    this.#slots[shard] = t;
    this.#bits[shard] = bits;
    this.#epochs[shard] = this.#epoch;
  }

  /**
   * Freezes the current contents for an iterator. O(number of shards).
   *
   * @returns The snapshot; release it when done.
   */
  snapshot(): HashSnapshot {
    const shards = this.#slots.slice();
    this.#frozen = this.#epoch;
    this.#epoch++;
    this.#liveSnapshots++;
    let live = true;
    return {
      shards,
      release: () => {
        if (!live) return;
        live = false;
        if (--this.#liveSnapshots === 0) this.#frozen = -1;
      },
    };
  }

  /** Every live offset, in slot order (appended to `out` from `at`); returns the new count. */
  collectOffsets(out: Float64Array, at: number): number {
    let n = at;
    for (const t of this.#slots) {
      for (let s = 0; s < t.length; s += 2) {
        const w0 = t[s]!;
        const w1 = t[s + 1]!;
        if ((w0 | w1) !== 0) out[n++] = ((w0 & 255) * 4294967296 + w1) * 8;
      }
    }
    return n;
  }

  /** The live entries as `(hash, offset)` pairs, for a checkpoint. */
  exportEntries(): IndexEntries {
    const hashes = new Uint32Array(this.#size);
    const offsets = new Float64Array(this.#size);
    let n = 0;
    this.#slots.forEach((t, shard) => {
      for (let s = 0; s < t.length; s += 2) {
        const w0 = t[s]!;
        const w1 = t[s + 1]!;
        if ((w0 | w1) === 0) continue;
        hashes[n] = (((w0 >>> 8) << 8) | shard) >>> 0;
        offsets[n++] = ((w0 & 255) * 4294967296 + w1) * 8;
      }
    });
    return { hashes, offsets, count: n };
  }

  /**
   * Sizes every shard for about `n` keys in all (each grown once, straight to
   * its size), before a batch or a rebuild inserts many keys: cheaper than
   * doubling step by step as they arrive.
   *
   * @param n Expected number of keys.
   */
  reserve(n: number): void {
    // A little headroom over the average: shards hold slightly uneven shares.
    const perShard = Math.ceil((n / SHARDS) * 1.1);
    let bits = INITIAL_BITS;
    while (perShard * 4 > 3 << bits && bits < 30) bits++;
    for (let s = 0; s < SHARDS; s++) {
      if (this.#bits[s]! >= bits) continue;
      if (this.#counts[s] === 0) {
        this.#slots[s] = new Uint32Array(2 << bits);
        this.#bits[s] = bits;
        this.#epochs[s] = this.#epoch;
      } else {
        this.#grow(s, bits);
      }
    }
  }
}
