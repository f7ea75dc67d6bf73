/**
 * emdb: a lightweight, high-performance embedded key-value database for Deno
 * and Bun. An append-only journal with CRC-32C-framed records, an in-memory
 * hash index over typed arrays, reads straight from an mmap of the journal,
 * a cross-process lock, crash-safe batches and fast reopen from checkpoints.
 *
 * Deno needs `--allow-ffi` (plus read/write/env); Bun needs nothing extra.
 *
 * @example
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * db.setMany([["a", "1"], ["b", "2"]]);
 * db.delete("a");
 * console.log(db.getString("b"), db.size); // "2" 1
 * ```
 *
 * @module
 */
export { Emdb } from "./src/db.ts";
export { EmdbError } from "./src/errors.ts";
export type { EmdbErrorCode, EmdbErrorDetails } from "./src/errors.ts";
export type { CorruptionPolicy, EmdbOptions } from "./src/options.ts";
export type { EmdbStats } from "./src/stats.ts";
export type { LockHolder } from "./src/engine/lockfile.ts";
export type { Key, Value } from "./src/codec.ts";
export type { OpenedFrom } from "./src/engine/open.ts";
