/**
 * The small interface every benchmark engine driver implements. `bench/run_engine.ts`
 * drives it through the phases; each driver maps the phases onto its engine's own best
 * idiomatic calls (documented in the driver and echoed in `notes`).
 *
 * Methods may return a Promise (lmdb-js commits, Deno KV); the runner awaits whatever is
 * returned. Synchronous engines return `void` and pay no Promise cost in the hot loops.
 * Optional methods are phases only some engines have; the runner skips a phase (and the
 * table shows "—") when its method is missing.
 *
 * @module
 */

import type { Pair } from "../workload.ts";

export type Maybe<T> = T | Promise<T>;

/** How `open` is called: a fresh database, a reopen, or a reopen that must replay. */
export type OpenMode = "create" | "reopen" | "replay";

/** Receives each entry of a range, in the order the engine yields them. */
export type EntrySink = (key: Uint8Array, value: Uint8Array) => void;

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

  /** emdb: extra `Emdb.open` options (encryption, cipher) for every later `open`. Called before the first. */
  configure?(options: Record<string, unknown>): void;
  open(dir: string, mode: OpenMode): Maybe<void>;
  /** One bulk-load chunk (50,000 records); need not be durable on its own. */
  bulkChunk(pairs: Pair[]): Maybe<void>;
  /** Make every write so far durable (one flush / fsync where the engine allows). */
  sync(): Maybe<void>;
  /** One record, durably committed before returning. */
  putDurable(key: Uint8Array, value: Uint8Array): Maybe<void>;
  /** emdb: close and reopen (untimed) with this `flushPolicy`; later `putNoSync` calls follow it. */
  reopenWithPolicy?(policy: "manual" | "always" | "writeThrough"): Maybe<void>;
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

  /** Row 10: every key once, at most `limit` (emdb: `keys()`, unordered; peers: their ordered key scan). */
  iterateKeys?(sink: (key: Uint8Array) => void, limit: number): Maybe<void>;
  /**
   * Rows 11: the entries with `start` ≤ key < `end` (no upper bound when `end` is undefined) in key
   * order, at most `limit`. `prefix`: the range is "keys starting with `start`" (emdb passes `{ prefix }`).
   */
  range?(
    start: Uint8Array,
    end: Uint8Array | undefined,
    prefix: boolean,
    limit: number,
    sink: EntrySink,
  ): Maybe<void>;
  /** emdb: have the ordered index built (a range taken) before the write phases of row 13. */
  useOrderedAccess?(): void;
  /** Untimed, before row 12 (SQLite: `synchronous=NORMAL` until the last transaction). */
  beginTransactions?(): Maybe<void>;
  /**
   * Row 12: one transaction that reads `keys` (taking their versions where the engine has them),
   * checks them and writes `values[i]` to `keys[i]`. `onRead` gets each value read (undefined when
   * absent). `last`: the phase's final transaction; everything must be durable when it returns.
   */
  transaction?(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): Maybe<void>;
  /** emdb extra row: the same through `getEntry` + `atomic().check().set().commit()`. */
  atomic?(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): Maybe<void>;

  /** Remove every key (not necessarily durable until `sync`). */
  removeAll(keys: Uint8Array[]): Maybe<void>;
  /** Compact; resolves to false when the engine has no compaction. */
  compact(): Maybe<boolean>;
  /** emdb: a consistent, compacted copy at `path` (`backupTo`). */
  backup?(path: string): Promise<void>;
  close(): Maybe<void>;
  /** The files that make up the database on disk (for sizes), as absolute paths. */
  files(): string[];
  /** Files written by compaction, when it writes a new file instead of compacting in place. */
  compactedFiles?(): string[];
  /** emdb: the engine's own stats. */
  stats?(): { indexBytesPerKey?: number; liveRecords?: number; indexBytes?: number; [k: string]: unknown };
}
