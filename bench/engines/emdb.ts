/**
 * emdb driver. Every phase uses the engine's own calls directly:
 * bulk = `setMany` per 50,000-record chunk then one `flush()`; individual = `set` + `flush`;
 * batch = `setMany(1000)` + `flush`; nosync = `set` without flush; reads = `get`;
 * removals = `delete` each, then one `flush()`; iteration = `keys()`; ranges = `range()`;
 * transactions = `db.transaction` with `getEntry` + `check` + `set`; compaction = `await compact()`.
 *
 * @module
 */

import { Emdb } from "../../mod.ts";
import type { Pair } from "../workload.ts";
import type { Engine, EntrySink, OpenMode } from "./types.ts";

// deno-lint-ignore no-explicit-any
type Db = any;

export class EmdbEngine implements Engine {
  readonly name = "emdb";
  readonly asyncGet = false;
  readonly hasReplay = true;
  readonly notes = [
    "emdb: bulk = setMany per 50,000 then one flush (one fdatasync); individual = set + flush; " +
    "batch = setMany(1,000) + flush; nosync = set, no flush; batched nosync = one setMany(50,000); " +
    "removals = delete each, then one flush. Size = journal file after close (hint file not counted). " +
    'Rows 2b/2c: the database reopened (untimed) with flushPolicy "always" / "writeThrough", then 1,000 × set ' +
    "of the row-2 keys and values again. Iteration = keys() (hash order, a snapshot); ranges = range({ prefix, limit }) " +
    "and range({ start, limit }); transactions = db.transaction(tx => 10 × { tx.getEntry; tx.check(key, version); " +
    "tx.set }), flush() after the last; compaction = await compact(); backup = await backupTo(path).",
  ];
  private db: Db;
  private path = "";
  private options: Record<string, unknown> = {};
  private policy: "manual" | "always" | "writeThrough" = "manual";

  configure(options: Record<string, unknown>): void {
    this.options = options;
  }
  open(dir: string, mode: OpenMode): void {
    this.path = `${dir}/bench.emdb`;
    this.db = Emdb.open(this.path, { ...this.options, useCheckpoint: mode !== "replay", flushPolicy: this.policy });
  }
  reopenWithPolicy(policy: "manual" | "always" | "writeThrough"): void {
    this.db.close();
    this.policy = policy;
    this.db = Emdb.open(this.path, { ...this.options, flushPolicy: policy });
  }
  bulkChunk(pairs: Pair[]): void {
    this.db.setMany(pairs);
  }
  sync(): void {
    this.db.flush();
  }
  putDurable(key: Uint8Array, value: Uint8Array): void {
    this.db.set(key, value);
    this.db.flush();
  }
  batchDurable(pairs: Pair[]): void {
    this.db.setMany(pairs);
    this.db.flush();
  }
  beginNoSync(): void {}
  putNoSync(key: Uint8Array, value: Uint8Array): void {
    this.db.set(key, value);
  }
  settleNoSync(): void {}
  batchNoSync(pairs: Pair[]): void {
    this.db.setMany(pairs);
  }
  endNoSync(): void {
    this.db.flush();
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.db.get(key);
  }
  getInto(key: Uint8Array, target: Uint8Array): number {
    return this.db.getInto(key, target);
  }
  iterateKeys(sink: (key: Uint8Array) => void, limit: number): void {
    let n = 0;
    for (const key of this.db.keys()) {
      if (n++ === limit) break;
      sink(key);
    }
  }
  range(start: Uint8Array, end: Uint8Array | undefined, prefix: boolean, limit: number, sink: EntrySink): void {
    const options = prefix ? { prefix: start, limit } : end ? { start, end, limit } : { start, limit };
    for (const [key, value] of this.db.range(options)) sink(key, value);
  }
  useOrderedAccess(): void {
    for (const _ of this.db.rangeKeys({ limit: 1 })) break;
  }
  transaction(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): void {
    this.db.transaction((tx: Db) => {
      for (let i = 0; i < keys.length; i++) {
        const entry = tx.getEntry(keys[i]);
        onRead(entry?.value);
        tx.check(keys[i], entry ? entry.version : null);
        tx.set(keys[i], values[i]);
      }
    });
    if (last) this.db.flush();
  }
  atomic(
    keys: Uint8Array[],
    values: Uint8Array[],
    last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): void {
    const db = this.db;
    const op = db.atomic();
    for (let i = 0; i < keys.length; i++) {
      const entry = db.getEntry(keys[i]);
      onRead(entry?.value);
      op.check({ key: keys[i], version: entry ? entry.version : null }).set(keys[i], values[i]);
    }
    if (!op.commit().ok) throw new Error("emdb atomic() commit failed a check nobody could have broken");
    if (last) db.flush();
  }
  removeAll(keys: Uint8Array[]): void {
    const db = this.db;
    for (let i = 0; i < keys.length; i++) db.delete(keys[i]);
  }
  async compact(): Promise<boolean> {
    await this.db.compact();
    return true;
  }
  backup(path: string): Promise<void> {
    return this.db.backupTo(path);
  }
  close(): void {
    this.db.close();
    this.db = undefined;
  }
  files(): string[] {
    return [this.path];
  }
  stats(): { indexBytesPerKey?: number; liveRecords?: number; [k: string]: unknown } {
    return this.db.stats();
  }
}

export default EmdbEngine;
