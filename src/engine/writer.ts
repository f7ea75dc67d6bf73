/**
 * The write buffer: encodes records (and batches of records) through the
 * record layer into one reusable buffer, ready to be appended with one write.
 *
 * @module
 */
import { type Key, keyBound, type Value, valueBound, writeKey, writeValue } from "../codec.ts";
import {
  extraBytes,
  FLAG_ENCRYPTED,
  FLAG_EXPIRES,
  FLAG_KEY_TEXT,
  FLAG_ORIGIN,
  KIND_BATCH,
  KIND_CHECKPOINT,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  MARKER_BYTES,
  MAX_KEY_BYTES,
  RECORD_HEADER_BYTES,
  sealBatch,
  sealRecord,
  writeExtras,
  writeRecordHeader,
} from "../format/record.ts";
import { MAX_FRAME_BYTES } from "../io/io.ts";
import { LOOKUP_TAG_BYTES, type RecordCrypto, SEAL_OVERHEAD } from "./record_crypto.ts";

const MIN_BYTES = 4 * MAX_KEY_BYTES + 4096;
const KEEP_BYTES = 16 * 1024 * 1024;
/** Most bytes of header and optional fields a record can have. */
const MAX_HEAD = RECORD_HEADER_BYTES + 16;

const utf8 = new TextEncoder();

const EMPTY = new Uint8Array(0);

/** A reusable buffer that records are encoded into before they are appended. */
export class RecordWriter {
  /** Seals records when the database is encrypted. */
  crypto: RecordCrypto | undefined;
  /** The buffer (replaced when it grows). */
  buf: Uint8Array = new Uint8Array(MIN_BYTES);
  #dv: DataView = new DataView(this.buf.buffer);
  #words: Int32Array = new Int32Array(this.buf.buffer);

  /** Makes sure the buffer holds `n` bytes, keeping its first `keep` bytes. */
  reserve(n: number, keep: number): void {
    if (n <= this.buf.length) return;
    let size = this.buf.length;
    while (size < n) size *= 2;
    const next = new Uint8Array(size);
    if (keep > 0) next.set(this.buf.subarray(0, keep));
    this.#use(next);
  }

  /**
   * Returns to a small buffer after a write of more than 16 MiB, so a one-off
   * big value does not pin memory (batches up to that size keep their buffer:
   * growing it again each time would cost more than the memory).
   *
   * @param used Bytes the write just used.
   */
  shrink(used: number): void {
    if (used > KEEP_BYTES) this.#use(new Uint8Array(MIN_BYTES));
  }

  #use(buf: Uint8Array): void {
    this.buf = buf;
    this.#dv = new DataView(buf.buffer);
    this.#words = new Int32Array(buf.buffer);
  }

  /**
   * Encodes a PUT of a key and value given by the caller at `pos`.
   *
   * @param pos Where the record starts (8-aligned; the buffer must have room, see {@linkcode RecordWriter.putBound}).
   * @param nsId Namespace id.
   * @param key The key.
   * @param value The value.
   * @param expires Expiry (Unix ms), or 0 for none.
   * @param at Where the record will live in the journal (encrypted records are bound to it).
   * @returns The padded record length.
   */
  put(pos: number, nsId: number, key: Key, value: Value, expires: number, at: number): number {
    const keyText = typeof key === "string";
    if (this.crypto !== undefined) {
      // Sealed: the key and value are encoded into a scratch plaintext first.
      const plain = this.crypto.scratch(2 + keyBound(key) + valueBound(value));
      const klen = writeKey(key, plain, 2);
      const vlen = writeValue(value, plain, 2 + klen);
      plain[0] = klen;
      plain[1] = klen >>> 8;
      return this.#sealedPut(pos, nsId, keyText, plain, 2 + klen + vlen, expires, -1, at);
    }
    const flags = (keyText ? FLAG_KEY_TEXT : 0) | (expires !== 0 ? FLAG_EXPIRES : 0);
    const ks = pos + RECORD_HEADER_BYTES + extraBytes(flags);
    const buf = this.buf;
    const klen = writeKey(key, buf, ks);
    const vlen = writeValue(value, buf, ks + klen);
    const raw = ks + klen + vlen - pos;
    if (raw > MAX_FRAME_BYTES) throw tooLarge(klen, vlen);
    writeRecordHeader(this.#dv, pos, KIND_PUT, flags, klen, vlen, nsId);
    if (flags & FLAG_EXPIRES) writeExtras(this.#dv, pos, flags, expires, 0);
    return sealRecord(buf, this.#words, pos, raw);
  }

  /** A sealed PUT whose plaintext (u16 key length ‖ key ‖ value) is `plain[0, n)`. */
  #sealedPut(
    pos: number,
    nsId: number,
    keyText: boolean,
    plain: Uint8Array,
    n: number,
    expires: number,
    origin: number,
    at: number,
  ): number {
    const crypto = this.crypto!;
    const flags = (keyText ? FLAG_KEY_TEXT : 0) | (expires !== 0 ? FLAG_EXPIRES : 0) | (origin >= 0 ? FLAG_ORIGIN : 0) |
      FLAG_ENCRYPTED;
    const ks = pos + RECORD_HEADER_BYTES + extraBytes(flags);
    const klen = plain[0]! | (plain[1]! << 8);
    crypto.tagInto(nsId, plain, 2, klen, this.buf, ks);
    const vs = ks + LOOKUP_TAG_BYTES;
    const valueLen = SEAL_OVERHEAD + n;
    if (vs + valueLen - pos > MAX_FRAME_BYTES) throw tooLarge(klen, n - 2 - klen);
    writeRecordHeader(this.#dv, pos, KIND_PUT, flags, LOOKUP_TAG_BYTES, valueLen, nsId);
    writeExtras(this.#dv, pos, flags, expires, origin);
    crypto.seal(this.buf, pos, vs, plain.subarray(0, n), at);
    return sealRecord(this.buf, this.#words, pos, vs + valueLen - pos);
  }

  /**
   * Encodes a PUT whose key and value are bytes already in memory (a copy of a
   * record: `persist`, transactions, compaction).
   *
   * @param origin The version to keep (a moved record), or -1.
   * @param at Where the record will live in the journal.
   * @returns The padded record length.
   */
  putBytes(
    pos: number,
    nsId: number,
    keyText: boolean,
    key: Uint8Array,
    value: Uint8Array,
    expires: number,
    origin: number,
    at: number,
  ): number {
    if (this.crypto !== undefined) {
      const plain = this.crypto.scratch(2 + key.length + value.length);
      plain[0] = key.length;
      plain[1] = key.length >>> 8;
      plain.set(key, 2);
      plain.set(value, 2 + key.length);
      return this.#sealedPut(pos, nsId, keyText, plain, 2 + key.length + value.length, expires, origin, at);
    }
    const flags = (keyText ? FLAG_KEY_TEXT : 0) | (expires !== 0 ? FLAG_EXPIRES : 0) | (origin >= 0 ? FLAG_ORIGIN : 0);
    const ks = pos + RECORD_HEADER_BYTES + extraBytes(flags);
    this.buf.set(key, ks);
    this.buf.set(value, ks + key.length);
    writeRecordHeader(this.#dv, pos, KIND_PUT, flags, key.length, value.length, nsId);
    writeExtras(this.#dv, pos, flags, expires, origin);
    return sealRecord(this.buf, this.#words, pos, ks + key.length + value.length - pos);
  }

  /**
   * The most bytes a PUT of this key and value needs, for {@linkcode RecordWriter.reserve}.
   *
   * @throws {RangeError} When they cannot fit in one record.
   * @throws {TypeError} For a key or value of the wrong type.
   */
  putBound(key: Key, value: Value): number {
    const k = keyBound(key);
    const v = valueBound(value);
    if (MAX_HEAD + k + v > MAX_FRAME_BYTES) {
      // Bounds of long strings are measured, so only short string keys can be over-estimated here.
      const klen = typeof key === "string" ? utf8.encode(key).length : k;
      if (MAX_HEAD + klen + v > MAX_FRAME_BYTES) throw tooLarge(klen, v);
    }
    return MAX_HEAD + k + v + 8 + (this.crypto === undefined ? 0 : LOOKUP_TAG_BYTES + SEAL_OVERHEAD + 2);
  }

  /** The most bytes a record with a key or name of `n` bytes and no value needs. */
  smallBound(n: number): number {
    return RECORD_HEADER_BYTES + n + 8 + (this.crypto === undefined ? 0 : LOOKUP_TAG_BYTES + SEAL_OVERHEAD);
  }

  /**
   * Encodes a DELETE of key bytes at `pos`.
   *
   * @param keyIsTag The bytes are already a lookup tag (encrypted databases: a deletion found through the index).
   * @param at Where the record will live in the journal.
   * @returns The padded record length.
   */
  deleteBytes(
    pos: number,
    nsId: number,
    key: Uint8Array,
    start: number,
    len: number,
    keyText: boolean,
    at: number,
    keyIsTag = false,
  ): number {
    const flags = keyText ? FLAG_KEY_TEXT : 0;
    const ks = pos + RECORD_HEADER_BYTES;
    if (this.crypto !== undefined) {
      if (keyIsTag) this.buf.set(key.subarray(start, start + len), ks);
      else this.crypto.tagInto(nsId, key, start, len, this.buf, ks);
      writeRecordHeader(this.#dv, pos, KIND_DELETE, flags | FLAG_ENCRYPTED, LOOKUP_TAG_BYTES, SEAL_OVERHEAD, nsId);
      this.crypto.seal(this.buf, pos, ks + LOOKUP_TAG_BYTES, EMPTY, at);
      return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + LOOKUP_TAG_BYTES + SEAL_OVERHEAD);
    }
    this.buf.set(key.subarray(start, start + len), ks);
    writeRecordHeader(this.#dv, pos, KIND_DELETE, flags, len, 0, nsId);
    return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + len);
  }

  /**
   * Encodes a NAMESPACE record (an empty name drops the namespace).
   *
   * @returns The padded record length.
   */
  namespace(pos: number, nsId: number, name: string, at: number): number {
    const bytes = utf8.encode(name);
    if (this.crypto !== undefined) {
      const vs = pos + RECORD_HEADER_BYTES;
      writeRecordHeader(this.#dv, pos, KIND_NAMESPACE, FLAG_ENCRYPTED, 0, SEAL_OVERHEAD + bytes.length, nsId);
      this.crypto.seal(this.buf, pos, vs, bytes, at);
      return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + SEAL_OVERHEAD + bytes.length);
    }
    this.buf.set(bytes, pos + RECORD_HEADER_BYTES);
    writeRecordHeader(this.#dv, pos, KIND_NAMESPACE, 0, bytes.length, 0, nsId);
    return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + bytes.length);
  }

  /**
   * Encodes a CLEAR record.
   *
   * @returns The record length.
   */
  clear(pos: number, nsId: number, at: number): number {
    if (this.crypto !== undefined) {
      writeRecordHeader(this.#dv, pos, KIND_CLEAR, FLAG_ENCRYPTED, 0, SEAL_OVERHEAD, nsId);
      this.crypto.seal(this.buf, pos, pos + RECORD_HEADER_BYTES, EMPTY, at);
      return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + SEAL_OVERHEAD);
    }
    writeRecordHeader(this.#dv, pos, KIND_CLEAR, 0, 0, 0, nsId);
    return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES);
  }

  /**
   * Encodes a CHECKPOINT marker carrying `nonce`.
   *
   * @returns The record length.
   */
  marker(pos: number, nonce: Uint8Array): number {
    this.buf.set(nonce.subarray(0, MARKER_BYTES), pos + RECORD_HEADER_BYTES);
    writeRecordHeader(this.#dv, pos, KIND_CHECKPOINT, 0, 0, MARKER_BYTES, 0);
    return sealRecord(this.buf, this.#words, pos, RECORD_HEADER_BYTES + MARKER_BYTES);
  }

  /**
   * Seals a batch: its records are at `[16, len)`, already sealed; writes the header at 0.
   *
   * @param len Total batch length.
   * @param count Number of records in it.
   */
  sealBatch(len: number, count: number): void {
    writeRecordHeader(this.#dv, 0, KIND_BATCH, 0, 0, len - RECORD_HEADER_BYTES, count);
    sealBatch(this.buf, 0, len);
  }
}

/** The error for a key and value that do not fit in one record. */
export function tooLarge(keyBytes: number, valueBytes: number): RangeError {
  const max = MAX_FRAME_BYTES - MAX_HEAD;
  return new RangeError(
    `Value too large: ${valueBytes} bytes with a ${keyBytes}-byte key; a record holds at most ${max} bytes of key and value`,
  );
}
