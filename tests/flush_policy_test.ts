/**
 * Durability choices: `flushPolicy` "manual", "always", { interval } and
 * "writeThrough" (a real O_DSYNC descriptor on Linux, checked in /proc).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { Emdb } from "../mod.ts";
import { openWithIo } from "../src/db.ts";
import type { JournalFile } from "../src/io/io.ts";
import { MemoryIo } from "../src/io/memory_io.ts";
import type { EmdbOptions } from "../src/options.ts";
import { tempDbPath } from "./_helpers.ts";

/** An in-memory database whose journal counts its syncs. */
function counted(options: EmdbOptions): { db: Emdb; syncs: () => number } {
  let syncs = 0;
  const io = new MemoryIo();
  const open = io.openJournal.bind(io);
  io.openJournal = (p: string, c: boolean, wt?: boolean) => {
    const f = open(p, c, wt)!;
    return new Proxy(f, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t);
        if (prop === "sync") return () => (syncs++, t.sync());
        return typeof v === "function" ? v.bind(t) : v;
      },
    }) as JournalFile;
  };
  const db = openWithIo(io, "/virtual/p.emdb", { checkpointOnClose: false, ...options });
  const base = syncs;
  return { db, syncs: () => syncs - base };
}

test('"manual" syncs only at flush()', () => {
  const { db, syncs } = counted({});
  for (let i = 0; i < 10; i++) db.set(`k${i}`, "v");
  assert.equal(syncs(), 0);
  db.flush();
  assert.equal(syncs(), 1);
  db.flush();
  assert.equal(syncs(), 1, "nothing new: no sync");
  db.close();
});

test('"always" makes every write durable before it returns: one sync per write, batch or transaction', () => {
  const { db, syncs } = counted({ flushPolicy: "always" });
  db.set("a", "1");
  db.delete("a");
  db.setMany([["b", "2"], ["c", "3"]]);
  db.transaction((tx) => tx.set("d", "4"));
  db.namespace("n").set("e", "5"); // the namespace's declaration, then the write
  assert.equal(syncs(), 6);
  db.close();
});

test("{ interval } flushes from a write once the last sync is older than the interval, and by timer", async () => {
  const { db, syncs } = counted({ flushPolicy: { interval: 20 } });
  db.set("a", "1"); // flushed inline if the open took over 20 ms, else by the timer it arms: never both
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(syncs(), 1, "flushed once within the interval, with no further write");
  const n = syncs();
  // A write made when the last sync is older than the interval flushes inline, even if no timer could run.
  const start = performance.now();
  while (performance.now() - start < 25) {
    // keep the event loop busy: no timer can fire here
  }
  db.set("b", "2");
  assert.equal(syncs(), n + 1, "inline flush");
  db.close();
  assert.throws(() => Emdb.openInMemory({ flushPolicy: { interval: 0 } }), RangeError);
  assert.throws(() => Emdb.openInMemory({ flushPolicy: "sometimes" as never }), TypeError);
});

test('"writeThrough" opens the journal with O_DSYNC and writes never go through a writable mapping', {
  skip: process.platform !== "linux",
}, (t) => {
  const path = tempDbPath(t);
  const flagsOf = (): number | undefined => {
    for (const fd of readdirSync("/proc/self/fd")) {
      let target = "";
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== path) continue;
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
      return parseInt(/flags:\s+(\d+)/.exec(info)![1]!, 8);
    }
    return undefined;
  };
  const O_DSYNC = 0o10000;
  {
    using db = Emdb.open(path, { flushPolicy: "writeThrough" });
    for (let i = 0; i < 100; i++) db.set(`k${i}`, "v"); // past the first writes after a sync, as a mapped write would be
    const flags = flagsOf();
    assert.ok(flags !== undefined, "the journal's descriptor was found");
    assert.equal(flags & O_DSYNC, O_DSYNC, "O_DSYNC is set");
  }
  {
    using db = Emdb.open(path);
    assert.equal(db.size, 100);
    assert.equal((flagsOf() ?? 0) & O_DSYNC, 0, "the default is not write-through");
  }
});
