/**
 * The journal's 256-byte file header.
 *
 * ```text
 * offset size field
 *  0      8   magic        89 45 4D 44 42 0D 0A 1A  ("\x89EMDB\r\n\x1a")
 *  8      4   version      u32 LE, format version = 2
 * 12      4   flags        u32 LE, bit 0 = ENCRYPTED; any other bit refuses the open
 * 16     16   file id      random; binds the checkpoint file and encrypted records to this file
 * 32      8   created at   u64 LE, Unix ms of the database's creation (kept by compaction)
 * 40      8   version base u64 LE, the version of byte 0: a record at offset o has version base + o
 * 48      8   compactions  u64 LE, how many compactions produced this file
 * 56      8   reserved     zero
 * 64    128   encryption   the encryption block (cipher, key derivation, salt, key check); zero when
 *                          ENCRYPTED is clear
 * 192    60   reserved     zero
 * 252     4   crc          u32 LE, CRC-32C of bytes [0, 252)
 * ```
 *
 * The magic's first byte is non-ASCII and it contains CR LF and SUB, so text
 * files and transfers that rewrite line endings never pass for a journal.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";

/** Size of the header; the first record starts here. */
export const HEADER_BYTES = 256;
/** The format version this code writes and reads. */
export const FORMAT_VERSION = 2;
/** The 8 magic bytes. */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x45, 0x4d, 0x44, 0x42, 0x0d, 0x0a, 0x1a);
/** Header flag: records are encrypted. */
export const HEADER_ENCRYPTED = 1;
/** Where the encryption block starts, and its size. */
export const ENCRYPTION_BLOCK = { offset: 64, bytes: 128 } as const;
const CRC_AT = 252;

/** A decoded header. */
export interface Header {
  version: number;
  flags: number;
  fileId: Uint8Array;
  createdAt: number;
  /** The version of byte 0 of this file. */
  versionBase: number;
  compactions: number;
  /** The encryption block (128 bytes; zero when not encrypted). */
  encryption: Uint8Array;
}

/** Why a header did not decode. */
export type HeaderProblem = "short" | "magic" | "version" | "crc" | "flags";

/**
 * Encodes a header.
 *
 * @param h The fields (version is always {@linkcode FORMAT_VERSION}).
 * @returns 256 bytes.
 */
export function encodeHeader(h: Omit<Header, "version">): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, h.flags, true);
  out.set(h.fileId.subarray(0, 16), 16);
  setU64(dv, 32, h.createdAt);
  setU64(dv, 40, h.versionBase);
  setU64(dv, 48, h.compactions);
  out.set(h.encryption.subarray(0, ENCRYPTION_BLOCK.bytes), ENCRYPTION_BLOCK.offset);
  dv.setUint32(CRC_AT, crc32c(out, 0, CRC_AT), true);
  return out;
}

function setU64(dv: DataView, p: number, v: number): void {
  dv.setUint32(p, v >>> 0, true);
  dv.setUint32(p + 4, Math.floor(v / 2 ** 32), true);
}

function getU64(dv: DataView, p: number): number {
  return dv.getUint32(p, true) + dv.getUint32(p + 4, true) * 2 ** 32;
}

/**
 * Decodes a header.
 *
 * @param bytes At least the first 256 bytes of the file (fewer gives `"short"`).
 * @returns The header, or the reason it is not one.
 */
export function decodeHeader(bytes: Uint8Array): Header | HeaderProblem {
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= bytes.length) return "short";
    if (bytes[i] !== MAGIC[i]) return "magic";
  }
  if (bytes.length < 12) return "short";
  const dv = new DataView(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, HEADER_BYTES));
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    // Another version has another header layout: a newer one cannot be checked here, and a
    // version-1 header (64 bytes, its CRC at 60) is recognised by its own CRC.
    if (version > FORMAT_VERSION) return "version";
    const v1 = version === 1 && bytes.length >= 64 && dv.getUint32(60, true) === crc32c(bytes, 0, 60);
    return v1 ? "version" : "crc";
  }
  if (bytes.length < HEADER_BYTES) return "short";
  if (dv.getUint32(CRC_AT, true) !== crc32c(bytes, 0, CRC_AT)) return "crc";
  const flags = dv.getUint32(12, true);
  if ((flags & ~HEADER_ENCRYPTED) !== 0) return "flags";
  return {
    version,
    flags,
    fileId: bytes.slice(16, 32),
    createdAt: getU64(dv, 32),
    versionBase: getU64(dv, 40),
    compactions: getU64(dv, 48),
    encryption: bytes.slice(ENCRYPTION_BLOCK.offset, ENCRYPTION_BLOCK.offset + ENCRYPTION_BLOCK.bytes),
  };
}
