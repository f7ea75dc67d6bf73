/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and
 * final XOR 0xFFFFFFFF. Known answer: `crc32c("123456789") === 0xE3069283`.
 *
 * Slicing-by-8 over eight 256-entry tables. No runtime of ours ships a native
 * CRC-32C (`node:zlib.crc32` is the IEEE polynomial), so this is pure
 * TypeScript; it runs at roughly 1 GB/s on this machine.
 *
 * @module
 */

const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = T[n]!;
  for (let k = 1; k < 8; k++) {
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
