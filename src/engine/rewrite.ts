/**
 * The rewriter: copies the live records of a snapshot into a new journal, in
 * bounded steps, and then the records written since the snapshot. Compaction
 * switches to the result; a backup renames it to its target.
 *
 * Each moved record keeps its version: a PUT gets an ORIGIN field holding the
 * version it had (its old position plus the old file's version base), so a
 * check made with a version read before the rewrite still holds after it. The
 * new file's version base starts past every old version, so new writes get
 * versions above all of them.
 *
 * Memory stays bounded: records stream through one write buffer of a few MiB;
 * the new file's index is built as records are written (a second index for
 * the duration, not a copy of the data).
 *
 * @module
 */
import { EmdbError } from "../errors.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { encodeHeader, ENCRYPTION_BLOCK, type Header, HEADER_BYTES, HEADER_ENCRYPTED } from "../format/header.ts";
import {
  checkedLength,
  FLAG_KEY_TEXT,
  innerLength,
  KIND_BATCH,
  KIND_CHECKPOINT,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  RECORD_HEADER_BYTES,
  recordExpiry,
  recordFlags,
  recordKeyLen,
  recordKeyStart,
  recordNs,
  recordOrigin,
  recordValueLen,
  recordValueStart,
} from "../format/record.ts";
import { type HashSnapshot, slotOffset } from "../index/hash_index.ts";
import type { OrderedCursor, OrderedSnapshot } from "../index/ordered_index.ts";
import type { JournalFile } from "../io/io.ts";
import { Keyspace } from "./keyspace.ts";
import type { Space } from "./space.ts";
import { RecordWriter } from "./writer.ts";
import { RecordCrypto, splitPut } from "./record_crypto.ts";
import { randomKey } from "./open.ts";

/** Bytes buffered before a write to the new file. */
const CHUNK = 2 * 1024 * 1024;
const ALIGN = 64 * 1024;

/** One namespace of the snapshot, and where the copy stands in it. */
interface SpaceCopy {
  id: number;
  name: string;
  /** Hash-order walk (when the ordered index was not built). */
  hash: HashSnapshot | undefined;
  shard: number;
  slot: number;
  /** Key-order walk (when it was): the new file then holds the namespace in key order. */
  ordered: OrderedSnapshot | undefined;
  cursor: OrderedCursor | undefined;
  /** New offsets in key order, for the new ordered index. */
  order: number[];
  declared: boolean;
}

/** What the rewriter reads from: the live journal as of the snapshot. */
export interface RewriteSource {
  ks: Keyspace;
  header: Header;
  /** End of the source journal's data when the snapshot was taken. */
  end: number;
  path: string | undefined;
}

/** Copies a snapshot of a keyspace into a new journal file. */
export class Rewriter {
  readonly file: JournalFile;
  readonly ks: Keyspace;
  readonly header: Header;
  /** Where the next record goes in the new file. */
  end: number = HEADER_BYTES;
  /** How far into the source journal the new file reflects (the snapshot's end, then the catch-up's). */
  copiedTo: number;
  #src: RewriteSource;
  #w = new RecordWriter();
  #pos = 0;
  #spaces: SpaceCopy[];
  #space = 0;
  #snapshotDone = false;

  /**
   * Starts a rewrite: writes the new header and freezes every namespace.
   *
   * @param src The source journal.
   * @param file The new, empty journal file.
   * @param header The new file's header (its encryption fields are set from `keyring`).
   * @param keyring The keys to seal the new file with, or `undefined` for plaintext.
   */
  constructor(src: RewriteSource, file: JournalFile, header: Header, keyring: Keyring | undefined) {
    this.#src = src;
    this.file = file;
    this.copiedTo = src.end;
    if (file.size > 0) file.truncate(0);
    const estimate = HEADER_BYTES + src.ks.liveBytes() + 8 * src.ks.liveRecords() + 64 * src.ks.spaces.size;
    file.grow(Math.ceil(estimate / ALIGN) * ALIGN);
    // The new file's keys: its own records are bound to its own id.
    const crypto = keyring === undefined ? undefined : new RecordCrypto(keyring, header.fileId);
    this.header = keyring === undefined
      ? { ...header, flags: 0, encryption: new Uint8Array(ENCRYPTION_BLOCK.bytes) }
      : { ...header, flags: HEADER_ENCRYPTED, encryption: keyring.block(header.fileId) };
    file.write(encodeHeader(this.header), 0);
    this.#w.crypto = crypto;
    const [k0, k1] = keyring?.indexKey ?? (src.ks.crypto === undefined ? [src.ks.k0, src.ks.k1] : randomKey());
    this.ks = new Keyspace(k0, k1, crypto);
    this.ks.setWindows(file.windows);
    this.ks.file = file;
    // Ids of dropped namespaces are not handed out again while this handle lives.
    this.ks.maxNsId = src.ks.maxNsId;
    this.#spaces = [...src.ks.spaces.values()].map((s) => this.#freeze(s));
  }

  #freeze(s: Space): SpaceCopy {
    const ordered = s.ordered.built ? s.ordered.snapshot() : undefined;
    return {
      id: s.id,
      name: s.name,
      hash: ordered ? undefined : s.hash.snapshot(),
      shard: 0,
      slot: 0,
      ordered,
      cursor: ordered?.seek(new Uint8Array(0), 0, -1, false),
      order: [],
      declared: s.id === 0,
    };
  }

  /** Releases the snapshots (after the copy, or when the rewrite is abandoned). */
  release(): void {
    for (const c of this.#spaces) {
      c.hash?.release();
      c.ordered?.release();
      c.hash = undefined;
      c.ordered = undefined;
    }
  }

  /** Whether every record of the snapshot is in the new file. */
  get snapshotDone(): boolean {
    return this.#snapshotDone;
  }

  /**
   * Copies live records of the snapshot until about `budget` bytes were written.
   *
   * @param now The clock's time: records expired by then are dropped.
   * @returns True when the snapshot is fully copied.
   * @throws {EmdbError} `CORRUPTED` when a record to copy is damaged.
   */
  copySnapshot(budget: number, now: number): boolean {
    this.#src.ks.revive();
    const stopAt = this.end + this.#pos + budget;
    while (this.#space < this.#spaces.length) {
      const c = this.#spaces[this.#space]!;
      if (!c.declared) {
        this.#w.reserve(this.#pos + this.#w.smallBound(1024), this.#pos);
        this.#pos += this.#w.namespace(this.#pos, c.id, c.name, this.end + this.#pos);
        this.ks.restoreSpace(c.id, c.name);
        c.declared = true;
      }
      for (;;) {
        if (this.end + this.#pos >= stopAt) {
          this.#flushChunk();
          return false;
        }
        const off = this.#nextOffset(c);
        if (off < 0) break;
        this.#copyRecord(c, off, now);
        if (this.#pos >= CHUNK) this.#flushChunk();
      }
      this.#flushChunk();
      const space = this.ks.space(c.id)!;
      if (c.ordered !== undefined) {
        space.ordered.load(Float64Array.from(c.order), c.order.length);
        c.order = [];
      }
      c.hash?.release();
      c.ordered?.release();
      c.hash = undefined;
      c.ordered = undefined;
      this.#space++;
    }
    this.#snapshotDone = true;
    return true;
  }

  #nextOffset(c: SpaceCopy): number {
    if (c.cursor !== undefined) return c.cursor.next();
    const shards = c.hash!.shards;
    while (c.shard < shards.length) {
      const t = shards[c.shard]!;
      while (c.slot < t.length) {
        const w0 = t[c.slot]!;
        const w1 = t[c.slot + 1]!;
        c.slot += 2;
        if ((w0 | w1) !== 0) return slotOffset(w0, w1);
      }
      c.shard++;
      c.slot = 0;
    }
    return -1;
  }

  #damaged(off: number): EmdbError {
    const where = this.#src.path ?? "(in memory)";
    return new EmdbError("CORRUPTED", `Cannot rewrite "${where}": the record at byte ${off} is damaged`, {
      path: this.#src.path,
      offset: off,
    });
  }

  #copyRecord(c: SpaceCopy, off: number, now: number): void {
    const src = this.#src.ks;
    const buf = src.bufAt(off);
    const p = src.localAt(off);
    const expires = recordExpiry(buf, p);
    if (expires !== 0 && expires <= now) return;
    if (!src.verify(off, this.#src.end)) throw this.#damaged(off);
    const at = this.#pos;
    const newOff = this.end + at;
    const len = this.#putMoved(buf, p, off, c.id);
    const space = this.ks.space(c.id)!;
    // The new record's index bytes (its key, or its lookup tag under the new keys) hashed with the new hash key.
    const w = this.#w.buf;
    space.hash.insertUnique(this.ks.hash(w, recordKeyStart(w, at), recordKeyLen(w, at)), newOff);
    space.liveBytes += len;
    if (expires !== 0) space.expiry.push(expires, newOff);
    if (c.ordered !== undefined) c.order.push(newOff);
  }

  /** Encodes a copy of the PUT at `p` (source offset `off`) with its version kept; returns its length. */
  #putMoved(buf: Uint8Array, p: number, off: number, nsId: number): number {
    let key: Uint8Array;
    let value: Uint8Array;
    const src = this.#src.ks;
    if (src.crypto !== undefined) {
      const plain = src.openPut(off);
      const parts = plain === undefined ? undefined : splitPut(plain);
      if (parts === undefined) throw this.#damaged(off);
      ({ key, value } = parts);
    } else {
      const ks = recordKeyStart(buf, p);
      const vs = recordValueStart(buf, p);
      key = buf.subarray(ks, vs);
      value = buf.subarray(vs, vs + recordValueLen(buf, p));
    }
    const origin = recordOrigin(buf, p);
    const version = origin >= 0 ? origin : this.#src.header.versionBase + off;
    this.#w.reserve(this.#pos + this.#w.smallBound(16 + key.length) + value.length + 2, this.#pos);
    const len = this.#w.putBytes(
      this.#pos,
      nsId,
      (recordFlags(buf, p) & FLAG_KEY_TEXT) !== 0,
      key,
      value,
      recordExpiry(buf, p),
      version,
      this.end + this.#pos,
    );
    this.#pos += len;
    return len;
  }

  /** Writes the buffered records to the new file. */
  #flushChunk(): void {
    if (this.#pos === 0) return;
    const need = this.end + this.#pos;
    if (need > this.file.size) this.file.grow(Math.ceil((need + (need >> 3)) / ALIGN) * ALIGN);
    this.file.write(this.#w.buf.subarray(0, this.#pos), this.end);
    this.ks.verified.addRange(this.end, need);
    this.end = need;
    this.#pos = 0;
    this.ks.setWindows(this.file.windows);
    this.#w.shrink(this.#w.buf.length);
  }

  /**
   * Copies the records the source journal received since the snapshot (up to
   * `to`), each re-encoded with its version kept, and applies them to the new
   * index through the keyspace's one apply path.
   *
   * @param to End of the source journal's data now.
   * @param now The clock's time.
   */
  catchUp(to: number, now: number): void {
    this.#flushChunk();
    this.#src.ks.revive();
    const src = this.#src.ks;
    let pos = this.copiedTo;
    while (pos < to) {
      const buf = src.bufAt(pos);
      const p = src.localAt(pos);
      const len = checkedLength(buf, p, p + (to - pos), false);
      // These records were written by this handle since the snapshot, so they are verified already.
      if (len < 0 || !src.verify(pos, to)) throw this.#damaged(pos);
      if (buf[p + 4] !== KIND_CHECKPOINT) {
        if (buf[p + 4] === KIND_BATCH) this.#moveBatch(buf, p, pos, len);
        else this.#moveOne(buf, p, pos, len);
        if (this.#pos > 0) {
          const newOff = this.end;
          this.#flushChunk();
          this.ks.apply(this.ks.bufAt(newOff), this.ks.localAt(newOff), newOff, now);
        }
      }
      pos += len;
    }
    this.copiedTo = to;
  }

  /**
   * Whether a PUT written since the snapshot was overwritten by a later PUT of
   * the same key (then it need not be copied). The latest PUT of a key is
   * always copied, even expired or followed by a deletion: it carries the
   * key's fate.
   */
  #superseded(buf: Uint8Array, p: number, off: number): boolean {
    const src = this.#src.ks;
    const space = src.spaces.get(recordNs(buf, p));
    if (space === undefined) return false;
    const ks = recordKeyStart(buf, p);
    const kl = recordKeyLen(buf, p);
    return space.hash.find(src.hash(buf, ks, kl), buf, ks, kl, src) > off;
  }

  /**
   * Re-encodes one record written since the snapshot, bound to its new place
   * (a PUT with its version kept); returns false when skipped. Only a rewrite
   * under the same keys follows writes (compaction), so a deletion's lookup
   * tag carries over as it is.
   */
  #moveOne(buf: Uint8Array, p: number, off: number, len: number): boolean {
    const kind = buf[p + 4];
    const nsId = recordNs(buf, p);
    const w = this.#w;
    const at = this.end + this.#pos;
    const src = this.#src.ks;
    if (kind === KIND_PUT) {
      if (this.#superseded(buf, p, off)) return false;
      this.#putMoved(buf, p, off, nsId);
      return true;
    }
    w.reserve(this.#pos + w.smallBound(1024) + len, this.#pos);
    if (kind === KIND_DELETE) {
      const ks = recordKeyStart(buf, p);
      const keyText = (recordFlags(buf, p) & FLAG_KEY_TEXT) !== 0;
      this.#pos += w.deleteBytes(this.#pos, nsId, buf, ks, recordKeyLen(buf, p), keyText, at, src.crypto !== undefined);
    } else if (kind === KIND_CLEAR) {
      this.#pos += w.clear(this.#pos, nsId, at);
    } else if (kind === KIND_NAMESPACE) {
      const name = src.crypto === undefined
        ? buf.subarray(p + RECORD_HEADER_BYTES, p + RECORD_HEADER_BYTES + recordKeyLen(buf, p))
        : src.crypto.open(buf, p, p + RECORD_HEADER_BYTES, recordValueLen(buf, p), off);
      if (name === undefined) throw this.#damaged(off);
      this.#pos += w.namespace(this.#pos, nsId, new TextDecoder().decode(name), at);
    }
    return true;
  }

  /** Re-encodes a batch at the start of the (empty) write buffer. */
  #moveBatch(buf: Uint8Array, p: number, off: number, len: number): void {
    this.#w.reserve(RECORD_HEADER_BYTES, 0);
    this.#pos = RECORD_HEADER_BYTES;
    let count = 0;
    const end = p + len;
    for (let q = p + RECORD_HEADER_BYTES; q < end;) {
      const l = innerLength(buf, q, end);
      if (l < 0) throw this.#damaged(off);
      if (this.#moveOne(buf, q, off + (q - p), l)) count++;
      q += l;
    }
    if (count === 0) this.#pos = 0;
    else this.#w.sealBatch(this.#pos, count);
  }
}
