/**
 * The in-memory index: key → journal offset of the key's live frame.
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
 *   empty  = both words 0 (offset 0 is the file header, never a frame)
 * ```
 *
 * Linear probing; a shard doubles on its own when it passes 3/4 full, so a
 * growth step rehashes 1/256 of the keys (no multi-second pause). Deletion
 * shifts later entries back (no tombstones), which the stored tag makes cheap:
 * a slot's home is recomputed from `tag << 8 | shard` without touching the
 * journal. 40-bit offsets in 8-byte units address 8 TiB of journal.
 *
 * @module
 */

/** Confirms a candidate: does the frame at `offset` hold this key? */
export interface KeySource {
  keyEquals(offset: number, key: Uint8Array, keyStart: number, keyLen: number): boolean;
}

/** Number of shards (a power of two). */
export const SHARDS = 256;
const INITIAL_BITS = 4;
const GOLDEN = 0x9e3779b1;
/** Largest journal offset a slot can hold. */
export const MAX_INDEXED_OFFSET = 2 ** 43 - 8;

/** One shard's raw state, for checkpoints. */
export interface ShardState {
  bits: number;
  count: number;
  slots: Uint32Array;
}

/** A sharded open-addressing hash table from keys to journal offsets. */
export class HashIndex {
  #slots: Uint32Array[] = [];
  #bits: Int32Array = new Int32Array(SHARDS);
  #counts: Int32Array = new Int32Array(SHARDS);
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
    }
    this.#size = 0;
  }

  /** Bytes held by the slot arrays and counters. */
  byteSize(): number {
    let n = this.#bits.byteLength + this.#counts.byteLength;
    for (const t of this.#slots) n += t.byteLength;
    return n;
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
    const t = this.#slots[shard]!;
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
   * Removes a key.
   *
   * @returns The offset it had, or -1 when absent.
   */
  remove(h: number, key: Uint8Array, keyStart: number, keyLen: number, src: KeySource): number {
    const shard = h & 255;
    const t = this.#slots[shard]!;
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

  #grow(shard: number): void {
    const old = this.#slots[shard]!;
    const bits = this.#bits[shard]! + 1;
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
  }

  /** Calls `fn` with every stored offset (in slot order). */
  forEachOffset(fn: (offset: number) => void): void {
    for (const t of this.#slots) {
      for (let s = 0; s < t.length; s += 2) {
        const w0 = t[s]!;
        const w1 = t[s + 1]!;
        if ((w0 | w1) !== 0) fn(((w0 & 255) * 4294967296 + w1) * 8);
      }
    }
  }

  /** The raw shards, for writing a checkpoint. */
  exportShards(): ShardState[] {
    return this.#slots.map((slots, s) => ({ bits: this.#bits[s]!, count: this.#counts[s]!, slots }));
  }

  /**
   * Replaces the whole index with shards read from a checkpoint.
   *
   * @throws {RangeError} When the shards are inconsistent.
   */
  importShards(shards: readonly ShardState[]): void {
    if (shards.length !== SHARDS) throw new RangeError("wrong shard count");
    let size = 0;
    const slots: Uint32Array[] = [];
    shards.forEach((sh, s) => {
      if (sh.bits < INITIAL_BITS || sh.bits > 30 || sh.slots.length !== 2 << sh.bits) {
        throw new RangeError("bad shard shape");
      }
      if (sh.count < 0 || sh.count * 4 > (3 << sh.bits)) throw new RangeError("bad shard count");
      this.#bits[s] = sh.bits;
      this.#counts[s] = sh.count;
      slots.push(sh.slots);
      size += sh.count;
    });
    this.#slots = slots;
    this.#size = size;
  }
}
