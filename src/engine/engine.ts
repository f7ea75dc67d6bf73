/**
 * The engine: reads from the journal's memory through the indexes, appends
 * records with one write each (one per batch), syncs on demand, checkpoints
 * and closes cleanly. Every operation names the namespace it works in. The
 * public classes (`Emdb`, `Namespace`, transactions) are thin fronts over it.
 *
 * Hot paths: `get` is hash → probe → compare the key in the mapped journal →
 * verify the record's CRC the first time this handle reads it → copy the
 * value out: no FFI call, no syscall, one allocation (the value). `set` is
 * encode → CRC → append → apply to the index, where the append is one
 * `pwrite` for the first writes after a flush and then a copy into the
 * backend's writable mapping (no syscall). `setMany` and transactions encode
 * a whole batch and append it with one `pwrite`.
 *
 * @module
 */
import type { Key, Value } from "../codec.ts";
import { writeKey } from "../codec.ts";
import { EmdbError } from "../errors.ts";
import { type Header, HEADER_BYTES } from "../format/header.ts";
import {
  FLAG_EXPIRES,
  FLAG_KEY_TEXT,
  MAX_KEY_BYTES,
  RECORD_HEADER_BYTES,
  recordExpiry,
  recordFlags,
  recordKeyStart,
  recordOrigin,
  recordValueLen,
  recordValueStart,
} from "../format/record.ts";
import { MAX_INDEXED_OFFSET } from "../index/hash_index.ts";
import { type Io, type JournalFile, type LockHandle, MAX_FRAME_BYTES } from "../io/io.ts";
import type { ResolvedOptions } from "../options.ts";
import type { EmdbStats } from "../stats.ts";
import { writeCheckpoint } from "./checkpoint.ts";
import type { Keyspace } from "./keyspace.ts";
import type { OpenedFrom, Recovered } from "./open.ts";
import { MAX_NAMESPACES, type Space } from "./space.ts";
import { RecordWriter } from "./writer.ts";
import { LOOKUP_TAG_BYTES, splitPut } from "./record_crypto.ts";
import { compact } from "./compact.ts";
import { Generations } from "./generations.ts";
import { type PolicyHost, WritePolicy } from "./write_policy.ts";

const MIN_STEP = 1024 * 1024;
/**
 * Writes after a flush that still use `pwrite`: the first store into a page
 * that fdatasync just cleaned takes a write fault costing more than a few
 * syscalls, so mapped writes pay off only once several records share a page.
 */
const PWRITES_AFTER_SYNC = 16;
const ALIGN = 64 * 1024;

/** One write of a transaction, resolved to bytes. */
export interface BatchWrite {
  space: Space;
  key: Uint8Array;
  keyText: boolean;
  /** The value, or `undefined` for a deletion. */
  value: Uint8Array | undefined;
  expires: number;
}

/** An entry of `setMany`: `[key, value]` or `[key, value, expires]` (resolved by the caller). */
export type ManyEntry = readonly [Key, Value] | readonly [Key, Value, unknown];

function closedError(path: string | undefined): EmdbError {
  return new EmdbError("CLOSED", `Cannot use database${path ? ` "${path}"` : ""}: it is closed`, { path });
}

/** What a rewrite installs when compaction switches files. */
export interface Installed {
  file: JournalFile;
  ks: Keyspace;
  header: Header;
  end: number;
}

/** A database engine over one journal. */
export class Engine {
  readonly path: string | undefined;
  readonly io: Io;
  readonly opts: ResolvedOptions;
  #file: JournalFile;
  #lock: LockHandle | undefined;
  #ks: Keyspace;
  #header: Header;
  #gen: number;
  #end: number;
  #checkpointEnd: number;
  #openedFrom: OpenedFrom;
  #replayedBytes: number;
  #dirty = false;
  #sinceSync = 0;
  #closed = false;
  /** What is using the write buffer while calling out to user code (re-entrant writes are refused). */
  #busy: string | undefined;
  #kbuf = new Uint8Array(3 * MAX_KEY_BYTES + 8);
  #w = new RecordWriter();
  /** The current journal and the older ones that iterators still read. */
  #gens: Generations;
  #policy: WritePolicy;
  /** The running compaction, if any (only one runs at a time). */
  maintenance: Promise<unknown> | undefined;
  /** Set by a failed automatic compaction (the next one retries). */
  autoCompactError: unknown;
  /** Completed compactions of this handle. */
  compactions = 0;

  constructor(
    io: Io,
    file: JournalFile,
    path: string | undefined,
    lock: LockHandle | undefined,
    opts: ResolvedOptions,
    r: Recovered,
  ) {
    this.path = path;
    this.io = io;
    this.opts = opts;
    this.#file = file;
    this.#lock = lock;
    this.#ks = r.keyspace;
    this.#header = r.header;
    this.#end = r.end;
    this.#checkpointEnd = r.checkpointEnd;
    this.#openedFrom = path === undefined ? "memory" : r.openedFrom;
    this.#replayedBytes = r.replayedBytes;
    this.#gen = file.generation;
    this.#ks.setWindows(file.windows);
    this.#ks.file = file;
    this.#w.crypto = r.keyspace.crypto;
    this.#gens = new Generations(file, r.keyspace);
    this.#policy = new WritePolicy(this.#policyHost(), opts.flushPolicy, opts.autoCompact);
  }

  #policyHost(): PolicyHost {
    // deno-lint-ignore no-this-alias
    const engine = this;
    return {
      get closed() {
        return engine.#closed;
      },
      get dirty() {
        return engine.#dirty;
      },
      flush: () => this.flush(),
      dataBytes: () => this.#end - HEADER_BYTES,
      liveBytes: () => this.#ks.liveBytes(),
      startCompaction: () => {
        if (this.maintenance !== undefined || this.#busy !== undefined) return;
        this.autoCompactError = undefined;
        compact(this, false).catch((e) => {
          this.autoCompactError = e;
        });
      },
    };
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The keyspace (for iterators and checkpoints). */
  get keyspace(): Keyspace {
    return this.#ks;
  }

  /** The journal's header. */
  get header(): Header {
    return this.#header;
  }

  /** Where the journal's data ends. */
  get end(): number {
    return this.#end;
  }

  /** Throws `CLOSED` after `close()`. */
  check(): void {
    if (this.#closed) throw closedError(this.path);
  }

  /** Throws `CLOSED`, or `BUSY` while user code runs inside a write (setMany's iterable, a transaction callback). */
  #beginWrite(): void {
    if (this.#closed) throw closedError(this.path);
    if (this.#busy !== undefined) {
      throw new EmdbError("BUSY", `Cannot write now: ${this.#busy}; write after it returns`, { path: this.path });
    }
  }

  /**
   * Runs user code that must not write directly (it would interleave with a
   * batch being built); a direct write meanwhile throws `BUSY`.
   *
   * @param what Says what is running, for the error message.
   * @param fn The user code.
   * @returns What `fn` returns.
   */
  exclusive<T>(what: string, fn: () => T): T {
    this.#beginWrite();
    this.#busy = what;
    try {
      return fn();
    } finally {
      this.#busy = undefined;
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * Finds the live record of a key; returns its offset or -1. Leaves the key's
   * index bytes (the key, or its lookup tag when encrypted) in the key buffer,
   * their length in `probeLen`.
   */
  find(space: Space, key: Key): number {
    if (this.#closed) throw closedError(this.path);
    const kb = this.#kbuf;
    let klen = writeKey(key, kb, 0);
    const ks = this.#ks;
    ks.revive();
    if (ks.crypto !== undefined) klen = this.#tagProbe(space, kb, 0, klen);
    this.probeLen = klen;
    const off = space.hash.find(ks.hash(kb, 0, klen), kb, 0, klen, ks);
    if (off < 0) return -1;
    return this.#expired(off) ? -1 : off;
  }

  /** Length of the key bytes {@linkcode Engine.find} left in the key buffer. */
  probeLen = 0;
  #tagBuf = new Uint8Array(16);

  /** Replaces `key[start, start + len)` in the key buffer by its lookup tag; returns the tag's length. */
  #tagProbe(space: Space, key: Uint8Array, start: number, len: number): number {
    this.#ks.crypto!.tagInto(space.id, key, start, len, this.#tagBuf, 0);
    this.#kbuf.set(this.#tagBuf, 0);
    return LOOKUP_TAG_BYTES;
  }

  /** Finds the live record of key bytes; returns its offset or -1. */
  findBytes(space: Space, key: Uint8Array): number {
    if (this.#closed) throw closedError(this.path);
    const ks = this.#ks;
    ks.revive();
    let probe = key;
    let len = key.length;
    if (ks.crypto !== undefined) {
      len = this.#tagProbe(space, key, 0, key.length);
      probe = this.#kbuf;
    }
    const off = space.hash.find(ks.hash(probe, 0, len), probe, 0, len, ks);
    if (off < 0) return -1;
    return this.#expired(off) ? -1 : off;
  }

  /** Whether the record at `off` carries an expiry that has passed. */
  #expired(off: number): boolean {
    const ks = this.#ks;
    const buf = ks.bufAt(off);
    const p = ks.localAt(off);
    if ((buf[p + 5]! & FLAG_EXPIRES) === 0) return false;
    return recordExpiry(buf, p) <= this.opts.clock();
  }

  #damaged(off: number, why: string): EmdbError {
    return new EmdbError(
      "CORRUPTED",
      `Cannot read from "${this.path ?? "(in memory)"}": the record at byte ${off} ${why}`,
      {
        path: this.path,
        offset: off,
      },
    );
  }

  /** Verifies the record at `off` (once per handle); throws `CORRUPTED` when it is damaged. */
  verified(off: number): void {
    if (!this.#ks.verify(off, this.#end)) throw this.#damaged(off, "is damaged");
  }

  /** Whether records are encrypted. */
  get encrypted(): boolean {
    return this.#ks.crypto !== undefined;
  }

  /**
   * The value of the (verified, authenticated) record at `off`: a view of the
   * mapping, or for an encrypted record a view of a scratch buffer valid until
   * the next read. Callers copy what they keep.
   */
  valueBytes(off: number): Uint8Array {
    this.verified(off);
    const ks = this.#ks;
    if (ks.crypto !== undefined) return this.#opened(off).value;
    const buf = ks.bufAt(off);
    const p = ks.localAt(off);
    const vs = recordValueStart(buf, p);
    return buf.subarray(vs, vs + recordValueLen(buf, p));
  }

  /** The decrypted key and value of the encrypted PUT at `off` (views of a scratch buffer). */
  #opened(off: number): { key: Uint8Array; value: Uint8Array } {
    const plain = this.#ks.openPut(off);
    const parts = plain === undefined ? undefined : splitPut(plain);
    if (parts === undefined) throw this.#damaged(off, "failed authentication (tampered, or moved from elsewhere)");
    return parts;
  }

  /** A view straight into the mapping (refused for encrypted records, whose bytes there are ciphertext). */
  valueView(off: number): Uint8Array {
    if (this.encrypted) {
      throw new EmdbError("UNSUPPORTED", "Cannot give a view of an encrypted value: read it with get() (a copy)", {
        path: this.path,
      });
    }
    return this.valueBytes(off);
  }

  /** A copy of the value of the (verified) record at `off`. */
  valueCopy(off: number): Uint8Array {
    return this.valueBytes(off).slice();
  }

  /** A copy of the key and value of the (verified) record at `off`. */
  entryCopy(off: number): { key: Uint8Array; value: Uint8Array; keyText: boolean } {
    this.verified(off);
    const ks = this.#ks;
    const buf = ks.bufAt(off);
    const p = ks.localAt(off);
    const keyText = (recordFlags(buf, p) & FLAG_KEY_TEXT) !== 0;
    if (ks.crypto !== undefined) {
      const { key, value } = this.#opened(off);
      return { key: key.slice(), value: value.slice(), keyText };
    }
    const k0 = recordKeyStart(buf, p);
    const vs = recordValueStart(buf, p);
    return { key: buf.slice(k0, vs), value: buf.slice(vs, vs + recordValueLen(buf, p)), keyText };
  }

  /** The version of the record at `off`: its origin when it was moved by a compaction, else its position. */
  versionAt(off: number): number {
    const origin = recordOrigin(this.#ks.bufAt(off), this.#ks.localAt(off));
    return origin >= 0 ? origin : this.#header.versionBase + off;
  }

  /** The expiry of the record at `off` (Unix ms), or Infinity. */
  expiryAt(off: number): number {
    const e = recordExpiry(this.#ks.bufAt(off), this.#ks.localAt(off));
    return e === 0 ? Infinity : e;
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Appends the `len` sealed bytes at the start of the write buffer and
   * returns their offset. A batch goes out as one positional write; a single
   * small record may be copied through the backend's writable mapping.
   */
  #append(len: number, batch: boolean): number {
    const off = this.#end;
    if (off + len > MAX_INDEXED_OFFSET) {
      throw new EmdbError("FULL", `Cannot write to "${this.path}": the journal reached its maximum size`, {
        path: this.path,
      });
    }
    if (off + len > this.#file.size) this.#growFor(off + len);
    const w = this.#w.buf;
    const data = len === w.length ? w : w.subarray(0, len);
    if (batch || this.#sinceSync < PWRITES_AFTER_SYNC) this.#file.write(data, off);
    else this.#file.writeRecord(data, off);
    this.#sinceSync++;
    this.#end = off + len;
    this.#dirty = true;
    this.#ks.verified.addRange(off, off + len);
    return off;
  }

  #growFor(need: number): void {
    const pre = this.opts.preallocateBytes;
    // Double (at least 1 MiB, at most `preallocateBytes` ahead): few growth steps, each of which re-wraps the map.
    const step = pre === 0 ? 0 : Math.min(pre, Math.max(MIN_STEP, this.#end));
    const size = Math.ceil((need + step) / ALIGN) * ALIGN;
    this.#file.grow(size);
    if (this.#file.generation !== this.#gen) {
      this.#gen = this.#file.generation;
      this.#ks.setWindows(this.#file.windows);
    }
  }

  /** Appends the write buffer's `len` bytes, applies them to the indexes, then honours the flush policy. */
  #commit(len: number, batch: boolean, now: number): number {
    const off = this.#append(len, batch);
    this.#ks.revive();
    this.#ks.apply(this.#w.buf, 0, off, now);
    this.#w.shrink(len);
    this.#policy.afterWrite(this.#end);
    return off;
  }

  /**
   * Stores a value.
   *
   * @param expires Expiry in Unix ms, or 0 for none.
   * @param now The clock's time (only read when `expires` is set).
   */
  set(space: Space, key: Key, value: Value, expires: number, now: number): void {
    this.#beginWrite();
    const w = this.#w;
    w.reserve(w.putBound(key, value), 0);
    const len = w.put(0, space.id, key, value, expires, this.#end);
    this.#commit(len, false, now);
  }

  /**
   * Removes a key.
   *
   * @returns Whether a live key was removed.
   */
  delete(space: Space, key: Key): boolean {
    this.#beginWrite();
    const off = this.find(space, key);
    const klen = this.probeLen;
    if (off < 0) {
      // An expired key is gone already: forget it without writing anything.
      const kb = this.#kbuf;
      if (space.hash.find(this.#ks.hash(kb, 0, klen), kb, 0, klen, this.#ks) >= 0) {
        this.#ks.evictExpired(space, this.opts.clock());
      }
      return false;
    }
    const w = this.#w;
    w.reserve(w.smallBound(klen), 0);
    const len = w.deleteBytes(0, space.id, this.#kbuf, 0, klen, typeof key === "string", this.#end, this.encrypted);
    this.#commit(len, false, 0);
    return true;
  }

  /**
   * Stores many pairs as one batch record with one write, all or nothing.
   *
   * @param entries The pairs (read once).
   * @param expiresOf Resolves an entry's expiry (Unix ms or 0) from its third element.
   * @param now The clock's time.
   * @returns How many records were written.
   */
  setMany(space: Space, entries: Iterable<ManyEntry>, expiresOf: (opts: unknown) => number, now: number): number {
    this.#beginWrite();
    if (entries === null || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError("setMany() takes an iterable of [key, value] pairs");
    }
    const w = this.#w;
    let pos = RECORD_HEADER_BYTES;
    let count = 0;
    this.#busy = "setMany() is reading its entries";
    try {
      for (const entry of entries) {
        if (entry === null || typeof entry !== "object" || typeof (entry as ArrayLike<unknown>).length !== "number") {
          throw new TypeError(`setMany() entry ${count} is not a [key, value] pair`);
        }
        const key = entry[0];
        const value = entry[1];
        const expires = entry.length > 2 ? expiresOf(entry[2]) : expiresOf(undefined);
        const bound = w.putBound(key, value);
        if (pos + bound > MAX_FRAME_BYTES + 64) {
          throw new RangeError(
            `setMany() batch too large: ${count + 1} entries need over ${
              pos + bound - 64
            } bytes; a batch holds at most ${MAX_FRAME_BYTES}: split it`,
          );
        }
        w.reserve(pos + bound, pos);
        pos += w.put(pos, space.id, key, value, expires, this.#end + pos);
        count++;
      }
    } finally {
      this.#busy = undefined;
    }
    this.check();
    if (count === 0) return 0;
    w.sealBatch(pos, count);
    // Big batches size the index once instead of doubling shards as their keys arrive.
    if (count >= 4096) space.hash.reserve(space.hash.size + count);
    this.#commit(pos, true, now);
    return count;
  }

  /**
   * Commits a transaction's writes (and namespace creations) as one batch.
   *
   * @param creates Namespaces to declare first: `[id, name]`.
   * @param writes The writes, at most one per key.
   * @param now The clock's time.
   * @returns The batch's version, or -1 when there was nothing to write.
   */
  commit(creates: readonly (readonly [number, string])[], writes: readonly BatchWrite[], now: number): number {
    this.#beginWrite();
    const w = this.#w;
    let pos = RECORD_HEADER_BYTES;
    let count = 0;
    for (const [id, name] of creates) {
      w.reserve(pos + w.smallBound(1024), pos);
      pos += w.namespace(pos, id, name, this.#end + pos);
      count++;
    }
    for (const op of writes) {
      if (op.value === undefined) {
        if (this.findBytes(op.space, op.key) < 0) continue;
        w.reserve(pos + w.smallBound(op.key.length), pos);
        pos += w.deleteBytes(pos, op.space.id, op.key, 0, op.key.length, op.keyText, this.#end + pos);
      } else {
        const bound = w.smallBound(16 + op.key.length) + op.value.length + 2;
        if (pos + bound > MAX_FRAME_BYTES) {
          throw new RangeError(`Transaction too large: over ${MAX_FRAME_BYTES} bytes; split it`);
        }
        w.reserve(pos + bound, pos);
        pos += w.putBytes(pos, op.space.id, op.keyText, op.key, op.value, op.expires, -1, this.#end + pos);
      }
      count++;
    }
    if (count === 0) return -1;
    w.sealBatch(pos, count);
    const off = this.#commit(pos, true, now);
    return this.#header.versionBase + off;
  }

  /** Removes every key of a namespace, durably (one CLEAR record, then a flush). */
  clear(space: Space): void {
    this.#beginWrite();
    this.#w.reserve(this.#w.smallBound(0), 0);
    this.#commit(this.#w.clear(0, space.id, this.#end), false, 0);
    this.flush();
  }

  /**
   * Removes a key's expiry by rewriting its record without one.
   *
   * @returns Whether the key had an expiry.
   */
  persist(space: Space, key: Key): boolean {
    this.#beginWrite();
    const off = this.find(space, key);
    if (off < 0) return false;
    const ks = this.#ks;
    if ((recordFlags(ks.bufAt(off), ks.localAt(off)) & FLAG_EXPIRES) === 0) return false;
    const e = this.entryCopy(off);
    const w = this.#w;
    w.reserve(w.smallBound(16 + e.key.length) + e.value.length + 2, 0);
    const len = w.putBytes(0, space.id, e.keyText, e.key, e.value, 0, -1, this.#end);
    this.#commit(len, false, 0);
    return true;
  }

  /** Evicts the expired keys of a namespace; returns how many. */
  sweep(space: Space): number {
    this.check();
    return this.#ks.evictExpired(space, this.opts.clock());
  }

  /** The next free namespace id. */
  nextNamespaceId(): number {
    return this.#ks.maxNsId + 1;
  }

  /**
   * Declares a new namespace (one NAMESPACE record).
   *
   * @returns Its space.
   */
  createNamespace(name: string): Space {
    this.#beginWrite();
    if (this.#ks.spaces.size - 1 >= MAX_NAMESPACES) {
      throw new EmdbError("FULL", `Cannot create namespace "${name}": a database holds at most ${MAX_NAMESPACES}`, {
        path: this.path,
      });
    }
    const id = this.nextNamespaceId();
    this.#w.reserve(this.#w.smallBound(1024), 0);
    this.#commit(this.#w.namespace(0, id, name, this.#end), false, 0);
    return this.#ks.spaces.get(id)!;
  }

  /** Drops a namespace and all its keys, durably (a NAMESPACE record with an empty name, then a flush). */
  dropNamespace(space: Space): void {
    this.#beginWrite();
    this.#w.reserve(this.#w.smallBound(0), 0);
    this.#commit(this.#w.namespace(0, space.id, "", this.#end), false, 0);
    this.flush();
  }

  // ---- durability and lifecycle ------------------------------------------------------------

  /** Makes every write so far durable with one fdatasync (nothing when nothing changed). */
  flush(): void {
    this.check();
    if (!this.#dirty) return;
    this.#file.sync();
    this.#dirty = false;
    this.#sinceSync = 0;
    this.#policy.synced();
  }

  // ---- generations: compaction switches journals while iterators read the old one ------------

  /**
   * Pins the current journal for an iterator: it stays mapped (and its
   * keyspace intact) until the release, even if a compaction switches files.
   *
   * @returns The keyspace to read through, the data's end, and the release.
   */
  pin(): { ks: Keyspace; end: number; release: () => void } {
    this.check();
    const pin = this.#gens.pin();
    return { ks: pin.ks, end: this.#end, release: pin.release };
  }

  /** What a rewrite needs from the current journal, pinned until `release()`. */
  rewriteSource(): { ks: Keyspace; header: Header; end: number; path: string | undefined; release: () => void } {
    const pin = this.pin();
    return { ks: pin.ks, header: this.#header, end: pin.end, path: this.path, release: pin.release };
  }

  /**
   * Switches to a rewritten journal (the compaction's last, synchronous step,
   * after the new file was synced and renamed over the old one). The old
   * journal is retired now, or when the last iterator reading it ends.
   */
  install(next: Installed): void {
    this.#file = next.file;
    this.#ks = next.ks;
    this.#w.crypto = next.ks.crypto;
    this.#header = next.header;
    this.#end = next.end;
    this.#gen = next.file.generation;
    this.#ks.setWindows(next.file.windows);
    this.#ks.file = next.file;
    this.#checkpointEnd = 0;
    this.#dirty = false;
    this.#sinceSync = 0;
    this.compactions++;
    this.#gens.replace(next.file, next.ks);
  }

  /** Appends a checkpoint marker, flushes, and writes `<path>.hint`. */
  checkpoint(): void {
    this.#beginWrite();
    if (this.path === undefined) return this.flush();
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    this.#w.reserve(64, 0);
    const marker = this.#commit(this.#w.marker(0, nonce), false, 0);
    this.flush();
    writeCheckpoint(this.io, this.path, this.#ks, this.#header.fileId, marker, nonce, this.#end);
    this.#checkpointEnd = this.#end;
  }

  stats(): EmdbStats {
    this.check();
    const ks = this.#ks;
    const now = this.opts.clock();
    for (const space of ks.spaces.values()) ks.evictExpired(space, now);
    const live = ks.liveRecords();
    const indexBytes = ks.indexBytes();
    const liveBytes = ks.liveBytes();
    const dataBytes = this.#end - HEADER_BYTES;
    const garbageBytes = Math.max(0, dataBytes - liveBytes);
    return {
      liveRecords: live,
      namespaceCount: ks.spaces.size - 1,
      logicalSizeBytes: this.#end,
      fileSizeBytes: this.#file.size,
      preallocatedBytes: Math.max(0, this.#file.size - this.#end),
      liveBytes,
      garbageBytes,
      garbageRatio: dataBytes === 0 ? 0 : garbageBytes / dataBytes,
      indexBytes,
      indexBytesPerKey: live === 0 ? 0 : indexBytes / live,
      checkpointOffset: this.#checkpointEnd,
      openedFrom: this.#openedFrom,
      replayedBytes: this.#replayedBytes,
      compactions: this.compactions,
      encrypted: this.#ks.crypto !== undefined,
    };
  }

  close(): void {
    if (this.#closed) return;
    let error: unknown;
    try {
      const grown = this.#end !== this.#checkpointEnd;
      // Inside setMany's iterable or a transaction the write buffer is in use: flush without a checkpoint.
      if (this.path !== undefined && this.opts.checkpointOnClose && grown && this.#busy === undefined) {
        this.checkpoint();
      } else {
        this.flush();
      }
    } catch (e) {
      error = e;
    }
    this.#closed = true;
    this.#policy.stop();
    error ??= this.#gens.retireOlder();
    try {
      this.#file.retire();
      this.#ks.setWindows([]);
      if (this.#file.size > this.#end && this.path !== undefined) this.#file.truncate(this.#end);
    } catch (e) {
      error ??= e;
    }
    try {
      this.#file.close();
    } catch (e) {
      error ??= e;
    }
    this.#lock?.release();
    if (error !== undefined) throw error;
  }
}
