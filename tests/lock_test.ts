/**
 * The database lock: one open handle per path across this process and others,
 * holder metadata, release on close and on process death, breakLock.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Emdb, EmdbError } from "../mod.ts";
import { assertEmdbError, LiveChild, runFixture, tempDbPath, tempDir } from "./_helpers.ts";

interface ChildReport {
  ok: boolean;
  code?: string | null;
  pid?: number | null;
  message?: string;
}

/** The version in deno.json, which every holder file must carry. */
const packageVersion =
  (JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8")) as { version: string })
    .version;

async function childTry(mode: "try" | "break", path: string): Promise<ChildReport> {
  const r = await runFixture("lock_child.ts", [mode, path], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `child failed: ${r.stderr}`);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as ChildReport;
}

/** Starts a child that opens `path` and keeps it open until killed. */
async function childHolding(t: { after(fn: () => unknown): void }, path: string): Promise<LiveChild> {
  const child = new LiveChild("lock_child.ts", ["hold", path]);
  t.after(() => child.kill());
  await child.waitForLine((l) => l.startsWith("locked "));
  return child;
}

test("a second open of the same path in this process throws LOCK_BUSY naming the path and this process", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  using db = Emdb.open(path);
  for (const other of [path, join(dir, "sub", "..", "db.emdb"), new URL(`file://${path}`)]) {
    const e = assertEmdbError(() => Emdb.open(other), "LOCK_BUSY");
    assert.ok(e.message.includes(path), `the message names the path: ${e.message}`);
    assert.ok(e.message.includes(`held by this process (pid ${process.pid})`), e.message);
    assert.equal(e.pid, process.pid);
  }
  // The failed opens did not disturb the first handle.
  db.set("k", "v");
  db.flush();
  assert.equal(db.getString("k"), "v");
  assert.equal(Emdb.lockHolder(path)?.pid, process.pid);
});

test("the same journal opened through a symbolic link (to the file or to its folder) is LOCK_BUSY", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  // The holder is another process, so that a wrongly granted second handle cannot
  // pull the file out from under a mapping of this process.
  const holder = await childHolding(t, path);
  const fileLink = join(dir, "link-to-file.emdb");
  symlinkSync(path, fileLink);
  const dirLink = join(tempDir(t), "link-to-folder");
  symlinkSync(dir, dirLink);
  for (const other of [join(dirLink, "db.emdb"), fileLink]) {
    let second: Emdb | undefined;
    try {
      second = Emdb.open(other, { checkpointOnClose: false });
    } catch (e) {
      assert.ok(e instanceof EmdbError && e.code === "LOCK_BUSY", `${other}: ${(e as Error).message}`);
      assert.equal(e.pid, holder.pid);
      continue;
    } finally {
      second?.close();
    }
    assert.fail(`${other} opened a second writable handle on the journal ${path}, which process ${holder.pid} holds`);
  }
});

test("the lock is released by close() and the path opens again", (t) => {
  const path = tempDbPath(t);
  const first = Emdb.open(path);
  first.set("k", "1");
  first.close();
  using second = Emdb.open(path);
  assert.equal(second.getString("k"), "1");
});

test("an open from another process while this one holds the lock throws LOCK_BUSY with this pid", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  try {
    const r = await childTry("try", path);
    assert.equal(r.ok, false);
    assert.equal(r.code, "LOCK_BUSY", `child got ${r.code}: ${r.message}`);
    assert.equal(r.pid, process.pid);
    assert.ok(r.message?.includes(path), `the message names the path: ${r.message}`);
  } finally {
    db.close();
  }
  const after = await childTry("try", path);
  assert.deepEqual(after, { ok: true }, "the child can open once this process closed the database");
});

test("an open in this process while another process holds the lock throws LOCK_BUSY with that pid", async (t) => {
  const path = tempDbPath(t);
  const child = await childHolding(t, path);
  const e = assertEmdbError(() => Emdb.open(path), "LOCK_BUSY");
  assert.equal(e.pid, child.pid);
  assert.ok(e.message.includes(path));
  assert.ok(e.message.includes(String(child.pid)), `the message names the holder's pid: ${e.message}`);
});

test("lockHolder() describes this process while it holds the lock and returns undefined after close()", (t) => {
  const path = tempDbPath(t);
  const before = Date.now();
  const db = Emdb.open(path);
  const after = Date.now();
  const holder = Emdb.lockHolder(path);
  assert.ok(holder !== undefined);
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.schemaVersion, 1);
  assert.ok(
    holder.acquiredAt >= before - 1000 && holder.acquiredAt <= after + 1000,
    `acquiredAt ${holder.acquiredAt} not near ${before}..${after}`,
  );
  assert.equal(holder.version, packageVersion, "the holder records this package's version");
  const meta = readFileSync(`${path}.lock-meta`, "utf8");
  assert.match(meta, /^emdb-lock v1\n/);
  assert.match(meta, new RegExp(`^pid=${process.pid}$`, "m"));
  assert.match(meta, /^acquired_at=\d+$/m);
  assert.match(meta, new RegExp(`^version=${packageVersion.replaceAll(".", "\\.")}$`, "m"));
  db.close();
  assert.equal(Emdb.lockHolder(path), undefined);
});

test("lockHolder() ignores unknown keys in the lock-meta file", (t) => {
  const path = tempDbPath(t);
  using db = Emdb.open(path);
  writeFileSync(
    `${path}.lock-meta`,
    `emdb-lock v1\nhost=example\npid=${process.pid}\nfuture_field=with=equals\nacquired_at=1700000000123\nversion=9.9.9\n\n`,
  );
  const holder = Emdb.lockHolder(path);
  assert.ok(holder !== undefined);
  assert.equal(holder.schemaVersion, 1);
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.acquiredAt, 1700000000123);
  assert.equal(holder.version, "9.9.9");
  assert.equal(db.size, 0);
});

test("lockHolder() returns undefined when there is no lock-meta file", (t) => {
  const dir = tempDir(t);
  assert.equal(Emdb.lockHolder(join(dir, "never-created.emdb")), undefined);
  const path = join(dir, "closed.emdb");
  Emdb.open(path).close();
  assert.equal(existsSync(`${path}.lock-meta`), false, "close() removes the lock-meta file");
  assert.equal(Emdb.lockHolder(path), undefined);
});

test("lockHolder() names another process that holds the lock", async (t) => {
  const path = tempDbPath(t);
  const child = await childHolding(t, path);
  const holder = Emdb.lockHolder(path);
  assert.equal(holder?.pid, child.pid);
  assert.equal(holder?.schemaVersion, 1);
});

test("after the holder is killed with SIGKILL the path opens again and its flushed data is there", async (t) => {
  const path = tempDbPath(t);
  const child = await childHolding(t, path);
  await child.kill();
  using db = Emdb.open(path);
  assert.equal(db.getString("held-by"), String(child.pid));
  assert.equal(Emdb.lockHolder(path)?.pid, process.pid, "the new holder replaced the stale lock-meta");
});

test("breakLock() removes the stale lock state of a killed holder and can be called again", async (t) => {
  const path = tempDbPath(t);
  const child = await childHolding(t, path);
  await child.kill();
  Emdb.breakLock(path);
  Emdb.breakLock(path);
  assert.equal(Emdb.lockHolder(path), undefined);
  {
    using db = Emdb.open(path);
    assert.equal(db.getString("held-by"), String(child.pid));
  }
  Emdb.breakLock(path);
  using again = Emdb.open(path);
  assert.equal(again.size, 1);
});

test("breakLock() on a path without any lock files does nothing and creates nothing", (t) => {
  const dir = tempDir(t);
  Emdb.breakLock(join(dir, "nothing.emdb"));
  Emdb.breakLock(join(dir, "nothing.emdb"));
  assert.deepEqual(readdirSync(dir), [], "breakLock() created files for a database that does not exist");
});

test("breakLock() while this process holds the lock throws LOCK_BUSY and changes nothing", (t) => {
  const path = tempDbPath(t);
  using db = Emdb.open(path);
  const e = assertEmdbError(() => Emdb.breakLock(path), "LOCK_BUSY");
  assert.equal(e.pid, process.pid);
  assert.ok(e.message.includes(path));
  assert.ok(e.message.includes(`this process (pid ${process.pid})`), e.message);
  assert.equal(Emdb.lockHolder(path)?.pid, process.pid);
  assertEmdbError(() => Emdb.open(path), "LOCK_BUSY");
  db.set("still", "works");
  db.flush();
  assert.equal(db.getString("still"), "works");
});

test("breakLock() while another process holds the lock throws LOCK_BUSY with that pid", async (t) => {
  const path = tempDbPath(t);
  const child = await childHolding(t, path);
  const e = assertEmdbError(() => Emdb.breakLock(path), "LOCK_BUSY");
  assert.equal(e.pid, child.pid);
  // The holder keeps its lock: this process still cannot open.
  assertEmdbError(() => Emdb.open(path), "LOCK_BUSY");
  assert.equal(Emdb.lockHolder(path)?.pid, child.pid);
});

test("breakLock() from another process while this one holds the lock fails with LOCK_BUSY", async (t) => {
  const path = tempDbPath(t);
  using db = Emdb.open(path);
  const r = await childTry("break", path);
  assert.equal(r.ok, false);
  assert.equal(r.code, "LOCK_BUSY");
  assert.equal(r.pid, process.pid);
  assert.equal(Emdb.lockHolder(path)?.pid, process.pid);
  db.set("k", "v");
});

test("close() keeps the .lock file and reopening works", (t) => {
  const path = tempDbPath(t);
  for (let i = 0; i < 3; i++) {
    const db = Emdb.open(path);
    assert.ok(existsSync(`${path}.lock`));
    db.set(`k${i}`, "v");
    db.close();
    assert.ok(existsSync(`${path}.lock`), ".lock must not be unlinked on close");
  }
  using db = Emdb.open(path);
  assert.equal(db.size, 3);
});

test("a failed open (corrupted file) releases the lock", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  writeFileSync(path, "not a database at all");
  assertEmdbError(() => Emdb.open(path), "NOT_EMDB");
  assert.equal(Emdb.lockHolder(path), undefined);
  Emdb.breakLock(path); // would throw LOCK_BUSY if the failed open kept the lock
});

test("a lock file that cannot be opened gives LOCK_FAILED and a lock-meta that cannot be written too", (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, "a.emdb.lock"));
  const a = assertEmdbError(() => Emdb.open(join(dir, "a.emdb")), "LOCK_FAILED");
  assert.ok(a.message.includes("a.emdb"), a.message);
  mkdirSync(join(dir, "b.emdb.lock-meta"));
  assertEmdbError(() => Emdb.open(join(dir, "b.emdb")), "LOCK_FAILED");
  // Neither failed open holds a lock afterwards.
  Emdb.breakLock(join(dir, "a.emdb"));
});

test("different paths can be open at the same time", (t) => {
  const dir = tempDir(t);
  using a = Emdb.open(join(dir, "a.emdb"));
  using b = Emdb.open(join(dir, "b.emdb"));
  a.set("k", "a");
  b.set("k", "b");
  assert.equal(a.getString("k"), "a");
  assert.equal(b.getString("k"), "b");
});

test("the same journal opened through a hard link is LOCK_BUSY (the journal itself is locked too)", (t) => {
  const dir = tempDir(t);
  const a = join(dir, "a.emdb");
  {
    using db = Emdb.open(a);
    db.set("k", "v");
  }
  const b = join(dir, "b.emdb");
  linkSync(a, b);
  using db = Emdb.open(a);
  assertEmdbError(() => Emdb.open(b), "LOCK_BUSY");
  db.set("k2", "v2");
  db.close();
  using again = Emdb.open(b);
  assert.equal(again.getString("k2"), "v2");
});
