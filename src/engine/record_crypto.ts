/**
 * Encrypted records: how a record of an encrypted database is sealed and
 * opened. The layout stays the record layer's, with the ENCRYPTED flag set:
 *
 * ```text
 * PUT        key field   = lookup tag (16 bytes): HMAC-SHA256(tag key, ns id u32 ‖ key), truncated
 *            value field = nonce (12) ‖ AEAD(u16 key length ‖ key ‖ value) ‖ tag (16)
 * DELETE     key field   = lookup tag;  value field = nonce ‖ AEAD(empty) ‖ tag  (28 bytes)
 * NAMESPACE  key field   = empty;       value field = nonce ‖ AEAD(name) ‖ tag
 * CLEAR      key field   = empty;       value field = nonce ‖ AEAD(empty) ‖ tag  (28 bytes)
 * BATCH, CHECKPOINT: not encrypted (a container and a marker; the records inside a batch are)
 *
 * associated data = file id (16) ‖ the record's offset (u64) ‖ bytes [4, value start) of the record
 *                   (kind, flags, lengths, namespace, expiry, origin, lookup tag)
 * ```
 *
 * So every field of a record is authenticated, and bound to this file and
 * this place in it: flipping a kind, editing an expiry, moving a record,
 * replaying it elsewhere, or transplanting it from another database (even
 * one with the same key) fails authentication. A fresh random nonce seals
 * every record.
 *
 * @module
 */
import type { Keyring } from "../crypto/keyring.ts";
import { NONCE_BYTES, NoncePool } from "../crypto/random.ts";
import { TAG_BYTES } from "../crypto/aead.ts";
import { u16 } from "../format/record.ts";

/** Bytes an encryption adds to a value field: nonce and tag. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/** Bytes of a lookup tag (the key field of an encrypted PUT or DELETE). */
export const LOOKUP_TAG_BYTES = 16;

/** Seals and opens the records of one file (the file id is part of every record's associated data). */
export class RecordCrypto {
  readonly keyring: Keyring;
  readonly fileId: Uint8Array;
  #nonces = new NoncePool();
  #aad = new Uint8Array(16 + 8 + 12 + 16 + LOOKUP_TAG_BYTES);
  #aadView = new DataView(this.#aad.buffer);
  #plain = new Uint8Array(4096);
  #tagIn = new Uint8Array(4 + 4096);

  /**
   * @param keyring The database's keys.
   * @param fileId The file these records live in.
   */
  constructor(keyring: Keyring, fileId: Uint8Array) {
    this.keyring = keyring;
    this.fileId = fileId.slice(0, 16);
    this.#aad.set(this.fileId, 0);
  }

  /** A scratch buffer of at least `n` bytes for building plaintexts (reused; valid until the next call). */
  scratch(n: number): Uint8Array {
    if (this.#plain.length < n) this.#plain = new Uint8Array(Math.max(n, this.#plain.length * 2));
    return this.#plain;
  }

  /**
   * Writes the lookup tag of `key[start, start + len)` in namespace `nsId` into `out` at `outPos`.
   */
  tagInto(nsId: number, key: Uint8Array, start: number, len: number, out: Uint8Array, outPos: number): void {
    if (this.#tagIn.length < 4 + len) this.#tagIn = new Uint8Array(4 + len);
    const t = this.#tagIn;
    t[0] = nsId;
    t[1] = nsId >>> 8;
    t[2] = nsId >>> 16;
    t[3] = nsId >>> 24;
    t.set(key.subarray(start, start + len), 4);
    this.keyring.tagger.tagInto(t.subarray(0, 4 + len), out, outPos);
  }

  #aadFor(buf: Uint8Array, p: number, valueStart: number, offset: number): Uint8Array {
    const n = valueStart - p - 4;
    this.#aadView.setUint32(16, offset >>> 0, true);
    this.#aadView.setUint32(20, Math.floor(offset / 4294967296), true);
    this.#aad.set(buf.subarray(p + 4, valueStart), 24);
    return this.#aad.subarray(0, 24 + n);
  }

  /**
   * Seals `plaintext` into the value field of the record at `p` (whose header,
   * optional fields and key field are written already).
   *
   * @param buf The buffer holding the record.
   * @param p Where the record starts.
   * @param valueStart Where its value field starts.
   * @param plaintext What to seal.
   * @param offset Where the record will live in the file.
   * @returns The value field's length.
   */
  seal(buf: Uint8Array, p: number, valueStart: number, plaintext: Uint8Array, offset: number): number {
    this.#nonces.next(buf, valueStart);
    const nonce = buf.subarray(valueStart, valueStart + NONCE_BYTES);
    const aad = this.#aadFor(buf, p, valueStart, offset);
    return NONCE_BYTES + this.keyring.aead.seal(nonce, plaintext, aad, buf, valueStart + NONCE_BYTES);
  }

  /**
   * Opens the value field of the record at `p`.
   *
   * @param buf The buffer holding the record.
   * @param p Where the record starts.
   * @param valueStart Where its value field starts.
   * @param valueLen The value field's length.
   * @param offset The record's offset in the file.
   * @returns The plaintext (a view of a scratch buffer, valid until the next call), or `undefined` when
   *   authentication fails.
   */
  open(buf: Uint8Array, p: number, valueStart: number, valueLen: number, offset: number): Uint8Array | undefined {
    if (valueLen < SEAL_OVERHEAD) return undefined;
    const n = valueLen - SEAL_OVERHEAD;
    const out = this.scratch(n);
    const nonce = buf.subarray(valueStart, valueStart + NONCE_BYTES);
    const sealed = buf.subarray(valueStart + NONCE_BYTES, valueStart + valueLen);
    const aad = this.#aadFor(buf, p, valueStart, offset);
    return this.keyring.aead.open(nonce, sealed, aad, out, 0) === n ? out.subarray(0, n) : undefined;
  }
}

/** Splits an opened PUT's plaintext into key and value (views), or `undefined` when malformed. */
export function splitPut(plain: Uint8Array): { key: Uint8Array; value: Uint8Array } | undefined {
  if (plain.length < 2) return undefined;
  const kl = u16(plain, 0);
  if (2 + kl > plain.length) return undefined;
  return { key: plain.subarray(2, 2 + kl), value: plain.subarray(2 + kl) };
}
