/**
 * The keyspace: every namespace's indexes over the journal's memory, and the
 * one place where a record changes them.
 *
 * {@linkcode Keyspace.apply} is called for every record a live write appends
 * and for every record a replay reads, so a record kind or flag is taught
 * once. It also reads keys out of the journal for the indexes (hash
 * candidates are confirmed by comparing bytes there; the ordered index
 * compares keys there) and verifies records on their first read.
 *
 * @module
 */
import { halfSipHash } from "../index/halfsiphash.ts";
import type { KeySource } from "../index/hash_index.ts";
import type { OrderedKeySource } from "../index/ordered_index.ts";
import { type JournalFile, WINDOW_BYTES } from "../io/io.ts";
import {
  ENCRYPTED_FLAGS,
  FLAG_ENCRYPTED,
  innerLength,
  KIND_BATCH,
  KIND_CHECKPOINT,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  KNOWN_FLAGS,
  RECORD_HEADER_BYTES,
  recordExpiry,
  recordKeyLen,
  recordKeyStart,
  recordLength,
  recordNs,
  recordValueLen,
  recordValueStart,
  verifyRecord,
} from "../format/record.ts";
import type { RecordCrypto } from "./record_crypto.ts";
import { MAX_NAMESPACES, Space } from "./space.ts";
import { VerifiedSet } from "./verified.ts";

const EMPTY = new Uint8Array(0);
const EMPTY_WORDS = new Int32Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Every namespace's indexes plus the journal memory they point into. */
export class Keyspace implements KeySource, OrderedKeySource {
  /** Readable windows of the journal. */
  windows: readonly Uint8Array[] = [];
  /** The same windows as 32-bit words (for CRCs). */
  #words: Int32Array[] = [];
  /** Window 0 (file offsets below 1 GiB), kept apart for the hot path. */
  win0: Uint8Array = EMPTY;
  /** Namespaces by id; id 0 always exists. */
  readonly spaces: Map<number, Space> = new Map();
  /** Named namespaces by name. */
  readonly byName: Map<string, Space> = new Map();
  /** The default namespace. */
  readonly main: Space;
  /** Records this handle has verified. */
  readonly verified: VerifiedSet = new VerifiedSet();
  /** Hash key, word 0. */
  readonly k0: number;
  /** Hash key, word 1. */
  readonly k1: number;
  /** Highest namespace id ever bound (the next new one is above it). */
  maxNsId = 0;
  /** Seals and opens records, when the database is encrypted. */
  readonly crypto: RecordCrypto | undefined;
  /** The flag bits this file's records may carry. */
  readonly knownFlags: number;
  /** Plaintext keys of encrypted records, decrypted for the ordered index (by offset). */
  #plainKeys: Map<number, Uint8Array> = new Map();

  /**
   * @param k0 Hash key word 0 (random per database, or derived from the encryption key).
   * @param k1 Hash key word 1.
   * @param crypto Seals and opens records, for an encrypted database.
   */
  constructor(k0: number, k1: number, crypto?: RecordCrypto) {
    this.k0 = k0;
    this.k1 = k1;
    this.crypto = crypto;
    this.knownFlags = crypto === undefined ? KNOWN_FLAGS : ENCRYPTED_FLAGS;
    this.main = new Space(0, "", this);
    this.spaces.set(0, this.main);
  }

  /** The journal these windows come from (to make fresh ones when a user detached one). */
  file: JournalFile | undefined;

  /**
   * Makes sure no window was detached by a user who moved a view's buffer away
   * (then fresh windows are made over the same memory). One comparison when
   * nothing happened; called at the start of every read.
   */
  revive(): void {
    if (this.win0.byteLength !== 0 || this.file === undefined || this.windows.length === 0) return;
    this.file.refresh();
    this.setWindows(this.file.windows);
  }

  /** Points at a new set of windows (after the file grew). */
  setWindows(windows: readonly Uint8Array[]): void {
    this.windows = windows;
    this.#words = windows.map((w) => new Int32Array(w.buffer, w.byteOffset, w.byteLength >> 2));
    this.win0 = windows[0] ?? EMPTY;
  }

  /** The window holding the record at file offset `off`. */
  bufAt(off: number): Uint8Array {
    if (off < WINDOW_BYTES) return this.win0;
    const w = this.windows[Math.floor(off / WINDOW_BYTES)] ?? EMPTY;
    if (w.byteLength === 0 && this.file !== undefined) {
      // A window past the first was detached by a user: make fresh ones.
      this.file.refresh();
      this.setWindows(this.file.windows);
      return this.windows[Math.floor(off / WINDOW_BYTES)] ?? EMPTY;
    }
    return w;
  }

  /** Where file offset `off` lies inside {@linkcode Keyspace.bufAt}'s window. */
  localAt(off: number): number {
    return off < WINDOW_BYTES ? off : off % WINDOW_BYTES;
  }

  /** The 32-bit word view of the window holding `off`. */
  wordsAt(off: number): Int32Array {
    return this.#words[Math.floor(off / WINDOW_BYTES)] ?? EMPTY_WORDS;
  }

  /** Hashes key bytes with this keyspace's key. */
  hash(buf: Uint8Array, start: number, len: number): number {
    return halfSipHash(buf, start, len, this.k0, this.k1);
  }

  keyEquals(offset: number, key: Uint8Array, start: number, keyLen: number): boolean {
    const buf = offset < WINDOW_BYTES ? this.win0 : this.bufAt(offset);
    const p = offset < WINDOW_BYTES ? offset : offset % WINDOW_BYTES;
    if ((buf[p + 6]! | (buf[p + 7]! << 8)) !== keyLen) return false;
    const q = recordKeyStart(buf, p) - start;
    for (let i = start, end = start + keyLen; i < end; i++) if (buf[q + i] !== key[i]) return false;
    return true;
  }

  #keyOut = new Int32Array(2);

  compareRecords(a: number, b: number): number {
    const ka = this.keyAt(a, this.#keyOut);
    const sa = this.#keyOut[0]!;
    return -this.compareRecordTo(b, ka, sa, this.#keyOut[1]!);
  }

  compareRecordTo(offset: number, key: Uint8Array, start: number, len: number): number {
    let buf: Uint8Array;
    let ks: number;
    let kl: number;
    if (this.crypto === undefined) {
      buf = this.bufAt(offset);
      const p = this.localAt(offset);
      ks = recordKeyStart(buf, p);
      kl = recordKeyLen(buf, p);
    } else {
      buf = this.plainKey(offset);
      ks = 0;
      kl = buf.length;
    }
    const n = kl < len ? kl : len;
    for (let i = 0; i < n; i++) {
      const d = buf[ks + i]! - key[start + i]!;
      if (d !== 0) return d;
    }
    return kl - len;
  }

  keyAt(offset: number, out: Int32Array): Uint8Array {
    if (this.crypto !== undefined) {
      const key = this.plainKey(offset);
      out[0] = 0;
      out[1] = key.length;
      return key;
    }
    const buf = this.bufAt(offset);
    const p = this.localAt(offset);
    out[0] = recordKeyStart(buf, p);
    out[1] = recordKeyLen(buf, p);
    return buf;
  }

  /**
   * The plaintext of the encrypted PUT at `offset`, or `undefined` when it fails authentication.
   * (A view of a scratch buffer: valid until the next call.)
   */
  openPut(offset: number): Uint8Array | undefined {
    const buf = this.bufAt(offset);
    const p = this.localAt(offset);
    const vs = recordValueStart(buf, p);
    return this.crypto!.open(buf, p, vs, recordValueLen(buf, p), offset);
  }

  /** A record replaced another of the same key: its decrypted key carries over. */
  #forgetKey(old: number, offset: number): void {
    const key = this.#plainKeys.get(old);
    if (key === undefined) return;
    this.#plainKeys.delete(old);
    this.#plainKeys.set(offset, key);
  }

  /** The plaintext key of an encrypted record (decrypted once, then kept; empty when it fails authentication). */
  plainKey(offset: number): Uint8Array {
    let key = this.#plainKeys.get(offset);
    if (key === undefined) {
      const plain = this.openPut(offset);
      key = plain === undefined ? new Uint8Array(0) : plain.slice(2, 2 + (plain[0]! | (plain[1]! << 8)));
      this.#plainKeys.set(offset, key);
    }
    return key;
  }

  /**
   * Verifies the record at `offset` the first time this handle reads it.
   *
   * @param offset A record's offset (as stored in an index).
   * @param limit End of the journal's data.
   * @returns True when intact.
   */
  verify(offset: number, limit: number): boolean {
    if (this.verified.has(offset)) return true;
    const k = Math.floor(offset / WINDOW_BYTES);
    const buf = this.windows[k];
    if (buf === undefined) return false;
    const local = offset - k * WINDOW_BYTES;
    const end = Math.min(buf.length, limit - k * WINDOW_BYTES);
    const len = verifyRecord(buf, this.#words[k]!, local, end, false, this.knownFlags);
    if (len < 0) return false;
    this.verified.add(offset);
    return true;
  }

  /** The namespace with this id (`undefined` when not bound). */
  space(nsId: number): Space | undefined {
    return this.spaces.get(nsId);
  }

  /**
   * Checks the rules a record must follow beyond its CRC (for a batch, every
   * inner record) before any of it is applied: namespace ids must be declared,
   * names must be UTF-8, the number of namespaces is bounded.
   *
   * @returns Why the record is unacceptable, or `undefined` when it is fine.
   */
  check(buf: Uint8Array, p: number, len: number, offset: number): string | undefined {
    if (buf[p + 4] !== KIND_BATCH) return this.#checkOne(buf, p, offset, undefined);
    const declared = new Map<number, boolean>();
    const end = p + len;
    for (let q = p + RECORD_HEADER_BYTES; q < end; q += innerLength(buf, q, end, this.knownFlags)) {
      const reason = this.#checkOne(buf, q, offset + (q - p), declared);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /** The name of a NAMESPACE record (decrypted when sealed), or `undefined` when it does not authenticate. */
  #nameBytes(buf: Uint8Array, p: number, offset: number): Uint8Array | undefined {
    if (this.crypto === undefined) {
      return buf.subarray(p + RECORD_HEADER_BYTES, p + RECORD_HEADER_BYTES + recordKeyLen(buf, p));
    }
    return this.crypto.open(buf, p, p + RECORD_HEADER_BYTES, recordValueLen(buf, p), offset);
  }

  /** One record's rules; `pending` tracks namespaces declared (true) or dropped (false) earlier in a batch. */
  #checkOne(buf: Uint8Array, p: number, offset: number, pending: Map<number, boolean> | undefined): string | undefined {
    const kind = buf[p + 4]!;
    if (kind === KIND_CHECKPOINT) return undefined;
    if (this.crypto !== undefined) {
      if ((buf[p + 5]! & FLAG_ENCRYPTED) === 0) return "a plaintext record in an encrypted database";
      // Records that change the keyspace without a value to read later are authenticated now.
      if (kind !== KIND_PUT && kind !== KIND_NAMESPACE) {
        const vs = recordValueStart(buf, p);
        if (this.crypto.open(buf, p, vs, recordValueLen(buf, p), offset) === undefined) {
          return "a record failed authentication (tampered, or moved from elsewhere)";
        }
      }
    }
    const nsId = recordNs(buf, p);
    if (kind !== KIND_NAMESPACE) {
      if (nsId === 0) return undefined;
      const known = pending?.get(nsId) ?? this.spaces.has(nsId);
      return known ? undefined : `record uses undeclared namespace ${nsId}`;
    }
    if (nsId === 0) return "namespace record names id 0";
    const name = this.#nameBytes(buf, p, offset);
    if (name === undefined) return "a record failed authentication (tampered, or moved from elsewhere)";
    const len = name.length;
    try {
      utf8.decode(name);
    } catch {
      return "namespace name is not UTF-8";
    }
    let live = this.spaces.size - 1;
    if (pending) { for (const v of pending.values()) live += v ? 1 : 0; }
    if (len > 0 && !this.spaces.has(nsId) && live >= MAX_NAMESPACES) return `more than ${MAX_NAMESPACES} namespaces`;
    pending?.set(nsId, len > 0);
    return undefined;
  }

  /**
   * Applies one record (a batch: each of its records, in order) to the indexes.
   * The single path by which live writes and replay change the keyspace.
   *
   * @param buf Bytes holding the record (the journal's window, or the write buffer it was just appended from).
   * @param p Where the record starts in `buf`.
   * @param offset Where the record starts in the journal.
   * @param now The clock's time for judging expiry (Unix ms).
   */
  apply(buf: Uint8Array, p: number, offset: number, now: number): void {
    switch (buf[p + 4]) {
      case KIND_PUT:
        this.#put(buf, p, offset, now);
        break;
      case KIND_DELETE: {
        const space = this.spaces.get(recordNs(buf, p));
        if (space !== undefined) this.#remove(space, buf, p + RECORD_HEADER_BYTES, recordKeyLen(buf, p));
        break;
      }
      case KIND_CLEAR:
        this.spaces.get(recordNs(buf, p))?.reset();
        break;
      case KIND_NAMESPACE:
        this.#bind(recordNs(buf, p), utf8.decode(this.#nameBytes(buf, p, offset)!));
        break;
      case KIND_BATCH: {
        const end = p + RECORD_HEADER_BYTES + (buf[p + 8]! | (buf[p + 9]! << 8) | (buf[p + 10]! << 16) |
              (buf[p + 11]! << 24)) >>> 0;
        for (let q = p + RECORD_HEADER_BYTES; q < end;) {
          const len = recordLength(buf, q);
          this.apply(buf, q, offset + (q - p), now);
          q += len;
        }
        break;
      }
        // KIND_CHECKPOINT: a marker; nothing to apply.
    }
  }

  #put(buf: Uint8Array, p: number, offset: number, now: number): void {
    const space = this.spaces.get(recordNs(buf, p));
    if (space === undefined) return;
    const ks = recordKeyStart(buf, p);
    const kl = recordKeyLen(buf, p);
    const expires = recordExpiry(buf, p);
    if (expires !== 0 && expires <= now) {
      // Already expired: the key is gone, exactly as if this record were a deletion.
      this.#remove(space, buf, ks, kl);
      return;
    }
    const old = space.hash.upsert(this.hash(buf, ks, kl), buf, ks, kl, this, offset);
    if (old >= 0) {
      space.liveBytes -= recordLength(this.bufAt(old), this.localAt(old));
      space.ordered.noteReplace(old, offset);
      if (this.crypto !== undefined) this.#forgetKey(old, offset);
    } else {
      space.ordered.noteInsert(offset);
    }
    space.liveBytes += recordLength(buf, p);
    if (expires !== 0) space.expiry.push(expires, offset);
  }

  #remove(space: Space, key: Uint8Array, start: number, len: number): number {
    const old = space.hash.remove(this.hash(key, start, len), key, start, len, this);
    if (old >= 0) {
      space.liveBytes -= recordLength(this.bufAt(old), this.localAt(old));
      space.ordered.noteRemove(old);
      if (this.crypto !== undefined) this.#plainKeys.delete(old);
    }
    return old;
  }

  #bind(nsId: number, name: string): void {
    const current = this.spaces.get(nsId);
    if (current !== undefined) {
      current.reset();
      current.dropped = true;
      this.spaces.delete(nsId);
      if (this.byName.get(current.name) === current) this.byName.delete(current.name);
    }
    if (nsId > this.maxNsId) this.maxNsId = nsId;
    if (name === "") return;
    const previous = this.byName.get(name);
    if (previous !== undefined) {
      // A name names one namespace: binding it again replaces the older binding.
      previous.reset();
      previous.dropped = true;
      this.spaces.delete(previous.id);
    }
    const space = new Space(nsId, name, this);
    this.spaces.set(nsId, space);
    this.byName.set(name, space);
  }

  /**
   * Adds a namespace loaded from a checkpoint (before any replay).
   *
   * @returns The new namespace.
   */
  restoreSpace(nsId: number, name: string): Space {
    if (nsId === 0) return this.main;
    const space = new Space(nsId, name, this);
    this.spaces.set(nsId, space);
    this.byName.set(name, space);
    if (nsId > this.maxNsId) this.maxNsId = nsId;
    return space;
  }

  /**
   * Evicts the keys of `space` whose records expired at or before `now`.
   *
   * @param limit Most keys to evict in this call.
   * @returns How many keys were evicted.
   */
  evictExpired(space: Space, now: number, limit = Infinity): number {
    const q = space.expiry;
    let n = 0;
    while (n < limit && q.peek() <= now) {
      const off = q.peekOffset();
      q.pop();
      const buf = this.bufAt(off);
      const p = this.localAt(off);
      const ks = recordKeyStart(buf, p);
      const kl = recordKeyLen(buf, p);
      // A stale entry (the key was overwritten or deleted since) is just dropped.
      if (space.hash.find(this.hash(buf, ks, kl), buf, ks, kl, this) !== off) continue;
      this.#remove(space, buf, ks, kl);
      n++;
    }
    if (q.length > 64 && q.length > 2 * space.hash.size + 64) this.#rebuildExpiry(space);
    return n;
  }

  /** Drops the stale entries of a namespace's expiry queue. */
  #rebuildExpiry(space: Space): void {
    const live: number[] = [];
    space.expiry.forEach((at, off) => {
      const buf = this.bufAt(off);
      const p = this.localAt(off);
      const ks = recordKeyStart(buf, p);
      const kl = recordKeyLen(buf, p);
      if (space.hash.find(this.hash(buf, ks, kl), buf, ks, kl, this) === off) live.push(at, off);
    });
    space.expiry.clear();
    for (let i = 0; i < live.length; i += 2) space.expiry.push(live[i]!, live[i + 1]!);
  }

  /** Live keys in every namespace. */
  liveRecords(): number {
    let n = 0;
    for (const s of this.spaces.values()) n += s.size;
    return n;
  }

  /** Journal bytes held by live records, over every namespace. */
  liveBytes(): number {
    let n = 0;
    for (const s of this.spaces.values()) n += s.liveBytes;
    return n;
  }

  /** Bytes of memory held by every namespace's structures and the verification map. */
  indexBytes(): number {
    let n = this.verified.byteSize();
    for (const s of this.spaces.values()) n += s.byteSize();
    return n;
  }
}
