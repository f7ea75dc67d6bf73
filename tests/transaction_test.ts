/**
 * Transactions and optimistic checks (reference §6 items 19–20): rollback,
 * read-your-writes, last write wins, versions, CONFLICT, spanning namespaces,
 * all-or-nothing across a torn write and across SIGKILL, re-entrancy.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Emdb } from "../mod.ts";
import { openWithIo } from "../src/db.ts";
import { MemoryIo } from "../src/io/memory_io.ts";
import { assertEmdbError, LiveChild, tempDbPath } from "./_helpers.ts";

test("a thrown error rolls back: nothing visible, nothing written, the error rethrown", () => {
  using db = Emdb.openInMemory();
  db.set("a", "1");
  const before = db.stats().logicalSizeBytes;
  const boom = new Error("boom");
  assert.throws(
    () =>
      db.transaction((tx) => {
        tx.set("a", "2");
        tx.set("b", "3");
        tx.namespace("fresh").set("c", "4");
        tx.delete("a");
        throw boom;
      }),
    (e) => e === boom,
  );
  assert.equal(db.getString("a"), "1");
  assert.equal(db.has("b"), false);
  assert.deepEqual(db.namespaces(), [], "a namespace created by a rolled-back transaction does not exist");
  assert.equal(db.stats().logicalSizeBytes, before, "nothing was written");
});

test("reads see the transaction's own writes; the last write per key wins; the value is returned", () => {
  using db = Emdb.openInMemory();
  db.setMany([["a", "1"], ["gone", "x"]]);
  const out = db.transaction((tx) => {
    assert.equal(tx.getString("a"), "1");
    tx.set("a", "2");
    assert.equal(tx.getString("a"), "2");
    tx.set("a", "3");
    assert.equal(tx.delete("gone"), true);
    assert.equal(tx.has("gone"), false);
    assert.equal(tx.get("gone"), undefined);
    tx.set("temp", "t");
    assert.equal(tx.delete("temp"), true, "deleting a key set earlier in the transaction");
    assert.equal(db.getString("a"), "1", "the database does not see uncommitted writes");
    return 42;
  });
  assert.equal(out, 42);
  assert.equal(db.getString("a"), "3");
  assert.equal(db.has("gone"), false);
  assert.equal(db.has("temp"), false, "set then delete yields no record");
  const size = db.stats().logicalSizeBytes;
  assert.equal(db.transaction(() => "empty"), "empty");
  assert.equal(db.stats().logicalSizeBytes, size, "an empty transaction writes nothing");
});

test("a transaction spans namespaces and creates the ones it names", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path);
    const users = db.namespace("users");
    db.transaction((tx) => {
      tx.set("root", "r");
      tx.namespace("users").set("ada", "A");
      tx.namespace(users).set("grace", "G");
      tx.namespace("audit").set("1", "created ada and grace");
    });
  }
  using db = Emdb.open(path, { useCheckpoint: false });
  assert.deepEqual(db.namespaces(), ["audit", "users"]);
  assert.deepEqual([...db.namespace("users").rangeKeys()], ["ada", "grace"]);
  assert.equal(db.namespace("audit").getString("1"), "created ada and grace");
  assert.equal(db.getString("root"), "r");
});

test("versions change on every write, never repeat, and survive reopen", (t) => {
  const path = tempDbPath(t);
  const seen = new Set<number>();
  let last = 0;
  {
    using db = Emdb.open(path);
    for (let i = 0; i < 50; i++) {
      db.set("k", String(i));
      const v = db.getEntry("k")!.version;
      assert.ok(v > last, "versions grow");
      assert.ok(!seen.has(v));
      seen.add(v);
      last = v;
    }
    db.namespace("n").set("k", "x");
    assert.ok(db.namespace("n").getEntry("k")!.version > last);
  }
  using db = Emdb.open(path);
  assert.equal(db.getEntry("k")!.version, last);
});

test("check() passes on the current version or absence and fails with CONFLICT otherwise, writing nothing", () => {
  using db = Emdb.openInMemory();
  db.set("stock", "3");
  const seen = db.getEntry("stock")!;
  db.transaction((tx) => {
    tx.check("stock", seen.version);
    tx.check("absent", null);
    tx.set("stock", "2");
  });
  const size = db.stats().logicalSizeBytes;
  const e = assertEmdbError(
    () =>
      db.transaction((tx) => {
        tx.check("stock", seen.version); // stale: "stock" was written by the first transaction
        tx.set("stock", "1");
        tx.set("other", "x");
      }),
    "CONFLICT",
  );
  assert.match(e.message, /stock/);
  assertEmdbError(() => db.transaction((tx) => tx.check("stock", null)), "CONFLICT");
  assertEmdbError(() => db.transaction((tx) => tx.namespace("n").check("stock", 1)), "CONFLICT");
  assert.equal(db.getString("stock"), "2");
  assert.equal(db.has("other"), false);
  assert.equal(db.stats().logicalSizeBytes, size);
  assert.throws(() => db.transaction((tx) => tx.check("k", "v1" as never)), TypeError);
});

test("atomic() returns ok:false on a failed check and commits otherwise", () => {
  using db = Emdb.openInMemory();
  const first = db.atomic().check({ key: "c", version: null }).set("c", "1").commit();
  assert.equal(first.ok, true);
  const e = db.getEntry("c")!;
  assert.equal(db.atomic().check({ key: "c", version: null }).set("c", "x").commit().ok, false);
  const second = db.atomic().check({ key: "c", version: e.version }).set("c", "2").delete("d").commit();
  assert.ok(second.ok && first.ok && second.version > first.version);
  assert.equal(db.getString("c"), "2");
  assert.equal(db.atomic().check({ key: "c", version: e.version }).delete("c").commit().ok, false);
  assert.equal(db.getString("c"), "2");
});

test("writing to the database directly inside a transaction throws BUSY; an async callback is refused", () => {
  using db = Emdb.openInMemory();
  assertEmdbError(() => db.transaction(() => db.set("x", "1")), "BUSY");
  assertEmdbError(() => db.transaction(() => db.namespace("new")), "BUSY");
  assertEmdbError(() => db.transaction(() => db.transaction(() => 1)), "BUSY");
  assert.equal(db.has("x"), false);
  db.set("x", "after", {}); // and the database is writable again afterwards
  assert.throws(
    () =>
      db.transaction(async (tx) => {
        tx.set("y", "1");
        await Promise.resolve();
      }),
    TypeError,
  );
  assert.equal(db.has("y"), false, "nothing of an async callback is written");
  let kept: { set(k: string, v: string): void } | undefined;
  db.transaction((tx) => {
    kept = tx;
  });
  assert.throws(() => kept!.set("late", "1"), TypeError, "a transaction cannot be used after it ended");
  // Reads inside the callback are fine.
  assert.equal(db.transaction(() => db.getString("x")), "after");
});

test("a commit torn at any byte is all or nothing after reopen", () => {
  const PATH = "/virtual/tx.emdb";
  const probe = new MemoryIo();
  let start = 0;
  let bytes = 0;
  {
    const db = openWithIo(probe, PATH, { checkpointOnClose: false });
    db.set("a", "0");
    db.set("b", "0");
    start = db.stats().logicalSizeBytes;
    db.transaction((tx) => {
      tx.set("a", "1");
      tx.set("b", "1");
      tx.namespace("n").set("c", "1");
    });
    bytes = db.stats().logicalSizeBytes - start;
    db.close();
  }
  for (let keep = 0; keep < bytes; keep++) {
    const io = new MemoryIo();
    const db = openWithIo(io, PATH, { checkpointOnClose: false });
    db.set("a", "0");
    db.set("b", "0");
    io.faults.tearAfterBytes = start + keep;
    assertEmdbError(() =>
      db.transaction((tx) => {
        tx.set("a", "1");
        tx.set("b", "1");
        tx.namespace("n").set("c", "1");
      }), "IO");
    delete io.faults.tearAfterBytes;
    db.close();
    const again = openWithIo(io, PATH, { checkpointOnClose: false });
    assert.deepEqual([again.getString("a"), again.getString("b")], ["0", "0"], `torn after ${keep}`);
    assert.deepEqual(again.namespaces(), [], `torn after ${keep}`);
    again.close();
  }
});

test("transactions killed by SIGKILL at random points leave every transfer whole (the sum is constant)", async (t) => {
  const path = tempDbPath(t);
  const child = new LiveChild("bank_child.ts", [path]);
  await child.waitForLine((l) => l.startsWith("committed 200"), 60_000);
  await child.kill();
  const acked = Math.max(...child.lines.filter((l) => l.startsWith("committed ")).map((l) => Number(l.split(" ")[1])));
  using db = Emdb.open(path);
  let sum = 0;
  for (const [, v] of db.range({ prefix: "acct:" })) sum += Number(new TextDecoder().decode(v));
  assert.equal(sum, 1000, "every transfer moved money whole or not at all");
  const done = Number(db.getString("transfers") ?? "0");
  assert.ok(done >= acked, `acknowledged ${acked} transfers, found ${done}`);
});
