/**
 * Round trips through the public API: what is written is read back, in the
 * same handle and after close and reopen, for every kind of key and value;
 * argument validation; the lifecycle (close, `using`); in-memory databases;
 * zero-copy views; stats.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { Emdb, EmdbError } from "../mod.ts";
import { assertBytes, assertEmdbError, runFixture, tempDbPath, tempDir, utf8 } from "./_helpers.ts";

type Stats = ReturnType<Emdb["stats"]>;

/** Opens `path`, runs `fn`, closes. */
function withDb(path: string, fn: (db: Emdb) => void): void {
  const db = Emdb.open(path);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = Math.imul(seed + 1, 0x9e3779b1) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test("an empty key and an empty value round-trip across close and reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    db.set("", "value of the empty key");
    db.set("empty-value", "");
    db.set(new Uint8Array(0), "overwritten through a Uint8Array key");
    db.set(utf8("empty-bytes"), new Uint8Array(0));
    assert.equal(db.getString(""), "overwritten through a Uint8Array key");
  });
  withDb(path, (db) => {
    assert.equal(db.size, 3);
    assert.equal(db.getString(""), "overwritten through a Uint8Array key");
    assert.ok(db.has(""));
    assertBytes(db.get("empty-value"), new Uint8Array(0));
    assertBytes(db.get("empty-bytes"), new Uint8Array(0));
    assert.equal(db.getString("empty-value"), "");
    assert.ok(db.has("empty-value"), "a key with an empty value exists");
  });
});

test("1 KiB keys and 1 MiB values round-trip across close and reopen", (t) => {
  const path = tempDbPath(t);
  const keys = [0, 1, 2].map((i) => pattern(1024, 100 + i));
  const values = [0, 1, 2].map((i) => pattern(1024 * 1024, 200 + i));
  withDb(path, (db) => {
    keys.forEach((k, i) => db.set(k, values[i]!));
    keys.forEach((k, i) => assertBytes(db.get(k), values[i], `value ${i} before reopen`));
  });
  withDb(path, (db) => {
    assert.equal(db.size, 3);
    keys.forEach((k, i) => assertBytes(db.get(k), values[i], `value ${i} after reopen`));
  });
});

test("a value larger than the preallocation (80 MiB) round-trips across reopen", { timeout: 120_000 }, (t) => {
  const path = tempDbPath(t);
  const big = pattern(80 * 1024 * 1024, 42);
  withDb(path, (db) => {
    db.set("before", "small");
    db.set("big", big);
    db.set("after", "small too");
    assertBytes(db.get("big"), big, "big value before reopen");
  });
  withDb(path, (db) => {
    assertBytes(db.get("big"), big, "big value after reopen");
    assert.equal(db.getString("after"), "small too");
    assert.equal(db.size, 3);
  });
});

test("paths with spaces and non-ASCII characters work", (t) => {
  const dir = join(tempDir(t), "folder with spaces ünïcødé 日本");
  mkdirSync(dir);
  const path = join(dir, "data base ✓.emdb");
  withDb(path, (db) => {
    db.set("k", "v");
    assert.equal(db.path, path);
    assert.equal(Emdb.lockHolder(path)?.pid, process.pid);
  });
  assert.ok(existsSync(path));
  assert.ok(existsSync(`${path}.lock`));
  withDb(path, (db) => assert.equal(db.getString("k"), "v"));
});

test("opening a folder as a database throws an EmdbError and leaves nothing behind", (t) => {
  const dir = tempDir(t);
  const folder = join(dir, "folder");
  mkdirSync(folder);
  assert.throws(() => Emdb.open(folder), (e: unknown) => e instanceof EmdbError, "opening a folder");
  assert.deepEqual(readdirSync(dir), ["folder"], "files were created beside the folder");
});

test("all 256 byte values round-trip as keys and as values", (t) => {
  const path = tempDbPath(t);
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  withDb(path, (db) => {
    for (let b = 0; b < 256; b++) db.set(Uint8Array.of(b), Uint8Array.of(b, 255 - b, b));
    db.set(every, every);
    db.set("every-byte", every);
  });
  withDb(path, (db) => {
    assert.equal(db.size, 258);
    for (let b = 0; b < 256; b++) assertBytes(db.get(Uint8Array.of(b)), Uint8Array.of(b, 255 - b, b), `key ${b}`);
    assertBytes(db.get(every), every, "the key made of every byte");
    assertBytes(db.get("every-byte"), every, "the value made of every byte");
  });
});

test("keys that are not valid UTF-8 round-trip and stay distinct from their lossy decodings", (t) => {
  const path = tempDbPath(t);
  const invalid = [
    Uint8Array.of(0xff, 0xfe),
    Uint8Array.of(0xc3), // truncated two-byte sequence
    Uint8Array.of(0xed, 0xa0, 0x80), // an encoded surrogate
    Uint8Array.of(0xc0, 0x80), // overlong NUL
    Uint8Array.of(0x00, 0xff, 0x00),
  ];
  withDb(path, (db) => {
    invalid.forEach((k, i) => db.set(k, `invalid-${i}`));
    db.set("\uFFFD\uFFFD", "replacement characters");
  });
  withDb(path, (db) => {
    assert.equal(db.size, invalid.length + 1);
    invalid.forEach((k, i) => assert.equal(db.getString(k), `invalid-${i}`));
    assert.equal(db.getString("\uFFFD\uFFFD"), "replacement characters");
    assert.equal(db.getString("\uFFFD"), undefined);
  });
});

test("a string key and a Uint8Array key with the same UTF-8 bytes are the same key", (t) => {
  const path = tempDbPath(t);
  const samples = ["plain", "héllo wörld", "日本語のキー", "emoji 🦀🚀", "nul\u0000inside"];
  withDb(path, (db) => {
    for (const s of samples) {
      db.set(s, `string ${s}`);
      assert.equal(db.getString(utf8(s)), `string ${s}`);
      db.set(utf8(s), `bytes ${s}`);
      assert.equal(db.getString(s), `bytes ${s}`);
    }
    assert.equal(db.size, samples.length);
  });
  withDb(path, (db) => {
    assert.equal(db.size, samples.length);
    for (const s of samples) {
      assert.equal(db.getString(s), `bytes ${s}`);
      assert.ok(db.has(utf8(s)));
      assert.equal(db.delete(utf8(s)), true);
      assert.equal(db.has(s), false);
    }
    assert.equal(db.size, 0);
  });
});

test("a string value is stored as its UTF-8 bytes", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => db.set("k", "ünïcödé 🦀"));
  withDb(path, (db) => {
    assertBytes(db.get("k"), utf8("ünïcödé 🦀"));
    assert.equal(db.getString("k"), "ünïcödé 🦀");
  });
});

test("set() overwrites a key and the last value wins after reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    db.set("k", "first");
    db.set("k", "second, and longer than the first");
    assert.equal(db.getString("k"), "second, and longer than the first");
    db.set("k", "3");
    assert.equal(db.getString("k"), "3");
    assert.equal(db.size, 1);
  });
  withDb(path, (db) => {
    assert.equal(db.getString("k"), "3");
    assert.equal(db.size, 1);
    db.set("k", "fourth");
  });
  withDb(path, (db) => assert.equal(db.getString("k"), "fourth"));
});

test("delete() returns true when the key existed and false otherwise, also after reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    assert.equal(db.delete("missing"), false);
    db.set("a", "1");
    db.set("b", "2");
    assert.equal(db.delete("a"), true);
    assert.equal(db.delete("a"), false);
    assert.equal(db.get("a"), undefined);
    assert.equal(db.getString("a"), undefined);
    assert.equal(db.has("a"), false);
  });
  withDb(path, (db) => {
    assert.equal(db.get("a"), undefined, "a deleted key stays deleted after reopen");
    assert.equal(db.delete("a"), false);
    assert.equal(db.delete("b"), true);
    assert.equal(db.size, 0);
    db.set("a", "again");
  });
  withDb(path, (db) => {
    assert.equal(db.getString("a"), "again", "a key can be set again after delete");
    assert.equal(db.has("b"), false);
    assert.equal(db.size, 1);
  });
});

test("get() returns undefined after delete() and for keys never written", (t) => {
  withDb(tempDbPath(t), (db) => {
    assert.equal(db.get("never"), undefined);
    assert.equal(db.getUnsafeView("never"), undefined);
    db.set("k", "v");
    db.delete("k");
    assert.equal(db.get("k"), undefined);
    assert.equal(db.getUnsafeView("k"), undefined);
  });
});

test("size counts live keys through inserts, overwrites and deletes, also after reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    assert.equal(db.size, 0);
    for (let i = 0; i < 100; i++) db.set(`k${i}`, `v${i}`);
    assert.equal(db.size, 100);
    for (let i = 0; i < 100; i += 2) db.set(`k${i}`, `w${i}`);
    assert.equal(db.size, 100);
    for (let i = 0; i < 100; i += 3) db.delete(`k${i}`);
    assert.equal(db.size, 66);
  });
  withDb(path, (db) => assert.equal(db.size, 66));
});

test("has() and getString() reflect what is stored", (t) => {
  withDb(tempDbPath(t), (db) => {
    assert.equal(db.has("k"), false);
    db.set("k", Uint8Array.of(0x68, 0x69));
    assert.equal(db.has("k"), true);
    assert.equal(db.getString("k"), "hi");
    db.set("k", "");
    assert.equal(db.has("k"), true);
    assert.equal(db.getString("k"), "");
  });
});

test("get() returns an owned copy, and set() copies its arguments", (t) => {
  withDb(tempDbPath(t), (db) => {
    const key = utf8("key");
    const value = Uint8Array.of(1, 2, 3);
    db.set(key, value);
    key[0] = 0x4b;
    value[0] = 99;
    assertBytes(db.get("key"), Uint8Array.of(1, 2, 3), "stored value after mutating the inputs");
    const got = db.get("key")!;
    got[1] = 42;
    assertBytes(db.get("key"), Uint8Array.of(1, 2, 3), "stored value after mutating a returned copy");
  });
});

test("writes are visible to get() immediately, before any flush()", (t) => {
  withDb(tempDbPath(t), (db) => {
    for (let i = 0; i < 50; i++) {
      db.set(`k${i}`, `v${i}`);
      assert.equal(db.getString(`k${i}`), `v${i}`);
    }
    db.setMany([["m1", "x"], ["m2", "y"]]);
    assert.equal(db.getString("m2"), "y");
    db.delete("k3");
    assert.equal(db.has("k3"), false);
  });
});

test("clear() empties the database and it is still empty after reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    for (let i = 0; i < 200; i++) db.set(`k${i}`, `v${i}`);
    db.checkpoint();
    db.clear();
    assert.equal(db.size, 0);
    assert.equal(db.get("k1"), undefined);
  });
  withDb(path, (db) => {
    assert.equal(db.size, 0, "cleared keys came back after reopen");
    assert.equal(db.get("k1"), undefined);
    db.set("after-clear", "1");
  });
  withDb(path, (db) => {
    assert.equal(db.size, 1);
    assert.equal(db.getString("after-clear"), "1");
  });
});

test("writes after clear() survive reopen and keys from before do not", (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path, { checkpointOnClose: false });
  db.set("old", "1");
  db.set("both", "old");
  db.clear();
  db.set("both", "new");
  db.set("new", "2");
  db.close();
  withDb(path, (db2) => {
    assert.equal(db2.size, 2);
    assert.equal(db2.get("old"), undefined);
    assert.equal(db2.getString("both"), "new");
    assert.equal(db2.getString("new"), "2");
  });
});

test("setMany() with duplicate keys keeps the last value, also after reopen", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    db.set("pre", "existing");
    db.setMany([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
      [utf8("b"), "4"],
      ["pre", "replaced"],
      ["a", "5"],
    ]);
    assert.equal(db.getString("a"), "5");
    assert.equal(db.getString("b"), "4");
    assert.equal(db.getString("pre"), "replaced");
    assert.equal(db.size, 3);
  });
  withDb(path, (db) => {
    assert.equal(db.getString("a"), "5");
    assert.equal(db.getString("b"), "4");
    assert.equal(db.getString("pre"), "replaced");
    assert.equal(db.size, 3);
  });
});

test("setMany() accepts any iterable, and an empty one changes nothing", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    db.setMany([]);
    assert.equal(db.size, 0);
    db.setMany(new Map<string, string>([["m1", "a"], ["m2", "b"]]));
    function* gen(): Generator<[string, Uint8Array]> {
      for (let i = 0; i < 10; i++) yield [`g${i}`, Uint8Array.of(i)];
    }
    db.setMany(gen());
    assert.equal(db.size, 12);
  });
  withDb(path, (db) => {
    assert.equal(db.size, 12);
    assert.equal(db.getString("m2"), "b");
    assertBytes(db.get("g9"), Uint8Array.of(9));
  });
});

test("setMany() with one invalid entry throws and writes none of the entries", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    assert.throws(
      () => db.setMany([["good-1", "a"], [42 as unknown as string, "b"], ["good-2", "c"]]),
      TypeError,
    );
    assert.throws(() => db.setMany([["good-3", "a"], ["bad-value", null as unknown as string]]), TypeError);
    assert.throws(() => db.setMany([["good-4", "a"], ["x".repeat(65536), "too long"]]), RangeError);
    assert.equal(db.size, 0);
    assert.equal(db.has("good-1"), false);
    assert.equal(db.has("good-3"), false);
    assert.equal(db.has("good-4"), false);
  });
  withDb(path, (db) => assert.equal(db.size, 0, "a rejected setMany left records on disk"));
});

test("after close() every method throws CLOSED and close() can be called again", (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  db.set("k", "v");
  db.close();
  db.close();
  const calls: [string, () => unknown][] = [
    ["get", () => db.get("k")],
    ["getString", () => db.getString("k")],
    ["getUnsafeView", () => db.getUnsafeView("k")],
    ["has", () => db.has("k")],
    ["set", () => db.set("k", "v2")],
    ["delete", () => db.delete("k")],
    ["setMany", () => db.setMany([["a", "b"]])],
    ["clear", () => db.clear()],
    ["size", () => db.size],
    ["flush", () => db.flush()],
    ["checkpoint", () => db.checkpoint()],
    ["stats", () => db.stats()],
  ];
  for (const [name, call] of calls) {
    const e = assertEmdbError(call, "CLOSED");
    assert.ok(e instanceof Error, name);
  }
  db.close();
  db[Symbol.dispose]();
  withDb(path, (db2) => assert.equal(db2.getString("k"), "v", "nothing was written after close"));
});

test("`using` closes the database at the end of its block", (t) => {
  const path = tempDbPath(t);
  let escaped: Emdb | undefined;
  {
    using db = Emdb.open(path);
    db.set("k", "v");
    escaped = db;
  }
  assertEmdbError(() => escaped!.get("k"), "CLOSED");
  // The lock was released: the same path opens again in this process.
  {
    using db = Emdb.open(path);
    assert.equal(db.getString("k"), "v");
  }
  {
    using mem = Emdb.openInMemory();
    mem.set("x", "y");
    escaped = mem;
  }
  assertEmdbError(() => escaped!.size, "CLOSED");
});

test("an unknown option key throws a TypeError naming the key", (t) => {
  const path = tempDbPath(t);
  const bad = { useCheckpiont: true, dataRoot: tempDir(t) } as unknown as Parameters<typeof Emdb.open>[1];
  for (const open of [() => Emdb.open(path, bad), () => Emdb.openInMemory(bad), () => Emdb.openDefault(bad)]) {
    assert.throws(open, (e: unknown) => e instanceof TypeError && e.message.includes("useCheckpiont"));
  }
  assert.equal(existsSync(path), false, "a rejected open created the file");
});

test("keys of the wrong type throw TypeError in every method", (t) => {
  withDb(tempDbPath(t), (db) => {
    const badKeys: unknown[] = [42, null, undefined, {}, ["a"], true, new ArrayBuffer(2), Symbol("k")];
    for (const k of badKeys) {
      const key = k as string;
      assert.throws(() => db.set(key, "v"), TypeError, `set with key ${String(k)}`);
      assert.throws(() => db.get(key), TypeError, `get with key ${String(k)}`);
      assert.throws(() => db.getString(key), TypeError, `getString with key ${String(k)}`);
      assert.throws(() => db.getUnsafeView(key), TypeError, `getUnsafeView with key ${String(k)}`);
      assert.throws(() => db.has(key), TypeError, `has with key ${String(k)}`);
      assert.throws(() => db.delete(key), TypeError, `delete with key ${String(k)}`);
    }
    assert.equal(db.size, 0);
  });
});

test("values of the wrong type throw TypeError", (t) => {
  withDb(tempDbPath(t), (db) => {
    for (const v of [42, null, undefined, {}, [1, 2], false, new ArrayBuffer(2)]) {
      assert.throws(() => db.set("k", v as unknown as string), TypeError, `set with value ${String(v)}`);
    }
    assert.throws(() => db.setMany(42 as unknown as []), TypeError);
    assert.throws(() => db.setMany([["only-key"]] as unknown as []), TypeError);
    assert.equal(db.size, 0);
  });
});

test("strings with lone surrogates are rejected with TypeError, as keys and as values", (t) => {
  withDb(tempDbPath(t), (db) => {
    for (const s of ["\uD800", "a\uDC00b", "end\uD83D", "\uDE00\uD83D"]) {
      assert.throws(() => db.set(s, "v"), TypeError, `key ${JSON.stringify(s)}`);
      assert.throws(() => db.set("k", s), TypeError, `value ${JSON.stringify(s)}`);
      assert.throws(() => db.get(s), TypeError, `get ${JSON.stringify(s)}`);
      assert.throws(() => db.has(s), TypeError, `has ${JSON.stringify(s)}`);
      assert.throws(() => db.delete(s), TypeError, `delete ${JSON.stringify(s)}`);
    }
    // A well-formed surrogate pair is fine.
    db.set("\uD83D\uDE00", "\uD83D\uDE00");
    assert.equal(db.getString("😀"), "😀");
    assert.equal(db.size, 1);
  });
});

test("a key longer than 65535 bytes throws RangeError and a 65535-byte key is accepted", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    assert.throws(() => db.set(new Uint8Array(65536), "v"), RangeError);
    assert.throws(() => db.set("x".repeat(65536), "v"), RangeError);
    assert.throws(() => db.set("é".repeat(32768), "v"), RangeError, "65536 UTF-8 bytes from 32768 characters");
    assert.throws(() => db.get(new Uint8Array(70000)), RangeError);
    assert.equal(db.size, 0);
    db.set(new Uint8Array(65535).fill(7), "longest");
    db.set("é".repeat(32767) + "x", "longest string");
  });
  withDb(path, (db) => {
    assert.equal(db.getString(new Uint8Array(65535).fill(7)), "longest");
    assert.equal(db.getString("é".repeat(32767) + "x"), "longest string");
  });
});

test("an in-memory database supports the same operations and reports no path", () => {
  const db = Emdb.openInMemory();
  try {
    assert.equal(db.path, undefined);
    assert.equal(db.stats().openedFrom, "memory");
    db.set("", "");
    db.set(Uint8Array.of(0xff, 0xfe), Uint8Array.of(0, 1, 2));
    db.set("héllo", "1");
    assert.equal(db.getString(utf8("héllo")), "1");
    db.setMany([["a", "1"], ["a", "2"], ["b", "3"]]);
    assert.equal(db.getString("a"), "2");
    assert.equal(db.size, 5);
    assert.equal(db.delete("b"), true);
    assert.equal(db.delete("b"), false);
    assertBytes(db.getUnsafeView(Uint8Array.of(0xff, 0xfe)), Uint8Array.of(0, 1, 2));
    db.flush();
    db.checkpoint();
    assert.equal(db.size, 4);
    db.clear();
    assert.equal(db.size, 0);
    db.set("big", new Uint8Array(1024 * 1024).fill(9));
    assert.equal(db.get("big")!.length, 1024 * 1024);
    assert.throws(() => db.set("\uD800", "v"), TypeError);
    assert.throws(() => db.set(new Uint8Array(65536), "v"), RangeError);
    const view = db.getUnsafeView("big")!;
    const got = db.get("big")!;
    assert.equal(got.buffer instanceof ArrayBuffer, true, "get() gives an ordinary, transferable copy");
    assert.throws(() => structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] }));
    db.close();
    // In-memory stores live in shared memory: a view cannot be moved away, and keeps the bytes it saw.
    assert.equal(view.length, 1024 * 1024, "an in-memory view stays readable after close");
    assert.equal(view[1000], 9);
  } finally {
    db.close();
  }
  assertEmdbError(() => db.get("a"), "CLOSED");
});

test("two in-memory databases are independent", () => {
  using a = Emdb.openInMemory();
  using b = Emdb.openInMemory();
  a.set("k", "a");
  b.set("k", "b");
  assert.equal(a.getString("k"), "a");
  assert.equal(b.getString("k"), "b");
});

test("an in-memory database creates no file anywhere", async (t) => {
  const dir = tempDir(t);
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    TMPDIR: dir,
    XDG_DATA_HOME: dir,
  };
  const r = await runFixture("memory_child.ts", [], { env, cwd: dir, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok 1001$/m);
  // The runtime may leave caches of its own; nothing may look like a database file.
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
    /emdb|\.lock|\.hint|journal/i.test(f)
  );
  assert.deepEqual(files, [], "files were created by an in-memory database");
});

test("getUnsafeView() returns the same bytes as get()", (t) => {
  const path = tempDbPath(t);
  withDb(path, (db) => {
    const values = [new Uint8Array(0), Uint8Array.of(1), pattern(1000, 5), pattern(100_000, 6)];
    values.forEach((v, i) => db.set(`k${i}`, v));
    values.forEach((_, i) => assertBytes(db.getUnsafeView(`k${i}`), db.get(`k${i}`), `view ${i} before reopen`));
  });
  withDb(path, (db) => {
    for (let i = 0; i < 4; i++) assertBytes(db.getUnsafeView(`k${i}`), db.get(`k${i}`), `view ${i} after reopen`);
  });
});

test("a getUnsafeView() view survives file growth and reads as length 0 after close() without crashing", async (t) => {
  const path = tempDbPath(t);
  const r = await runFixture("unsafe_view_child.ts", [path], { timeoutMs: 120_000 });
  assert.equal(r.signal, null, `the process died from signal ${r.signal}; output:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 0, `exit code ${r.code}; output:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^before-growth 1000 true$/m);
  assert.match(r.stdout, /^after-growth 1000 true$/m, "the view changed while the file grew");
  assert.match(r.stdout, /^after-close 0$/m);
  assert.match(r.stdout, /^read-after-close 0$/m);
  assert.match(r.stdout, /^slice-after-close (0|threw TypeError)$/m);
  assert.match(r.stdout, /^construct-after-close (0|threw TypeError)$/m);
  assert.match(r.stdout, /^exit-ok$/m);
});

function assertSaneStats(s: Stats, what: string): void {
  const ints: (keyof Stats)[] = [
    "liveRecords",
    "logicalSizeBytes",
    "fileSizeBytes",
    "preallocatedBytes",
    "indexBytes",
    "checkpointOffset",
    "replayedBytes",
    "namespaceCount",
  ];
  for (const k of ints) {
    const v = s[k];
    assert.ok(typeof v === "number" && Number.isSafeInteger(v) && v >= 0, `${what}: ${String(k)} = ${String(v)}`);
  }
  assert.ok(
    typeof s.indexBytesPerKey === "number" && Number.isFinite(s.indexBytesPerKey) && s.indexBytesPerKey >= 0,
    `${what}: indexBytesPerKey = ${s.indexBytesPerKey}`,
  );
  assert.ok(["new", "replay", "checkpoint", "memory"].includes(s.openedFrom), `${what}: openedFrom = ${s.openedFrom}`);
}

test("stats() reports sane numbers for a file database", (t) => {
  const path = tempDbPath(t);
  let logicalAtClose = 0;
  withDb(path, (db) => {
    const fresh = db.stats();
    assertSaneStats(fresh, "new database");
    assert.equal(fresh.openedFrom, "new");
    assert.equal(fresh.liveRecords, 0);
    assert.equal(fresh.logicalSizeBytes, 256, "a new journal is just its header");
    assert.equal(fresh.namespaceCount, 0);
    for (let i = 0; i < 1000; i++) db.set(`key-${String(i).padStart(4, "0")}`, `value-${i}`);
    db.delete("key-0000");
    const s = db.stats();
    assertSaneStats(s, "after writes");
    assert.equal(s.liveRecords, 999);
    assert.equal(s.liveRecords, db.size);
    assert.ok(s.logicalSizeBytes > 256 + 999 * 16, `logicalSizeBytes ${s.logicalSizeBytes}`);
    assert.equal(s.logicalSizeBytes % 8, 0, "frames are 8-byte aligned");
    assert.ok(s.fileSizeBytes >= s.logicalSizeBytes);
    assert.equal(s.preallocatedBytes, s.fileSizeBytes - s.logicalSizeBytes);
    assert.equal(s.fileSizeBytes, statSync(path).size, "fileSizeBytes is the file's length");
    assert.ok(s.indexBytes > 0);
    assert.ok(s.indexBytesPerKey > 0 && s.indexBytesPerKey < 1024, `indexBytesPerKey ${s.indexBytesPerKey}`);
    assert.ok(s.checkpointOffset <= s.logicalSizeBytes);
    logicalAtClose = s.logicalSizeBytes;
  });
  // close() appends a 32-byte checkpoint marker, then trims the file to the data's end.
  assert.equal(statSync(path).size, logicalAtClose + 32, "close() trims the file to its logical end");
  withDb(path, (db) => {
    const s = db.stats();
    assertSaneStats(s, "after reopen");
    assert.equal(s.liveRecords, 999);
    assert.equal(s.logicalSizeBytes, logicalAtClose + 32);
    assert.equal(s.openedFrom, "checkpoint");
    assert.ok(s.replayedBytes <= s.logicalSizeBytes);
  });
});

test('stats() of an in-memory database reports openedFrom "memory"', () => {
  using db = Emdb.openInMemory();
  db.set("a", "b");
  const s = db.stats();
  assertSaneStats(s, "in memory");
  assert.equal(s.openedFrom, "memory");
  assert.equal(s.liveRecords, 1);
});

test("path is the absolute path of the journal", (t) => {
  const path = tempDbPath(t);
  using db = Emdb.open(path);
  assert.equal(db.path, path);
  assert.ok(isAbsolute(db.path!));
  assert.ok(existsSync(path));
});

test("a file: URL opens the same database as its path", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "url.emdb");
  withDb(path, (db) => db.set("k", "v"));
  const url = new URL(`file://${path}`);
  using db = Emdb.open(url);
  assert.equal(db.path, path);
  assert.equal(db.getString("k"), "v");
});

test("EmdbError is an Error with a name and a code", () => {
  const db = Emdb.openInMemory();
  db.close();
  const e = assertEmdbError(() => db.get("k"), "CLOSED");
  assert.ok(e instanceof Error);
  assert.ok(e instanceof EmdbError);
  assert.equal(e.name, "EmdbError");
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0);
});
