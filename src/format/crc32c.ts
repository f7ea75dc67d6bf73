/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and
 * final XOR 0xFFFFFFFF. Known answer: `crc32c("123456789") === 0xE3069283`.
 *
 * Slicing-by-8 over eight 256-entry tables. No runtime of ours ships a native
 * CRC-32C (`node:zlib.crc32` is the IEEE polynomial), so this is pure
 * TypeScript: about 1 GB/s reading bytes, faster with {@linkcode crc32cWords}
 * when the data is 4-byte aligned (every frame is).
 *
 * @module
 */

const POLY = 0x82f63b78;
/** 16 tables: slicing-by-16 for long runs (batches, replay), the first 8 for short frames. */
const T = new Int32Array(16 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let k = 1; k < 16; k++) {
    c = T[c & 0xff]! ^ (c >>> 8);
    T[k * 256 + n] = c;
  }
}

/**
 * Computes the CRC-32C of `buf[start, end)`.
 *
 * @param buf The bytes.
 * @param start First byte included.
 * @param end First byte excluded.
 * @returns The checksum as an unsigned 32-bit number.
 */
export function crc32c(buf: Uint8Array, start = 0, end: number = buf.length): number {
  let c = -1;
  let i = start;
  const t = T;
  for (const stop = end - 8; i <= stop; i += 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^ t[768 + buf[i + 4]!]! ^ t[512 + buf[i + 5]!]! ^ t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * Computes the CRC-32C of `bytes[start, end)` reading aligned 32-bit words
 * through `words`, an `Int32Array` over the same memory as `bytes` (same
 * buffer and byte offset). `bytes.byteOffset + start` must be a multiple of 4.
 * Assumes a little-endian host (every platform emdb runs on).
 *
 * @param bytes The bytes.
 * @param words The same memory as 32-bit words.
 * @param start First byte included (4-aligned).
 * @param end First byte excluded.
 * @returns The checksum as an unsigned 32-bit number.
 */
export function crc32cWords(bytes: Uint8Array, words: Int32Array, start: number, end: number): number {
  let c = -1;
  let i = start;
  const t = T;
  let w = (bytes.byteOffset + start - words.byteOffset) >> 2;
  if (end - start >= 512) {
    // Slicing-by-16: about 1.3–1.5× faster than by-8 on long runs, slower on short ones.
    for (const stop = end - 16; i <= stop; i += 16, w += 4) {
      const a = c ^ words[w]!;
      const b = words[w + 1]!;
      const d = words[w + 2]!;
      const e = words[w + 3]!;
      c = t[3840 + (a & 0xff)]! ^ t[3584 + ((a >>> 8) & 0xff)]! ^ t[3328 + ((a >>> 16) & 0xff)]! ^
        t[3072 + (a >>> 24)]! ^ t[2816 + (b & 0xff)]! ^ t[2560 + ((b >>> 8) & 0xff)]! ^
        t[2304 + ((b >>> 16) & 0xff)]! ^ t[2048 + (b >>> 24)]! ^ t[1792 + (d & 0xff)]! ^
        t[1536 + ((d >>> 8) & 0xff)]! ^ t[1280 + ((d >>> 16) & 0xff)]! ^ t[1024 + (d >>> 24)]! ^
        t[768 + (e & 0xff)]! ^ t[512 + ((e >>> 8) & 0xff)]! ^ t[256 + ((e >>> 16) & 0xff)]! ^ t[e >>> 24]!;
    }
  }
  for (const stop = end - 8; i <= stop; i += 8, w += 2) {
    const a = c ^ words[w]!;
    const b = words[w + 1]!;
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^ t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^ t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
