/**
 * The ordered index against a plain sorted model, over a fake journal (a growing
 * byte buffer of `[u16 key length][key]` records, compared by reading the buffer).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LEAF_MAX, type OrderedCursor, OrderedIndex, type OrderedKeySource } from "../src/index/ordered_index.ts";
import { sortByKey } from "../src/index/key_sorter.ts";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { currentRuntime, hex, Rng, runtimeCommand, tempDir, testSeed, utf8, withSeed } from "./_helpers.ts";

/** An append-only buffer of records `[u16 LE key length][key]`, each at an 8-aligned offset. */
class FakeJournal implements OrderedKeySource {
  buf = new Uint8Array(1 << 16);
  end = 8; // offset 0 is never a record

  append(key: Uint8Array): number {
    const need = (2 + key.length + 7) & ~7;
    if (this.end + need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.end + need));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    const o = this.end;
    this.buf[o] = key.length & 0xff;
    this.buf[o + 1] = key.length >>> 8;
    this.buf.set(key, o + 2);
    this.end += need;
    return o;
  }

  key(o: number): Uint8Array {
    const len = this.buf[o]! | (this.buf[o + 1]! << 8);
    return this.buf.slice(o + 2, o + 2 + len);
  }

  compareRecords(a: number, b: number): number {
    const buf = this.buf;
    const la = buf[a]! | (buf[a + 1]! << 8);
    const lb = buf[b]! | (buf[b + 1]! << 8);
    const n = Math.min(la, lb);
    for (let i = 0; i < n; i++) {
      const d = buf[a + 2 + i]! - buf[b + 2 + i]!;
      if (d !== 0) return d;
    }
    return la - lb;
  }

  compareRecordTo(o: number, key: Uint8Array, start: number, len: number): number {
    const buf = this.buf;
    const lo = buf[o]! | (buf[o + 1]! << 8);
    const n = Math.min(lo, len);
    for (let i = 0; i < n; i++) {
      const d = buf[o + 2 + i]! - key[start + i]!;
      if (d !== 0) return d;
    }
    return lo - len;
  }

  keyAt(o: number, out: Int32Array): Uint8Array {
    out[0] = o + 2;
    out[1] = this.buf[o]! | (this.buf[o + 1]! << 8);
    return this.buf;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The model: key (hex) → offset of its live record. */
type Model = Map<string, { key: Uint8Array; off: number }>;

function sortedModel(model: Model): { key: Uint8Array; off: number }[] {
  return [...model.values()].sort((x, y) => compareBytes(x.key, y.key));
}

function drain(c: OrderedCursor, max = Infinity): number[] {
  const out: number[] = [];
  for (let o = c.next(); o !== -1 && out.length < max; o = c.next()) out.push(o);
  return out;
}

/** Keys of the model test: many short keys over a tiny alphabet (prefixes, 0x00, 0xFF), long shared prefixes, random. */
function randomKey(rng: Rng, _round = 0): Uint8Array {
  const kind = rng.int(10);
  if (kind < 4) {
    const alphabet = [0x00, 0x01, 0x61, 0xff];
    const k = new Uint8Array(rng.int(7));
    for (let i = 0; i < k.length; i++) k[i] = rng.pick(alphabet);
    return k;
  }
  if (kind < 7) return utf8(`user:${String(rng.int(3000)).padStart(8, "0")}${rng.int(4) === 0 ? ":x" : ""}`);
  if (kind < 8) {
    const k = new Uint8Array(20 + rng.int(20)).fill(0xff);
    k[k.length - 1 - rng.int(4)] = rng.int(256);
    return k;
  }
  return rng.bytes(rng.int(40));
}

/** Checks a snapshot against the sorted model it should show: full scans both ways and random seeks. */
function checkSnapshot(
  rng: Rng,
  snap: ReturnType<OrderedIndex["snapshot"]>,
  expected: { key: Uint8Array; off: number }[],
  what: string,
  makeKey: (rng: Rng, round: number) => Uint8Array,
): void {
  const offs = expected.map((e) => e.off);
  assert.equal(snap.size, expected.length, `${what}: size`);
  assert.deepEqual(drain(snap.seek(new Uint8Array(0), 0, -1, false)), offs, `${what}: forward scan`);
  assert.deepEqual(drain(snap.seekBack(new Uint8Array(0), 0, -1, false)), offs.slice().reverse(), `${what}: backward`);
  for (let s = 0; s < 40; s++) {
    // Seek keys: existing keys, random keys, and existing keys with a byte added or removed.
    let key: Uint8Array;
    const pick = expected.length > 0 && rng.int(2) === 0
      ? expected[rng.int(expected.length)]!.key
      : rng.int(3) === 0
      ? randomKey(rng) // outside any shared prefix, most likely
      : makeKey(rng, 99);
    const t = rng.int(3);
    if (t === 0) key = pick;
    else if (t === 1) key = pick.subarray(0, Math.max(0, pick.length - 1));
    else key = Uint8Array.of(...pick, rng.pick([0x00, 0xff, rng.int(256)]));
    // Embed the key in a bigger buffer to exercise start/len.
    const pad = rng.int(3);
    const host = new Uint8Array(pad + key.length + 2).fill(0x5a);
    host.set(key, pad);
    const strict = rng.int(2) === 1;
    const firstGe = expected.findIndex((e) => {
      const c = compareBytes(e.key, key);
      return strict ? c > 0 : c >= 0;
    });
    const from = firstGe === -1 ? expected.length : firstGe;
    const take = 1 + rng.int(12);
    assert.deepEqual(
      drain(snap.seek(host, pad, key.length, strict), take),
      offs.slice(from, from + take),
      `${what}: seek ${hex(key)} strict=${strict}`,
    );
    const inclusive = rng.int(2) === 1;
    let lastLe = -1;
    for (let i = expected.length - 1; i >= 0; i--) {
      const c = compareBytes(expected[i]!.key, key);
      if (inclusive ? c <= 0 : c < 0) {
        lastLe = i;
        break;
      }
    }
    const want: number[] = [];
    for (let i = lastLe; i >= 0 && want.length < take; i--) want.push(offs[i]!);
    assert.deepEqual(
      drain(snap.seekBack(host, pad, key.length, inclusive), take),
      want,
      `${what}: seekBack ${hex(key)} inclusive=${inclusive}`,
    );
  }
}

/**
 * Keys that all start with "tenant-42/" until round 30, then some with only part of it, from round 60 a few
 * without it (so the bytes every key shares shrink twice).
 */
function tenantKey(rng: Rng, round: number): Uint8Array {
  const rest = randomKey(rng, round);
  if (round >= 60 && rng.int(300) === 0) return rest;
  const prefix = utf8("tenant-42/");
  const cut = round >= 30 && rng.int(40) === 0 ? 7 + rng.int(3) : prefix.length;
  return Uint8Array.of(...prefix.subarray(0, cut), ...rest);
}

test("the index matches a sorted model under random inserts, replaces and removes, with held snapshots", {
  timeout: 120_000,
}, async () => {
  await modelTest(randomKey);
});

test("the model test holds with keys sharing a long prefix, seeks outside it, and a prefix that shrinks", {
  timeout: 120_000,
}, async () => {
  await modelTest(tenantKey);
});

async function modelTest(makeKey: (rng: Rng, round: number) => Uint8Array): Promise<void> {
  const seed = testSeed();
  await withSeed(seed, () => {
    const rng = new Rng(seed);
    const journal = new FakeJournal();
    const index = new OrderedIndex(journal);
    const model: Model = new Map();
    // Start from a built index over a random live set.
    const initial: number[] = [];
    for (let i = 0; i < 1500; i++) {
      const key = makeKey(rng, -1);
      const h = hex(key, 1e9);
      if (model.has(h)) continue;
      const off = journal.append(key);
      model.set(h, { key, off });
      initial.push(off);
    }
    index.build(Float64Array.from(initial), initial.length);
    assert.equal(index.validate(), undefined);
    const held: { snap: ReturnType<OrderedIndex["snapshot"]>; expected: { key: Uint8Array; off: number }[] }[] = [];
    for (let round = 0; round < 100; round++) {
      // A batch of random writes: sizes from one to a few thousand, so both small and large applies run.
      const ops = rng.pick([1, 2, 3, 4, 4, 5, 10, 50, 300, 2500]);
      const existing = [...model.values()]; // as of the round's start; may hold keys removed since
      // Half of the small batches stay around one key, so that several operations land in one leaf.
      const locality = ops <= 10 && model.size > 0 && rng.int(2) === 0
        ? existing[rng.int(existing.length)]!.key
        : undefined;
      for (let i = 0; i < ops; i++) {
        // An existing key, a neighbour of one (same leaf, most likely), or a fresh random key.
        const near = locality !== undefined && rng.int(4) !== 0;
        const base = near
          ? locality!
          : rng.int(3) === 0 && existing.length > 0
          ? existing[rng.int(existing.length)]!.key
          : undefined;
        const key = base === undefined
          ? makeKey(rng, round)
          : rng.int(2) === 0
          ? base
          : Uint8Array.of(...base.subarray(0, base.length - rng.int(2)), ...rng.bytes(rng.int(3)));
        const h = hex(key, 1e9);
        const cur = model.get(h);
        const r = rng.int(10);
        if (cur === undefined) {
          if (r < 8) {
            const off = journal.append(key);
            model.set(h, { key, off });
            index.noteInsert(off);
          }
        } else if (r < 5) {
          const off = journal.append(key);
          index.noteReplace(cur.off, off);
          model.set(h, { key, off });
        } else {
          index.noteRemove(cur.off);
          model.delete(h);
        }
      }
      const r = rng.int(10);
      if (r < 6) {
        const snap = index.snapshot();
        const expected = sortedModel(model);
        checkSnapshot(rng, snap, expected, `round ${round} fresh`, makeKey);
        if (rng.int(2) === 0) held.push({ snap, expected });
        else snap.release();
      } else if (r < 7) {
        const other = new OrderedIndex(journal);
        const exported = index.export();
        other.load(exported, exported.length);
        assert.equal(other.validate(), undefined, `round ${round}: loaded`);
        assert.deepEqual([...other.export()], sortedModel(model).map((e) => e.off));
      }
      assert.equal(index.validate(), undefined, `round ${round}`);
      assert.equal(index.size, model.size, `round ${round}: size`);
      // Re-check and sometimes release snapshots taken in earlier rounds.
      for (let i = held.length - 1; i >= 0; i--) {
        const h = held[i]!;
        checkSnapshot(rng, h.snap, h.expected, `round ${round} held`, makeKey);
        if (rng.int(3) === 0) {
          h.snap.release();
          held.splice(i, 1);
        }
      }
    }
    for (const h of held) h.snap.release();
    assert.deepEqual([...index.export()], sortedModel(model).map((e) => e.off));
  });
}

test("logged operations on the same key resolve to their net effect", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  const [a, b, c, d] = ["a", "b", "c", "d"].map((k) => j.append(utf8(k))) as [number, number, number, number];
  index.build(Float64Array.of(a, b, c), 3);
  // insert then remove = nothing
  const d1 = d;
  index.noteInsert(d1);
  index.noteRemove(d1);
  // insert x then replace x→y = insert y
  const e1 = j.append(utf8("e"));
  const e2 = j.append(utf8("e"));
  index.noteInsert(e1);
  index.noteReplace(e1, e2);
  // replace a→a2 then a2→a3 = replace a→a3
  const a2 = j.append(utf8("a"));
  const a3 = j.append(utf8("a"));
  index.noteReplace(a, a2);
  index.noteReplace(a2, a3);
  // remove then insert of the same key
  const b2 = j.append(utf8("b"));
  index.noteRemove(b);
  index.noteInsert(b2);
  // remove c, insert c, remove it again
  const c2 = j.append(utf8("c"));
  index.noteRemove(c);
  index.noteInsert(c2);
  index.noteRemove(c2);
  assert.deepEqual([...index.export()], [a3, b2, e2]);
  assert.equal(index.size, 3);
  assert.equal(index.validate(), undefined);
});

test("a small batch that removes and inserts in a full leaf keeps every entry", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  const offs: number[] = [];
  for (let i = 0; i < 100; i++) offs.push(j.append(utf8(`m${String(i).padStart(3, "0")}`)));
  index.build(Float64Array.from(offs), offs.length); // one leaf, filled to its capacity
  const last = j.append(utf8("z"));
  const mid = j.append(utf8("m050x"));
  index.noteRemove(offs[0]!);
  index.noteRemove(offs[1]!);
  index.noteInsert(mid);
  index.noteInsert(last);
  assert.deepEqual([...index.export()], [...offs.slice(2, 51), mid, ...offs.slice(51), last]);
  assert.equal(index.validate(), undefined);
});

test("a snapshot keeps its view while later writes change the index", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  const offs: number[] = [];
  for (let i = 0; i < 3000; i++) offs.push(j.append(utf8(`k${String(i).padStart(5, "0")}`)));
  index.build(Float64Array.from(offs), offs.length);
  const snap = index.snapshot();
  for (let i = 0; i < 3000; i += 2) index.noteRemove(offs[i]!);
  const fresh: number[] = [];
  for (let i = 0; i < 500; i++) {
    const o = j.append(utf8(`k${String(i).padStart(5, "0")}x`));
    fresh.push(o);
    index.noteInsert(o);
  }
  const later = index.snapshot();
  assert.deepEqual(drain(snap.seek(new Uint8Array(0), 0, -1, false)), offs);
  assert.equal(snap.size, 3000);
  assert.equal(later.size, 2000);
  const first = drain(later.seek(new Uint8Array(0), 0, -1, false), 3);
  assert.deepEqual(first, [fresh[0], offs[1], fresh[1]]);
  snap.release();
  later.release();
});

test("release() is idempotent, ends its cursors and stops the copying of nodes", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  const offs: number[] = [];
  for (let i = 0; i < 2000; i++) offs.push(j.append(utf8(`r${i}`)));
  index.build(Float64Array.from(offs), offs.length);
  const snap = index.snapshot();
  const cursor = snap.seek(new Uint8Array(0), 0, -1, false);
  assert.notEqual(cursor.next(), -1);
  index.noteInsert(j.append(utf8("r-new")));
  index.snapshot().release(); // applies the write: the leaf and root shared with `snap` are copied
  const copied = index.copiedNodes;
  assert.ok(copied >= 2, `copied ${copied}`);
  snap.release();
  snap.release();
  assert.equal(snap.released, true);
  assert.equal(cursor.next(), -1);
  assert.throws(() => snap.seek(new Uint8Array(0), 0, -1, false), TypeError);
  assert.throws(() => snap.seekBack(new Uint8Array(0), 0, -1, false), TypeError);
  // No snapshot is live: applying writes changes nodes in place.
  for (let i = 0; i < 50; i++) index.noteInsert(j.append(utf8(`r-new${i}`)));
  for (let i = 0; i < 50; i++) index.noteRemove(offs[i * 7]!);
  assert.equal(index.size, 2001);
  assert.equal(index.copiedNodes, copied);
  // A live snapshot again: the next write copies, but each node at most once per snapshot epoch.
  const again = index.snapshot();
  index.noteInsert(j.append(utf8("r-zz")));
  index.export();
  const once = index.copiedNodes;
  assert.ok(once > copied);
  index.noteInsert(j.append(utf8("r-zzz")));
  index.export();
  assert.equal(index.copiedNodes, once);
  again.release();
});

test("build() sorts unsorted input, keeps the highest offset of a duplicated key, and export/load round-trips", () => {
  const j = new FakeJournal();
  const rng = new Rng(7);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 5000; i++) keys.push(utf8(`user:${String(rng.int(1e7)).padStart(8, "0")}`));
  const offs = keys.map((k) => j.append(k));
  const dupKey = keys[10]!;
  const dup = j.append(dupKey);
  const input = Float64Array.from([...offs, dup]);
  for (let i = input.length - 1; i > 0; i--) {
    const k = rng.int(i + 1);
    [input[i], input[k]] = [input[k]!, input[i]!];
  }
  const index = new OrderedIndex(j);
  assert.equal(index.built, false);
  index.build(input, input.length);
  assert.equal(index.built, true);
  const byKey = new Map<string, number>();
  keys.forEach((k, i) => byKey.set(hex(k, 1e9), Math.max(byKey.get(hex(k, 1e9)) ?? -1, offs[i]!)));
  byKey.set(hex(dupKey, 1e9), dup);
  const expected = [...byKey.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map((e) => e[1]);
  const exported = index.export();
  assert.deepEqual([...exported], expected);
  assert.equal(index.validate(), undefined);
  const loaded = new OrderedIndex(j);
  loaded.load(exported, exported.length);
  assert.deepEqual([...loaded.export()], expected);
  assert.equal(loaded.validate(), undefined);
  assert.throws(() => loaded.load(exported, exported.length + 1), RangeError);
});

test("keys sharing long prefixes, proper prefixes, empty keys and 0xFF bytes sort in byte order", () => {
  const j = new FakeJournal();
  const rng = new Rng(11);
  const keys: Uint8Array[] = [new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0, 0), Uint8Array.of(0xff)];
  const long = new Uint8Array(100).fill(0xff);
  for (let i = 0; i < 300; i++) {
    const k = new Uint8Array(60 + rng.int(60));
    k.set(long.subarray(0, Math.min(k.length, 100)));
    k[k.length - 1] = rng.int(256);
    keys.push(k);
  }
  for (let n = 0; n <= 40; n++) keys.push(long.subarray(0, n)); // every proper prefix of the long run
  const seen = new Set<string>();
  const unique = keys.filter((k) => !seen.has(hex(k, 1e9)) && seen.add(hex(k, 1e9)));
  const offs = Float64Array.from(unique.map((k) => j.append(k)));
  const { perm, same } = sortByKey(j, offs, offs.length);
  const got = [...perm].map((p) => hex(j.key(offs[p]!), 1e9));
  const want = unique.slice().sort(compareBytes).map((k) => hex(k, 1e9));
  assert.deepEqual(got, want);
  assert.equal(same, undefined); // no two keys are equal
});

test("sortByKey puts equal keys together and flags every one after the first", () => {
  const j = new FakeJournal();
  const rng = new Rng(5);
  const distinct = [utf8(""), utf8("dup"), utf8("dup-but-longer-than-eight"), Uint8Array.of(0xff, 0xff), utf8("dup\0")];
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) keys.push(distinct[rng.int(distinct.length)]!);
  const offs = Float64Array.from(keys.map((k) => j.append(k)));
  const { perm, same } = sortByKey(j, offs, offs.length);
  assert.ok(same !== undefined);
  for (let i = 1; i < perm.length; i++) {
    const c = compareBytes(j.key(offs[perm[i - 1]!]!), j.key(offs[perm[i]!]!));
    assert.ok(c <= 0, `out of order at ${i}`);
    assert.equal(same[i], c === 0 ? 1 : 0, `flag at ${i}`);
  }
  assert.equal(same[0], 0);
});

test("sortByKey orders keys that lack the prefix most keys share before or after them", () => {
  const j = new FakeJournal();
  const rng = new Rng(9);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) keys.push(utf8(`tenant-42/item-${String(rng.int(300)).padStart(5, "0")}`));
  // Outliers: proper prefixes of the shared prefix, smaller and larger bytes, empty, and duplicates of each.
  for (const k of ["", "t", "tenant-4", "tenant-41/z", "tenant-43/a", "tenant-42", "u", "tenant-42/", "\xff"]) {
    keys.splice(rng.int(keys.length), 0, utf8(k), utf8(k));
  }
  const offs = Float64Array.from(keys.map((k) => j.append(k)));
  const { perm, same } = sortByKey(j, offs, offs.length);
  assert.ok(same !== undefined);
  const got = [...perm].map((p) => hex(j.key(offs[p]!), 1e9));
  assert.deepEqual(got, keys.slice().sort(compareBytes).map((k) => hex(k, 1e9)));
  for (let i = 1; i < perm.length; i++) assert.equal(same[i], got[i] === got[i - 1] ? 1 : 0, `flag at ${i}`);
});

test("clear() empties a built index and drop() makes it unbuilt; held snapshots keep their view", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  index.noteInsert(j.append(utf8("ignored"))); // unbuilt: no effect
  const offs: number[] = [];
  for (let i = 0; i < 1200; i++) offs.push(j.append(utf8(`c${i}`)));
  index.build(Float64Array.from(offs), offs.length);
  assert.equal(index.size, 1200);
  assert.ok(index.byteSize() >= 1200 * 8);
  const snap = index.snapshot();
  index.clear();
  assert.equal(index.built, true);
  assert.equal(index.size, 0);
  const x = j.append(utf8("x"));
  index.noteInsert(x);
  assert.deepEqual([...index.export()], [x]);
  index.drop();
  assert.equal(index.built, false);
  index.noteInsert(j.append(utf8("y")));
  assert.equal(index.size, 0);
  assert.deepEqual([...index.export()], []);
  assert.equal(snap.size, 1200);
  assert.equal(drain(snap.seek(new Uint8Array(0), 0, -1, false)).length, 1200);
  snap.release();
});

test("an empty index yields nothing from every kind of seek", () => {
  const index = new OrderedIndex(new FakeJournal());
  index.build(new Float64Array(0), 0);
  const snap = index.snapshot();
  const k = utf8("k");
  assert.equal(snap.seek(k, 0, 1, false).next(), -1);
  assert.equal(snap.seek(k, 0, -1, true).next(), -1);
  assert.equal(snap.seekBack(k, 0, 1, true).next(), -1);
  assert.equal(snap.seekBack(k, 0, -1, false).next(), -1);
  assert.throws(() => snap.seek(k, 0, 2, false), RangeError);
  snap.release();
});

test("leaves split and merge within their bounds while the index grows and shrinks", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  index.build(new Float64Array(0), 0);
  const rng = new Rng(3);
  const live: number[] = [];
  for (let i = 0; i < 20 * LEAF_MAX; i++) {
    const o = j.append(rng.bytes(12));
    live.push(o);
    index.noteInsert(o);
    if (i % 97 === 0) assert.equal(index.validate(), undefined);
  }
  assert.equal(index.size, live.length);
  while (live.length > 10) {
    const o = live.splice(rng.int(live.length), 1)[0]!;
    index.noteRemove(o);
    if (live.length % 89 === 0) assert.equal(index.validate(), undefined);
  }
  assert.equal(index.size, 10);
  assert.equal(index.validate(), undefined);
  assert.ok(index.byteSize() < 64 * 1024, `byteSize ${index.byteSize()}`);
});

test("snapshots dropped without release() are released once garbage-collected", { timeout: 60_000 }, (t) => {
  // A child process, so that the collector can be called (Deno: --expose-gc; Bun: Bun.gc).
  const dir = tempDir(t);
  const script = join(dir, "abandon.ts");
  const module = new URL("../src/index/ordered_index.ts", import.meta.url).href;
  writeFileSync(
    script,
    `import { OrderedIndex } from ${JSON.stringify(module)};
const keys = Array.from({ length: 2000 }, (_, i) => new TextEncoder().encode("k" + i));
const cmp = (x, y) => {
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
const src = {
  compareRecords: (a, b) => cmp(keys[a / 8], keys[b / 8]),
  compareRecordTo: (o, k, s, l) => cmp(keys[o / 8], k.subarray(s, s + l)),
  keyAt: (o, out) => { out[0] = 0; out[1] = keys[o / 8].length; return keys[o / 8]; },
};
const index = new OrderedIndex(src);
index.build(Float64Array.from({ length: 1000 }, (_, i) => i * 8), 1000);
(function abandon() {
  for (let i = 0; i < 20; i++) {
    index.snapshot().seek(new Uint8Array(0), 0, -1, false).next();
    index.noteInsert((1000 + i) * 8);
  }
})();
const before = index.liveSnapshots;
const gc = globalThis.gc ?? globalThis.Bun?.gc;
for (let i = 0; i < 100 && index.liveSnapshots > 0; i++) {
  gc(true);
  new Array(1e5).fill(i);
  await new Promise((r) => setTimeout(r, 10));
}
console.log(JSON.stringify({ before, after: index.liveSnapshots, size: index.size }));
`,
  );
  const [exe, argv] = runtimeCommand(script);
  if (currentRuntime === "deno") argv.splice(1, 0, "--v8-flags=--expose-gc");
  const out = execFileSync(exe, argv, { encoding: "utf8" });
  const r = JSON.parse(out.trim().split("\n").pop()!);
  assert.deepEqual(r, { before: 20, after: 0, size: 1020 });
});

test("a long run of logged writes with no snapshot is applied on the way and loses nothing", () => {
  const j = new FakeJournal();
  const index = new OrderedIndex(j);
  index.build(new Float64Array(0), 0);
  const offs: number[] = [];
  for (let i = 0; i < 70_000; i++) {
    const o = j.append(utf8(`w${String((i * 7919) % 70_000).padStart(6, "0")}`));
    offs.push(o);
    index.noteInsert(o);
  }
  // Past 65,536 logged entries the log is applied without waiting for a snapshot; the rest is applied here.
  for (let i = 0; i < 70_000; i += 2) index.noteRemove(offs[i]!);
  assert.equal(index.size, 35_000);
  assert.equal(index.validate(), undefined);
  const byKey = offs.filter((_, i) => i % 2 === 1).sort((a, b) => j.compareRecords(a, b));
  assert.deepEqual([...index.export()], byKey);
});
