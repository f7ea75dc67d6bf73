/**
 * TTL under an injected clock: every read path honours expiry, expiry survives
 * reopen (from a checkpoint and by replay), replay treats expired records as
 * deletions, the TTL API's edge cases (reference §6 item 21–22), and garbage
 * accounting.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Emdb } from "../mod.ts";
import { tempDbPath } from "./_helpers.ts";

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

test("an expired key is invisible to every read path", () => {
  const clock = manualClock();
  using db = Emdb.openInMemory({ clock: clock.read });
  db.set("gone", "v", { ttl: 100 });
  db.set("stays", "v");
  const it = db.entries(); // made before the expiry: its snapshot time is before it, so it still sees "gone"
  clock.now += 100; // deadline == now counts as expired
  assert.equal(db.get("gone"), undefined);
  assert.equal(db.getString("gone"), undefined);
  assert.equal(db.has("gone"), false);
  assert.equal(db.getInto("gone", new Uint8Array(8)), -1);
  assert.equal(db.getUnsafeView("gone"), undefined);
  assert.equal(db.getEntry("gone"), undefined);
  assert.equal(db.expiresAt("gone"), undefined);
  assert.equal(db.ttl("gone"), undefined);
  assert.equal(db.persist("gone"), false, "persist never resurrects an expired record");
  assert.equal(db.delete("gone"), false);
  assert.equal(db.size, 1);
  assert.deepEqual([...db.keys()], ["stays"]);
  assert.deepEqual([...db.rangeKeys()], ["stays"]);
  assert.deepEqual([...db.range({ prefix: "g" })], []);
  assert.equal(db.transaction((tx) => [tx.has("gone"), tx.get("gone")]).join(), "false,");
  assert.deepEqual([...it].map(([k]) => k).sort(), ["gone", "stays"]);
});

test("ttl, expiresAt, persist and defaultTtl follow their documented rules", () => {
  const clock = manualClock(5_000);
  using db = Emdb.openInMemory({ clock: clock.read, defaultTtl: 1_000 });
  db.set("default", "v");
  assert.equal(db.expiresAt("default"), 6_000);
  db.set("never", "v", { ttl: Infinity });
  assert.equal(db.expiresAt("never"), Infinity);
  assert.equal(db.ttl("never"), Infinity);
  db.set("abs", "v", { expiresAt: 9_000 });
  assert.equal(db.ttl("abs"), 4_000);
  db.set("zero", "v", { ttl: 0 });
  assert.equal(db.has("zero"), false, "ttl 0 expires at once");
  assert.equal(db.ttl("missing"), undefined);
  db.setMany([["m1", "v"], ["m2", "v", { ttl: 10 }]]);
  assert.equal(db.expiresAt("m1"), 6_000, "defaultTtl flows through setMany");
  assert.equal(db.expiresAt("m2"), 5_010);
  db.setMany([["m3", "v"]], { ttl: 50 });
  assert.equal(db.expiresAt("m3"), 5_050);
  const ns = db.namespace("ns");
  ns.set("k", "v");
  assert.equal(ns.expiresAt("k"), 6_000, "defaultTtl flows through namespaces");
  clock.now += 500;
  db.set("default", "again");
  assert.equal(db.expiresAt("default"), 6_500, "a rewrite resets the TTL");
  assert.equal(db.persist("never"), false, "persist of a key without TTL is false");
  assert.equal(db.persist("default"), true);
  assert.equal(db.ttl("default"), Infinity);
  assert.equal(db.getString("default"), "again", "persist keeps the value");
  assert.throws(() => db.set("x", "v", { ttl: -1 }), RangeError);
  assert.throws(() => db.set("x", "v", { ttl: Number.NaN }), RangeError);
  assert.throws(() => db.set("x", "v", { ttl: 1, expiresAt: 2 }), TypeError);
  assert.throws(() => db.set("x", "v", { tll: 1 } as never), TypeError);
  assert.throws(() => Emdb.openInMemory({ defaultTtl: -5 }), RangeError);
  assert.throws(() => Emdb.openInMemory({ clock: 5 as never }), TypeError);
});

test("sweepExpired evicts expired keys, counts them, and their bytes become garbage", () => {
  const clock = manualClock(0);
  using db = Emdb.openInMemory({ clock: clock.read });
  for (let i = 0; i < 100; i++) db.set(`k${i}`, "x".repeat(100), { ttl: i < 40 ? 10 : 1_000_000 });
  const before = db.stats();
  assert.equal(before.liveRecords, 100);
  clock.now = 10;
  assert.equal(db.sweepExpired(), 40);
  assert.equal(db.sweepExpired(), 0);
  const after = db.stats();
  assert.equal(after.liveRecords, 60);
  assert.equal(after.liveBytes, before.liveBytes * 0.6);
  assert.equal(after.garbageBytes, before.garbageBytes + before.liveBytes * 0.4);
  assert.ok(after.garbageRatio > 0.39 && after.garbageRatio < 0.41, `ratio ${after.garbageRatio}`);
});

test("expiry survives reopen from a checkpoint and by full replay, and replay treats expired records as deletions", (t) => {
  const path = tempDbPath(t);
  const clock = manualClock(10_000);
  {
    using db = Emdb.open(path, { clock: clock.read });
    db.set("k", "old"); // no TTL
    db.set("k", "new", { ttl: 1_000 }); // overwrites, then expires: k must not fall back to "old"
    db.set("long", "v", { ttl: 100_000 });
    db.namespace("ns").set("short", "v", { ttl: 500 });
  }
  for (const useCheckpoint of [true, false]) {
    using db = Emdb.open(path, { clock: clock.read, useCheckpoint, checkpointOnClose: false });
    assert.equal(db.getString("k"), "new");
    assert.equal(db.expiresAt("k"), 11_000);
    assert.equal(db.namespace("ns").ttl("short"), 500);
  }
  clock.now = 20_000;
  for (const useCheckpoint of [true, false]) {
    using db = Emdb.open(path, { clock: clock.read, useCheckpoint, checkpointOnClose: false });
    assert.equal(db.get("k"), undefined, `useCheckpoint ${useCheckpoint}: the expired overwrite is a deletion`);
    assert.equal(db.size, 1, `useCheckpoint ${useCheckpoint}`);
    assert.deepEqual([...db.keys()], ["long"]);
    assert.equal(db.namespace("ns").size, 0);
    const s = db.stats();
    assert.equal(s.liveRecords, 1);
    assert.ok(s.garbageBytes > s.liveBytes, "expired records count as garbage");
  }
});

test("a transaction's writes carry their TTL, and a clock that reads once per transaction", () => {
  const clock = manualClock(0);
  using db = Emdb.openInMemory({ clock: clock.read });
  db.transaction((tx) => {
    tx.set("a", "1", { ttl: 10 });
    tx.namespace("n").set("b", "2", { expiresAt: 20 });
  });
  assert.equal(db.expiresAt("a"), 10);
  assert.equal(db.namespace("n").expiresAt("b"), 20);
  clock.now = 15;
  assert.equal(db.has("a"), false);
  assert.equal(db.namespace("n").has("b"), true);
});

test("writes forget a few expired keys each, so their index memory comes back without a sweep", () => {
  let now = 0;
  using db = Emdb.openInMemory({ clock: () => now });
  db.setMany(Array.from({ length: 100 }, (_, i) => [`s${i}`, "v", { ttl: 10 }] as const));
  // The index's own count (size and stats() sweep everything first, which is what this test must not do).
  const indexed = () => (db as unknown as { space(): { size: number } }).space().size;
  assert.equal(indexed(), 100);
  now = 100;
  for (let i = 0; i < 5; i++) db.set(`plain${i}`, "v");
  assert.equal(indexed(), 100 + 5 - 5 * 8, "8 expired keys forgotten per write");
  db.delete("plain0");
  assert.equal(indexed(), 100 + 4 - 6 * 8);
  assert.equal(db.size, 4, "the rest on the next sweep");
  assert.equal(indexed(), 4);
});
