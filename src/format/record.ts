/**
 * The record layer: how one record (and a batch of records) is laid out in the
 * journal. Every other module reads and writes records through these
 * functions; none of them knows a field's offset.
 *
 * ```text
 * offset size field
 *  0      4   crc        u32 LE  CRC-32C of bytes [4, length) of this record (padding included).
 *                                BATCH: CRC-32C of bytes [4, 16) followed by the crc fields of
 *                                its inner records, in order.
 *  4      1   kind       u8      1 PUT, 2 DELETE, 3 NAMESPACE, 4 CLEAR, 5 BATCH, 6 CHECKPOINT
 *  5      1   flags      u8      bit 0 EXPIRES  an 8-byte expiry follows the header
 *                                bit 1 ORIGIN   an 8-byte origin version follows (after the expiry)
 *                                bit 2 KEY_TEXT the key was given as a string
 *                                bit 7 ENCRYPTED the value field is sealed (encrypted databases only;
 *                                      see src/engine/record_crypto.ts for what the fields then hold)
 *                                other bits 0
 *  6      2   key len    u16 LE  (NAMESPACE: name length; CLEAR, BATCH, CHECKPOINT: 0)
 *  8      4   value len  u32 LE  (DELETE, NAMESPACE, CLEAR: 0; BATCH: bytes of inner records;
 *                                CHECKPOINT: 16)
 * 12      4   ns id      u32 LE  namespace (0 = default; BATCH: number of inner records)
 * 16     [8]  expires    u64 LE  Unix ms, only with EXPIRES
 *  …     [8]  origin     u64 LE  the version the record had when first written, only with ORIGIN
 *  …      k   key        (NAMESPACE: the UTF-8 name)
 *  …      v   value      (CHECKPOINT: 16 random bytes)
 *  …      p   padding    zeros up to the next multiple of 8
 * ```
 *
 * Every record starts 8-byte aligned. Every record carries its own CRC, also
 * inside a batch, so any record can be verified on its own when it is read; a
 * batch's CRC covers its header and the CRCs of its records, so a batch
 * verifies only when every record in it does: after a crash it is applied
 * whole or not at all.
 *
 * @module
 */
import { crc32cWords } from "./crc32c.ts";

/** Bytes of the fixed record header. */
export const RECORD_HEADER_BYTES = 16;

/** A key now has a value. */
export const KIND_PUT = 1;
/** A tombstone: the key no longer exists. */
export const KIND_DELETE = 2;
/** Binds a namespace id to a name (an empty name unbinds it and drops its keys). */
export const KIND_NAMESPACE = 3;
/** Removes every key of one namespace. */
export const KIND_CLEAR = 4;
/** A group of records applied all or nothing. */
export const KIND_BATCH = 5;
/** A checkpoint marker: 16 random bytes that bind a checkpoint file to this place in the journal. */
export const KIND_CHECKPOINT = 6;

/** Flag: an 8-byte expiry (Unix ms) follows the header. */
export const FLAG_EXPIRES = 1;
/** Flag: an 8-byte origin version follows the header (and the expiry). */
export const FLAG_ORIGIN = 2;
/** Flag: the key was given as a string (iterators give it back as one). */
export const FLAG_KEY_TEXT = 4;
/** Flag: the record is sealed (PUT, DELETE, NAMESPACE and CLEAR of an encrypted database). */
export const FLAG_ENCRYPTED = 0x80;
/** Every flag a plaintext database's records may carry. */
export const KNOWN_FLAGS: number = FLAG_EXPIRES | FLAG_ORIGIN | FLAG_KEY_TEXT;
/** Every flag an encrypted database's records may carry. */
export const ENCRYPTED_FLAGS: number = KNOWN_FLAGS | FLAG_ENCRYPTED;
/** Bytes of a sealed empty value field (nonce and tag), and of an encrypted key field (a lookup tag). */
const SEALED_EMPTY = 28;
const LOOKUP_TAG = 16;

/** Longest key in bytes. */
export const MAX_KEY_BYTES = 0xffff;
/** Longest namespace name in bytes. */
export const MAX_NAME_BYTES = 255;
/** Bytes of a checkpoint marker's nonce. */
export const MARKER_BYTES = 16;

/** Rounds up to a multiple of 8. */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes of the optional fields selected by `flags`. */
export function extraBytes(flags: number): number {
  return ((flags & FLAG_EXPIRES) << 3) + ((flags & FLAG_ORIGIN) << 2);
}

/** Reads a little-endian u16 at `p`. */
export function u16(buf: Uint8Array, p: number): number {
  return buf[p]! | (buf[p + 1]! << 8);
}

/** Reads a little-endian u32 at `p`. */
export function u32(buf: Uint8Array, p: number): number {
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
}

/** Reads a little-endian u64 (as a number, exact below 2^53) at `p`. */
export function u64(buf: Uint8Array, p: number): number {
  return u32(buf, p) + u32(buf, p + 4) * 4294967296;
}

/** Writes a little-endian u64 (a safe integer) at `p`. */
export function putU64(dv: DataView, p: number, v: number): void {
  dv.setUint32(p, v >>> 0, true);
  dv.setUint32(p + 4, Math.floor(v / 4294967296), true);
}

/** The record's crc field. */
export function recordCrc(buf: Uint8Array, p: number): number {
  return u32(buf, p);
}

/** The record's kind. */
export function recordKind(buf: Uint8Array, p: number): number {
  return buf[p + 4]!;
}

/** The record's flags. */
export function recordFlags(buf: Uint8Array, p: number): number {
  return buf[p + 5]!;
}

/** The record's key length (NAMESPACE: name length). */
export function recordKeyLen(buf: Uint8Array, p: number): number {
  return buf[p + 6]! | (buf[p + 7]! << 8);
}

/** The record's value length (BATCH: inner bytes). */
export function recordValueLen(buf: Uint8Array, p: number): number {
  return u32(buf, p + 8);
}

/** The record's namespace id (BATCH: inner record count). */
export function recordNs(buf: Uint8Array, p: number): number {
  return u32(buf, p + 12);
}

/** Where the record's key starts. */
export function recordKeyStart(buf: Uint8Array, p: number): number {
  return p + RECORD_HEADER_BYTES + extraBytes(buf[p + 5]!);
}

/** Where the record's value starts. */
export function recordValueStart(buf: Uint8Array, p: number): number {
  return p + RECORD_HEADER_BYTES + extraBytes(buf[p + 5]!) + (buf[p + 6]! | (buf[p + 7]! << 8));
}

/** The record's expiry in Unix ms, or 0 when it has none. */
export function recordExpiry(buf: Uint8Array, p: number): number {
  return (buf[p + 5]! & FLAG_EXPIRES) === 0 ? 0 : u64(buf, p + RECORD_HEADER_BYTES);
}

/** The record's origin version, or -1 when it has none (its version is then its own position). */
export function recordOrigin(buf: Uint8Array, p: number): number {
  const flags = buf[p + 5]!;
  if ((flags & FLAG_ORIGIN) === 0) return -1;
  return u64(buf, p + RECORD_HEADER_BYTES + ((flags & FLAG_EXPIRES) << 3));
}

/** The padded length of a record of this kind whose header is valid (BATCH: header + inner bytes). */
export function recordLength(buf: Uint8Array, p: number): number {
  if (buf[p + 4] === KIND_BATCH) return RECORD_HEADER_BYTES + u32(buf, p + 8);
  return pad8(RECORD_HEADER_BYTES + extraBytes(buf[p + 5]!) + recordKeyLen(buf, p) + u32(buf, p + 8));
}

/**
 * Writes a record header (crc left 0) at `pos`.
 *
 * @param dv A DataView over the output buffer.
 * @param pos Where the record starts.
 * @param kind Record kind.
 * @param flags Flag bits.
 * @param keyLen Key length field.
 * @param valueLen Value length field.
 * @param nsId Namespace id (BATCH: inner record count).
 */
export function writeRecordHeader(
  dv: DataView,
  pos: number,
  kind: number,
  flags: number,
  keyLen: number,
  valueLen: number,
  nsId: number,
): void {
  dv.setUint32(pos, 0, true);
  dv.setUint16(pos + 4, kind | (flags << 8), true);
  dv.setUint16(pos + 6, keyLen, true);
  dv.setUint32(pos + 8, valueLen, true);
  dv.setUint32(pos + 12, nsId, true);
}

/**
 * Writes the optional fields selected by `flags` right after the header at `pos`.
 *
 * @param dv A DataView over the output buffer.
 * @param pos Where the record starts.
 * @param flags The record's flags.
 * @param expires Expiry (Unix ms), used with EXPIRES.
 * @param origin Origin version, used with ORIGIN.
 */
export function writeExtras(dv: DataView, pos: number, flags: number, expires: number, origin: number): void {
  let q = pos + RECORD_HEADER_BYTES;
  if ((flags & FLAG_EXPIRES) !== 0) {
    putU64(dv, q, expires);
    q += 8;
  }
  if ((flags & FLAG_ORIGIN) !== 0) putU64(dv, q, origin);
}

/**
 * Fills the record's padding with zeros and writes its CRC.
 *
 * @param buf The buffer holding the record (`buf.byteOffset + pos` 4-aligned).
 * @param words The same memory as 32-bit words.
 * @param pos Where the record starts.
 * @param raw Unpadded record length.
 * @returns The padded length.
 */
export function sealRecord(buf: Uint8Array, words: Int32Array, pos: number, raw: number): number {
  const len = pad8(raw);
  for (let i = pos + raw, end = pos + len; i < end; i++) buf[i] = 0;
  const crc = crc32cWords(buf, words, pos + 4, pos + len);
  buf[pos] = crc;
  buf[pos + 1] = crc >>> 8;
  buf[pos + 2] = crc >>> 16;
  buf[pos + 3] = crc >>> 24;
  return len;
}

/**
 * Computes a batch's CRC: bytes [4, 16) of its header, then the crc field of
 * each inner record. The inner records must already be sealed.
 *
 * @param buf The buffer holding the batch.
 * @param pos Where the batch starts.
 * @param len The batch's total length.
 * @returns The CRC, or -1 when the inner records do not tile the body exactly.
 */
export function batchCrc(buf: Uint8Array, pos: number, len: number): number {
  let c = crcUpdate(-1, buf, pos + 4, pos + RECORD_HEADER_BYTES);
  const end = pos + len;
  for (let p = pos + RECORD_HEADER_BYTES; p < end;) {
    // The caller has checked every inner record's rules; only the tiling is checked again here.
    const l = end - p >= RECORD_HEADER_BYTES ? recordLength(buf, p) : -1;
    if (l < RECORD_HEADER_BYTES || l > end - p) return -1;
    c = crcUpdate(c, buf, p, p + 4);
    p += l;
  }
  return ~c >>> 0;
}

/** Seals a batch whose inner records are sealed: writes its CRC. */
export function sealBatch(buf: Uint8Array, pos: number, len: number): void {
  const crc = batchCrc(buf, pos, len);
  buf[pos] = crc;
  buf[pos + 1] = crc >>> 8;
  buf[pos + 2] = crc >>> 16;
  buf[pos + 3] = crc >>> 24;
}

const T = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  T[n] = c;
}

/** Continues a raw (not finalised) CRC-32C state over `buf[start, end)`, a byte at a time (short runs only). */
function crcUpdate(c: number, buf: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * Checks the header of a record that claims to start at `pos` and returns its
 * padded length, or -1 when it is not a possible record: an unknown kind or
 * flag, lengths that contradict the kind, or a record running past `limit`.
 * The CRC is not checked here.
 *
 * @param buf Bytes holding the record.
 * @param pos Record start.
 * @param limit First byte that may not belong to the record.
 * @param inner True for a record inside a batch (a BATCH or CHECKPOINT is refused there).
 * @param knownFlags The flag bits allowed (more once encryption adds its own).
 * @returns Padded record length, or -1.
 */
export function checkedLength(
  buf: Uint8Array,
  pos: number,
  limit: number,
  inner: boolean,
  knownFlags: number = KNOWN_FLAGS,
): number {
  if (limit - pos < RECORD_HEADER_BYTES) return -1;
  const kind = buf[pos + 4]!;
  const flags = buf[pos + 5]!;
  const keyLen = u16(buf, pos + 6);
  const valueLen = u32(buf, pos + 8);
  if ((flags & ~knownFlags) !== 0) return -1;
  let len: number;
  if ((flags & FLAG_ENCRYPTED) !== 0) {
    len = sealedLength(kind, flags, keyLen, valueLen);
    return len < 0 || len > limit - pos ? -1 : len;
  }
  switch (kind) {
    case KIND_PUT:
      len = pad8(RECORD_HEADER_BYTES + extraBytes(flags) + keyLen + valueLen);
      break;
    case KIND_DELETE:
      if (valueLen !== 0 || (flags & ~FLAG_KEY_TEXT) !== 0) return -1;
      len = pad8(RECORD_HEADER_BYTES + keyLen);
      break;
    case KIND_NAMESPACE:
      if (valueLen !== 0 || flags !== 0 || keyLen > MAX_NAME_BYTES) return -1;
      len = pad8(RECORD_HEADER_BYTES + keyLen);
      break;
    case KIND_CLEAR:
      if (valueLen !== 0 || flags !== 0 || keyLen !== 0) return -1;
      len = RECORD_HEADER_BYTES;
      break;
    case KIND_CHECKPOINT:
      if (inner || valueLen !== MARKER_BYTES || flags !== 0 || keyLen !== 0 || u32(buf, pos + 12) !== 0) return -1;
      len = RECORD_HEADER_BYTES + MARKER_BYTES;
      break;
    case KIND_BATCH:
      if (inner || flags !== 0 || keyLen !== 0 || valueLen === 0 || valueLen % 8 !== 0) return -1;
      if (u32(buf, pos + 12) === 0) return -1;
      len = RECORD_HEADER_BYTES + valueLen;
      break;
    default:
      return -1;
  }
  if (len > limit - pos) return -1;
  return len;
}

/** The length of an encrypted record whose fields follow the sealed layout, or -1. */
function sealedLength(kind: number, flags: number, keyLen: number, valueLen: number): number {
  switch (kind) {
    case KIND_PUT:
      if (keyLen !== LOOKUP_TAG || valueLen < SEALED_EMPTY + 2) return -1;
      return pad8(RECORD_HEADER_BYTES + extraBytes(flags) + keyLen + valueLen);
    case KIND_DELETE:
      if (keyLen !== LOOKUP_TAG || valueLen !== SEALED_EMPTY || (flags & ~(FLAG_KEY_TEXT | FLAG_ENCRYPTED)) !== 0) {
        return -1;
      }
      return pad8(RECORD_HEADER_BYTES + keyLen + valueLen);
    case KIND_NAMESPACE:
      if (keyLen !== 0 || flags !== FLAG_ENCRYPTED || valueLen < SEALED_EMPTY) return -1;
      if (valueLen > SEALED_EMPTY + MAX_NAME_BYTES) return -1;
      return pad8(RECORD_HEADER_BYTES + valueLen);
    case KIND_CLEAR:
      if (keyLen !== 0 || flags !== FLAG_ENCRYPTED || valueLen !== SEALED_EMPTY) return -1;
      return RECORD_HEADER_BYTES + SEALED_EMPTY + 4;
    default:
      return -1;
  }
}

/** {@linkcode checkedLength} for a record inside a batch. */
export function innerLength(buf: Uint8Array, pos: number, end: number, knownFlags: number = KNOWN_FLAGS): number {
  return checkedLength(buf, pos, end, true, knownFlags);
}

/**
 * Verifies a single (non-BATCH) record: its header rules and its CRC.
 *
 * @param buf Bytes holding the record (4-aligned at `pos` relative to `words`).
 * @param words The same memory as 32-bit words.
 * @param pos Record start.
 * @param limit First byte that may not belong to the record.
 * @param inner Whether the record sits inside a batch.
 * @returns The padded length, or -1 when it does not verify.
 */
export function verifyRecord(
  buf: Uint8Array,
  words: Int32Array,
  pos: number,
  limit: number,
  inner: boolean,
  knownFlags: number = KNOWN_FLAGS,
): number {
  const len = checkedLength(buf, pos, limit, inner, knownFlags);
  if (len < 0) return -1;
  if (buf[pos + 4] === KIND_BATCH) return -1;
  return crc32cWords(buf, words, pos + 4, pos + len) === u32(buf, pos) ? len : -1;
}
