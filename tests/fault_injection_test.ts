/**
 * Fault injection through the in-memory I/O backend: writes torn after N
 * bytes and failing syncs, then a reopen of what the "disk" holds. These run
 * in addition to the crash tests on real files with killed processes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { openWithIo } from "../src/db.ts";
import { EmdbError } from "../src/errors.ts";
import { MemoryIo } from "../src/io/memory_io.ts";
import type { EmdbOptions } from "../src/options.ts";

const PATH = "/virtual/db.emdb";
const opts: EmdbOptions = { checkpointOnClose: false };
const openEngine = (io: MemoryIo, path: string, o: EmdbOptions) => openWithIo(io, path, o);

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

  // The fault counter counts every byte the journal accepted since it was created (header included),
  // so after "before" it stands at `start`: a limit of start + keep tears the batch after `keep` bytes.
  const tornAt: number[] = [];
  for (let keep = 0; keep <= batchBytes; keep += keep < batchBytes - 80 ? 7 : 1) {
    const io = new MemoryIo();
    const db = openEngine(io, PATH, opts);
    db.set("before", "1");
    io.faults.tearAfterBytes = start + keep;
    if (keep === batchBytes) {
      // Control: with room for the whole batch the same write succeeds, so the loop above really tore it.
      db.setMany(batch);
      assert.equal(db.has("b0"), true);
      db.close();
      continue;
    }
    assert.throws(() => db.setMany(batch), (e: unknown) => e instanceof EmdbError && e.code === "IO");
    tornAt.push(keep);
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
  // Every one of the batch's last 64 bytes was a tear point.
  for (let k = batchBytes - 64; k < batchBytes; k++) assert.ok(tornAt.includes(k), `tear at ${k} was tried`);
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
