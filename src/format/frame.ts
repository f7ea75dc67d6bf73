/**
 * Journal frames: every record, and every batch of records, is one frame.
 *
 * ```text
 * offset size field
 *  0      4   crc       u32 LE  CRC-32C of bytes [4, frame length): the rest of the
 *                               header, the body and the zero padding. 0 inside a batch.
 *  4      1   kind      u8      1 PUT, 2 DELETE, 3 NAMESPACE, 4 CLEAR, 5 BATCH
 *  5      1   flags     u8      bit 0 EXPIRES (an expiry field follows the header)
 *                               bit 1 ENCRYPTED (reserved for encryption; 0 in v1)
 *  6      2   key len   u16 LE  (NAMESPACE: name length; CLEAR, BATCH: 0)
 *  8      4   value len u32 LE  (DELETE, NAMESPACE, CLEAR: 0; BATCH: bytes of inner frames)
 * 12      4   ns id     u32 LE  namespace (0 = default; BATCH: number of inner frames)
 * 16     [8]  expires   u64 LE  Unix ms, only when EXPIRES is set
 *  …      k   key       (NAMESPACE: the UTF-8 name)
 *  …      v   value
 *  …      p   padding   zeros up to the next multiple of 8
 * ```
 *
 * Every frame starts 8-byte aligned, so index slots can store offsets in
 * units of 8 bytes. A BATCH frame's body is a run of complete inner frames
 * (PUT, DELETE, CLEAR or NAMESPACE, crc field 0) covered by the batch's single
 * CRC: after a crash either the whole batch verifies or none of it is applied.
 *
 * @module
 */

/** Bytes of the fixed frame header. */
export const FRAME_HEADER_BYTES = 16;
/** Bytes of the optional expiry field. */
export const EXPIRY_BYTES = 8;

/** Frame kinds. */
export const KIND_PUT = 1;
/** A tombstone: the key no longer exists. */
export const KIND_DELETE = 2;
/** Binds a namespace name to an id. */
export const KIND_NAMESPACE = 3;
/** Removes every key of one namespace. */
export const KIND_CLEAR = 4;
/** A group of frames applied all or nothing. */
export const KIND_BATCH = 5;

/** Flag bit: an expiry field follows the header. */
export const FLAG_EXPIRES = 1;
/** Flag bit: the body is encrypted (reserved). */
export const FLAG_ENCRYPTED = 2;

/** Longest key in bytes. */
export const MAX_KEY_BYTES = 0xffff;

/** Rounds up to a multiple of 8. */
export function pad8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}

/**
 * Length of a PUT frame, padding included.
 *
 * @param keyLen Key bytes.
 * @param valueLen Value bytes.
 * @param expires Whether an expiry field is present.
 * @returns The padded frame length.
 */
export function putFrameLength(keyLen: number, valueLen: number, expires: boolean): number {
  return pad8(FRAME_HEADER_BYTES + (expires ? EXPIRY_BYTES : 0) + keyLen + valueLen);
}

/**
 * Writes a frame header (without its CRC) at `pos`.
 *
 * @param dv A DataView over the output buffer.
 * @param pos Where the frame starts.
 * @param kind Frame kind.
 * @param flags Flag bits.
 * @param keyLen Key length field.
 * @param valueLen Value length field.
 * @param nsId Namespace id (or count, for BATCH).
 */
export function writeFrameHeader(
  dv: DataView,
  pos: number,
  kind: number,
  flags: number,
  keyLen: number,
  valueLen: number,
  nsId: number,
): void {
  dv.setUint32(pos, 0, true);
  dv.setUint8(pos + 4, kind);
  dv.setUint8(pos + 5, flags);
  dv.setUint16(pos + 6, keyLen, true);
  dv.setUint32(pos + 8, valueLen, true);
  dv.setUint32(pos + 12, nsId, true);
}

/**
 * Where the key of the frame at `pos` starts.
 *
 * @param buf Bytes holding the frame.
 * @param pos Frame start.
 * @returns Offset of the first key byte.
 */
export function keyStart(buf: Uint8Array, pos: number): number {
  return pos + FRAME_HEADER_BYTES + ((buf[pos + 5]! & FLAG_EXPIRES) !== 0 ? EXPIRY_BYTES : 0);
}

/** Reads a little-endian u16 at `p`. */
export function u16(buf: Uint8Array, p: number): number {
  return buf[p]! | (buf[p + 1]! << 8);
}

/** Reads a little-endian u32 at `p`. */
export function u32(buf: Uint8Array, p: number): number {
  return (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
}

/** Reads the expiry (Unix ms) of the frame at `pos`, 0 when it has none. */
export function expiryOf(buf: Uint8Array, pos: number): number {
  if ((buf[pos + 5]! & FLAG_EXPIRES) === 0) return 0;
  return u32(buf, pos + 16) + u32(buf, pos + 20) * 2 ** 32;
}

/**
 * Checks the header of a frame that claims to start at `pos` and returns its
 * padded length, or -1 when the header is not a possible frame (unknown kind,
 * flags or lengths that contradict the kind, or a frame running past `limit`).
 * The CRC is not checked here.
 *
 * @param buf Bytes holding the frame.
 * @param pos Frame start.
 * @param limit First byte that may not belong to the frame.
 * @param inner True for a frame inside a batch (no BATCH, crc must be 0).
 * @returns Padded frame length, or -1.
 */
export function frameLength(buf: Uint8Array, pos: number, limit: number, inner: boolean): number {
  if (limit - pos < FRAME_HEADER_BYTES) return -1;
  const kind = buf[pos + 4]!;
  const flags = buf[pos + 5]!;
  const keyLen = u16(buf, pos + 6);
  const valueLen = u32(buf, pos + 8);
  if ((flags & ~FLAG_EXPIRES) !== 0) return -1;
  if (inner && u32(buf, pos) !== 0) return -1;
  let len: number;
  switch (kind) {
    case KIND_PUT:
      len = putFrameLength(keyLen, valueLen, (flags & FLAG_EXPIRES) !== 0);
      break;
    case KIND_DELETE:
    case KIND_NAMESPACE:
      if (valueLen !== 0 || flags !== 0) return -1;
      len = pad8(FRAME_HEADER_BYTES + keyLen);
      break;
    case KIND_CLEAR:
      if (valueLen !== 0 || flags !== 0 || keyLen !== 0) return -1;
      len = FRAME_HEADER_BYTES;
      break;
    case KIND_BATCH:
      if (inner || flags !== 0 || keyLen !== 0 || valueLen === 0 || valueLen % 8 !== 0) return -1;
      if (u32(buf, pos + 12) === 0) return -1;
      len = FRAME_HEADER_BYTES + valueLen;
      break;
    default:
      return -1;
  }
  if (len > limit - pos) return -1;
  return len;
}
