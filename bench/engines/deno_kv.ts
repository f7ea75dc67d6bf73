/**
 * Deno KV driver (`Deno.openKv(path)`, needs `--unstable-kv`), keys `[key: Uint8Array]`,
 * values `Uint8Array`. Writes go through `atomic()` batches split at 1,000 mutations or
 * 800 KiB (the documented per-atomic limits); every commit is its own durability point —
 * Deno KV has no separate flush and no non-durable write mode, so the "nosync" phases are
 * the same commits. Reads are `await kv.get([key])` one at a time. No compaction.
 * Iteration: `kv.list({ prefix: [] })` (no keys-only listing: values come along); ranges:
 * `kv.list({ start: [start], end: [end] }, { limit })` — a key part cannot be matched by a
 * byte prefix with `{ prefix }` (it matches whole parts), so a prefix is its byte range;
 * transactions: `kv.getMany` of the 10 keys, then `atomic()` with `check` of each entry
 * and 10 `set`s, `commit()` (each commit durable: Deno KV has no other mode).
 *
 * @module
 */

import type { Pair } from "../workload.ts";
import type { Engine, EntrySink, OpenMode } from "./types.ts";

const MAX_MUTATIONS = 1000;
const MAX_BYTES = 800 * 1024;
/** Per-mutation size estimate: key + value + framing slack. */
const OVERHEAD = 64;

// deno-lint-ignore no-explicit-any
const D = (globalThis as any).Deno;

export default class DenoKvEngine implements Engine {
  readonly name = "Deno KV";
  readonly asyncGet = true;
  readonly ownBuffers = true;
  readonly hasReplay = false;
  readonly notes = [
    "Deno KV: writes = atomic() batches of ≤1,000 mutations / ≤800 KiB (bulk: 50 atomics per 50,000 chunk; batch: one atomic of 1,000); " +
    "individual = kv.set; no flush call and no non-durable mode (each commit is durable; the nosync rows use the same commits: kv.set each, batched = atomics); " +
    "reads = await kv.get one at a time; removals = atomics of 1,000 deletes; no compaction. Size = sqlite file + -wal + -shm after close. " +
    "Iteration = list({ prefix: [] }) (values come along; batchSize 500); ranges = list({ start: [start], end: [end] }, { limit }) " +
    "(a byte prefix of a key part is its byte range: { prefix } matches whole parts); transactions = getMany(10 keys) + " +
    "atomic().check(each entry).set ×10.commit(), each commit durable.",
  ];
  // deno-lint-ignore no-explicit-any
  private kv: any;
  private path = "";

  async open(dir: string, _mode: OpenMode): Promise<void> {
    this.path = `${dir}/kv.sqlite`;
    this.kv = await D.openKv(this.path);
  }
  private async commitPairs(pairs: Pair[]): Promise<void> {
    let i = 0;
    while (i < pairs.length) {
      const op = this.kv.atomic();
      let n = 0;
      let bytes = 0;
      while (i < pairs.length && n < MAX_MUTATIONS) {
        const size = pairs[i]![0].length + pairs[i]![1].length + OVERHEAD;
        if (n > 0 && bytes + size > MAX_BYTES) break;
        op.set([pairs[i]![0]], pairs[i]![1]);
        bytes += size;
        n++;
        i++;
      }
      const res = await op.commit();
      if (!res.ok) throw new Error("Deno KV atomic commit failed");
    }
  }
  bulkChunk(pairs: Pair[]): Promise<void> {
    return this.commitPairs(pairs);
  }
  sync(): void {}
  async putDurable(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.kv.set([key], value);
  }
  batchDurable(pairs: Pair[]): Promise<void> {
    return this.commitPairs(pairs);
  }
  beginNoSync(): void {}
  async putNoSync(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.kv.set([key], value);
  }
  settleNoSync(): void {}
  batchNoSync(pairs: Pair[]): Promise<void> {
    return this.commitPairs(pairs);
  }
  endNoSync(): void {}
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const r = await this.kv.get([key]);
    return r.value ?? undefined;
  }
  async iterateKeys(sink: (key: Uint8Array) => void, limit: number): Promise<void> {
    const options = limit === Infinity ? { batchSize: 500 } : { batchSize: 500, limit };
    for await (const e of this.kv.list({ prefix: [] }, options)) sink(e.key[0]);
  }
  async range(
    start: Uint8Array,
    end: Uint8Array | undefined,
    _prefix: boolean,
    limit: number,
    sink: EntrySink,
  ): Promise<void> {
    const selector = end ? { start: [start], end: [end] } : { prefix: [], start: [start] };
    for await (const e of this.kv.list(selector, { limit, batchSize: Math.min(limit, 500) })) sink(e.key[0], e.value);
  }
  async transaction(
    keys: Uint8Array[],
    values: Uint8Array[],
    _last: boolean,
    onRead: (value: Uint8Array | undefined) => void,
  ): Promise<void> {
    const entries = await this.kv.getMany(keys.map((k) => [k]));
    const op = this.kv.atomic();
    for (let i = 0; i < keys.length; i++) {
      onRead(entries[i].value ?? undefined);
      op.check(entries[i]).set([keys[i]], values[i]);
    }
    const res = await op.commit();
    if (!res.ok) throw new Error("Deno KV atomic commit failed a check nobody could have broken");
  }
  async removeAll(keys: Uint8Array[]): Promise<void> {
    for (let c = 0; c < keys.length; c += MAX_MUTATIONS) {
      const op = this.kv.atomic();
      const end = Math.min(keys.length, c + MAX_MUTATIONS);
      for (let i = c; i < end; i++) op.delete([keys[i]]);
      const res = await op.commit();
      if (!res.ok) throw new Error("Deno KV atomic delete failed");
    }
  }
  compact(): boolean {
    return false;
  }
  close(): void {
    this.kv.close();
  }
  files(): string[] {
    return [this.path, `${this.path}-wal`, `${this.path}-shm`];
  }
}
