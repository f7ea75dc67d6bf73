/**
 * Options and the default database location: openDefault under dataRoot and
 * under $XDG_DATA_HOME / $HOME (in child processes, so this process's
 * environment is never changed), create: false, option validation,
 * preallocation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Emdb, EmdbError } from "../mod.ts";
import { assertEmdbError, runFixture, tempDbPath, tempDir } from "./_helpers.ts";

type Options = NonNullable<Parameters<typeof Emdb.open>[1]>;

function childEnv(overrides: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

test("openDefault() with dataRoot creates <dataRoot>/emdb/emdb-default.emdb", (t) => {
  const root = tempDir(t);
  const expected = join(root, "emdb", "emdb-default.emdb");
  {
    using db = Emdb.openDefault({ dataRoot: root });
    assert.equal(db.path, expected);
    db.set("k", "v");
  }
  assert.ok(existsSync(expected));
  using db = Emdb.openDefault({ dataRoot: root });
  assert.equal(db.getString("k"), "v");
});

test("openDefault() uses appName and databaseName, creating missing folders", (t) => {
  const root = join(tempDir(t), "does", "not", "exist", "yet");
  using db = Emdb.openDefault({ dataRoot: root, appName: "my-app", databaseName: "store.db" });
  const expected = join(root, "my-app", "store.db");
  assert.equal(db.path, expected);
  assert.ok(existsSync(expected));
});

test("openDefault() refuses an appName or databaseName that leaves its folder", (t) => {
  const base = tempDir(t);
  const root = join(base, "root");
  mkdirSync(root);
  for (
    const options of [
      { appName: "../escape" },
      { databaseName: "../escape.emdb" },
      { appName: ".." },
      { databaseName: "sub/dir.emdb" },
    ] as Options[]
  ) {
    assert.throws(
      () => Emdb.openDefault({ dataRoot: root, ...options }).close(),
      (e: unknown) => e instanceof TypeError || (e instanceof EmdbError && e.code === "INVALID_CONFIG"),
      JSON.stringify(options),
    );
  }
  assert.deepEqual(readdirSync(base), ["root"], "something was created outside dataRoot");
});

test("openDefault() in a process with XDG_DATA_HOME set uses $XDG_DATA_HOME/emdb/emdb-default.emdb", async (t) => {
  const xdg = tempDir(t);
  const home = tempDir(t);
  const r = await runFixture("default_child.ts", [], { env: childEnv({ XDG_DATA_HOME: xdg, HOME: home }) });
  assert.equal(r.code, 0, r.stderr);
  const expected = join(xdg, "emdb", "emdb-default.emdb");
  assert.equal(r.stdout.trim(), `path ${expected}`);
  assert.ok(existsSync(expected));
  using db = Emdb.open(expected);
  assert.equal(db.getString("written-by"), "default_child");
});

test("openDefault() without XDG_DATA_HOME uses $HOME/.local/share on Linux", {
  skip: process.platform !== "linux",
}, async (t) => {
  const home = tempDir(t);
  const r = await runFixture("default_child.ts", [JSON.stringify({ databaseName: "home.emdb" })], {
    env: childEnv({ XDG_DATA_HOME: undefined, HOME: home }),
  });
  assert.equal(r.code, 0, r.stderr);
  const expected = join(home, ".local", "share", "emdb", "home.emdb");
  assert.equal(r.stdout.trim(), `path ${expected}`);
  assert.ok(existsSync(expected));
});

test("dataRoot wins over XDG_DATA_HOME", async (t) => {
  const xdg = tempDir(t);
  const root = tempDir(t);
  const r = await runFixture("default_child.ts", [JSON.stringify({ dataRoot: root })], {
    env: childEnv({ XDG_DATA_HOME: xdg }),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `path ${join(root, "emdb", "emdb-default.emdb")}`);
  assert.deepEqual(readdirSync(xdg), []);
});

test("create: false on a missing path throws NOT_FOUND naming the path", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "missing.emdb");
  const e = assertEmdbError(() => Emdb.open(path, { create: false }), "NOT_FOUND");
  assert.ok(e.message.includes(path), e.message);
  assert.equal(existsSync(path), false);
  assertEmdbError(() => Emdb.openDefault({ dataRoot: dir, create: false }), "NOT_FOUND");
  assert.equal(existsSync(join(dir, "emdb", "emdb-default.emdb")), false);
});

test("create: false on a missing path leaves no file behind, not even a lock file", (t) => {
  const dir = tempDir(t);
  assertEmdbError(() => Emdb.open(join(dir, "missing.emdb"), { create: false }), "NOT_FOUND");
  assert.deepEqual(readdirSync(dir), [], "files were created for a database that does not exist");
});

test("create: false opens an existing database", (t) => {
  const path = tempDbPath(t);
  Emdb.open(path).close();
  {
    using db = Emdb.open(path, { create: false });
    db.set("k", "v");
  }
  using db = Emdb.open(path, { create: false });
  assert.equal(db.getString("k"), "v");
});

test("options of the wrong type throw TypeError naming the option", (t) => {
  const path = tempDbPath(t);
  const bad: [string, unknown][] = [
    ["create", "yes"],
    ["onCorruption", "ignore"],
    ["useCheckpoint", 1],
    ["checkpointOnClose", null],
    ["preallocateBytes", "64"],
    ["preallocateBytes", 1.5],
    ["appName", 42],
    ["databaseName", {}],
    ["dataRoot", false],
  ];
  for (const [key, value] of bad) {
    const options = { [key]: value } as unknown as Options;
    assert.throws(
      () => Emdb.open(path, options),
      (e: unknown) => e instanceof TypeError && e.message.includes(key),
      `${key}: ${JSON.stringify(value)}`,
    );
  }
  assert.throws(() => Emdb.open(path, null as unknown as Options), TypeError);
  assert.throws(() => Emdb.open(path, "fast" as unknown as Options), TypeError);
  assert.equal(existsSync(path), false);
});

test("a misspelled option is rejected even next to valid ones", (t) => {
  const path = tempDbPath(t);
  for (const key of ["useCheckpiont", "Create", "on_corruption", "preallocate", "checkpointonclose"]) {
    assert.throws(
      () => Emdb.open(path, { create: true, [key]: true } as unknown as Options),
      (e: unknown) => e instanceof TypeError && e.message.includes(key),
      key,
    );
  }
  assert.equal(existsSync(path), false);
});

test("a negative preallocateBytes throws RangeError", (t) => {
  assert.throws(() => Emdb.open(tempDbPath(t), { preallocateBytes: -1 }), RangeError);
});

test("an invalid path argument throws TypeError", () => {
  for (const p of ["", 42, null, undefined, new URL("https://example.com/db")]) {
    assert.throws(() => Emdb.open(p as unknown as string), TypeError, String(p));
  }
});

test("the journal is preallocated while open and trimmed to its logical end on close", (t) => {
  for (const preallocateBytes of [undefined, 0, 1024 * 1024]) {
    const path = tempDbPath(t);
    const options: Options = preallocateBytes === undefined ? {} : { preallocateBytes };
    let logical = 0;
    {
      using db = Emdb.open(path, options);
      for (let i = 0; i < 100; i++) db.set(`k${i}`, new Uint8Array(100));
      db.flush();
      const s = db.stats();
      logical = s.logicalSizeBytes;
      assert.equal(s.fileSizeBytes, statSync(path).size);
      assert.equal(s.preallocatedBytes, s.fileSizeBytes - s.logicalSizeBytes);
      if (preallocateBytes !== 0) {
        assert.ok(s.preallocatedBytes > 0, `preallocateBytes ${preallocateBytes}: nothing preallocated`);
      }
    }
    // close() appended its checkpoint marker (32 bytes), then trimmed the file to the data's end.
    assert.equal(statSync(path).size, logical + 32, `preallocateBytes ${preallocateBytes}: not trimmed on close`);
    using db = Emdb.open(path, options);
    assert.equal(db.size, 100);
    assert.equal(db.stats().logicalSizeBytes, logical + 32);
  }
});

test('a database opened with onCorruption: "salvage" and nothing to salvage behaves normally', (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path, { onCorruption: "salvage" });
    db.set("k", "v");
  }
  using db = Emdb.open(path, { onCorruption: "salvage" });
  assert.equal(db.getString("k"), "v");
  assert.deepEqual(readdirSync(join(path, "..")).filter((f) => f.includes("corrupt")), []);
});
