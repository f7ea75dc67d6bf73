/**
 * The small interface every benchmark engine driver implements. `bench/run_engine.ts`
 * drives it through the phases; each driver maps the phases onto its engine's own best
 * idiomatic calls (documented in the driver and echoed in `notes`).
 *
 * Methods may return a Promise (lmdb-js commits, Deno KV); the runner awaits whatever is
 * returned. Synchronous engines return `void` and pay no Promise cost in the hot loops.
 *
 * @module
 */

import type { Pair } from "../workload.ts";

export type Maybe<T> = T | Promise<T>;

/** How `open` is called: a fresh database, a reopen, or a reopen that must replay. */
export type OpenMode = "create" | "reopen" | "replay";

export interface Engine {
  /** Engine label, e.g. "emdb", "lmdb", "node:sqlite". */
  readonly name: string;
  /** True when `get` returns a Promise (Deno KV): the runner uses an awaiting read loop. */
  readonly asyncGet: boolean;
  /** Keys and values must each have their own ArrayBuffer (Deno KV serialises the whole buffer of a view). */
  readonly ownBuffers?: boolean;
  /** Whether "reopen by full replay" (no checkpoint) means something for this engine. */
  readonly hasReplay: boolean;
  /** Remarks shown under the table (how each phase is mapped onto the engine). */
  readonly notes: string[];

  open(dir: string, mode: OpenMode): Maybe<void>;
  /** One bulk-load chunk (50,000 records); need not be durable on its own. */
  bulkChunk(pairs: Pair[]): Maybe<void>;
  /** Make every write so far durable (one flush / fsync where the engine allows). */
  sync(): Maybe<void>;
  /** One record, durably committed before returning. */
  putDurable(key: Uint8Array, value: Uint8Array): Maybe<void>;
  /** One batch of records, durably committed before returning. */
  batchDurable(pairs: Pair[]): Maybe<void>;
  /** Untimed: switch to non-durable writes. */
  beginNoSync(): Maybe<void>;
  /** One record, committed (visible, survives a process crash) but not synced. */
  putNoSync(key: Uint8Array, value: Uint8Array): Maybe<void>;
  /** Called once after the last `putNoSync` of the phase; timed (lmdb: awaits its commit). */
  settleNoSync(): Maybe<void>;
  /** Many records as one non-durable batch (one txn / one setMany). */
  batchNoSync(pairs: Pair[]): Maybe<void>;
  /** Untimed: back to durable mode, make the nosync writes durable. */
  endNoSync(): Maybe<void>;
  get(key: Uint8Array): Maybe<Uint8Array | undefined>;
  /** emdb only: copy the value into `target` (no allocation); length, or -1 when absent. */
  getInto?(key: Uint8Array, target: Uint8Array): number;
  /** Remove every key (not necessarily durable until `sync`). */
  removeAll(keys: Uint8Array[]): Maybe<void>;
  /** Compact; resolves to false when the engine has no compaction. */
  compact(): Maybe<boolean>;
  close(): Maybe<void>;
  /** The files that make up the database on disk (for sizes), as absolute paths. */
  files(): string[];
  /** Files written by compaction, when it writes a new file instead of compacting in place. */
  compactedFiles?(): string[];
  /** emdb: the engine's own stats. */
  stats?(): { indexBytesPerKey?: number; liveRecords?: number; [k: string]: unknown };
}
