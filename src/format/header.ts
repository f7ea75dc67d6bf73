/**
 * The journal's 64-byte file header.
 *
 * ```text
 * offset size field
 *  0      8   magic        89 45 4D 44 42 0D 0A 1A  ("\x89EMDB\r\n\x1a")
 *  8      4   version      u32 LE, format version = 1
 * 12      4   flags        u32 LE, bit 0 = encrypted (reserved; 0 in v1), others 0
 * 16     16   file id      random bytes; binds the checkpoint (hint) file to this journal
 * 32      8   created at   u64 LE, Unix milliseconds
 * 40     20   reserved     zero (room for encryption salt and key check)
 * 60      4   crc          u32 LE, CRC-32C of bytes [0, 60)
 * ```
 *
 * The magic's first byte is non-ASCII and it contains CR LF and SUB, so text
 * files and transfers that rewrite line endings never pass for a journal.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";

/** Size of the header; the first frame starts here. */
export const HEADER_BYTES = 64;
/** The format version this code writes and reads. */
export const FORMAT_VERSION = 1;
/** The 8 magic bytes. */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x45, 0x4d, 0x44, 0x42, 0x0d, 0x0a, 0x1a);

/** A decoded header. */
export interface Header {
  version: number;
  flags: number;
  fileId: Uint8Array;
  createdAt: number;
}

/** Why a header did not decode. */
export type HeaderProblem = "short" | "magic" | "version" | "crc";

/**
 * Encodes a header.
 *
 * @param fileId 16 random bytes.
 * @param createdAt Unix milliseconds.
 * @returns 64 bytes.
 */
export function encodeHeader(fileId: Uint8Array, createdAt: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, 0, true);
  out.set(fileId.subarray(0, 16), 16);
  dv.setUint32(32, createdAt % 2 ** 32, true);
  dv.setUint32(36, Math.floor(createdAt / 2 ** 32), true);
  dv.setUint32(60, crc32c(out, 0, 60), true);
  return out;
}

/**
 * Decodes a header.
 *
 * @param bytes At least the first 64 bytes of the file (fewer gives `"short"`).
 * @returns The header, or the reason it is not one.
 */
export function decodeHeader(bytes: Uint8Array): Header | HeaderProblem {
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= bytes.length) return "short";
    if (bytes[i] !== MAGIC[i]) return "magic";
  }
  if (bytes.length < HEADER_BYTES) return "short";
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (dv.getUint32(60, true) !== crc32c(bytes, 0, 60)) return "crc";
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) return "version";
  return {
    version,
    flags: dv.getUint32(12, true),
    fileId: bytes.slice(16, 32),
    createdAt: dv.getUint32(32, true) + dv.getUint32(36, true) * 2 ** 32,
  };
}
