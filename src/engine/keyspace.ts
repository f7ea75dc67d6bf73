/**
 * The keyspace: the indexes of every namespace over the journal's memory.
 *
 * It confirms index candidates by comparing key bytes in the journal
 * ({@linkcode KeySource}) and applies replayed frames ({@linkcode ReplaySink}).
 *
 * @module
 */
import {
  FLAG_EXPIRES,
  FRAME_HEADER_BYTES,
  frameLength,
  keyStart,
  KIND_BATCH,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  u16,
  u32,
} from "../format/frame.ts";
import { halfSipHash } from "../index/halfsiphash.ts";
import { HashIndex, type KeySource } from "../index/hash_index.ts";
import { WINDOW_BYTES } from "../io/io.ts";
import type { ReplaySink } from "./recovery.ts";

/** Most namespaces a journal may declare (bounds memory for crafted files). */
export const MAX_NAMESPACES = 4096;

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Indexes of all namespaces plus the journal memory they point into. */
export class Keyspace implements KeySource, ReplaySink {
  /** Readable windows of the journal. */
  windows: readonly Uint8Array[] = [];
  /** Window 0 (file offsets below 1 GiB), kept apart for the hot path. */
  win0: Uint8Array = EMPTY;
  /** Index of the default namespace (id 0). */
  readonly main: HashIndex = new HashIndex();
  /** Index of every namespace, by id. */
  readonly spaces: Map<number, HashIndex> = new Map([[0, this.main]]);
  /** Namespace names, by id. */
  readonly names: Map<number, string> = new Map();
  /** Hash key, word 0. */
  k0: number;
  /** Hash key, word 1. */
  k1: number;

  /**
   * @param k0 Hash key word 0 (random per database generation).
   * @param k1 Hash key word 1.
   */
  constructor(k0: number, k1: number) {
    this.k0 = k0;
    this.k1 = k1;
  }

  /** Points at a new set of windows (after the file grew). */
  setWindows(windows: readonly Uint8Array[]): void {
    this.windows = windows;
    this.win0 = windows[0] ?? EMPTY;
  }

  /** The window holding the frame at file offset `off`. */
  bufAt(off: number): Uint8Array {
    return off < WINDOW_BYTES ? this.win0 : this.windows[Math.floor(off / WINDOW_BYTES)]!;
  }

  /** Where file offset `off` lies inside {@linkcode Keyspace.bufAt}'s window. */
  localAt(off: number): number {
    return off < WINDOW_BYTES ? off : off % WINDOW_BYTES;
  }

  /** Hashes key bytes with this keyspace's key. */
  hash(buf: Uint8Array, start: number, len: number): number {
    return halfSipHash(buf, start, len, this.k0, this.k1);
  }

  keyEquals(offset: number, key: Uint8Array, start: number, keyLen: number): boolean {
    const buf = this.bufAt(offset);
    const p = this.localAt(offset);
    if ((buf[p + 6]! | (buf[p + 7]! << 8)) !== keyLen) return false;
    const q = p + FRAME_HEADER_BYTES + ((buf[p + 5]! & FLAG_EXPIRES) !== 0 ? 8 : 0) - start;
    for (let i = start, end = start + keyLen; i < end; i++) if (buf[q + i] !== key[i]) return false;
    return true;
  }

  /** The index of a namespace, created on first use. */
  space(nsId: number): HashIndex {
    let idx = this.spaces.get(nsId);
    if (idx === undefined) {
      idx = new HashIndex();
      this.spaces.set(nsId, idx);
    }
    return idx;
  }

  check(buf: Uint8Array, local: number, len: number): string | undefined {
    if (buf[local + 4] !== KIND_BATCH) return this.#checkOne(buf, local, undefined);
    const declared = new Map<number, boolean>();
    const end = local + len;
    for (let p = local + FRAME_HEADER_BYTES; p < end; p += frameLength(buf, p, end, true)) {
      const reason = this.#checkOne(buf, p, declared);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }

  /** The namespace rules; `pending` tracks declarations made earlier in the same batch. */
  #checkOne(buf: Uint8Array, p: number, pending: Map<number, boolean> | undefined): string | undefined {
    const kind = buf[p + 4]!;
    const nsId = u32(buf, p + 12);
    if (kind !== KIND_NAMESPACE) {
      if (nsId === 0) return undefined;
      const known = pending?.get(nsId) ?? this.names.has(nsId);
      return known ? undefined : `frame uses undeclared namespace ${nsId}`;
    }
    if (nsId === 0) return "namespace record names id 0";
    const len = u16(buf, p + 6);
    try {
      utf8.decode(buf.subarray(p + FRAME_HEADER_BYTES, p + FRAME_HEADER_BYTES + len));
    } catch {
      return "namespace name is not UTF-8";
    }
    if (len > 0 && !this.names.has(nsId) && this.names.size + (pending?.size ?? 0) >= MAX_NAMESPACES) {
      return `more than ${MAX_NAMESPACES} namespaces`;
    }
    pending?.set(nsId, len > 0);
    return undefined;
  }

  /** Live keys in every namespace. */
  liveRecords(): number {
    let n = 0;
    for (const idx of this.spaces.values()) n += idx.size;
    return n;
  }

  /** Index bytes over every namespace. */
  indexBytes(): number {
    let n = 0;
    for (const idx of this.spaces.values()) n += idx.byteSize();
    return n;
  }

  frame(buf: Uint8Array, local: number, offset: number): void {
    const kind = buf[local + 4]!;
    const nsId = u32(buf, local + 12);
    switch (kind) {
      case KIND_PUT: {
        const ks = keyStart(buf, local);
        const len = u16(buf, local + 6);
        this.space(nsId).upsert(this.hash(buf, ks, len), buf, ks, len, this, offset);
        break;
      }
      case KIND_DELETE: {
        const ks = local + FRAME_HEADER_BYTES;
        const len = u16(buf, local + 6);
        this.space(nsId).remove(this.hash(buf, ks, len), buf, ks, len, this);
        break;
      }
      case KIND_CLEAR:
        this.space(nsId).clear();
        break;
      case KIND_NAMESPACE: {
        // check() has verified the id and the UTF-8 name.
        const len = u16(buf, local + 6);
        const name = utf8.decode(buf.subarray(local + FRAME_HEADER_BYTES, local + FRAME_HEADER_BYTES + len));
        if (name === "") {
          this.names.delete(nsId);
          this.spaces.delete(nsId);
        } else {
          this.names.set(nsId, name);
        }
        break;
      }
    }
  }
}
