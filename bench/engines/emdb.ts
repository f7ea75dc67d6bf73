/**
 * emdb driver. Every phase uses the engine's own calls directly:
 * bulk = `setMany` per 50,000-record chunk then one `flush()`; individual = `set` + `flush`;
 * batch = `setMany(1000)` + `flush`; nosync = `set` without flush; reads = `get`;
 * removals = `delete` each, then one `flush()`.
 *
 * @module
 */

import { Emdb } from "../../mod.ts";
import type { Pair } from "../workload.ts";
import type { Engine, OpenMode } from "./types.ts";

// deno-lint-ignore no-explicit-any
type Db = any;

export class EmdbEngine implements Engine {
  readonly name = "emdb";
  readonly asyncGet = false;
  readonly hasReplay = true;
  readonly notes = [
    "emdb: bulk = setMany per 50,000 then one flush (one fdatasync); individual = set + flush; " +
    "batch = setMany(1,000) + flush; nosync = set, no flush; batched nosync = one setMany(50,000); " +
    "removals = delete each, then one flush. Size = journal file after close (hint file not counted).",
  ];
  private db: Db;
  private path = "";

  async open(dir: string, mode: OpenMode): Promise<void> {
    this.path = `${dir}/bench.emdb`;
    this.db = await Emdb.open(this.path, { useCheckpoint: mode !== "replay" });
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
  removeAll(keys: Uint8Array[]): void {
    const db = this.db;
    for (let i = 0; i < keys.length; i++) db.delete(keys[i]);
  }
  async compact(): Promise<boolean> {
    if (typeof this.db.compact !== "function") return false;
    await this.db.compact();
    return true;
  }
  async close(): Promise<void> {
    await this.db.close();
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
