/**
 * Compaction and backup: space comes back, writes keep working during and
 * after, nothing acknowledged is lost when the process is killed at any step,
 * versions, namespaces and expiries keep their meaning, held views never crash.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Emdb } from "../mod.ts";
import { assertEmdbError, runFixture, tempDbPath, tempDir } from "./_helpers.ts";

test("compaction drops overwritten, deleted and expired records; the file holds exactly the live set", async (t) => {
  let now = 1_000;
  const path = tempDbPath(t);
  const db = Emdb.open(path, { clock: () => now });
  for (let r = 0; r < 5; r++) for (let i = 0; i < 500; i++) db.set(`k${i}`, `round ${r} ${"x".repeat(50)}`);
  for (let i = 0; i < 500; i += 2) db.delete(`k${i}`);
  for (let i = 0; i < 100; i++) db.set(`ttl${i}`, "short-lived", { ttl: 10 });
  db.namespace("ns").set("a", "1");
  now = 2_000; // the ttl keys are expired now
  const before = db.stats();
  assert.ok(before.garbageRatio > 0.8, `ratio ${before.garbageRatio}`);
  const r = await db.compact();
  assert.ok(r.bytesAfter < r.bytesBefore / 5, JSON.stringify(r));
  const after = db.stats();
  assert.equal(after.liveRecords, 251);
  // Header + the namespace's declaration record (16 + 2 bytes, padded) + every live record, nothing else.
  assert.equal(after.logicalSizeBytes, 256 + 24 + after.liveBytes);
  assert.equal(after.garbageBytes, 24);
  assert.equal(after.compactions, 1);
  for (let i = 1; i < 500; i += 2) assert.equal(db.getString(`k${i}`), `round 4 ${"x".repeat(50)}`);
  assert.equal(db.has("k0"), false);
  assert.equal(db.has("ttl0"), false);
  db.close();
  assert.ok(statSync(path).size < before.logicalSizeBytes / 5, "the file itself shrank");
  using again = Emdb.open(path, { clock: () => now, useCheckpoint: false });
  assert.equal(again.size, 250);
  assert.equal(again.namespace("ns").getString("a"), "1");
});

test("writes made during and after a compaction are all there, in the same handle and after reopen", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  for (let r = 0; r < 10; r++) db.setMany(Array.from({ length: 2000 }, (_, i) => [`k${i}`, `r${r}`] as const));
  const compaction = db.compact();
  let n = 0;
  let done = false;
  void compaction.then(() => (done = true));
  // Write from macrotasks while the compaction runs its steps.
  while (!done) {
    db.set(`during${n}`, String(n));
    if (n % 3 === 0) db.delete(`k${n % 2000}`);
    if (n % 5 === 0) db.transaction((tx) => tx.set(`tx${n}`, "t"));
    n++;
    await new Promise((r) => setImmediate(r));
  }
  await compaction;
  assert.ok(n > 0, "writes happened during the compaction");
  for (let i = 0; i < 50; i++) db.set(`after${i}`, "a");
  const check = (d: Emdb, what: string) => {
    for (let i = 0; i < n; i++) assert.equal(d.getString(`during${i}`), String(i), `${what}: during${i}`);
    for (let i = 0; i < n; i += 5) assert.equal(d.getString(`tx${i}`), "t", `${what}: tx${i}`);
    for (let i = 0; i < 50; i++) assert.equal(d.has(`after${i}`), true, `${what}: after${i}`);
    for (let i = 0; i < 2000; i++) {
      const deleted = i < n && i % 3 === 0;
      assert.equal(d.getString(`k${i}`), deleted ? undefined : "r9", `${what}: k${i}`);
    }
  };
  check(db, "same handle");
  db.close();
  for (const useCheckpoint of [true, false]) {
    using again = Emdb.open(path, { useCheckpoint });
    check(again, `reopen, useCheckpoint ${useCheckpoint}`);
  }
});

test("a version read before a compaction still passes its check after it; new versions are higher", async () => {
  using db = Emdb.openInMemory();
  db.set("k", "v");
  for (let i = 0; i < 100; i++) db.set(`junk${i}`, "j");
  const before = db.getEntry("k")!;
  await db.compact();
  assert.equal(db.getEntry("k")!.version, before.version);
  db.transaction((tx) => {
    tx.check("k", before.version);
    tx.set("k", "w");
  });
  assert.ok(db.getEntry("k")!.version > before.version);
});

test("an iterator started before a compaction finishes on the old journal with the old state", async () => {
  using db = Emdb.openInMemory();
  db.setMany(Array.from({ length: 100 }, (_, i) => [`k${String(i).padStart(3, "0")}`, String(i)] as const));
  const it = db.range();
  const first = it.next().value!;
  db.delete("k050");
  await db.compact();
  const rest = [...it];
  assert.equal(first[0], "k000");
  assert.equal(rest.length, 99, "the old snapshot, k050 included");
  assert.deepEqual(rest[0]![0], "k001");
  assert.equal(new TextDecoder().decode(rest[0]![1]), "1");
  for (const [i, [key, value]] of rest.entries()) {
    assert.equal(key, `k${String(i + 1).padStart(3, "0")}`);
    assert.equal(new TextDecoder().decode(value), String(i + 1), "values read from the old journal, not zeros");
  }
  assert.equal([...db.keys()].length, 99);
});

test("hash iterators on a file database survive a compaction with their keys and values", async (t) => {
  {
    using db = Emdb.open(tempDbPath(t));
    db.setMany(Array.from({ length: 200 }, (_, i) => [`k${i}`, `v${i}`] as const));
    const entries = db.entries();
    const values = db.values();
    const keys = db.keys();
    entries.next();
    values.next();
    keys.next();
    for (let i = 0; i < 200; i += 2) db.delete(`k${i}`);
    await db.compact();
    for (const [key, value] of entries) assert.equal(new TextDecoder().decode(value), `v${String(key).slice(1)}`);
    for (const value of values) assert.match(new TextDecoder().decode(value), /^v\d+$/);
    for (const key of keys) assert.match(String(key), /^k\d+$/);
    assert.equal([...db.keys()].length, 100);
    await db.compact();
    assert.equal([...db.values()].length, 100);
  }
});

test("compaction is a no-op on an empty database, keeps namespaces, and compactSync works", () => {
  using db = Emdb.openInMemory();
  assert.equal(db.compactSync().bytesAfter, 256);
  db.namespace("empty");
  db.namespace("full").set("a", "1");
  db.dropNamespace("empty");
  db.compactSync();
  assert.deepEqual(db.namespaces(), ["full"]);
  assert.equal(db.namespace("full").getString("a"), "1");
});

test("a second compact() while one runs returns the same promise; compactSync() then is BUSY", async () => {
  using db = Emdb.openInMemory();
  for (let i = 0; i < 20000; i++) db.set(`k${i % 100}`, "x".repeat(100));
  const a = db.compact();
  const b = db.compact();
  assert.equal(a, b);
  assertEmdbError(() => db.compactSync(), "BUSY");
  await a;
  db.compactSync();
});

test("closing during a compaction abandons it: the journal is unchanged and no temp file stays", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  for (let r = 0; r < 20; r++) db.setMany(Array.from({ length: 2000 }, (_, i) => [`k${i}`, "x".repeat(100)] as const));
  const p = db.compact();
  db.close();
  await assert.rejects(p, (e: unknown) => (e as { code?: string }).code === "CLOSED");
  assert.equal(existsSync(`${path}.compact`), false);
  using again = Emdb.open(path);
  assert.equal(again.size, 2000);
});

test("a leftover <path>.compact from an interrupted compaction is removed at open", (t) => {
  const path = tempDbPath(t);
  Emdb.open(path).close();
  writeFileSync(`${path}.compact`, "half a compaction");
  using db = Emdb.open(path);
  assert.equal(existsSync(`${path}.compact`), false);
  assert.equal(db.size, 0);
});

const STEPS = ["copy", "sync", "rename", "renamed", "switched"] as const;

for (const step of STEPS) {
  test(`SIGKILL during compaction at step "${step}": every acknowledged write is there after reopen`, async (t) => {
    const path = tempDbPath(t);
    const r = await runFixture("compact_child.ts", [path, step], { timeoutMs: 120_000 });
    assert.equal(r.signal, "SIGKILL", `the child was to die at ${step}: ${r.stdout.slice(-300)} ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`killed at ${step}`));
    const acks = r.stdout.split("\n").filter((l) => l.startsWith("ack w") || /^ack \d+$/.test(l));
    using db = Emdb.open(path);
    assert.equal(existsSync(`${path}.compact`), false, "the leftover is gone");
    for (const line of acks) {
      const i = line.slice(4);
      assert.equal(db.has(`w${i}`), true, `acknowledged w${i} is missing (step ${step})`);
    }
    if (r.stdout.includes("ack after-switch")) assert.equal(db.getString("after-switch"), "1");
    for (let i = 0; i < 3000; i++) {
      assert.equal(db.getString(`k${i}`), i % 3 === 0 ? undefined : `r4-${"v".repeat(100)}`, `k${i} (step ${step})`);
    }
    assert.equal(db.namespace("ns").getString("a"), "in a namespace");
  });
}

test("backupTo writes a consistent, compacted copy that opens, and leaves the live database untouched", async (t) => {
  const dir = tempDir(t);
  const db = Emdb.open(join(dir, "live.emdb"));
  for (let r = 0; r < 5; r++) db.setMany(Array.from({ length: 1000 }, (_, i) => [`k${i}`, `r${r}`] as const));
  db.namespace("ns").set("a", "1", { ttl: 3_600_000 });
  const target = join(dir, "backup.emdb");
  const p = db.backupTo(target);
  db.set("after-start", "not in the backup"); // written after the backup's snapshot
  await p;
  db.set("k0", "changed after");
  const liveSize = db.stats().logicalSizeBytes;
  db.close();
  using b = Emdb.open(target);
  assert.equal(b.size, 1000);
  assert.equal(b.getString("k0"), "r4");
  assert.equal(b.has("after-start"), false, "point in time: the snapshot at the call");
  assert.ok(b.namespace("ns").ttl("a")! > 3_000_000, "expiry kept");
  assert.ok(statSync(target).size < liveSize / 3, "compacted");
  assert.equal(existsSync(`${target}.backup-tmp`), false);
});

test("backupTo refuses the live database and its side files, and a target another handle has open", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "live.emdb");
  using db = Emdb.open(path);
  db.set("k", "v");
  for (const bad of [path, `${path}.hint`, `${path}.lock`, `${path}.lock-meta`, `${path}.compact`]) {
    await assert.rejects(db.backupTo(bad), (e: unknown) => (e as { code?: string }).code === "INVALID_CONFIG", bad);
  }
  assertEmdbError(() => db.backupToSync(path), "INVALID_CONFIG");
  using other = Emdb.open(join(dir, "other.emdb"));
  other.set("mine", "1");
  await assert.rejects(
    db.backupTo(join(dir, "other.emdb")),
    (e: unknown) => (e as { code?: string }).code === "LOCK_BUSY",
  );
  assert.equal(other.getString("mine"), "1");
  // Overwriting an existing, closed database file replaces it atomically.
  const old = join(dir, "old.emdb");
  Emdb.open(old).close();
  db.backupToSync(old);
  using replaced = Emdb.open(old);
  assert.equal(replaced.getString("k"), "v");
});

test("an in-memory database backs up to a real file that opens; a target in a missing folder is NOT_FOUND, and so is an open there", async (t) => {
  const dir = tempDir(t);
  using db = Emdb.openInMemory();
  db.setMany([["a", "1"], ["b", "2"]]);
  db.namespace("ns").set("c", "3", { ttl: 60_000 });
  await db.backupTo(join(dir, "saved.emdb"));
  db.backupToSync(join(dir, "saved2.emdb"));
  for (const name of ["saved.emdb", "saved2.emdb"]) {
    using copy = Emdb.open(join(dir, name));
    assert.deepEqual([...copy.rangeKeys()], ["a", "b"]);
    assert.equal(copy.namespace("ns").getString("c"), "3");
    assert.ok((copy.namespace("ns").ttl("c") ?? 0) > 50_000);
  }
  const missing = join(dir, "no-such-folder", "x.emdb");
  assertEmdbError(() => db.backupToSync(missing), "NOT_FOUND");
  await assert.rejects(db.backupTo(missing), (e: unknown) => (e as { code?: string }).code === "NOT_FOUND");
  assertEmdbError(() => Emdb.open(missing), "NOT_FOUND");
  assert.equal(existsSync(join(dir, "no-such-folder")), false);
});

for (const step of ["backup-copy", "backup-renamed"] as const) {
  test(`SIGKILL during a backup at step "${step}": the target is whole or absent, the live database intact`, async (t) => {
    const path = tempDbPath(t);
    const target = join(dirname(path), "backup.emdb");
    const r = await runFixture("compact_child.ts", [path, step, target], { timeoutMs: 120_000 });
    assert.equal(r.signal, "SIGKILL", r.stderr);
    if (existsSync(target)) {
      using b = Emdb.open(target);
      assert.equal(b.getString("k1"), `r4-${"v".repeat(100)}`, "a backup that exists is complete");
      assert.equal(b.size, 2000);
    } else {
      assert.equal(step, "backup-copy", "after the rename the target exists");
    }
    using db = Emdb.open(path);
    assert.equal(db.size >= 2000, true);
    assert.deepEqual(readdirSync(dirname(path)).filter((f) => f.endsWith(".compact")), []);
  });
}

test("autoCompact starts a compaction by itself once garbage passes the ratio (off by default)", async () => {
  using off = Emdb.openInMemory();
  using db = Emdb.openInMemory({ autoCompact: { garbageRatio: 0.5, minGarbageBytes: 1024 * 1024 } });
  for (let i = 0; i < 30_000; i++) {
    db.set(`k${i % 100}`, "x".repeat(100));
    off.set(`k${i % 100}`, "x".repeat(100));
  }
  for (let spin = 0; spin < 10_000 && db.stats().compactions === 0; spin++) {
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(db.stats().compactions >= 1, "a compaction ran");
  assert.ok(db.stats().garbageBytes < off.stats().garbageBytes / 10, "most garbage is gone");
  assert.equal(db.size, 100);
  assert.equal(off.stats().compactions, 0);
  assert.throws(() => Emdb.openInMemory({ autoCompact: { garbageRatio: 2 } }), RangeError);
  assert.throws(() => Emdb.openInMemory({ autoCompact: { ratio: 0.5 } as never }), TypeError);
});

test("a zero-copy view taken before a compaction reads as length 0 after the switch, never crashing", async (t) => {
  const r = await runFixture("view_compact_child.ts", [tempDbPath(t)], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /before compaction: hello/);
  assert.match(r.stdout, /after compaction: length 0/);
  assert.match(r.stdout, /the value itself: hello/);
  assert.match(r.stdout, /exit-ok/);
});
