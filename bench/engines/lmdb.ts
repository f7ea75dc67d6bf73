/**
 * lmdb-js driver (npm `lmdb`), binary keys and values, no compression, default sync
 * (overlappingSync on Linux) for the durable phases:
 * - bulk: asynchronous `put` for every record (lmdb-js batches them into transactions on
 *   its worker thread — its fastest path, measured faster than `transactionSync` per
 *   chunk), then `await` the last put and `db.flushed` (durable);
 * - individual: `putSync` + `await db.flushed` (one synced commit per write; measured
 *   faster than `await put` + `flushed`);
 * - batch: 1,000 async `put`s, `await` the last, `await db.flushed`;
 * - nosync: the database is reopened with `noSync: true` (untimed), then `putSync` per
 *   record (each its own committed transaction, like an emdb `set`); the batched nosync
 *   row uses 50,000 async `put`s committed together;
 * - reads: `get` (a fresh Buffer per value);
 * - removals: asynchronous `remove` of every key, `await` the last, `await db.flushed`;
 * - compaction: LMDB has no in-place compaction; `backup(path, compact=true)` writes a
 *   compacted copy, whose size is the "after" size;
 * - iteration: `getKeys()` (a snapshot, key order); ranges: `getRange({ start, end, limit })`;
 * - transactions: `db.transaction(callback)` per transaction, not awaited one by one (lmdb-js runs
 *   the callbacks, each atomic as a child transaction, on its write batch: its fastest documented
 *   way; measured 0.12–0.14 ms per transaction against 0.2 ms for synchronous `transactionSync`
 *   under `noSync` + an environment sync, and 4–5 ms for `transactionSync` or `await transaction`,
 *   which wait for a flush each), then `await` the last one and `db.flushed`. Inside a write
 *   transaction reads are serialised with the writes, so the version check is implicit: lmdb-js's
 *   `ifVersion` needs `useVersions`, which would change every other phase's format.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { open } from "lmdb";
import type { Pair } from "../workload.ts";
import type { Engine, EntrySink, OpenMode } from "./types.ts";

// deno-lint-ignore no-explicit-any
type Db = any;

export class LmdbEngine implements Engine {
  readonly name = "lmdb";
  readonly asyncGet = false;
  readonly hasReplay = false;
  readonly notes = [
    "lmdb-js: bulk = async put per record (auto-batched) + await flushed; individual = putSync + await flushed; " +
    "batch = 1,000 async puts + await flushed; nosync = reopened with noSync:true, putSync per record; " +
    "batched nosync = 50,000 async puts, one commit; reads = get; removals = async remove each + await flushed; " +
    "compaction = backup(copy, compact=true) (no in-place compaction), size after = the copy. Size = data.mdb. " +
    "Iteration = getKeys() (snapshot, key order); ranges = getRange({ start, end, limit }); transactions = " +
    "db.transaction(cb) each (cb: 10 × get + putSync; each atomic; reads inside the write txn, so the check is " +
    "implicit: ifVersion needs useVersions), not awaited one by one, then await the last + flushed.",
  ];
  private db: Db;
  private dir = "";
  private last: Promise<unknown> | undefined;

  private openWith(extra: Record<string, unknown>): void {
    this.db = open({
      path: `${this.dir}/lmdb`,
      encoding: "binary",
      keyEncoding: "binary",
      compression: false,
      ...extra,
    });
  }
  open(dir: string, _mode: OpenMode): void {
    this.dir = dir;
    this.openWith({});
  }
  bulkChunk(pairs: Pair[]): void {
    const db = this.db;
    let p;
    for (let i = 0; i < pairs.length; i++) p = db.put(pairs[i]![0], pairs[i]![1]);
    this.last = p;
  }
  async sync(): Promise<void> {
    if (this.last) await this.last;
    this.last = undefined;
    await this.db.flushed;
  }
  async putDurable(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.db.putSync(key, value);
    await this.db.flushed;
  }
  async batchDurable(pairs: Pair[]): Promise<void> {
    this.bulkChunk(pairs);
    await this.sync();
  }
  async beginNoSync(): Promise<void> {
    await this.db.flushed;
    await this.db.close();
    this.openWith({ noSync: true });
  }
  putNoSync(key: Uint8Array, value: Uint8Array): void {
    this.db.putSync(key, value);
  }
  settleNoSync(): void {}
  async batchNoSync(pairs: Pair[]): Promise<void> {
    this.bulkChunk(pairs);
    await this.last;
    this.last = undefined;
  }
  async endNoSync(): Promise<void> {
    if (this.last) await this.last;
    this.last = undefined;
    await this.db.close();
    this.openWith({});
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.db.get(key);
  }
  iterateKeys(sink: (key: Uint8Array) => void, limit: number): void {
    for (const key of this.db.getKeys(limit === Infinity ? {} : { limit })) sink(key);
  }
  range(start: Uint8Array, end: Uint8Array | undefined, _prefix: boolean, limit: number, sink: EntrySink): void {
    for (const { key, value } of this.db.getRange(end ? { start, end, limit } : { start, limit })) sink(key, value);
  }
  transaction(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): Promise<void> | void {
    const db = this.db;
    this.last = db.transaction(() => {
      for (let i = 0; i < keys.length; i++) {
        onRead(db.get(keys[i]));
        db.putSync(keys[i], values[i]);
      }
    });
    if (last) return this.sync();
  }
  removeAll(keys: Uint8Array[]): void {
    const db = this.db;
    let p;
    for (let i = 0; i < keys.length; i++) p = db.remove(keys[i]);
    this.last = p;
  }
  async compact(): Promise<boolean> {
    mkdirSync(`${this.dir}/lmdb-compact`, { recursive: true });
    await this.db.backup(`${this.dir}/lmdb-compact`, true);
    return true;
  }
  async close(): Promise<void> {
    if (this.last) await this.last;
    this.last = undefined;
    await this.db.close();
    this.db = undefined;
  }
  files(): string[] {
    return [`${this.dir}/lmdb/data.mdb`];
  }
  compactedFiles(): string[] {
    return [`${this.dir}/lmdb-compact/data.mdb`];
  }
}

export default LmdbEngine;
