/**
 * Copies of small byte ranges carved out of shared 16 KiB chunks, for the
 * keys and values iterators yield.
 *
 * A fresh `ArrayBuffer` per value is the largest cost of a scan under Deno:
 * about 0.4 µs for a 24-byte key and 1-1.5 µs for a 150-byte value (each
 * backing store is a separate allocation, reported to the garbage collector
 * as external memory, which then collects far more often on a large heap).
 * Measured here at 1,000,000 records: `entries()` ran at 0.14 M/s that way.
 * Bun allocates in ~40 ns and makes views over a shared buffer dearer than
 * that, so there (`binder.pooledCopies` false) every copy is a `slice()`.
 *
 * This is the pool Node's `Buffer` uses for small buffers, with the same
 * consequences, documented on the iterators: a copy's `buffer` is the shared
 * chunk (`byteOffset` is not 0, `buffer.byteLength` is larger than the copy),
 * a copy kept alive keeps its 16 KiB chunk alive, and transferring or
 * detaching `copy.buffer` empties the copies beside it. Each copy owns its
 * bytes: no other copy, and no later write or compaction, changes them.
 * Ranges above {@linkcode POOLED_MAX} bytes get a buffer of their own.
 *
 * @module
 */

import { binder } from "../../ffi/mod.ts";

/** Whether this runtime copies through the pool (see `Binder.pooledCopies`). */
const POOLING = binder.pooledCopies;

/** Bytes of one chunk. */
export const CHUNK_BYTES = 16 * 1024;

/** The largest range copied into a chunk; larger ones get their own buffer. */
export const POOLED_MAX = 1024;

let chunk = new Uint8Array(0);
let pos = 0;

/**
 * A copy of `src[start, end)` that no later change to `src` affects.
 *
 * @param src The bytes to copy from.
 * @param start First byte.
 * @param end One past the last byte.
 * @returns The copy: a view into a shared chunk, or (above {@linkcode POOLED_MAX}) its own buffer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pooledCopy } from "./copy_pool.ts";
 *
 * const src = new Uint8Array([1, 2, 3, 4]);
 * const copy = pooledCopy(src, 1, 3);
 * src[1] = 9;
 * assert.deepEqual([...copy], [2, 3]);
 * ```
 */
export function pooledCopy(src: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  if (n > POOLED_MAX || !POOLING) return src.slice(start, end);
  if (pos + n > chunk.length) {
    chunk = new Uint8Array(CHUNK_BYTES);
    pos = 0;
  }
  const at = pos;
  // 8-byte aligned, so a copy's byteOffset suits any typed-array view a caller makes over it.
  pos = (at + n + 7) & ~7;
  if (n <= 32) {
    for (let i = 0; i < n; i++) chunk[at + i] = src[start + i]!;
  } else {
    chunk.set(src.subarray(start, end), at);
  }
  return chunk.subarray(at, at + n);
}
