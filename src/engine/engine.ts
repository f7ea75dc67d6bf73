/**
 * The engine: reads from the journal's memory through the index, appends
 * frames with one positional write each, syncs on demand, checkpoints the
 * index and closes cleanly. The public `Emdb` class is a thin, documented
 * front over this.
 *
 * Hot paths: `get` is hash → probe → compare the key in the mapped journal →
 * copy the value out: no FFI call, no syscall, one allocation (the value).
 * `set` is encode → CRC → append → index update, where the append is one
 * `pwrite` for the first writes after a flush and then a copy into the
 * backend's writable mapping (no syscall). `setMany` encodes the whole batch
 * into one frame and writes it with one `pwrite`.
 *
 * @module
 */
import { type Key, keyBound, type Value, valueBound, writeKey, writeValue } from "../codec.ts";
import type { EmdbStats } from "../stats.ts";
import { EmdbError } from "../errors.ts";
import { crc32cWords } from "../format/crc32c.ts";
import {
  FLAG_EXPIRES,
  FRAME_HEADER_BYTES,
  KIND_BATCH,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_PUT,
  MAX_KEY_BYTES,
  pad8,
  u32,
  writeFrameHeader,
} from "../format/frame.ts";
import { MAX_INDEXED_OFFSET } from "../index/hash_index.ts";
import { type Io, type JournalFile, type LockHandle, MAX_FRAME_BYTES } from "../io/io.ts";
import type { ResolvedOptions } from "../options.ts";
import { encodeHint } from "./hint.ts";
import type { Keyspace } from "./keyspace.ts";
import type { OpenedFrom, Recovered } from "./open.ts";

export type { EmdbStats } from "../stats.ts";

const MIN_STEP = 1024 * 1024;
/**
 * Writes after a flush that still use `pwrite`: the first store into a page
 * that fdatasync just cleaned takes a write fault costing more than a few
 * syscalls, so mapped writes pay off only once several frames share a page.
 */
const PWRITES_AFTER_SYNC = 16;
const ALIGN = 64 * 1024;
const WBUF_MIN = 4 * MAX_KEY_BYTES + 4096;
const WBUF_KEEP = 16 * 1024 * 1024;

function closedError(path: string | undefined): EmdbError {
  return new EmdbError("CLOSED", `Cannot use database${path ? ` "${path}"` : ""}: it is closed`, { path });
}

/** A database engine over one journal. */
export class Engine {
  readonly path: string | undefined;
  #io: Io;
  #file: JournalFile;
  #lock: LockHandle | undefined;
  #opts: ResolvedOptions;
  #ks: Keyspace;
  #fileId: Uint8Array;
  #gen: number;
  #end: number;
  #lastFrame: number;
  #lastCrc: number;
  #checkpointEnd: number;
  #openedFrom: OpenedFrom;
  #replayedBytes: number;
  #dirty = false;
  #sinceSync = 0;
  #closed = false;
  #kbuf = new Uint8Array(3 * MAX_KEY_BYTES + 8);
  #wbuf = new Uint8Array(WBUF_MIN);
  #wdv = new DataView(this.#wbuf.buffer);
  #wwords = new Int32Array(this.#wbuf.buffer);
  #batchPos = new Int32Array(1024);
  #batchKey = new Int32Array(1024);
  #batchLen = new Int32Array(1024);

  constructor(
    io: Io,
    file: JournalFile,
    path: string | undefined,
    lock: LockHandle | undefined,
    opts: ResolvedOptions,
    r: Recovered,
  ) {
    this.path = path;
    this.#io = io;
    this.#file = file;
    this.#lock = lock;
    this.#opts = opts;
    this.#ks = r.keyspace;
    this.#fileId = r.fileId;
    this.#end = r.end;
    this.#lastFrame = r.lastFrame;
    this.#lastCrc = r.lastCrc;
    this.#checkpointEnd = r.checkpointEnd;
    this.#openedFrom = path === undefined ? "memory" : r.openedFrom;
    this.#replayedBytes = r.replayedBytes;
    this.#gen = file.generation;
    this.#ks.setWindows(file.windows);
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Live keys in the default namespace. */
  get size(): number {
    if (this.#closed) throw closedError(this.path);
    return this.#ks.main.size;
  }

  #check(): void {
    if (this.#closed) throw closedError(this.path);
  }

  /** Finds the frame of a key; returns its offset or -1. Leaves the key in #kbuf. */
  #find(key: Key): number {
    if (this.#closed) throw closedError(this.path);
    const kb = this.#kbuf;
    const klen = writeKey(key, kb, 0);
    const ks = this.#ks;
    const off = ks.main.find(ks.hash(kb, 0, klen), kb, 0, klen, ks);
    if (off < 0) return -1;
    return this.#expired(off) ? -1 : off;
  }

  /** Returns a view of a live value, or undefined. */
  #view(key: Key): Uint8Array | undefined {
    const off = this.#find(key);
    if (off < 0) return undefined;
    const buf = this.#ks.bufAt(off);
    const p = this.#ks.localAt(off);
    const vs = this.#valueStart(buf, p);
    return buf.subarray(vs, vs + u32(buf, p + 8));
  }

  get(key: Key): Uint8Array | undefined {
    const off = this.#find(key);
    if (off < 0) return undefined;
    const buf = this.#ks.bufAt(off);
    const p = this.#ks.localAt(off);
    const vs = this.#valueStart(buf, p);
    return buf.slice(vs, vs + u32(buf, p + 8));
  }

  /** Where the value of the PUT frame at `p` (inside `buf`) starts. */
  #valueStart(buf: Uint8Array, p: number): number {
    return p + FRAME_HEADER_BYTES + ((buf[p + 5]! & FLAG_EXPIRES) !== 0 ? 8 : 0) + (buf[p + 6]! | (buf[p + 7]! << 8));
  }

  getInto(key: Key, target: Uint8Array): number {
    if (!(target instanceof Uint8Array)) throw new TypeError("getInto() needs a Uint8Array target");
    const v = this.#view(key);
    if (v === undefined) return -1;
    if (v.length > target.length) {
      throw new RangeError(`getInto() target holds ${target.length} bytes; the value needs ${v.length}`);
    }
    target.set(v);
    return v.length;
  }

  getUnsafeView(key: Key): Uint8Array | undefined {
    return this.#view(key);
  }

  has(key: Key): boolean {
    return this.#find(key) >= 0;
  }

  /** Makes sure the write buffer holds `n` bytes, keeping its first `keep` bytes. */
  #reserve(n: number, keep: number): Uint8Array {
    if (n <= this.#wbuf.length) return this.#wbuf;
    let size = this.#wbuf.length;
    while (size < n) size *= 2;
    const next = new Uint8Array(size);
    if (keep > 0) next.set(this.#wbuf.subarray(0, keep));
    this.#wbuf = next;
    this.#wdv = new DataView(next.buffer);
    this.#wwords = new Int32Array(next.buffer);
    return next;
  }

  #shrinkWbuf(): void {
    if (this.#wbuf.length > WBUF_KEEP) {
      this.#wbuf = new Uint8Array(WBUF_MIN);
      this.#wdv = new DataView(this.#wbuf.buffer);
      this.#wwords = new Int32Array(this.#wbuf.buffer);
    }
  }

  /**
   * Seals the frame in `wbuf[0, len)` with its CRC and appends it; returns its
   * offset. A batch goes out as one positional write; a single small frame may
   * be copied through the backend's writable mapping (no system call).
   */
  #appendSealed(len: number, batch: boolean): number {
    const w = this.#wbuf;
    const crc = crc32cWords(w, this.#wwords, 4, len);
    this.#wdv.setUint32(0, crc, true);
    const off = this.#end;
    if (off + len > MAX_INDEXED_OFFSET) {
      throw new EmdbError("FULL", `Cannot write to "${this.path}": the journal reached its maximum size`, {
        path: this.path,
      });
    }
    if (off + len > this.#file.size) this.#growFor(off + len);
    const data = len === w.length ? w : w.subarray(0, len);
    if (batch || this.#sinceSync < PWRITES_AFTER_SYNC) this.#file.write(data, off);
    else this.#file.writeRecord(data, off);
    this.#sinceSync++;
    this.#end = off + len;
    this.#lastFrame = off;
    this.#lastCrc = crc;
    this.#dirty = true;
    return off;
  }

  #growFor(need: number): void {
    const pre = this.#opts.preallocateBytes;
    // Double (at least 1 MiB, at most `preallocateBytes` ahead): few growth steps, each of which re-wraps the map.
    const step = pre === 0 ? 0 : Math.min(pre, Math.max(MIN_STEP, this.#end));
    let size = need + step;
    size = Math.ceil(size / ALIGN) * ALIGN;
    this.#file.grow(size);
    this.#refresh();
  }

  #refresh(): void {
    if (this.#file.generation !== this.#gen) {
      this.#gen = this.#file.generation;
      this.#ks.setWindows(this.#file.windows);
    }
  }

  set(key: Key, value: Value): void {
    this.#check();
    const bound = valueBound(value);
    if (bound > MAX_FRAME_BYTES) {
      throw new RangeError(`Value too large: ${bound} bytes (max ${MAX_FRAME_BYTES - 65536})`);
    }
    const w = this.#reserve(FRAME_HEADER_BYTES + 3 * MAX_KEY_BYTES + bound + 8, 0);
    const klen = writeKey(key, w, FRAME_HEADER_BYTES);
    const vlen = writeValue(value, w, FRAME_HEADER_BYTES + klen);
    const raw = FRAME_HEADER_BYTES + klen + vlen;
    if (raw > MAX_FRAME_BYTES) throw new RangeError(`Value too large: ${vlen} bytes`);
    const len = pad8(raw);
    w.fill(0, raw, len);
    writeFrameHeader(this.#wdv, 0, KIND_PUT, 0, klen, vlen, 0);
    const off = this.#appendSealed(len, false);
    const ks = this.#ks;
    const wb = this.#wbuf;
    ks.main.upsert(ks.hash(wb, FRAME_HEADER_BYTES, klen), wb, FRAME_HEADER_BYTES, klen, ks, off);
    if (len > WBUF_KEEP) this.#shrinkWbuf();
  }

  delete(key: Key): boolean {
    this.#check();
    const kb = this.#kbuf;
    const klen = writeKey(key, kb, 0);
    const ks = this.#ks;
    const h = ks.hash(kb, 0, klen);
    // One probe: take the key out first, put it back if the tombstone cannot be written.
    const off = ks.main.remove(h, kb, 0, klen, ks);
    if (off < 0) return false;
    const live = !this.#expired(off);
    try {
      const w = this.#reserve(FRAME_HEADER_BYTES + klen + 8, 0);
      w.set(klen === kb.length ? kb : kb.subarray(0, klen), FRAME_HEADER_BYTES);
      const len = pad8(FRAME_HEADER_BYTES + klen);
      w.fill(0, FRAME_HEADER_BYTES + klen, len);
      writeFrameHeader(this.#wdv, 0, KIND_DELETE, 0, klen, 0, 0);
      this.#appendSealed(len, false);
    } catch (e) {
      ks.main.upsert(h, kb, 0, klen, ks, off);
      throw e;
    }
    return live;
  }

  /** Whether the frame at `off` carries an expiry that has passed. */
  #expired(off: number): boolean {
    const ks = this.#ks;
    const buf = ks.bufAt(off);
    const p = ks.localAt(off);
    if ((buf[p + 5]! & FLAG_EXPIRES) === 0) return false;
    return u32(buf, p + 16) + u32(buf, p + 20) * 2 ** 32 <= Date.now();
  }

  setMany(entries: Iterable<readonly [Key, Value]>): void {
    this.#check();
    if (entries === null || typeof (entries as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError("setMany() takes an iterable of [key, value] pairs");
    }
    let pos = FRAME_HEADER_BYTES;
    let count = 0;
    for (const entry of entries) {
      if (entry === null || typeof entry !== "object" || typeof (entry as ArrayLike<unknown>).length !== "number") {
        throw new TypeError(`setMany() entry ${count} is not a [key, value] pair`);
      }
      const key = entry[0];
      const value = entry[1];
      const bound = valueBound(value);
      const kBound = keyBound(key);
      if (pos + bound + kBound > MAX_FRAME_BYTES) {
        throw new RangeError(`setMany() batch too large: over ${MAX_FRAME_BYTES} bytes; split it`);
      }
      const w = this.#reserve(pos + FRAME_HEADER_BYTES + kBound + bound + 8, pos);
      const klen = writeKey(key, w, pos + FRAME_HEADER_BYTES);
      const vlen = writeValue(value, w, pos + FRAME_HEADER_BYTES + klen);
      const raw = FRAME_HEADER_BYTES + klen + vlen;
      const len = pad8(raw);
      w.fill(0, pos + raw, pos + len);
      writeFrameHeader(this.#wdv, pos, KIND_PUT, 0, klen, vlen, 0);
      if (count === this.#batchPos.length) this.#growBatch();
      this.#batchPos[count] = pos;
      this.#batchKey[count] = pos + FRAME_HEADER_BYTES;
      this.#batchLen[count] = klen;
      count++;
      pos += len;
    }
    if (count === 0) return;
    writeFrameHeader(this.#wdv, 0, KIND_BATCH, 0, 0, pos - FRAME_HEADER_BYTES, count);
    const off = this.#appendSealed(pos, true);
    const ks = this.#ks;
    const main = ks.main;
    const w = this.#wbuf;
    const bp = this.#batchPos;
    const bk = this.#batchKey;
    const bl = this.#batchLen;
    for (let i = 0; i < count; i++) {
      const ksPos = bk[i]!;
      const klen = bl[i]!;
      main.upsert(ks.hash(w, ksPos, klen), w, ksPos, klen, ks, off + bp[i]!);
    }
    if (pos > WBUF_KEEP) this.#shrinkWbuf();
  }

  #growBatch(): void {
    const n = this.#batchPos.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#batchPos = grow(this.#batchPos);
    this.#batchKey = grow(this.#batchKey);
    this.#batchLen = grow(this.#batchLen);
  }

  clear(): void {
    this.#check();
    this.#reserve(FRAME_HEADER_BYTES, 0);
    writeFrameHeader(this.#wdv, 0, KIND_CLEAR, 0, 0, 0, 0);
    this.#appendSealed(FRAME_HEADER_BYTES, false);
    this.#ks.main.clear();
    this.flush();
  }

  flush(): void {
    this.#check();
    if (!this.#dirty) return;
    this.#file.sync();
    this.#dirty = false;
    this.#sinceSync = 0;
  }

  checkpoint(): void {
    this.#check();
    this.#writeCheckpoint();
  }

  #writeCheckpoint(): void {
    this.flush();
    if (this.path === undefined) return;
    const ks = this.#ks;
    const spaces = [...ks.spaces.entries()].map(([nsId, idx]) => ({
      nsId,
      name: ks.names.get(nsId) ?? "",
      shards: idx.exportShards(),
    }));
    const bytes = encodeHint({
      fileId: this.#fileId,
      covered: this.#end,
      lastFrame: this.#lastFrame < 0 ? 0 : this.#lastFrame,
      lastCrc: this.#lastCrc,
      k0: ks.k0,
      k1: ks.k1,
      spaces,
    });
    this.#io.writeFileAtomic(`${this.path}.hint`, bytes);
    this.#checkpointEnd = this.#end;
  }

  stats(): EmdbStats {
    this.#check();
    const ks = this.#ks;
    const live = ks.liveRecords();
    const indexBytes = ks.indexBytes();
    return {
      liveRecords: live,
      namespaceCount: ks.names.size,
      logicalSizeBytes: this.#end,
      fileSizeBytes: this.#file.size,
      preallocatedBytes: Math.max(0, this.#file.size - this.#end),
      indexBytes,
      indexBytesPerKey: live === 0 ? 0 : indexBytes / live,
      checkpointOffset: this.#checkpointEnd,
      openedFrom: this.#openedFrom,
      replayedBytes: this.#replayedBytes,
      encrypted: false,
    };
  }

  close(): void {
    if (this.#closed) return;
    let error: unknown;
    try {
      const grown = this.#end !== this.#checkpointEnd;
      if (this.path !== undefined && this.#opts.checkpointOnClose && grown) this.#writeCheckpoint();
      else this.flush();
    } catch (e) {
      error = e;
    }
    this.#closed = true;
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
