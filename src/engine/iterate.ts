/**
 * Iterators with snapshot semantics: each sees a namespace exactly as it was
 * when the iterator was made, whatever is written meanwhile. No key is seen
 * twice or skipped, no value is newer than the start, no key deleted before
 * the start comes back.
 *
 * A snapshot is cheap because records are immutable: the journal keeps every
 * old record, so freezing the index (copy-on-write, see the indexes) is
 * enough. An iterator holds its snapshot and the keyspace it was made over
 * until it ends, is `return()`ed (an early `break`), or is garbage collected.
 *
 * @module
 */
import type { Key } from "../codec.ts";
import { EmdbError } from "../errors.ts";
import {
  FLAG_EXPIRES,
  FLAG_KEY_TEXT,
  recordExpiry,
  recordKeyLen,
  recordKeyStart,
  recordValueLen,
} from "../format/record.ts";
import { type HashSnapshot, slotOffset } from "../index/hash_index.ts";
import type { OrderedCursor, OrderedSnapshot } from "../index/ordered_index.ts";
import type { Keyspace } from "./keyspace.ts";
import { pooledCopy } from "./copy_pool.ts";
import type { Space } from "./space.ts";
import { splitPut } from "./record_crypto.ts";

/** What an iterator yields for each entry. */
export type Yield = "entries" | "keys" | "values";

/** A `[key, value]` pair as iterators yield it. */
export type Entry = [Key, Uint8Array];

const keyText = new TextDecoder("utf-8");

/** Everything an iterator reads through, captured when it starts. */
export interface IterSource {
  ks: Keyspace;
  /** End of the journal's data when the iterator started (bounds verification). */
  end: number;
  /** The clock's time when the iterator started: records expired by then are skipped. */
  now: number;
  path: string | undefined;
  /** Throws when the database was closed since (then nothing the iterator holds is readable). */
  check(): void;
  /** Releases the pin on the journal generation the iterator reads (idempotent). */
  unpin(): void;
}

/** Releases snapshots of iterators that were dropped without being finished. */
const abandoned = new FinalizationRegistry<() => void>((release) => release());

/** Shared logic of both iterators: reading an entry at an offset. */
abstract class SnapshotIterator<T> implements IterableIterator<T> {
  #src: IterSource;
  #yield: Yield;
  #left: number;
  #done = false;
  #token = {};

  constructor(src: IterSource, what: Yield, limit: number) {
    this.#src = src;
    this.#yield = what;
    this.#left = limit;
  }

  /** Registers the release to run if the iterator is dropped unfinished. */
  protected track(release: () => void): void {
    const unpin = this.#src.unpin;
    abandoned.register(this, () => {
      release();
      unpin();
    }, this.#token);
  }

  /** The next offset, or -1 at the end. */
  protected abstract nextOffset(): number;
  /** Gives up what the iterator holds. */
  protected abstract release(): void;

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<T> {
    if (this.#done) return { done: true, value: undefined };
    const { ks, now } = this.#src;
    try {
      this.#src.check();
    } catch (e) {
      this.return();
      throw e;
    }
    ks.revive();
    for (;;) {
      const off = this.#left > 0 ? this.nextOffset() : -1;
      if (off < 0) {
        this.return();
        return { done: true, value: undefined };
      }
      const buf = ks.bufAt(off);
      const p = ks.localAt(off);
      if ((buf[p + 5]! & FLAG_EXPIRES) !== 0 && recordExpiry(buf, p) <= now) continue;
      if (!ks.verify(off, this.#src.end)) {
        this.return();
        throw new EmdbError(
          "CORRUPTED",
          `Cannot read from "${this.#src.path ?? "(in memory)"}": the record at byte ${off} is damaged`,
          { path: this.#src.path, offset: off },
        );
      }
      this.#left--;
      return { done: false, value: this.#read(buf, p, off) as T };
    }
  }

  #read(buf: Uint8Array, p: number, off: number): Entry | Key | Uint8Array {
    const text = (buf[p + 5]! & FLAG_KEY_TEXT) !== 0;
    const what = this.#yield;
    const ks = this.#src.ks;
    if (ks.crypto !== undefined) {
      const plain = ks.openPut(off);
      const parts = plain === undefined ? undefined : splitPut(plain);
      if (parts === undefined) {
        this.return();
        throw new EmdbError(
          "CORRUPTED",
          `Cannot read from "${this.#src.path ?? "(in memory)"}": the record at byte ${off} failed authentication`,
          { path: this.#src.path, offset: off },
        );
      }
      const { key: k, value: v } = parts;
      if (what === "values") return pooledCopy(v, 0, v.length);
      const key = text ? keyText.decode(k) : pooledCopy(k, 0, k.length);
      return what === "keys" ? key : [key, pooledCopy(v, 0, v.length)];
    }
    const k0 = recordKeyStart(buf, p);
    const vs = k0 + recordKeyLen(buf, p);
    if (what === "values") return pooledCopy(buf, vs, vs + recordValueLen(buf, p));
    const key = text ? keyText.decode(buf.subarray(k0, vs)) : pooledCopy(buf, k0, vs);
    return what === "keys" ? key : [key, pooledCopy(buf, vs, vs + recordValueLen(buf, p))];
  }

  return(): IteratorResult<T> {
    if (!this.#done) {
      this.#done = true;
      abandoned.unregister(this.#token);
      this.release();
      this.#src.unpin();
    }
    return { done: true, value: undefined };
  }
}

/** Walks a frozen hash index: every live key of a namespace, in no particular order. */
export class HashIterator<T> extends SnapshotIterator<T> {
  #snap: HashSnapshot;
  #shard = 0;
  #slot = 0;

  /**
   * @param src What to read through.
   * @param space The namespace.
   * @param what What to yield.
   */
  constructor(src: IterSource, space: Space, what: Yield) {
    super(src, what, Infinity);
    const snap = space.hash.snapshot();
    this.#snap = snap;
    this.track(() => snap.release());
  }

  protected nextOffset(): number {
    const shards = this.#snap.shards;
    while (this.#shard < shards.length) {
      const t = shards[this.#shard]!;
      while (this.#slot < t.length) {
        const w0 = t[this.#slot]!;
        const w1 = t[this.#slot + 1]!;
        this.#slot += 2;
        if ((w0 | w1) !== 0) return slotOffset(w0, w1);
      }
      this.#shard++;
      this.#slot = 0;
    }
    return -1;
  }

  protected release(): void {
    this.#snap.release();
  }
}

/** Bounds of an ordered walk, as key bytes (`undefined`: unbounded). */
export interface RangeBounds {
  /** Lower bound. */
  low: Uint8Array | undefined;
  /** Whether the lower bound itself is excluded. */
  lowExclusive: boolean;
  /** Upper bound. */
  high: Uint8Array | undefined;
  /** Whether the upper bound itself is excluded. */
  highExclusive: boolean;
  reverse: boolean;
  limit: number;
}

/** Walks a frozen ordered index between two bounds, forwards or backwards. */
export class RangeIterator<T> extends SnapshotIterator<T> {
  #snap: OrderedSnapshot;
  #cursor: OrderedCursor;
  #ks: Keyspace;
  #stop: Uint8Array | undefined;
  #stopExclusive: boolean;
  #reverse: boolean;

  /**
   * @param src What to read through.
   * @param space The namespace.
   * @param bounds Where to start and stop.
   * @param what What to yield.
   */
  constructor(src: IterSource, space: Space, bounds: RangeBounds, what: Yield) {
    super(src, what, bounds.limit);
    const ordered = space.ordered;
    if (!ordered.built) {
      const offsets = new Float64Array(space.hash.size);
      ordered.build(offsets, space.hash.collectOffsets(offsets, 0));
    }
    const snap = ordered.snapshot();
    this.#snap = snap;
    this.track(() => snap.release());
    this.#ks = src.ks;
    this.#reverse = bounds.reverse;
    const EMPTY = new Uint8Array(0);
    if (bounds.reverse) {
      const h = bounds.high;
      this.#cursor = this.#snap.seekBack(h ?? EMPTY, 0, h === undefined ? -1 : h.length, !bounds.highExclusive);
      this.#stop = bounds.low;
      this.#stopExclusive = bounds.lowExclusive;
    } else {
      const l = bounds.low;
      this.#cursor = this.#snap.seek(l ?? EMPTY, 0, l === undefined ? -1 : l.length, bounds.lowExclusive);
      this.#stop = bounds.high;
      this.#stopExclusive = bounds.highExclusive;
    }
  }

  protected nextOffset(): number {
    const off = this.#cursor.next();
    if (off < 0) return -1;
    const stop = this.#stop;
    if (stop !== undefined) {
      const c = this.#ks.compareRecordTo(off, stop, 0, stop.length);
      // Forwards: stop at the upper bound; backwards: stop at the lower bound.
      const past = this.#reverse ? (this.#stopExclusive ? c <= 0 : c < 0) : (this.#stopExclusive ? c >= 0 : c > 0);
      if (past) return -1;
    }
    return off;
  }

  protected release(): void {
    this.#snap.release();
  }
}
