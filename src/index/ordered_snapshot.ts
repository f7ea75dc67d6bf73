/**
 * Snapshots of the ordered index and their cursors, and the nodes they share
 * with the index (see ordered_index.ts for the copy-on-write rule).
 *
 * A snapshot holds a frozen root; a cursor holds the snapshot (so that neither
 * is reclaimed while a cursor is in use) and walks the root's leaves. Seeking
 * binary-searches the leaves by their fences (numbers; the journal is read only
 * when a fence ties with the key), then the leaf (one journal read per step).
 *
 * @module
 */

import { keyPrefix, type OrderedKeySource } from "./key_sorter.ts";

/** A frozen view of the ordered index, as of the moment `OrderedIndex.snapshot()` was called. */
export interface OrderedSnapshot {
  /** Number of keys in the snapshot. */
  readonly size: number;
  /** True once {@linkcode OrderedSnapshot.release} was called (or the snapshot was reclaimed). */
  readonly released: boolean;
  /**
   * Cursor at the first key >= key[start, start + len) (> when `strict`); `len = -1` means "from the first key".
   *
   * @throws {TypeError} When the snapshot was released.
   */
  seek(key: Uint8Array, start: number, len: number, strict: boolean): OrderedCursor;
  /**
   * Cursor walking backwards from the last key < key[start, start + len) (<= when `inclusive`); `len = -1` means
   * "from the last key".
   *
   * @throws {TypeError} When the snapshot was released.
   */
  seekBack(key: Uint8Array, start: number, len: number, inclusive: boolean): OrderedCursor;
  /** Ends the snapshot (idempotent); its cursors then return -1. After the last release, writes stop copying nodes. */
  release(): void;
}

/** A position in a snapshot, moving in one direction. */
export interface OrderedCursor {
  /** The next offset in the cursor's direction, or -1 at the end (and once the snapshot is released). */
  next(): number;
}

/** A leaf: offsets in key order; never changed once a live snapshot may see it (see the epoch rule). */
export class Leaf {
  /** The offsets; entries [0, n) are used, the rest is spare capacity. */
  offs: Float64Array;
  /** Entries used. */
  n: number;
  /** The epoch the leaf was created in. */
  readonly epoch: number;
  /** Wraps `offs[0, n)`, created in `epoch`. */
  constructor(offs: Float64Array, n: number, epoch: number) {
    this.offs = offs;
    this.n = n;
    this.epoch = epoch;
  }
}

/** The root: the leaves in key order, their fences, the number of keys. */
export class Root {
  /** The leaves in key order; only the first may be empty (then it is the only one). */
  readonly leaves: Leaf[];
  /** keyPrefix() of each leaf's first key from byte `depth` on. */
  readonly fences: number[];
  /** Keys in all leaves. */
  size: number;
  /** The epoch the root was created in. */
  readonly epoch: number;
  /** How many first bytes every key shares (fences start after them, so that a shared prefix does not tie them). */
  depth: number;
  /** Wraps leaves and their fences, created in `epoch`. */
  constructor(leaves: Leaf[], fences: number[], size: number, epoch: number, depth: number) {
    this.leaves = leaves;
    this.fences = fences;
    this.size = size;
    this.epoch = epoch;
    this.depth = depth;
  }
}

/** Live snapshots per epoch, and the newest epoch still live (nodes stamped at or before it are shared). */
export class SnapshotBook {
  /** Live snapshots per epoch. */
  readonly live = new Map<number, number>();
  /** The newest epoch with a live snapshot, or -1: nodes stamped at or before it must be copied before a change. */
  frozen: number = -1;
  /** Live snapshots in all. */
  count: number = 0;

  /** Counts a new snapshot at `epoch`. */
  add(epoch: number): void {
    this.live.set(epoch, (this.live.get(epoch) ?? 0) + 1);
    this.count++;
    if (epoch > this.frozen) this.frozen = epoch;
  }

  /** Counts a snapshot at `epoch` as released. */
  release(epoch: number): void {
    const c = this.live.get(epoch);
    if (c === undefined) return;
    this.count--;
    if (c > 1) {
      this.live.set(epoch, c - 1);
      return;
    }
    this.live.delete(epoch);
    if (epoch !== this.frozen) return;
    let max = -1;
    for (const e of this.live.keys()) if (e > max) max = e;
    this.frozen = max;
  }
}

interface ReleaseToken {
  readonly book: SnapshotBook;
  readonly epoch: number;
}

/** Releases snapshots that were garbage-collected without release(). */
const reclaimer = new FinalizationRegistry<ReleaseToken>((t) => t.book.release(t.epoch));

/**
 * Takes a snapshot of `root` at `epoch` (the caller moves its epoch on), registered so that it is released if it is
 * garbage-collected without release().
 *
 * @returns The snapshot.
 */
export function openSnapshot(root: Root, src: OrderedKeySource, book: SnapshotBook, epoch: number): OrderedSnapshot {
  book.add(epoch);
  const snap = new Snapshot(root, src, book, epoch);
  reclaimer.register(snap, { book, epoch }, snap);
  return snap;
}

/** A snapshot over a frozen root; create with {@linkcode openSnapshot}. */
class Snapshot implements OrderedSnapshot {
  #root: Root | undefined;
  readonly #src: OrderedKeySource;
  readonly #book: SnapshotBook;
  readonly #epoch: number;
  readonly size: number;
  readonly #at = new Int32Array(2);

  constructor(root: Root, src: OrderedKeySource, book: SnapshotBook, epoch: number) {
    this.#root = root;
    this.#src = src;
    this.#book = book;
    this.#epoch = epoch;
    this.size = root.size;
  }

  get released(): boolean {
    return this.#root === undefined;
  }

  seek(key: Uint8Array, start: number, len: number, strict: boolean): OrderedCursor {
    const root = this.#live("seek");
    if (len === -1) return new ForwardCursor(this, root.leaves, 0, 0);
    const at = this.#lowerBound(root, key, start, len, strict);
    return new ForwardCursor(this, root.leaves, at.leaf, at.pos);
  }

  seekBack(key: Uint8Array, start: number, len: number, inclusive: boolean): OrderedCursor {
    const root = this.#live("seekBack");
    const leaves = root.leaves;
    if (len === -1) {
      const last = leaves.length - 1;
      return new BackwardCursor(this, leaves, last, leaves[last]!.n - 1);
    }
    const at = this.#lowerBound(root, key, start, len, inclusive);
    return new BackwardCursor(this, leaves, at.leaf, at.pos - 1);
  }

  release(): void {
    if (this.#root === undefined) return;
    this.#root = undefined;
    reclaimer.unregister(this);
    this.#book.release(this.#epoch);
  }

  #live(what: string): Root {
    if (this.#root === undefined) throw new TypeError(`Cannot ${what}: the snapshot was released`);
    return this.#root;
  }

  /** The first entry >= key (> when `strict`), as a leaf and a position that may equal the leaf's length. */
  #lowerBound(root: Root, key: Uint8Array, start: number, len: number, strict: boolean): { leaf: number; pos: number } {
    if (!Number.isInteger(len) || len < 0 || !Number.isInteger(start) || start < 0 || start + len > key.length) {
      throw new RangeError(`key range ${start}+${len} is not within 0..${key.length}`);
    }
    const src = this.#src;
    const { leaves, fences, depth } = root;
    let p: number;
    if (depth > 0 && root.size > 0) {
      // Every key starts with the same `depth` bytes: a key that differs there is before or after all of them.
      const buf = src.keyAt(leaves[0]!.offs[0]!, this.#at);
      const s = this.#at[0]!;
      const n = Math.min(len, depth);
      let i = 0;
      while (i < n && key[start + i] === buf[s + i]) i++;
      if (i < n && key[start + i]! > buf[s + i]!) return { leaf: leaves.length - 1, pos: leaves[leaves.length - 1]!.n };
      if (i < depth) return { leaf: 0, pos: 0 };
      p = keyPrefix(key, start + depth, len - depth);
    } else {
      p = keyPrefix(key, start, len);
    }
    let lo = 1;
    let hi = leaves.length - 1;
    let li = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const f = fences[mid]!;
      const c = f < p ? -1 : f > p ? 1 : src.compareRecordTo(leaves[mid]!.offs[0]!, key, start, len);
      if (c <= 0) {
        li = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const leaf = leaves[li]!;
    const offs = leaf.offs;
    const bound = strict ? 0 : -1; // entries comparing <= bound come before the position
    lo = 0;
    hi = leaf.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (src.compareRecordTo(offs[mid]!, key, start, len) <= bound) lo = mid + 1;
      else hi = mid;
    }
    return { leaf: li, pos: lo };
  }
}

class ForwardCursor implements OrderedCursor {
  readonly #snap: Snapshot;
  readonly #leaves: Leaf[];
  #li: number;
  #offs: Float64Array;
  #n: number;
  #pos: number;

  constructor(snap: Snapshot, leaves: Leaf[], li: number, pos: number) {
    this.#snap = snap;
    this.#leaves = leaves;
    this.#li = li;
    const leaf = leaves[li]!;
    this.#offs = leaf.offs;
    this.#n = leaf.n;
    this.#pos = pos;
  }

  next(): number {
    if (this.#pos >= this.#n) {
      const leaves = this.#leaves;
      do {
        if (this.#li + 1 >= leaves.length) return -1;
        const leaf = leaves[++this.#li]!;
        this.#offs = leaf.offs;
        this.#n = leaf.n;
        this.#pos = 0;
      } while (this.#n === 0);
    }
    if (this.#snap.released) return -1;
    return this.#offs[this.#pos++]!;
  }
}

class BackwardCursor implements OrderedCursor {
  readonly #snap: Snapshot;
  readonly #leaves: Leaf[];
  #li: number;
  #offs: Float64Array;
  #pos: number;

  constructor(snap: Snapshot, leaves: Leaf[], li: number, pos: number) {
    this.#snap = snap;
    this.#leaves = leaves;
    this.#li = li;
    this.#offs = leaves[li]!.offs;
    this.#pos = pos;
  }

  next(): number {
    while (this.#pos < 0) {
      if (this.#li <= 0) return -1;
      const leaf = this.#leaves[--this.#li]!;
      this.#offs = leaf.offs;
      this.#pos = leaf.n - 1;
    }
    if (this.#snap.released) return -1;
    return this.#offs[this.#pos--]!;
  }
}
