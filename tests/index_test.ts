/**
 * The index at scale and under random operations: a million random keys, the
 * 64,000 sequential `stress-key-…` keys, and a seeded model test against a Map
 * with reopens (from checkpoints and from full replays) along the way.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { join } from "node:path";
import { Emdb } from "../mod.ts";
import { bytesEqual, hex, Rng, tempDbPath, tempDir, testSeed, utf8, withSeed } from "./_helpers.ts";

/** The value stored for a key of the million-key test: 4 hash bytes, then key bytes mixed, 4–19 bytes. */
function derivedValue(key: Uint8Array, out: Uint8Array): Uint8Array {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i]!, 0x01000193);
  const len = 4 + (key[0]! & 15);
  const v = out.subarray(0, len);
  v[0] = h & 0xff;
  v[1] = (h >>> 8) & 0xff;
  v[2] = (h >>> 16) & 0xff;
  v[3] = h >>> 24;
  for (let i = 4; i < len; i++) v[i] = key[i % key.length]! ^ 0x5a;
  return v;
}

/** A million random keys of 8–32 bytes, packed in one buffer. */
class KeySet {
  readonly count: number;
  readonly buf: Uint8Array;
  readonly offsets: Uint32Array;

  constructor(rng: Rng, count: number) {
    this.count = count;
    this.offsets = new Uint32Array(count + 1);
    let total = 0;
    for (let i = 0; i < count; i++) {
      this.offsets[i] = total;
      total += 8 + rng.int(25);
    }
    this.offsets[count] = total;
    this.buf = rng.bytes(total);
  }

  key(i: number): Uint8Array {
    return this.buf.subarray(this.offsets[i]!, this.offsets[i + 1]!);
  }
}

function verifyAll(db: Emdb, keys: KeySet, what: string): void {
  const scratch = new Uint8Array(32);
  let misses = 0;
  let wrong = 0;
  let firstProblem = "";
  for (let i = 0; i < keys.count; i++) {
    const k = keys.key(i);
    const v = db.get(k);
    if (v === undefined) {
      misses++;
      if (firstProblem === "") firstProblem = `key #${i} ${hex(k)} missing`;
    } else if (!bytesEqual(v, derivedValue(k, scratch))) {
      wrong++;
      if (firstProblem === "") firstProblem = `key #${i} ${hex(k)} has ${hex(v)}`;
    }
  }
  assert.equal(misses + wrong, 0, `${what}: ${misses} misses, ${wrong} wrong values; first: ${firstProblem}`);
  assert.equal(db.size, keys.count, `${what}: size`);
}

test("a million random keys written with setMany are all found with the right values, before and after reopen", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, () => {
    const rng = new Rng(seed);
    const path = tempDbPath(t);
    const N = 1_000_000;
    const keys = new KeySet(rng, N);
    {
      using db = Emdb.open(path);
      const CHUNK = 10_000;
      for (let start = 0; start < N; start += CHUNK) {
        const entries: [Uint8Array, Uint8Array][] = [];
        for (let i = start; i < Math.min(N, start + CHUNK); i++) {
          const k = keys.key(i);
          entries.push([k, derivedValue(k, new Uint8Array(32)).slice()]);
        }
        db.setMany(entries);
      }
      verifyAll(db, keys, "in the writing handle");
      // Keys longer than any inserted one can never be present.
      for (let i = 0; i < 50_000; i++) {
        const absent = rng.bytes(33 + rng.int(8));
        assert.equal(db.get(absent), undefined, `absent key ${hex(absent)} was found`);
      }
      assert.equal(db.stats().liveRecords, N);
    }
    {
      using db = Emdb.open(path, { checkpointOnClose: false });
      assert.equal(db.stats().openedFrom, "checkpoint");
      verifyAll(db, keys, "after reopen from the checkpoint");
    }
    {
      using db = Emdb.open(path, { useCheckpoint: false, checkpointOnClose: false });
      assert.equal(db.stats().openedFrom, "replay");
      verifyAll(db, keys, "after reopen with a full replay");
    }
  });
});

test("64,000 sequential stress-key-… keys have no misses and no wrong values", { timeout: 120_000 }, (t) => {
  const path = tempDbPath(t);
  const N = 64_000;
  const key = (i: number) => `stress-key-${String(i).padStart(8, "0")}`;
  const check = (db: Emdb, what: string) => {
    let bad = 0;
    let first = "";
    for (let i = 1; i <= N; i++) {
      const v = db.getString(key(i));
      if (v !== `value-${i}`) {
        bad++;
        if (first === "") first = `${key(i)} = ${v}`;
      }
    }
    assert.equal(bad, 0, `${what}: ${bad} bad lookups, first ${first}`);
    assert.equal(db.size, N, `${what}: size`);
    assert.equal(db.get(key(0)), undefined);
    assert.equal(db.get(key(N + 1)), undefined);
  };
  {
    using db = Emdb.open(path);
    for (let i = 1; i <= N; i++) db.set(key(i), `value-${i}`);
    check(db, "before reopen");
  }
  {
    using db = Emdb.open(path);
    check(db, "after reopen from the checkpoint");
  }
  using db = Emdb.open(path, { useCheckpoint: false });
  check(db, "after a full replay");
});

test("300,000 random sets and deletes over 100,000 keys agree with a Map as the index grows, also after reopen", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, () => {
    const rng = new Rng(seed);
    const path = tempDbPath(t);
    const SPACE = 100_000;
    const version = new Int32Array(SPACE).fill(-1); // -1 = absent, else the value's version
    let live = 0;
    const key = (n: number) => `grow-${n}`;
    const value = (n: number, v: number) => `${n}:${v}:${"x".repeat((n + v) % 24)}`;
    const check = (db: Emdb, what: string) => {
      for (let n = 0; n < SPACE; n++) {
        const want = version[n]! < 0 ? undefined : value(n, version[n]!);
        const got = db.getString(key(n));
        if (got !== want) assert.fail(`${what}: ${key(n)} is ${got}, expected ${want}`);
      }
      assert.equal(db.size, live, `${what}: size`);
    };
    {
      using db = Emdb.open(path);
      for (let op = 0; op < 300_000; op++) {
        const n = rng.int(Math.min(SPACE, 1000 + op)); // the key space widens, so the index keeps growing
        if (rng.int(10) < 6) {
          if (version[n]! < 0) live++;
          version[n] = op;
          db.set(key(n), value(n, op));
        } else {
          const existed = version[n]! >= 0;
          assert.equal(db.delete(key(n)), existed, `op ${op}: delete(${key(n)})`);
          if (existed) live--;
          version[n] = -1;
        }
        if (op % 50_000 === 49_999) check(db, `after ${op + 1} operations`);
      }
      check(db, "at the end");
    }
    {
      using db = Emdb.open(path, { checkpointOnClose: false });
      assert.equal(db.stats().openedFrom, "checkpoint");
      check(db, "after reopen from the checkpoint");
    }
    using db = Emdb.open(path, { useCheckpoint: false });
    check(db, "after a full replay");
  });
});

/** Keys of the model test: a small space of strings and byte strings (some not UTF-8). */
function modelKeys(): (string | Uint8Array)[] {
  const keys: (string | Uint8Array)[] = [];
  for (let i = 0; i < 200; i++) keys.push(`key-${i}`);
  for (let i = 0; i < 60; i++) keys.push(Uint8Array.of(0xff, i, 0xfe, i * 3));
  for (let i = 0; i < 20; i++) keys.push(`ключ-🔑-${i}`);
  keys.push("", Uint8Array.of(0), "x".repeat(1000));
  return keys;
}

function keyId(k: string | Uint8Array): string {
  return hex(typeof k === "string" ? utf8(k) : k, 100_000);
}

function randomValue(rng: Rng): Uint8Array {
  const r = rng.int(100);
  const len = r < 5 ? 0 : r < 97 ? rng.int(300) : 1000 + rng.int(20_000);
  return rng.bytes(len);
}

/**
 * Runs `ops` random operations on `db` and a model Map, checking along the way.
 * `reopen` (absent for in-memory databases) closes and reopens with random options.
 */
function runModel(
  rng: Rng,
  ops: number,
  open: (options: Parameters<typeof Emdb.open>[1]) => Emdb,
  canReopen: boolean,
): { reopens: number; clears: number } {
  const keys = modelKeys();
  const model = new Map<string, Uint8Array>();
  let db = open({});
  let reopens = 0;
  let clears = 0;
  const fullCheck = (step: number, what: string) => {
    assert.equal(db.size, model.size, `step ${step} (${what}): size`);
    for (const k of keys) {
      const got = db.get(k);
      const want = model.get(keyId(k));
      if (!bytesEqual(got, want)) {
        assert.fail(
          `step ${step} (${what}): key ${keyId(k).slice(0, 40)} is ${got ? hex(got, 16) : "absent"}, ` +
            `expected ${want ? hex(want, 16) : "absent"}`,
        );
      }
    }
  };
  try {
    for (let step = 0; step < ops; step++) {
      const r = rng.int(1000);
      if (r < 400) {
        const k = rng.pick(keys);
        const v = randomValue(rng);
        db.set(k, v);
        model.set(keyId(k), v);
      } else if (r < 580) {
        const k = rng.pick(keys);
        const existed = model.delete(keyId(k));
        assert.equal(db.delete(k), existed, `step ${step}: delete(${keyId(k).slice(0, 40)}) result`);
      } else if (r < 680) {
        const n = 1 + rng.int(20);
        const entries: [string | Uint8Array, Uint8Array][] = [];
        for (let i = 0; i < n; i++) entries.push([rng.pick(keys), randomValue(rng)]);
        db.setMany(entries);
        for (const [k, v] of entries) model.set(keyId(k), v);
      } else if (r < 900) {
        const k = rng.pick(keys);
        const want = model.get(keyId(k));
        assert.ok(bytesEqual(db.get(k), want), `step ${step}: get(${keyId(k).slice(0, 40)})`);
        assert.equal(db.has(k), want !== undefined, `step ${step}: has(${keyId(k).slice(0, 40)})`);
      } else if (r < 950) {
        db.flush();
      } else if (r < 975) {
        db.checkpoint();
      } else if (r < 977) {
        db.clear();
        model.clear();
        clears++;
      } else if (r < 990 && canReopen) {
        const options = { useCheckpoint: rng.int(2) === 0, checkpointOnClose: rng.int(2) === 0 };
        db.close();
        db = open(options);
        reopens++;
        fullCheck(step, `after reopen with ${JSON.stringify(options)}`);
      } else {
        assert.equal(db.size, model.size, `step ${step}: size`);
      }
      if (step % 1000 === 999) fullCheck(step, "periodic check");
    }
    fullCheck(ops, "end");
  } finally {
    db.close();
  }
  if (canReopen) {
    db = open({});
    try {
      fullCheck(ops, "final reopen");
    } finally {
      db.close();
    }
  }
  return { reopens, clears };
}

test("20,000 random operations agree with a Map, across reopens with and without checkpoints", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, () => {
    const path = join(tempDir(t), "model.emdb");
    const counts = runModel(new Rng(seed), 20_000, (options) => Emdb.open(path, options), true);
    assert.ok(counts.reopens > 10, `only ${counts.reopens} reopens`);
  });
});

test("20,000 random operations on an in-memory database agree with a Map", { timeout: 120_000 }, async () => {
  const seed = testSeed();
  await withSeed(seed, () => {
    runModel(new Rng(seed), 20_000, () => Emdb.openInMemory(), false);
  });
});
