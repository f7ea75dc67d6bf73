/**
 * Deno and Bun share one file format and one lock: a database written by one
 * runtime is read by the other (also through the other's checkpoint), and the
 * lock held by one runtime stops the other.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { Emdb } from "../mod.ts";
import {
  assertEmdbError,
  currentRuntime,
  LiveChild,
  otherRuntime,
  runFixture,
  runtimeExecutable,
  tempDir,
} from "./_helpers.ts";
import { checkInterop, INTEROP_SIZE, writeInterop } from "./fixtures/interop_data.ts";

const skip = runtimeExecutable(otherRuntime) === undefined ? `${otherRuntime} is not installed` : false;

test(`a database written by ${otherRuntime} is read by ${currentRuntime}, and the other way round`, {
  skip,
  timeout: 120_000,
}, async (t) => {
  const path = join(tempDir(t), "interop.emdb");
  const w = await runFixture("interop_child.ts", ["write", path, "other"], { runtime: otherRuntime });
  assert.equal(w.code, 0, w.stderr);
  {
    using db = Emdb.open(path);
    assert.equal(db.stats().openedFrom, "checkpoint", `the checkpoint written by ${otherRuntime} was not used`);
    assert.equal(checkInterop(db, "other"), undefined);
    assert.equal(db.size, INTEROP_SIZE);
    writeInterop(db, "this");
  }
  {
    using db = Emdb.open(path, { useCheckpoint: false, checkpointOnClose: false });
    assert.equal(checkInterop(db, "other"), undefined);
    assert.equal(checkInterop(db, "this"), undefined);
  }
  for (const tag of ["other", "this"]) {
    const r = await runFixture("interop_child.ts", ["read", path, tag], { runtime: otherRuntime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "ok", `${otherRuntime} reading data tagged ${tag}`);
  }
});

test(`a lock held by ${otherRuntime} stops ${currentRuntime}, and the other way round`, {
  skip,
  timeout: 120_000,
}, async (t) => {
  const path = join(tempDir(t), "lock.emdb");
  const holder = new LiveChild("lock_child.ts", ["hold", path], undefined, otherRuntime);
  t.after(() => holder.kill());
  await holder.waitForLine((l) => l.startsWith("locked "));
  const e = assertEmdbError(() => Emdb.open(path), "LOCK_BUSY");
  assert.equal(e.pid, holder.pid);
  assert.equal(Emdb.lockHolder(path)?.pid, holder.pid);
  await holder.kill();

  using db = Emdb.open(path);
  assert.equal(db.getString("held-by"), String(holder.pid));
  const r = await runFixture("lock_child.ts", ["try", path], { runtime: otherRuntime });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim()) as { ok: boolean; code?: string; pid?: number };
  assert.equal(report.code, "LOCK_BUSY");
  assert.equal(report.pid, process.pid);
});
