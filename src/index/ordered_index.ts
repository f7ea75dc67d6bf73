/**
 * The ordered index: every live key's journal offset, in byte order of keys,
 * for range scans with snapshot semantics.
 *
 * Like the hash index it holds no key bytes: entries are journal offsets and
 * keys are read (through {@linkcode OrderedKeySource}) from the mmap'd journal
 * when they must be compared.
 *
 * ```text
 * root   leaves[i]  the i-th leaf (a JS array, about 2,200 of them at 1M keys)
 *        depth      how many first bytes all keys share ("user:00" for user:00000001…)
 *        fences[i]  6 bytes of leaves[i]'s first key from byte `depth` on, as a number
 *                   < 2^48 (numeric order = byte order; ties are settled in the journal)
 *        size, epoch
 * leaf   offs       Float64Array of offsets in key order (capacity: n + 32 when grown, 512 after a build)
 *        n, epoch   entries used: up to 512; under 128 only if the right neighbour is too full to merge
 * ```
 *
 * Memory: 8 bytes per key in the leaves plus their spare room and object headers:
 * about 9.5 bytes per key after a build (leaves of 448 in arrays of 512, so that
 * a following batch is merged into the same arrays), about 9 after random inserts
 * (byteSize() counts it).
 *
 * Writers only log: `noteInsert`, `noteReplace` and `noteRemove` append to two
 * typed-array logs (added and removed offsets), O(1) with no allocation unless a
 * log doubles. The logs are applied when a snapshot or an export is taken (or
 * when they pass max(65,536, size) entries, to bound their memory): offsets both
 * added and removed cancel out; the rest are sorted by key (a multikey radix sort,
 * {@linkcode sortByKey}), a remove and an add of the same key fuse into a replace,
 * and each leaf takes its share in one pass — by binary search in the journal
 * when it receives a few entries, by a merge over its entries' prefixes (read in
 * one independent sweep, after the bytes the leaf and the new keys all share)
 * when it receives many. A large batch thus costs about one journal read per
 * entry of the structure, never a compare-heavy rebuild.
 *
 * Snapshots are copy-on-write. Each node (the root, each leaf) is stamped with
 * the epoch it was created in; a snapshot takes the current root and moves the
 * epoch on; a write that would change a node stamped at or before the newest
 * live snapshot's epoch copies it first, and the copy is stamped with the new
 * epoch, so a node is copied at most once per snapshot epoch. Taking a snapshot
 * is O(1) beyond applying the logs. When no snapshot is live, writes change nodes
 * in place. A snapshot never released is released by a FinalizationRegistry when
 * it (and every cursor over it) has been garbage-collected; until then it keeps
 * at most one version of each node alive, and writes made after it copy each
 * node at most once, so an abandoned snapshot costs at most one copy of the
 * structure and never grows.
 *
 * Offsets identify records: while the index is built, an offset must not be
 * reused for another record (after a compaction or a journal reset, call
 * {@linkcode OrderedIndex.drop} or {@linkcode OrderedIndex.clear}).
 *
 * @module
 */

import { keyPrefix, type OrderedKeySource, sortByKey } from "./key_sorter.ts";
import { Leaf, openSnapshot, type OrderedSnapshot, Root, SnapshotBook } from "./ordered_snapshot.ts";

export type { OrderedKeySource } from "./key_sorter.ts";
export type { OrderedCursor, OrderedSnapshot } from "./ordered_snapshot.ts";

/** Most entries a leaf holds. */
export const LEAF_MAX = 512;
/** Entries per leaf after a build or load, and per piece when a leaf is split. */
const LEAF_FILL = 448;
/** A leaf with fewer entries merges with its right neighbour when they fit in one leaf. */
const LEAF_MIN = 128;
/** Spare entries given to a leaf when it is created or outgrows its array. */
const LEAF_GROW = 32;
/** Estimated bytes of the objects around one leaf (Leaf, Float64Array, ArrayBuffer), counted by byteSize(). */
const LEAF_OVERHEAD_BYTES = 160;
/** Bytes per leaf in the root (a pointer and a fence). */
const ROOT_SLOT_BYTES = 16;
/** The logs are applied once they hold max(this, size) entries. */
const LOG_APPLY_MIN = 1 << 16;
/** Initial capacity of each log; after being applied, a log keeps at most twice what it held (or this). */
const LOG_INITIAL = 256;
/** A leaf receiving `m` entries merges over its prefixes when m * log2(n) * this >= n (a dependent journal read costs about this many independent ones). */
const DEPENDENT_READ_COST = 6;

/**
 * Key-ordered journal offsets with cheap maintenance and copy-on-write snapshots.
 *
 * @example Building, logging a write, and scanning a snapshot
 * ```ts
 * import { type OrderedKeySource, OrderedIndex } from "./ordered_index.ts";
 * // A toy journal: the key of the record at offset o is keys[o / 8].
 * const keys = ["b", "a", "c", "ab"].map((s) => new TextEncoder().encode(s));
 * const cmp = (x: Uint8Array, y: Uint8Array) => {
 *   for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
 *   return x.length - y.length;
 * };
 * const src: OrderedKeySource = {
 *   compareRecords: (a, b) => cmp(keys[a / 8]!, keys[b / 8]!),
 *   compareRecordTo: (o, key, start, len) => cmp(keys[o / 8]!, key.subarray(start, start + len)),
 *   keyAt: (o, out) => {
 *     out[0] = 0;
 *     out[1] = keys[o / 8]!.length;
 *     return keys[o / 8]!;
 *   },
 * };
 * const index = new OrderedIndex(src);
 * index.build(new Float64Array([0, 8, 16]), 3); // "b", "a", "c"
 * index.noteInsert(24); // "ab"
 * const snap = index.snapshot();
 * const cursor = snap.seek(new Uint8Array(0), 0, -1, false);
 * const seen: number[] = [];
 * for (let o = cursor.next(); o !== -1; o = cursor.next()) seen.push(o);
 * snap.release();
 * console.log(seen); // [8, 24, 0, 16]: "a", "ab", "b", "c"
 * ```
 */
export class OrderedIndex {
  readonly #src: OrderedKeySource;
  #built = false;
  #epoch = 1;
  readonly #book = new SnapshotBook();
  #root: Root;
  #adds: Float64Array = new Float64Array(0);
  #nAdds = 0;
  #rems: Float64Array = new Float64Array(0);
  #nRems = 0;
  readonly #at = new Int32Array(2);
  readonly #prefixes = new Float64Array(LEAF_MAX);
  /** Where a leaf's new content is merged before it is placed (grown for a batch that lands in one leaf). */
  #scratch = new Float64Array(2 * LEAF_MAX);
  #copied = 0;

  /**
   * Creates an unbuilt index: until {@linkcode OrderedIndex.build} or {@linkcode OrderedIndex.load},
   * every `note*()` call returns at once.
   *
   * @param src How keys are read from the journal.
   */
  constructor(src: OrderedKeySource) {
    this.#src = src;
    this.#root = this.#emptyRoot();
  }

  /** False until build() or load(), and again after drop(). */
  get built(): boolean {
    return this.#built;
  }

  /** Number of keys, counting logged writes not yet applied as if they were. */
  get size(): number {
    this.#apply();
    return this.#root.size;
  }

  /** Snapshots taken and neither released nor reclaimed yet. */
  get liveSnapshots(): number {
    return this.#book.count;
  }

  /** How many nodes (root or leaves) were copied because a live snapshot shared them, since creation. */
  get copiedNodes(): number {
    return this.#copied;
  }

  /**
   * Bytes held: leaves' offset arrays plus an estimate of their object headers, the root, and the logs.
   *
   * @returns The byte count.
   */
  byteSize(): number {
    let n = this.#adds.byteLength + this.#rems.byteLength + this.#prefixes.byteLength;
    const leaves = this.#root.leaves;
    n += leaves.length * (LEAF_OVERHEAD_BYTES + ROOT_SLOT_BYTES);
    for (let i = 0; i < leaves.length; i++) n += leaves[i]!.offs.byteLength;
    return n;
  }

  /**
   * Builds the index from the live set, replacing its content (and any logged writes).
   * Offsets whose keys are equal (which the engine never passes) keep only the highest.
   *
   * @param offsets Journal offsets of the live records, one per key, in any order (not modified).
   * @param count How many of `offsets` to use.
   * @throws {RangeError} When `count` exceeds `offsets.length`.
   */
  build(offsets: Float64Array, count: number): void {
    checkCount(offsets, count);
    const { perm, same } = sortByKey(this.#src, offsets, count);
    let k = count;
    if (same !== undefined) {
      k = 0;
      for (let i = 0; i < count; i++) {
        const p = perm[i]!;
        if (same[i] === 1 && k > 0) {
          if (offsets[p]! > offsets[perm[k - 1]!]!) perm[k - 1] = p;
        } else {
          perm[k++] = p;
        }
      }
    }
    this.#install(offsets, perm, k);
  }

  /**
   * Loads the index from offsets already in key order (a checkpoint), replacing its content.
   * The order is trusted, not checked (see {@linkcode OrderedIndex.validate}).
   *
   * @param sortedOffsets Journal offsets in strictly increasing key order (not kept; copied).
   * @param count How many of `sortedOffsets` to use.
   * @throws {RangeError} When `count` exceeds `sortedOffsets.length`.
   */
  load(sortedOffsets: Float64Array, count: number): void {
    checkCount(sortedOffsets, count);
    this.#install(sortedOffsets, undefined, count);
  }

  /**
   * The offsets in key order, after applying logged writes (for checkpoints).
   *
   * @returns A new array of `size` offsets.
   */
  export(): Float64Array {
    this.#apply();
    const root = this.#root;
    const out = new Float64Array(root.size);
    let k = 0;
    for (const leaf of root.leaves) {
      out.set(leaf.offs.subarray(0, leaf.n), k);
      k += leaf.n;
    }
    return out;
  }

  /**
   * Logs that a key that was absent now lives at `offset`.
   *
   * @param offset The journal offset of the key's record.
   */
  noteInsert(offset: number): void {
    if (!this.#built) return;
    if (this.#nAdds === this.#adds.length) this.#adds = grow(this.#adds);
    this.#adds[this.#nAdds++] = offset;
    if (this.#nAdds + this.#nRems >= this.#logLimit()) this.#apply();
  }

  /**
   * Logs that a key moved from the record at `oldOffset` to the one at `newOffset`.
   *
   * @param oldOffset The key's previous record.
   * @param newOffset The key's new record.
   */
  noteReplace(oldOffset: number, newOffset: number): void {
    if (!this.#built) return;
    if (this.#nRems === this.#rems.length) this.#rems = grow(this.#rems);
    this.#rems[this.#nRems++] = oldOffset;
    if (this.#nAdds === this.#adds.length) this.#adds = grow(this.#adds);
    this.#adds[this.#nAdds++] = newOffset;
    if (this.#nAdds + this.#nRems >= this.#logLimit()) this.#apply();
  }

  /**
   * Logs that the key whose record is at `offset` is gone.
   *
   * @param offset The journal offset of the key's last record.
   */
  noteRemove(offset: number): void {
    if (!this.#built) return;
    if (this.#nRems === this.#rems.length) this.#rems = grow(this.#rems);
    this.#rems[this.#nRems++] = offset;
    if (this.#nAdds + this.#nRems >= this.#logLimit()) this.#apply();
  }

  /** Empties the index (it stays built). Live snapshots keep what they saw. */
  clear(): void {
    this.#resetLogs(this.#built);
    this.#root = this.#emptyRoot();
  }

  /** Forgets everything and becomes unbuilt (for example after a compaction). Live snapshots keep what they saw. */
  drop(): void {
    this.#built = false;
    this.#resetLogs(false);
    this.#root = this.#emptyRoot();
  }

  /**
   * Applies logged writes, then freezes the current content: later writes never change what the snapshot sees.
   *
   * @returns The snapshot; call release() when done with it.
   */
  snapshot(): OrderedSnapshot {
    this.#apply();
    return openSnapshot(this.#root, this.#src, this.#book, this.#epoch++);
  }

  /**
   * Checks the structure against the journal (every key greater than the previous one, fences, counts); for tests.
   *
   * @returns A description of the first problem, or undefined when the structure is sound.
   */
  validate(): string | undefined {
    this.#apply();
    const { leaves, fences, size, depth } = this.#root;
    const src = this.#src;
    let total = 0;
    let prev = -1;
    for (let i = 0; i < leaves.length; i++) {
      const leaf = leaves[i]!;
      if (leaf.n > LEAF_MAX || leaf.n > leaf.offs.length) return `leaf ${i} holds ${leaf.n} entries`;
      if (leaf.n === 0) {
        if (leaves.length > 1) return `leaf ${i} of ${leaves.length} is empty`;
        continue;
      }
      if (fences[i] !== this.#prefixOf(leaf.offs[0]!, depth)) return `fence ${i} does not match its leaf`;
      for (let j = 0; j < leaf.n; j++) {
        const off = leaf.offs[j]!;
        if (prev !== -1 && src.compareRecords(prev, off) >= 0) return `leaf ${i} entry ${j}: keys out of order`;
        if (this.#commonLength(leaves[0]!.offs[0]!, off) < depth) {
          return `leaf ${i} entry ${j}: not ${depth} shared bytes`;
        }
        prev = off;
      }
      total += leaf.n;
    }
    if (total !== size) return `size ${size} but ${total} entries`;
    return undefined;
  }

  #emptyRoot(): Root {
    return new Root([new Leaf(new Float64Array(LEAF_GROW), 0, this.#epoch)], [-1], 0, this.#epoch, 0);
  }

  #resetLogs(keep: boolean): void {
    this.#nAdds = 0;
    this.#nRems = 0;
    if (!keep) {
      this.#adds = new Float64Array(0);
      this.#rems = new Float64Array(0);
    } else if (this.#adds.length === 0) {
      this.#adds = new Float64Array(LOG_INITIAL);
      this.#rems = new Float64Array(LOG_INITIAL);
    }
  }

  #logLimit(): number {
    return Math.max(LOG_APPLY_MIN, this.#root.size);
  }

  /** keyPrefix() of the key of the record at `offset`, from byte `depth` on. */
  #prefixOf(offset: number, depth = 0): number {
    const at = this.#at;
    const buf = this.#src.keyAt(offset, at);
    const len = at[1]! - depth;
    return len > 0 ? keyPrefix(buf, at[0]! + depth, len) : 0;
  }

  /** Length of the longest common prefix of the keys of two records. */
  #commonLength(a: number, b: number): number {
    const x = this.#src.keyAt(a, this.#at);
    const xs = this.#at[0]!;
    const xl = this.#at[1]!;
    const y = this.#src.keyAt(b, this.#at);
    const ys = this.#at[0]!;
    const n = Math.min(xl, this.#at[1]!);
    let i = 0;
    while (i < n && x[xs + i] === y[ys + i]) i++;
    return i;
  }

  /** Replaces the content with `values[order[i]]` (or `values[i]`) for i < count, in strictly increasing key order. */
  #install(values: Float64Array, order: Uint32Array | undefined, count: number): void {
    this.#resetLogs(true);
    this.#built = true;
    if (count === 0) {
      this.#root = this.#emptyRoot();
      return;
    }
    const pieces = Math.ceil(count / LEAF_FILL);
    const leaves: Leaf[] = [];
    const fences: number[] = [];
    const first = order === undefined ? values[0]! : values[order[0]!]!;
    const last = order === undefined ? values[count - 1]! : values[order[count - 1]!]!;
    const depth = this.#commonLength(first, last);
    for (let p = 0; p < pieces; p++) {
      const s = Math.floor((p * count) / pieces);
      const e = Math.floor(((p + 1) * count) / pieces);
      const offs = new Float64Array(Math.max(e - s + LEAF_GROW, Math.min(LEAF_MAX, e - s + LEAF_MAX - LEAF_FILL)));
      if (order === undefined) offs.set(values.subarray(s, e));
      else for (let i = s; i < e; i++) offs[i - s] = values[order[i]!]!;
      leaves.push(new Leaf(offs, e - s, this.#epoch));
      fences.push(this.#prefixOf(offs[0]!, depth));
    }
    this.#root = new Root(leaves, fences, count, this.#epoch, depth);
  }

  /** The root, copied first if a live snapshot shares it. */
  #ownRoot(): Root {
    const root = this.#root;
    if (root.epoch > this.#book.frozen) return root;
    this.#copied++;
    this.#root = new Root(root.leaves.slice(), root.fences.slice(), root.size, this.#epoch, root.depth);
    return this.#root;
  }

  /** Applies the logs to the structure (see the module notes). */
  #apply(): void {
    const nA = this.#nAdds;
    const nR = this.#nRems;
    if (nA + nR === 0) return;
    const ops = netOperations(this.#adds, nA, this.#rems, nR);
    this.#nAdds = 0;
    this.#nRems = 0;
    // Keep the logs' capacity for a steady stream of writes, give back what a burst grew.
    if (this.#adds.length > 2 * Math.max(LOG_INITIAL, nA)) this.#adds = new Float64Array(capacityFor(nA));
    if (this.#rems.length > 2 * Math.max(LOG_INITIAL, nR)) this.#rems = new Float64Array(capacityFor(nR));
    if (ops.count === 0) return;
    const batch = this.#batchByKey(ops, this.#root.depth);
    const root = this.#ownRoot();
    const m = batch.count;
    // The bytes all keys share, old and new (the extremes decide): fewer than before means new fences.
    const ref = root.size > 0 ? root.leaves[0]!.offs[0]! : batch.key[0]!;
    const depth = Math.min(
      root.size > 0 ? root.depth : Infinity,
      this.#commonLength(ref, batch.key[0]!),
      this.#commonLength(ref, batch.key[m - 1]!),
    );
    if (depth !== root.depth) {
      root.depth = depth;
      for (let i = 0; i < root.leaves.length; i++) {
        const leaf = root.leaves[i]!;
        if (leaf.n > 0) root.fences[i] = this.#prefixOf(leaf.offs[0]!, depth);
      }
    }
    if (depth !== batch.depth) {
      for (let j = 0; j < m; j++) batch.prefix[j] = this.#prefixOf(batch.key[j]!, depth);
    }
    // Route each operation to the last leaf whose first key is <= its key.
    const leafOf = new Int32Array(m);
    let li = 0;
    for (let j = 0; j < m; j++) {
      li = this.#lastLeafAtOrBefore(root, li, batch.key[j]!, batch.prefix[j]!);
      leafOf[j] = li;
    }
    const pos = new Int32Array(m);
    const eq = new Uint8Array(m);
    // Right to left, so that leaves added or removed do not move the ones still to do.
    for (let b = m; b > 0;) {
      const l = leafOf[b - 1]!;
      let a = b - 1;
      while (a > 0 && leafOf[a - 1] === l) a--;
      this.#applyToLeaf(root, l, batch, a, b, pos, eq);
      b = a;
    }
    if (this.#scratch.length > 2 * LEAF_MAX) this.#scratch = new Float64Array(2 * LEAF_MAX);
  }

  /** Sorts net operations by key and fuses those on the same key (a remove and an add make a replace). */
  #batchByKey(ops: NetOperations, depth: number): Batch {
    const { offs, adds, count } = ops;
    const { perm, same, prefix: prefixIn } = sortByKey(this.#src, offs, count, depth);
    const key = new Float64Array(count);
    const prefix = new Float64Array(count);
    const add = new Float64Array(count);
    const rem = new Float64Array(count);
    let m = 0;
    for (let i = 0; i < count; i++) {
      const p = perm[i]!;
      const off = offs[p]!;
      if (same === undefined || same[i] === 0 || m === 0) {
        prefix[m] = prefixIn![p]!;
        key[m] = off;
        add[m] = -1;
        rem[m] = -1;
        m++;
      }
      // Several operations on one key: the highest added offset wins (the engine sends at most one add and one remove).
      if (p < adds) {
        if (off > add[m - 1]!) add[m - 1] = off;
        key[m - 1] = add[m - 1]!;
      } else {
        rem[m - 1] = off;
      }
    }
    return { count: m, key, add, rem, prefix, depth, local: new Float64Array(m) };
  }

  /** The largest leaf index >= from whose first key is <= the key of the record at `keyOff` (`from` if none). */
  #lastLeafAtOrBefore(root: Root, from: number, keyOff: number, p: number): number {
    const { leaves, fences } = root;
    const last = leaves.length - 1;
    // Gallop from `from` (operations arrive in key order, mostly a few leaves apart), then binary search.
    let ans = from;
    let step = 1;
    let hi = last;
    while (ans + step <= last) {
      const probe = ans + step;
      if (this.#compareFirst(leaves, fences, probe, keyOff, p) > 0) {
        hi = probe - 1;
        break;
      }
      ans = probe;
      step *= 2;
    }
    let lo = ans + 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compareFirst(leaves, fences, mid, keyOff, p) <= 0) {
        ans = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return ans;
  }

  /** Compares the first key of leaf `i` with the key of the record at `keyOff` (whose prefix is `p`). */
  #compareFirst(leaves: Leaf[], fences: number[], i: number, keyOff: number, p: number): number {
    const f = fences[i]!;
    return f < p ? -1 : f > p ? 1 : this.#src.compareRecords(leaves[i]!.offs[0]!, keyOff);
  }

  /** Applies operations [a, b) of the batch, all routed to leaf `li`. */
  #applyToLeaf(root: Root, li: number, batch: Batch, a: number, b: number, pos: Int32Array, eq: Uint8Array): void {
    const src = this.#src;
    const leaf = root.leaves[li]!;
    const n = leaf.n;
    const offs = leaf.offs;
    const m = b - a;
    // Where each operation's key sits in the leaf: pos = first entry >= key, eq = that entry has the key.
    if (m * Math.log2(n + 1) * DEPENDENT_READ_COST >= n) {
      // Merge over prefixes taken after the bytes that the leaf's keys and these keys all share (keys with a
      // common prefix such as "user:000" would otherwise tie on every prefix and be compared in the journal).
      const first = n > 0 ? offs[0]! : batch.key[a]!;
      const depth = Math.min(
        this.#commonLength(first, batch.key[a]!),
        this.#commonLength(first, batch.key[b - 1]!),
        n > 0 ? this.#commonLength(first, offs[n - 1]!) : Infinity,
      );
      const pe = this.#prefixes;
      const at = this.#at;
      for (let i = 0; i < n; i++) {
        const buf = src.keyAt(offs[i]!, at);
        const rest = at[1]! - depth;
        pe[i] = rest > 0 ? keyPrefix(buf, at[0]! + depth, rest) : 0;
      }
      const po = batch.local;
      for (let j = a; j < b; j++) po[j] = this.#prefixOf(batch.key[j]!, depth);
      let i = 0;
      for (let j = a; j < b; j++) {
        const p = po[j]!;
        const k = batch.key[j]!;
        let e = 0;
        while (i < n) {
          const f = pe[i]!;
          if (f > p) break;
          if (f === p) {
            const c = src.compareRecords(offs[i]!, k);
            if (c >= 0) {
              e = c === 0 ? 1 : 0;
              break;
            }
          }
          i++;
        }
        pos[j] = i;
        eq[j] = e;
      }
    } else {
      let from = 0;
      for (let j = a; j < b; j++) {
        const k = batch.key[j]!;
        let lo = from;
        let hi = n;
        let found = -1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const c = src.compareRecords(offs[mid]!, k);
          if (c < 0) lo = mid + 1;
          else {
            if (c === 0) found = mid;
            hi = mid;
          }
        }
        pos[j] = lo;
        eq[j] = found === lo ? 1 : 0;
        from = lo;
      }
    }
    // What changes: an add sets or inserts; a lone remove deletes the entry if it is that record.
    let inserted = 0;
    let deleted = 0;
    for (let j = a; j < b; j++) {
      if (batch.add[j]! >= 0) {
        if (eq[j] === 0) inserted++;
      } else if (eq[j] === 1 && offs[pos[j]!] === batch.rem[j]) {
        deleted++;
      } else {
        batch.rem[j] = -1; // not there (or not that record): nothing to do
      }
    }
    const newN = n + inserted - deleted;
    const own = leaf.epoch > this.#book.frozen;
    if (inserted === 0 && deleted === 0) {
      const target = own ? leaf : this.#copyLeaf(root, li, n, offs.length);
      for (let j = a; j < b; j++) if (batch.add[j]! >= 0) target.offs[pos[j]!] = batch.add[j]!;
      return;
    }
    if (m <= 4 && newN > 0 && n + inserted <= LEAF_MAX && (newN >= LEAF_MIN || newN >= n || root.leaves.length === 1)) {
      // In place (in a copy if a snapshot shares the leaf or it is full), right to left so that earlier positions
      // stay valid.
      const peak = n + inserted; // right to left, inserts may come before the deletes they make room for
      const target = own && peak <= offs.length
        ? leaf
        : this.#copyLeaf(root, li, n, Math.max(offs.length, peak + LEAF_GROW));
      const offs2 = target.offs;
      let count = n;
      for (let j = b - 1; j >= a; j--) {
        const p = pos[j]!;
        const add = batch.add[j]!;
        if (add >= 0) {
          if (eq[j] === 1) offs2[p] = add;
          else {
            offs2.copyWithin(p + 1, p, count);
            offs2[p] = add;
            count++;
          }
        } else if (batch.rem[j]! >= 0) {
          offs2.copyWithin(p, p + 1, count);
          count--;
        }
      }
      target.n = count;
      root.size += newN - n;
      if (pos[a] === 0) root.fences[li] = this.#prefixOf(offs2[0]!, root.depth);
      return;
    }
    // Rewrite: the new content in one pass, then one leaf, several, or none.
    if (this.#scratch.length < newN) this.#scratch = new Float64Array(newN);
    const out = this.#scratch;
    let k = 0;
    let i = 0;
    for (let j = a; j < b; j++) {
      const p = pos[j]!;
      while (i < p) out[k++] = offs[i++]!;
      const add = batch.add[j]!;
      if (add >= 0) {
        out[k++] = add;
        if (eq[j] === 1) i++;
      } else if (batch.rem[j]! >= 0) {
        i++;
      }
    }
    while (i < n) out[k++] = offs[i++]!;
    root.size += newN - n;
    this.#replaceLeaf(root, li, out, newN, own);
  }

  /** Copies leaf `li` (shared with a snapshot, or too small) into a new one of `capacity` entries. */
  #copyLeaf(root: Root, li: number, n: number, capacity: number): Leaf {
    const old = root.leaves[li]!;
    if (old.epoch <= this.#book.frozen) this.#copied++;
    const offs = new Float64Array(capacity);
    offs.set(old.offs.subarray(0, n));
    const leaf = new Leaf(offs, n, this.#epoch);
    root.leaves[li] = leaf;
    return leaf;
  }

  /** Puts `out[0, n)` in place of leaf `li`: as is, split, merged with its right neighbour, or removed. */
  #replaceLeaf(root: Root, li: number, out: Float64Array, n: number, own: boolean): void {
    const { leaves, fences } = root;
    // The leaf's own array is reused when no snapshot shares it and it fits without much waste (no garbage, no
    // fresh pages, which cost about 14 µs each on the test VM).
    const reusable = own ? leaves[li]!.offs : undefined;
    const fits = (size: number): boolean =>
      reusable !== undefined && reusable.length >= size && reusable.length <= size + 2 * LEAF_GROW;
    const place = (s: number, e: number, room: number): Float64Array => {
      const size = e - s;
      const offs = s === 0 && fits(size)
        ? reusable!
        : new Float64Array(Math.max(size, Math.min(LEAF_MAX, size + room)));
      offs.set(out.subarray(s, e));
      return offs;
    };
    if (n === 0) {
      if (leaves.length === 1) {
        leaves[0] = new Leaf(new Float64Array(LEAF_GROW), 0, this.#epoch);
        fences[0] = -1;
      } else {
        leaves.splice(li, 1);
        fences.splice(li, 1);
      }
      return;
    }
    if (n <= LEAF_MAX) {
      const next = leaves[li + 1];
      if (n < LEAF_MIN && next !== undefined && n + next.n <= LEAF_MAX) {
        const merged = fits(n + next.n) ? reusable! : new Float64Array(Math.min(LEAF_MAX, n + next.n + LEAF_GROW));
        merged.set(out.subarray(0, n));
        merged.set(next.offs.subarray(0, next.n), n);
        leaves.splice(li, 2, new Leaf(merged, n + next.n, this.#epoch));
        fences.splice(li, 2, this.#prefixOf(merged[0]!, root.depth));
        return;
      }
      leaves[li] = new Leaf(place(0, n, LEAF_GROW), n, this.#epoch);
      fences[li] = this.#prefixOf(out[0]!, root.depth);
      return;
    }
    const pieces = Math.ceil(n / LEAF_FILL);
    const newLeaves: Leaf[] = [];
    const newFences: number[] = [];
    for (let p = 0; p < pieces; p++) {
      const s = Math.floor((p * n) / pieces);
      const e = Math.floor(((p + 1) * n) / pieces);
      newLeaves.push(new Leaf(place(s, e, LEAF_GROW), e - s, this.#epoch));
      newFences.push(this.#prefixOf(out[s]!, root.depth));
    }
    leaves.splice(li, 1, ...newLeaves);
    fences.splice(li, 1, ...newFences);
  }
}

/** Operations sorted by key, one per key: `add` (new offset or -1), `rem` (old offset or -1), `key` (offset to read the key from). */
interface Batch {
  count: number;
  key: Float64Array;
  add: Float64Array;
  rem: Float64Array;
  /** keyPrefix() of each key from byte `depth` on. */
  prefix: Float64Array;
  depth: number;
  /** Scratch: prefixes after a leaf's common prefix, for the operations routed to that leaf. */
  local: Float64Array;
}

/** The logs with offsets both added and removed taken out: `offs[0, adds)` are added, `offs[adds, count)` removed. */
interface NetOperations {
  offs: Float64Array;
  adds: number;
  count: number;
}

/** Cancels offsets that were added and later removed (an insert then a delete, a replace of a logged record). */
function netOperations(adds: Float64Array, nA: number, rems: Float64Array, nR: number): NetOperations {
  const addGone = new Uint8Array(nA);
  const remGone = new Uint8Array(nR);
  if (nA > 0 && nR > 0) {
    let bits = 4;
    while (1 << bits < nA * 2) bits++;
    const mask = (1 << bits) - 1;
    const table = new Int32Array(1 << bits); // add index + 1, 0 = empty
    for (let i = 0; i < nA; i++) {
      let h = hashOffset(adds[i]!, bits);
      while (table[h] !== 0) h = (h + 1) & mask;
      table[h] = i + 1;
    }
    for (let r = 0; r < nR; r++) {
      const off = rems[r]!;
      for (let h = hashOffset(off, bits);; h = (h + 1) & mask) {
        const t = table[h]!;
        if (t === 0) break;
        if (adds[t - 1] === off && addGone[t - 1] === 0) {
          addGone[t - 1] = 1;
          remGone[r] = 1;
          break;
        }
      }
    }
  }
  const offs = new Float64Array(nA + nR);
  let k = 0;
  for (let i = 0; i < nA; i++) if (addGone[i] === 0) offs[k++] = adds[i]!;
  const nAdds = k;
  for (let r = 0; r < nR; r++) if (remGone[r] === 0) offs[k++] = rems[r]!;
  return { offs, adds: nAdds, count: k };
}

function hashOffset(offset: number, bits: number): number {
  const units = offset / 8;
  const lo = units >>> 0;
  const hi = (units / 4294967296) >>> 0;
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits);
}

function capacityFor(n: number): number {
  let c = LOG_INITIAL;
  while (c < n) c *= 2;
  return c;
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(Math.max(LOG_INITIAL, a.length * 2));
  b.set(a);
  return b;
}

function checkCount(offsets: Float64Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > offsets.length) {
    throw new RangeError(`count ${count} is not within 0..${offsets.length}`);
  }
}
