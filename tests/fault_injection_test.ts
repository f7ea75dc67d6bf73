/**
 * Fault injection through the in-memory I/O backend: writes torn after N
 * bytes and failing syncs, then a reopen of what the "disk" holds. These run
 * in addition to the crash tests on real files with killed processes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openEngine } from "../src/db.ts";
import { EmdbError } from "../src/errors.ts";
import { MemoryIo } from "../src/io/memory_io.ts";
import { resolveOptions } from "../src/options.ts";

const PATH = "/virtual/db.emdb";
const opts = resolveOptions({ checkpointOnClose: false });

test("a batch torn at every byte is absent after reopen and the database stays writable", () => {
  // Size of the batch once written, measured on a fault-free copy.
  const probe = new MemoryIo();
  const base = openEngine(probe, PATH, opts);
  base.set("before", "1");
  const start = base.stats().logicalSizeBytes;
  const batch: [string, string][] = Array.from({ length: 5 }, (_, i) => [`b${i}`, `batch-value-${i}`]);
  base.setMany(batch);
  const batchBytes = base.stats().logicalSizeBytes - start;
  base.close();

  for (let keep = 0; keep < batchBytes; keep += 3) {
    const io = new MemoryIo();
    const db = openEngine(io, PATH, opts);
    db.set("before", "1");
    io.faults.tearAfterBytes = start - 64 + keep; // bytes after the header that the "disk" accepts
    assert.throws(() => db.setMany(batch), (e: unknown) => e instanceof EmdbError && e.code === "IO");
    assert.equal(db.has("b0"), false, "a failed batch is not visible");
    delete io.faults.tearAfterBytes;
    db.close();
    const again = openEngine(io, PATH, opts);
    assert.equal(again.getUnsafeView("before")?.length, 1);
    for (const [k] of batch) assert.equal(again.has(k), false, `torn after ${keep}: ${k} must be absent`);
    again.set("after", "2");
    again.close();
    const third = openEngine(io, PATH, opts);
    assert.equal(third.has("after"), true, `torn after ${keep}: a write after the reopen survives`);
    third.close();
  }
});

test("a failing sync surfaces as EmdbError IO and the data written before it stays readable", () => {
  const io = new MemoryIo();
  const db = openEngine(io, PATH, opts);
  db.set("a", "1");
  io.faults.failSync = true;
  assert.throws(() => db.flush(), (e: unknown) => e instanceof EmdbError && e.code === "IO" && e.errno === "EIO");
  assert.equal(db.has("a"), true);
  io.faults.failSync = false;
  db.flush();
  db.close();
  const again = openEngine(io, PATH, opts);
  assert.equal(again.has("a"), true);
  again.close();
});
