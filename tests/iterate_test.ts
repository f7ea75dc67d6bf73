/**
 * Iteration with snapshot semantics and ordered ranges (reference §6 items
 * 24–26): what an iterator sees is the database as of its start, under any
 * later writes (including shard growth and deletions that move hash slots);
 * ranges in byte order with every bound, reverse, limit and the pagination cursor.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Emdb, type Entry } from "../mod.ts";
import { Rng, tempDbPath, testSeed, utf8, withSeed } from "./_helpers.ts";

const text = (v: Uint8Array) => new TextDecoder().decode(v);
const pairs = (it: Iterable<Entry>) => [...it].map(([k, v]) => [k, text(v)]);

test("keys written after an iterator starts are not seen; deleted and overwritten ones keep their old value", () => {
  using db = Emdb.openInMemory();
  db.setMany([["a", "1"], ["b", "2"], ["c", "3"]]);
  const it = db.entries();
  const ordered = db.range();
  db.set("d", "4");
  db.delete("a");
  db.set("b", "two");
  db.clear();
  assert.deepEqual(pairs(it).sort(), [["a", "1"], ["b", "2"], ["c", "3"]]);
  assert.deepEqual(pairs(ordered), [["a", "1"], ["b", "2"], ["c", "3"]]);
  assert.deepEqual(pairs(db.entries()), []);
});

test("a snapshot holds under heavy writes that grow shards and move slots: no key twice, none skipped", () => {
  return withSeed(testSeed(), () => {
    const rng = new Rng(testSeed());
    using db = Emdb.openInMemory();
    const model = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const k = `k${rng.int(5000)}`;
      model.set(k, `v${i}`);
      db.set(k, `v${i}`);
    }
    const expected = [...model.entries()].sort();
    const hashIt = db.entries();
    const rangeIt = db.range();
    const seenHash: [string, string][] = [];
    const seenRange: [string, string][] = [];
    for (let step = 0; step < 20_000; step++) {
      // Interleave reading the iterators with writes: inserts (shard growth), deletes (backward shifts), overwrites.
      if (step % 4 === 0) {
        const n = hashIt.next();
        if (!n.done) seenHash.push([n.value[0] as string, text(n.value[1])]);
        const r = rangeIt.next();
        if (!r.done) seenRange.push([r.value[0] as string, text(r.value[1])]);
      }
      const k = `k${rng.int(20_000)}`;
      if (rng.int(3) === 0) db.delete(k);
      else db.set(k, `w${step}`);
    }
    for (const [k, v] of hashIt) seenHash.push([k as string, text(v)]);
    for (const [k, v] of rangeIt) seenRange.push([k as string, text(v)]);
    assert.deepEqual(seenHash.sort(), expected);
    assert.deepEqual(seenRange, expected, "the ordered snapshot yields the start state, in key order");
  });
});

test("break releases the iterator, and a released iterator ends", () => {
  using db = Emdb.openInMemory();
  for (let i = 0; i < 100; i++) db.set(`k${i}`, "v");
  let n = 0;
  for (const _ of db.keys()) if (++n === 3) break;
  assert.equal(n, 3);
  const it = db.range({ prefix: "k" });
  it.next();
  assert.deepEqual(it.return!(), { done: true, value: undefined });
  assert.equal(it.next().done, true);
  db.set("after", "x");
  assert.equal([...db.keys()].length, 101);
});

test("keys come back with the type they were written with; values as bytes", () => {
  using db = Emdb.openInMemory();
  db.set("text", "1");
  db.set(Uint8Array.of(0xff, 0), "2");
  db.set(utf8("bytes-that-are-utf8"), "3");
  const keys = [...db.rangeKeys()];
  assert.deepEqual(keys[0], utf8("bytes-that-are-utf8"));
  assert.equal(keys[1], "text");
  assert.deepEqual(keys[2], Uint8Array.of(0xff, 0));
  assert.ok([...db.values()].every((v) => v instanceof Uint8Array));
});

test("range() visits keys in byte order with inclusive start, exclusive end, prefix, reverse and limit", () => {
  using db = Emdb.openInMemory();
  const keys = ["", "a", "a\u0000", "ab", "abc", "b", "ba", "c", "\u00ff", "\u0100"];
  db.setMany(keys.map((k) => [k, k] as const));
  db.delete("ba"); // a tombstone is skipped
  const all = ["", "a", "a\u0000", "ab", "abc", "b", "c", "\u00ff", "\u0100"]; // UTF-8 byte order
  assert.deepEqual([...db.rangeKeys()], all);
  assert.deepEqual([...db.rangeKeys({ reverse: true })], [...all].reverse());
  assert.deepEqual([...db.rangeKeys({ start: "ab" })], ["ab", "abc", "b", "c", "\u00ff", "\u0100"]);
  assert.deepEqual([...db.rangeKeys({ start: "", end: "ab" })], ["", "a", "a\u0000"]);
  assert.deepEqual([...db.rangeKeys({ start: "ab", end: "c" })], ["ab", "abc", "b"]);
  assert.deepEqual([...db.rangeKeys({ start: "ab", end: "c", reverse: true })], ["b", "abc", "ab"]);
  assert.deepEqual([...db.rangeKeys({ prefix: "a" })], ["a", "a\u0000", "ab", "abc"]);
  assert.deepEqual([...db.rangeKeys({ prefix: "a", reverse: true, limit: 2 })], ["abc", "ab"]);
  assert.deepEqual([...db.rangeKeys({ prefix: "a", start: "ab" })], ["ab", "abc"]);
  assert.deepEqual([...db.rangeKeys({ prefix: "a", end: "ab" })], ["a", "a\u0000"]);
  assert.deepEqual([...db.rangeKeys({ prefix: "zz" })], []);
  assert.deepEqual([...db.rangeKeys({ start: "c", end: "b" })], [], "start after end is empty");
  assert.deepEqual([...db.rangeKeys({ limit: 0 })], []);
  assert.deepEqual([...db.rangeKeys({ after: "ab" })], ["abc", "b", "c", "\u00ff", "\u0100"]);
  assert.deepEqual([...db.rangeKeys({ after: "ab", reverse: true })], ["a\u0000", "a", ""]);
  assert.deepEqual(pairs(db.range({ prefix: "ab" })), [["ab", "ab"], ["abc", "abc"]]);
});

test("prefix ranges handle 0xFF bytes at the end of the prefix", () => {
  using db = Emdb.openInMemory();
  const k = (...b: number[]) => Uint8Array.from(b);
  db.setMany([[k(1, 0xff), "a"], [k(1, 0xff, 0), "b"], [k(1, 0xff, 0xff), "c"], [k(2), "d"], [k(0xff), "e"], [
    k(0xff, 0xff, 1),
    "f",
  ]]);
  assert.deepEqual([...db.range({ prefix: k(1, 0xff) })].map(([, v]) => text(v)), ["a", "b", "c"]);
  assert.deepEqual([...db.range({ prefix: k(0xff) })].map(([, v]) => text(v)), ["e", "f"]);
  assert.deepEqual([...db.range({ prefix: k(0xff, 0xff) })].map(([, v]) => text(v)), ["f"]);
});

test("pagination with after: 50 keys in pages of 10 give 5 pages, also backwards, also across writes", () => {
  using db = Emdb.openInMemory();
  for (let i = 0; i < 50; i++) db.set(`item:${String(i).padStart(2, "0")}`, String(i));
  for (const reverse of [false, true]) {
    const pages: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const page = [...db.rangeKeys({ prefix: "item:", limit: 10, reverse, ...(after ? { after } : {}) })] as string[];
      if (page.length === 0) break;
      pages.push(page);
      after = page[page.length - 1];
      db.set(`other:${pages.length}`, "writes between pages do not disturb the cursor");
    }
    assert.equal(pages.length, 5, `reverse ${reverse}`);
    const flat = pages.flat();
    assert.equal(new Set(flat).size, 50);
    assert.equal(flat[0], reverse ? "item:49" : "item:00");
  }
});

test("ranges survive reopen (from the checkpoint and by replay), overwrites and deletes", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path);
    for (let i = 0; i < 200; i++) db.set(`k${String(i).padStart(3, "0")}`, String(i));
    assert.equal([...db.rangeKeys()].length, 200, "builds the ordered index before close");
    db.delete("k005");
    db.set("k010", "ten");
  }
  for (const useCheckpoint of [true, false]) {
    using db = Emdb.open(path, { useCheckpoint });
    const got = pairs(db.range({ start: "k004", limit: 4 }));
    assert.deepEqual(got, [["k004", "4"], ["k006", "6"], ["k007", "7"], ["k008", "8"]]);
    assert.deepEqual(pairs(db.range({ start: "k010", limit: 1 })), [["k010", "ten"]]);
    db.set("k0055", "new");
    assert.deepEqual([...db.rangeKeys({ start: "k004", limit: 3 })], ["k004", "k0055", "k006"]);
    db.delete("k0055");
  }
});

test("range() rejects bad options", () => {
  using db = Emdb.openInMemory();
  assert.throws(() => db.range({ limit: -1 }), RangeError);
  assert.throws(() => db.range({ limit: 1.5 }), RangeError);
  assert.throws(() => db.range({ start: 5 } as never), TypeError);
  assert.throws(() => db.range({ prefx: "a" } as never), TypeError);
  assert.throws(() => db.range({ reverse: "yes" } as never), TypeError);
});

test("a zero-copy view stays valid across later writes and file growth", (t) => {
  using db = Emdb.open(tempDbPath(t), { preallocateBytes: 0 });
  db.set("k", "hello");
  const view = db.getUnsafeView("k")!;
  for (let i = 0; i < 2000; i++) db.set(`fill${i}`, new Uint8Array(1000));
  db.set("k", "changed");
  assert.equal(text(view), "hello");
});

test("keys and values an iterator yields are copies: no two overlap, and later writes, compaction and close change none", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  const want = new Map<string, Uint8Array>();
  for (let i = 0; i < 2000; i++) {
    // Sizes around the pooling limit (1 KiB) and chunk boundaries.
    const value = new Uint8Array(i % 7 === 0 ? 1025 + (i % 50) : 1 + (i * 37) % 400).fill(i & 0xff);
    want.set(`k${i}`, value);
  }
  db.setMany([...want]);
  const byteKeys = db.namespace("bytes");
  byteKeys.setMany([...want.keys()].slice(0, 500).map((k) => [utf8(k), utf8(`v:${k}`)]));
  const got = [...db.entries()];
  const gotRange = [...db.range()];
  const gotKeys = [...byteKeys.rangeKeys()] as Uint8Array[];
  db.setMany([...want.keys()].map((k) => [k, "overwritten"]));
  await db.compact();
  byteKeys.clear();
  db.close();
  for (const list of [got, gotRange]) {
    assert.equal(list.length, want.size);
    for (const [k, v] of list) assert.deepEqual(v, want.get(k as string), `value of ${String(k)}`);
  }
  assert.deepEqual(gotKeys.map(text).sort(), [...want.keys()].slice(0, 500).sort());
  // No two copies share a byte, whether or not they share a buffer.
  const spans = [...got.map(([, v]) => v), ...gotKeys].map((v) => ({
    b: v.buffer,
    from: v.byteOffset,
    to: v.byteOffset + v.byteLength,
  }));
  const byBuffer = Map.groupBy(spans, (s) => s.b);
  for (const group of byBuffer.values()) {
    group.sort((a, b) => a.from - b.from);
    for (let i = 1; i < group.length; i++) assert.ok(group[i]!.from >= group[i - 1]!.to, "two copies overlap");
  }
});

test("transferring the buffer of a yielded value mid-iteration leaves the values still to come whole", () => {
  using db = Emdb.openInMemory();
  db.setMany(Array.from({ length: 500 }, (_, i) => [`k${i}`, `value ${i} `.repeat(8)] as const));
  const seen = new Map<string, string>();
  let i = 0;
  for (const [k, v] of db.entries()) {
    const s = text(v);
    seen.set(k as string, s);
    // A hostile caller detaches whatever buffer the value lives in (under Deno, a shared chunk).
    if (i++ % 50 === 0) (v.buffer as ArrayBuffer).transfer();
  }
  assert.equal(seen.size, 500);
  for (const [k, s] of seen) assert.equal(s, `value ${k.slice(1)} `.repeat(8), k);
  assert.equal(text(db.get("k7")!), "value 7 ".repeat(8));
});
