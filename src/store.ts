/**
 * The read / write / iterate surface shared by a database (its default
 * namespace) and by every namespace handle.
 *
 * @module
 */
import type { Key, Value } from "./codec.ts";
import { writeKey } from "./codec.ts";
import { EmdbError } from "./errors.ts";
import type { Engine, ManyEntry } from "./engine/engine.ts";
import { type Entry, HashIterator, type IterSource, type RangeBounds, RangeIterator } from "./engine/iterate.ts";
import type { Space } from "./engine/space.ts";
import { MAX_KEY_BYTES } from "./format/record.ts";
import { expiryFor, type SetOptions } from "./ttl.ts";

export type { SetOptions } from "./ttl.ts";

/** A `[key, value]` pair, or `[key, value, options]`, for `setMany`. */
export type BatchEntry = readonly [Key, Value] | readonly [Key, Value, SetOptions];

/** A value and the version of the record holding it. */
export interface VersionedValue {
  /** A copy of the value. */
  value: Uint8Array;
  /**
   * The record's version: it changes on every write of the key and is never
   * reused, even across compactions (a positive integer).
   */
  version: number;
}

/**
 * Which keys a {@linkcode KvStore.range} visits, in byte order of keys.
 * Bounds combine: `prefix` with `start`/`end`/`after` visits their intersection.
 */
export interface RangeOptions {
  /** First key (inclusive). */
  start?: Key;
  /** Last key (exclusive). */
  end?: Key;
  /** Only keys that start with these bytes. */
  prefix?: Key;
  /**
   * A pagination cursor: the last key of the previous page. The walk starts just
   * past it in its direction (after it forwards, before it with `reverse`).
   */
  after?: Key;
  /** Walk from the last key down. Default false. */
  reverse?: boolean;
  /** Most entries to yield. Default: no limit. */
  limit?: number;
}

const toBytes = (key: Key): Uint8Array => {
  const buf = new Uint8Array(typeof key === "string" ? 3 * key.length : key instanceof Uint8Array ? key.length : 0);
  const n = writeKey(key, buf, 0);
  return n === buf.length ? buf : buf.subarray(0, n);
};

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** `a` < `b` in byte order? */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The smallest key greater than every key starting with `p` (undefined: none, p is all 0xFF). */
function prefixEnd(p: Uint8Array): Uint8Array | undefined {
  let i = p.length - 1;
  while (i >= 0 && p[i] === 0xff) i--;
  if (i < 0) return undefined;
  const out = p.slice(0, i + 1);
  out[i]!++;
  return out;
}

/**
 * The key-value surface of a database's default namespace and of every
 * namespace handle: reads, writes, expiry and iteration.
 *
 * @example
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * const users = db.namespace("users");
 * users.set("ada", "Ada Lovelace");
 * console.log(users.getString("ada"), db.has("ada")); // "Ada Lovelace" false
 * ```
 */
export abstract class KvStore {
  /** @internal The engine. */
  protected readonly engine: Engine;

  /** @internal */
  protected constructor(engine: Engine) {
    this.engine = engine;
  }

  /** @internal The namespace this handle works in (throws when it was dropped or the database closed). */
  protected abstract space(): Space;

  /** The clock's time now (Unix ms). */
  #now(): number {
    return this.engine.opts.clock();
  }

  /** Resolves `SetOptions` (and the database's `defaultTtl`) to an expiry in Unix ms, 0 for none. */
  #expires(options: SetOptions | undefined, now: number): number {
    return expiryFor(options, this.engine.opts.defaultTtl, now);
  }

  /** Whether writes need the clock (an expiry may be set). */
  #timed(options: SetOptions | undefined): boolean {
    return options !== undefined || this.engine.opts.defaultTtl !== Infinity;
  }

  /**
   * The number of live keys (expired keys excluded).
   *
   * @throws {EmdbError} `CLOSED`, `NAMESPACE_DROPPED`.
   */
  get size(): number {
    const space = this.space();
    this.engine.sweep(space);
    return space.size;
  }

  /**
   * Reads a value.
   *
   * @param key The key.
   * @returns A copy of the value, or `undefined` when the key is absent or expired.
   * @throws {EmdbError} `CLOSED`; `CORRUPTED` (with `offset`) when the record is damaged.
   * @throws {TypeError} For a key that is not a string or Uint8Array.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", Uint8Array.of(1, 2));
   * console.log(db.get("k")); // Uint8Array [1, 2]
   * ```
   */
  get(key: Key): Uint8Array | undefined {
    const off = this.engine.find(this.space(), key);
    return off < 0 ? undefined : this.engine.valueCopy(off);
  }

  /**
   * Reads a value as a UTF-8 string.
   *
   * @param key The key.
   * @returns The value decoded as UTF-8, or `undefined` when absent.
   * @throws {TypeError} When the stored bytes are not valid UTF-8.
   * @throws {EmdbError} `CLOSED`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.getString("k")); // "v"
   * ```
   */
  getString(key: Key): string | undefined {
    const off = this.engine.find(this.space(), key);
    if (off < 0) return undefined;
    try {
      return strictUtf8.decode(this.engine.valueBytes(off));
    } catch (e) {
      if (e instanceof EmdbError) throw e;
      throw new TypeError("The stored value is not valid UTF-8; read it with get()");
    }
  }

  /**
   * Copies a value into a buffer you own, allocating nothing: the fastest safe
   * read when values are read in a loop.
   *
   * @param key The key.
   * @param target Where to copy the value (from index 0).
   * @returns The value's length in bytes, or -1 when the key is absent.
   * @throws {RangeError} When `target` is shorter than the value (nothing is copied).
   * @throws {EmdbError} `CLOSED`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "value");
   * const buf = new Uint8Array(64);
   * const n = db.getInto("k", buf);
   * console.log(new TextDecoder().decode(buf.subarray(0, n))); // "value"
   * ```
   */
  getInto(key: Key, target: Uint8Array): number {
    if (!(target instanceof Uint8Array)) throw new TypeError("getInto() needs a Uint8Array target");
    const off = this.engine.find(this.space(), key);
    if (off < 0) return -1;
    const v = this.engine.valueBytes(off);
    if (v.length > target.length) {
      throw new RangeError(`getInto() target holds ${target.length} bytes; the value needs ${v.length}`);
    }
    target.set(v);
    return v.length;
  }

  /**
   * **Unsafe, zero-copy read.** Returns a view straight into the database's
   * memory map instead of a copy. The view stays readable until `close()` or
   * until a compaction switches files; after that it reads as length 0 (or
   * zeros, if its buffer was transferred): holding or reading it never crashes
   * the process. It is read-only memory:
   * never write through it. Prefer {@linkcode KvStore.get} unless profiling
   * shows the copy matters.
   *
   * @param key The key.
   * @returns A view of the value, or `undefined`.
   * @throws {EmdbError} `CLOSED`, `CORRUPTED`; `UNSUPPORTED` on an encrypted database (the mapping holds
   *   ciphertext: read with `get()`).
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.getUnsafeView("k")?.length); // 1
   * ```
   */
  getUnsafeView(key: Key): Uint8Array | undefined {
    const off = this.engine.find(this.space(), key);
    return off < 0 ? undefined : this.engine.valueView(off);
  }

  /**
   * Reads a value together with its version, for optimistic checks
   * ({@linkcode Transaction.check}, {@linkcode AtomicOperation.check}).
   *
   * @param key The key.
   * @returns `{ value, version }`, or `undefined` when absent.
   * @throws {EmdbError} `CLOSED`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * const e = db.getEntry("k")!;
   * db.set("k", "w");
   * console.log(db.getEntry("k")!.version > e.version); // true
   * ```
   */
  getEntry(key: Key): VersionedValue | undefined {
    const off = this.engine.find(this.space(), key);
    if (off < 0) return undefined;
    const value = this.engine.valueCopy(off);
    return { value, version: this.engine.versionAt(off) };
  }

  /**
   * Tells whether a key is present (and not expired).
   *
   * @param key The key.
   * @returns `true` when present.
   * @throws {EmdbError} `CLOSED`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * console.log(db.has("k")); // false
   * ```
   */
  has(key: Key): boolean {
    const off = this.engine.find(this.space(), key);
    if (off < 0) return false;
    this.engine.verified(off);
    return true;
  }

  /**
   * Stores a value (one positional write). Visible to reads at once; durable after `flush()`.
   *
   * @param key The key (at most 65,535 bytes).
   * @param value The value.
   * @param options `ttl` (ms) or `expiresAt` (Unix ms); default: the database's `defaultTtl`.
   * @throws {TypeError} For a key or value of the wrong type, a string with a lone surrogate, or a bad option.
   * @throws {RangeError} For a key over 65,535 bytes, a record over 1 GiB, or a negative ttl.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`, `FULL`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("session", "abc", { ttl: 60_000 }); // gone in a minute
   * ```
   */
  set(key: Key, value: Value, options?: SetOptions): void {
    const space = this.space();
    const now = this.#timed(options) ? this.#now() : 0;
    this.engine.set(space, key, value, this.#expires(options, now), now);
  }

  /**
   * Removes a key (appends a tombstone when it existed).
   *
   * @param key The key.
   * @returns `true` when a live key was removed.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.delete("k")); // true
   * ```
   */
  delete(key: Key): boolean {
    return this.engine.delete(this.space(), key);
  }

  /**
   * Stores many pairs as one batch record with one positional write: all or
   * nothing, in memory and across a crash. Later duplicates win. If any entry
   * is invalid, nothing is written. Writing to the database from inside the
   * iterable throws `BUSY`.
   *
   * @param entries `[key, value]` or `[key, value, { ttl }]` entries.
   * @param options Default `ttl`/`expiresAt` of the entries that give none.
   * @returns How many records were written.
   * @throws {TypeError} For an invalid entry.
   * @throws {RangeError} For a batch over 1 GiB.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`, `FULL`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.setMany([["a", "1"], ["b", "2", { ttl: 1000 }]]);
   * console.log(db.size); // 2
   * ```
   */
  setMany(entries: Iterable<BatchEntry>, options?: SetOptions): number {
    const space = this.space();
    const now = this.#now();
    const fallback = this.#expires(options, now);
    const expiresOf = (o: unknown) => (o === undefined ? fallback : this.#expires(o as SetOptions, now));
    return this.engine.setMany(space, entries as Iterable<ManyEntry>, expiresOf, now);
  }

  /**
   * Removes every key, durably: one record is appended and synced, so the
   * namespace is still empty after a crash or reopen.
   *
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * db.clear();
   * console.log(db.size); // 0
   * ```
   */
  clear(): void {
    this.engine.clear(this.space());
  }

  /**
   * When a key expires.
   *
   * @param key The key.
   * @returns Unix ms; `Infinity` for a key without expiry; `undefined` when absent or expired.
   * @throws {EmdbError} `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory({ clock: () => 1000 });
   * db.set("k", "v", { ttl: 500 });
   * console.log(db.expiresAt("k")); // 1500
   * ```
   */
  expiresAt(key: Key): number | undefined {
    const off = this.engine.find(this.space(), key);
    return off < 0 ? undefined : this.engine.expiryAt(off);
  }

  /**
   * How long a key has left to live.
   *
   * @param key The key.
   * @returns Milliseconds (> 0); `Infinity` without expiry; `undefined` when absent or expired.
   * @throws {EmdbError} `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory({ clock: () => 1000 });
   * db.set("k", "v", { ttl: 500 });
   * console.log(db.ttl("k")); // 500
   * ```
   */
  ttl(key: Key): number | undefined {
    const at = this.expiresAt(key);
    return at === undefined ? undefined : at === Infinity ? Infinity : at - this.#now();
  }

  /**
   * Removes a key's expiry (rewrites its record without one).
   *
   * @param key The key.
   * @returns `true` when the key had an expiry; `false` when it had none or is absent.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v", { ttl: 1000 });
   * console.log(db.persist("k"), db.ttl("k")); // true Infinity
   * ```
   */
  persist(key: Key): boolean {
    return this.engine.persist(this.space(), key);
  }

  /**
   * Evicts expired keys from memory now (reads already ignore them; this frees
   * their index entries and counts their bytes as garbage for compaction).
   * Nothing is written: an expired record is dead by its own expiry.
   *
   * @returns How many keys were evicted.
   * @throws {EmdbError} `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * let now = 0;
   * using db = Emdb.openInMemory({ clock: () => now });
   * db.set("k", "v", { ttl: 10 });
   * now = 10;
   * console.log(db.sweepExpired()); // 1
   * ```
   */
  sweepExpired(): number {
    return this.engine.sweep(this.space());
  }

  /** Pins the current journal for a new iterator (unpinned again if making it throws). */
  #iterate<T>(make: (src: IterSource) => T): T {
    const e = this.engine;
    const pin = e.pin();
    const src = {
      ks: pin.ks,
      end: pin.end,
      now: this.#now(),
      path: e.path,
      check: () => e.check(),
      unpin: pin.release,
    };
    try {
      return make(src);
    } catch (err) {
      pin.release();
      throw err;
    }
  }

  /**
   * Every `[key, value]` pair, lazily, as of this call (later writes are not
   * seen; nothing is seen twice or skipped). Order is unspecified; use
   * {@linkcode KvStore.range} for key order. Keys come back as strings when
   * they were written as strings, as bytes otherwise.
   *
   * Byte keys and values are copies that nothing later changes. Under Deno,
   * copies up to 1 KiB are carved out of shared 16 KiB buffers (as Node's
   * `Buffer` pools small buffers; a fresh `ArrayBuffer` each cost 1 µs and
   * more there): `value.buffer` is then larger than the value and
   * `byteOffset` not 0, so pass `value.slice()` where a buffer of its own is
   * needed (to `transfer()` it or post it as a transferable), and a value
   * kept for long keeps its 16 KiB alive. The same holds for every iterator
   * and range.
   *
   * @returns An iterator; `break` (or `return()`) releases its snapshot.
   * @throws {EmdbError} `CLOSED`; `CORRUPTED` while iterating over a damaged record.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.setMany([["a", "1"], ["b", "2"]]);
   * for (const [key, value] of db.entries()) console.log(key, value.length);
   * ```
   */
  entries(): IterableIterator<Entry> {
    const space = this.space();
    return this.#iterate((src) => new HashIterator<Entry>(src, space, "entries"));
  }

  /**
   * Every key, lazily, as of this call (see {@linkcode KvStore.entries}).
   *
   * @returns An iterator of keys.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("a", "1");
   * console.log([...db.keys()]); // ["a"]
   * ```
   */
  keys(): IterableIterator<Key> {
    const space = this.space();
    return this.#iterate((src) => new HashIterator<Key>(src, space, "keys"));
  }

  /**
   * Every value, lazily, as of this call (see {@linkcode KvStore.entries}).
   *
   * @returns An iterator of value copies.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("a", "1");
   * console.log([...db.values()].length); // 1
   * ```
   */
  values(): IterableIterator<Uint8Array> {
    const space = this.space();
    return this.#iterate((src) => new HashIterator<Uint8Array>(src, space, "values"));
  }

  /** Same as {@linkcode KvStore.entries}. */
  [Symbol.iterator](): IterableIterator<Entry> {
    return this.entries();
  }

  /**
   * `[key, value]` pairs in byte order of keys, lazily, as of this call.
   * `limit: 10` costs ten steps however many keys there are. The first ordered
   * read of a namespace builds its ordered index (kept up to date afterwards).
   *
   * @param options Bounds, direction, limit and pagination cursor.
   * @returns An iterator; `break` (or `return()`) releases its snapshot.
   * @throws {TypeError} For a bound that is not a key, or an unknown option.
   * @throws {RangeError} For a negative or fractional limit.
   * @throws {EmdbError} `CLOSED`; `CORRUPTED` while iterating over a damaged record.
   *
   * @example Pages of 10 users
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * for (let i = 0; i < 25; i++) db.set(`user:${String(i).padStart(3, "0")}`, `#${i}`);
   * let after: string | undefined;
   * for (;;) {
   *   const page = [...db.range({ prefix: "user:", limit: 10, ...(after ? { after } : {}) })];
   *   if (page.length === 0) break;
   *   after = page[page.length - 1]![0] as string;
   *   console.log(page.length); // 10, 10, 5
   * }
   * ```
   */
  range(options: RangeOptions = {}): IterableIterator<Entry> {
    const space = this.space();
    const bounds = rangeBounds(options);
    return this.#iterate((src) => new RangeIterator<Entry>(src, space, bounds, "entries"));
  }

  /**
   * Keys in byte order, lazily (see {@linkcode KvStore.range}).
   *
   * @param options Bounds, direction, limit and pagination cursor.
   * @returns An iterator of keys.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.setMany([["b", ""], ["a", ""]]);
   * console.log([...db.rangeKeys()]); // ["a", "b"]
   * ```
   */
  rangeKeys(options: RangeOptions = {}): IterableIterator<Key> {
    const space = this.space();
    const bounds = rangeBounds(options);
    return this.#iterate((src) => new RangeIterator<Key>(src, space, bounds, "keys"));
  }
}

const RANGE_KEYS = new Set(["start", "end", "prefix", "after", "reverse", "limit"]);

/** Checks `RangeOptions` and turns them into byte bounds. */
export function rangeBounds(o: RangeOptions): RangeBounds {
  if (o === null || typeof o !== "object") throw new TypeError("range() options must be an object");
  for (const k of Object.keys(o)) if (!RANGE_KEYS.has(k)) throw new TypeError(`Unknown range() option "${k}"`);
  const bytes = (what: string, k: Key | undefined): Uint8Array | undefined => {
    if (k === undefined) return undefined;
    if (typeof k !== "string" && !(k instanceof Uint8Array)) {
      throw new TypeError(`range() "${what}" must be a string or Uint8Array`);
    }
    if ((typeof k === "string" ? k.length : k.length) > MAX_KEY_BYTES * 3) {
      throw new RangeError(`range() "${what}" is longer than any key`);
    }
    return toBytes(k);
  };
  const limit = o.limit ?? Infinity;
  if (typeof limit !== "number" || !(limit >= 0) || (limit !== Infinity && !Number.isInteger(limit))) {
    throw new RangeError(`range() "limit" must be a non-negative integer, got ${String(limit)}`);
  }
  if (o.reverse !== undefined && typeof o.reverse !== "boolean") {
    throw new TypeError('range() "reverse" must be a boolean');
  }
  const reverse = o.reverse ?? false;
  let low = bytes("start", o.start);
  let lowExclusive = false;
  let high = bytes("end", o.end);
  let highExclusive = true;
  const tighterLow = (b: Uint8Array | undefined, exclusive: boolean) => {
    if (b === undefined) return;
    const c = low === undefined ? 1 : compareBytes(b, low);
    if (c > 0 || (c === 0 && exclusive)) {
      low = b;
      lowExclusive = exclusive;
    }
  };
  const tighterHigh = (b: Uint8Array | undefined, exclusive: boolean) => {
    if (b === undefined) return;
    const c = high === undefined ? -1 : compareBytes(b, high);
    if (c < 0 || (c === 0 && exclusive)) {
      high = b;
      highExclusive = exclusive;
    }
  };
  const prefix = bytes("prefix", o.prefix);
  if (prefix !== undefined && prefix.length > 0) {
    tighterLow(prefix, false);
    const pe = prefixEnd(prefix);
    if (pe !== undefined) tighterHigh(pe, true);
  }
  const after = bytes("after", o.after);
  if (after !== undefined) {
    if (reverse) tighterHigh(after, true);
    else tighterLow(after, true);
  }
  return { low, lowExclusive, high, highExclusive, reverse, limit };
}
