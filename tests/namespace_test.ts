/**
 * Namespaces: independent keyspaces with the database's whole surface, ids and
 * names that persist, durable drop and clear, clear errors for bad names.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Emdb, EmdbError, Namespace } from "../mod.ts";
import { assertEmdbError, tempDbPath } from "./_helpers.ts";

test("the same key in two namespaces and the default one are independent records", () => {
  using db = Emdb.openInMemory();
  const a = db.namespace("a");
  const b = db.namespace("b");
  db.set("k", "root");
  a.set("k", "in a");
  b.set("k", "in b");
  assert.equal(db.getString("k"), "root");
  assert.equal(a.getString("k"), "in a");
  assert.equal(b.getString("k"), "in b");
  assert.equal(a.delete("k"), true);
  assert.equal(a.has("k"), false);
  assert.equal(b.getString("k"), "in b");
  assert.equal(db.size, 1);
  assert.equal(b.size, 1);
  assert.equal(a.size, 0);
  assert.ok(a instanceof Namespace);
  assert.equal(a.name, "a");
});

test("a namespace has the whole surface: setMany, getInto, getEntry, iteration, ranges, TTL, atomic", () => {
  let now = 1_000;
  using db = Emdb.openInMemory({ clock: () => now });
  const ns = db.namespace("items");
  assert.equal(ns.setMany([["b", "2"], ["a", "1"], ["c", "3", { ttl: 10 }]]), 3);
  const buf = new Uint8Array(8);
  assert.equal(ns.getInto("a", buf), 1);
  assert.ok(ns.getEntry("a")!.version > 0);
  assert.deepEqual([...ns.rangeKeys()], ["a", "b", "c"]);
  assert.deepEqual([...ns.keys()].sort(), ["a", "b", "c"]);
  now = 1_010;
  assert.equal(ns.has("c"), false, "expired in the namespace too");
  assert.deepEqual([...ns.rangeKeys()], ["a", "b"]);
  assert.equal(ns.size, 2);
  assert.equal(ns.atomic().check({ key: "a", version: null }).set("a", "x").commit().ok, false);
  assert.equal(ns.atomic().check({ key: "z", version: null }).set("z", "x").commit().ok, true);
  assert.equal(db.has("z"), false);
});

test("namespace ids and names persist across reopen, and namespaces() lists them sorted", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path);
    db.namespace("zeta").set("k", "z");
    db.namespace("alpha").set("k", "a");
    db.namespace("empty");
    assert.deepEqual(db.namespaces(), ["alpha", "empty", "zeta"]);
  }
  for (const useCheckpoint of [true, false]) {
    using db = Emdb.open(path, { useCheckpoint });
    assert.deepEqual(db.namespaces(), ["alpha", "empty", "zeta"], `useCheckpoint ${useCheckpoint}`);
    assert.equal(db.namespace("zeta").getString("k"), "z");
    assert.equal(db.namespace("alpha").getString("k"), "a");
    assert.equal(db.namespace("empty").size, 0);
    db.namespace("empty").set("late", "1");
    db.close();
    // A record in a namespace that has no keys in the checkpoint still replays fine.
    using again = Emdb.open(path);
    assert.equal(again.namespace("empty").getString("late"), "1");
    again.namespace("empty").delete("late");
  }
});

test("dropNamespace removes the namespace and its keys durably; handles then throw NAMESPACE_DROPPED", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    const tmp = db.namespace("tmp");
    tmp.setMany([["a", "1"], ["b", "2"]]);
    db.namespace("keep").set("a", "kept");
    assert.equal(db.dropNamespace("tmp"), true);
    assert.equal(db.dropNamespace("tmp"), false);
    assert.deepEqual(db.namespaces(), ["keep"]);
    assertEmdbError(() => tmp.get("a"), "NAMESPACE_DROPPED");
    assertEmdbError(() => tmp.set("a", "x"), "NAMESPACE_DROPPED");
    // The name can be reused; the new namespace starts empty and the old handle stays dead.
    const again = db.namespace("tmp");
    assert.equal(again.size, 0);
    again.set("c", "3");
    assertEmdbError(() => tmp.size, "NAMESPACE_DROPPED");
  }
  for (const useCheckpoint of [false, true]) {
    using db = Emdb.open(path, { useCheckpoint });
    assert.deepEqual(db.namespaces(), ["keep", "tmp"]);
    assert.deepEqual([...db.namespace("tmp").keys()], ["c"]);
    assert.equal(db.namespace("keep").getString("a"), "kept");
  }
});

test("namespace clear() is durable and leaves other namespaces alone", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    const a = db.namespace("a");
    a.setMany([["1", "x"], ["2", "y"]]);
    db.namespace("b").set("1", "kept");
    a.clear();
    assert.equal(a.size, 0);
    a.set("3", "after clear");
  }
  using db = Emdb.open(path);
  assert.deepEqual([...db.namespace("a").keys()], ["3"]);
  assert.equal(db.namespace("b").getString("1"), "kept");
});

test("empty, over-long and invalid namespace names give clear errors and write nothing", () => {
  using db = Emdb.openInMemory();
  const before = db.stats().logicalSizeBytes;
  assert.throws(() => db.namespace(""), RangeError);
  assert.throws(() => db.namespace("x".repeat(256)), RangeError);
  assert.throws(() => db.namespace("é".repeat(128)), RangeError, "256 UTF-8 bytes");
  assert.throws(() => db.namespace("a\u0000b"), TypeError);
  assert.throws(() => db.namespace("tab\there"), TypeError);
  assert.throws(() => db.namespace("\ud800"), TypeError);
  assert.throws(() => db.namespace(42 as unknown as string), TypeError);
  assert.throws(() => db.dropNamespace(""), RangeError);
  assert.equal(db.stats().logicalSizeBytes, before, "nothing was written");
  assert.deepEqual(db.namespaces(), []);
  assert.ok(db.namespace("é".repeat(127)) instanceof Namespace, "254 UTF-8 bytes is fine");
  assert.deepEqual(db.namespaces(), ["é".repeat(127)]);
});

test("a namespace handle of a closed database throws CLOSED", () => {
  const db = Emdb.openInMemory();
  const ns = db.namespace("n");
  db.close();
  const e = assertEmdbError(() => ns.get("k"), "CLOSED");
  assert.ok(e instanceof EmdbError);
  assertEmdbError(() => db.namespaces(), "CLOSED");
});

test("a crash right after dropNamespace or clear returns keeps them dropped", async (t) => {
  const path = tempDbPath(t);
  const { runFixture } = await import("./_helpers.ts");
  const r = await runFixture("namespace_child.ts", [path]);
  assert.equal(r.code, null, `the child was to be killed: ${r.stderr}`);
  assert.match(r.stdout, /dropped and cleared/);
  using db = Emdb.open(path);
  assert.deepEqual(db.namespaces(), ["cleared"]);
  assert.equal(db.namespace("cleared").size, 0);
  assert.equal(db.getString("root"), "kept");
});
