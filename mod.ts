/**
 * emdb: a lightweight, high-performance embedded key-value database for Deno
 * and Bun. An append-only journal of CRC-32C records, in-memory indexes over
 * typed arrays, reads straight from an mmap of the journal, namespaces, TTL,
 * transactions with version checks, snapshot iterators and ordered ranges, a
 * cross-process lock, crash-safe batches and fast reopen from checkpoints.
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
export { KvStore } from "./src/store.ts";
export { Namespace } from "./src/namespace.ts";
export { AtomicOperation, Transaction, TransactionView } from "./src/transaction.ts";
export type { EmdbErrorCode, EmdbErrorDetails } from "./src/errors.ts";
export type {
  AutoCompactOptions,
  Cipher,
  CorruptionPolicy,
  EmdbOptions,
  EncryptionOptions,
  FlushPolicy,
  KdfOptions,
} from "./src/options.ts";
export type { CompactionResult } from "./src/engine/compact.ts";
export type { RekeyOptions } from "./src/encryption_admin.ts";
export type { EmdbStats } from "./src/stats.ts";
export type { LockHolder } from "./src/engine/lockfile.ts";
export type { Key, Value } from "./src/codec.ts";
export type { OpenedFrom } from "./src/engine/open.ts";
export type { Entry } from "./src/engine/iterate.ts";
export type { BatchEntry, RangeOptions, VersionedValue } from "./src/store.ts";
export type { SetOptions } from "./src/ttl.ts";
export type { CommitResult, VersionCheck } from "./src/transaction.ts";
