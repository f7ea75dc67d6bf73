/**
 * Using a database from Workers (Deno and Bun): messages reach a Worker that
 * imports emdb, one handle per database across the threads of a process (with
 * a message saying the holder is this process), and a Worker terminated while
 * it holds the database does not keep it locked.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync } from "node:fs";
import { Emdb, EmdbError } from "../mod.ts";
import { assertEmdbError, fixture, sleep, tempDbPath } from "./_helpers.ts";

interface Reply {
  id: number;
  ok: boolean;
  code?: string | null;
  pid?: number | null;
  message?: string;
  value?: string | null;
  thread?: number;
}

/** A Worker running `tests/fixtures/worker_db.ts`, with request/reply calls that fail instead of hanging. */
class DbWorker {
  readonly worker: Worker;
  #next = 1;
  #waiting = new Map<number, (r: Reply) => void>();
  #errors: string[] = [];

  constructor() {
    this.worker = new Worker(new URL(`file://${fixture("worker_db.ts")}`).href, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const done = this.#waiting.get(e.data.id);
      this.#waiting.delete(e.data.id);
      done?.(e.data);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      this.#errors.push(String(e.message));
    };
  }

  /** Posts a request at once (no await before it) and waits for its reply, at most `timeoutMs`. */
  call(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<Reply> {
    const id = this.#next++;
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no reply to "${cmd}" from the Worker within ${timeoutMs} ms; errors: ${this.#errors}`));
      }, timeoutMs);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.worker.postMessage({ id, cmd, ...args });
    return reply;
  }

  terminate(): void {
    this.worker.terminate();
  }
}

function workerFor(t: { after(fn: () => unknown): void }): DbWorker {
  const w = new DbWorker();
  t.after(() => w.terminate());
  return w;
}

/** Waits until the OS thread `tid` of this process has exited (Linux). */
async function threadGone(tid: number): Promise<void> {
  for (let i = 0; i < 400 && existsSync(`/proc/self/task/${tid}`); i++) await sleep(25);
  assert.ok(!existsSync(`/proc/self/task/${tid}`), `thread ${tid} of the terminated Worker is still running`);
}

const linux = process.platform === "linux";

/**
 * Retries `fn` while it fails with LOCK_BUSY because the holder is a Worker
 * that has ended: Deno closes a terminated Worker's descriptors (and so its
 * locks) itself, shortly after its thread exits; emdb must not race it.
 */
async function afterWorkerReleased<T>(fn: () => T): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return fn();
    } catch (e) {
      const ending = e instanceof EmdbError && e.code === "LOCK_BUSY" && e.message.includes("has ended");
      if (!ending || i >= 400) throw e;
      await sleep(25);
    }
  }
}

test("a Worker that imports emdb gets a message posted right after new Worker() and opens a database", async (t) => {
  const path = tempDbPath(t);
  const w = workerFor(t);
  const opened = await w.call("open", { path }); // posted synchronously after the constructor
  assert.deepEqual(opened, { id: 1, ok: true });
  assert.equal((await w.call("set", { key: "k", value: "from the worker" })).ok, true);
  assert.equal((await w.call("get", { key: "k" })).value, "from the worker");
  assert.equal((await w.call("close")).ok, true);
  using db = Emdb.open(path);
  assert.equal(db.getString("k"), "from the worker");
});

test("an open in a Worker while the main thread holds the database is LOCK_BUSY held by this process", async (t) => {
  const path = tempDbPath(t);
  using db = Emdb.open(path);
  const w = workerFor(t);
  const r = await w.call("open", { path });
  assert.equal(r.ok, false);
  assert.equal(r.code, "LOCK_BUSY", r.message);
  assert.equal(r.pid, process.pid);
  assert.ok(r.message?.includes(`this process (pid ${process.pid})`), r.message);
  assert.ok(r.message?.includes(path), r.message);
  db.set("main", "still works");
  assert.equal(db.getString("main"), "still works");
});

test("an open on the main thread while a Worker holds the database is LOCK_BUSY held by this process", async (t) => {
  const path = tempDbPath(t);
  const w = workerFor(t);
  assert.equal((await w.call("open", { path })).ok, true);
  const e = assertEmdbError(() => Emdb.open(path), "LOCK_BUSY");
  assert.equal(e.pid, process.pid);
  assert.ok(e.message.includes(`this process (pid ${process.pid})`), e.message);
  assertEmdbError(() => Emdb.breakLock(path), "LOCK_BUSY");
  // The Worker's handle was not disturbed, and once it closes the main thread opens.
  assert.equal((await w.call("set", { key: "k", value: "v" })).ok, true);
  assert.equal((await w.call("close")).ok, true);
  using db = Emdb.open(path);
  assert.equal(db.getString("k"), "v");
});

test("two Workers: the second open is LOCK_BUSY held by this process", async (t) => {
  const path = tempDbPath(t);
  const a = workerFor(t);
  const b = workerFor(t);
  assert.equal((await a.call("open", { path })).ok, true);
  const r = await b.call("open", { path });
  assert.equal(r.code, "LOCK_BUSY", r.message);
  assert.ok(r.message?.includes("this process"), r.message);
});

test("a database held by a terminated Worker opens again on the main thread with its flushed data", {
  skip: !linux && "the holder's thread is identified through /proc (Linux)",
}, async (t) => {
  const path = tempDbPath(t);
  const w = workerFor(t);
  const tid = (await w.call("thread")).thread!;
  assert.equal((await w.call("open", { path })).ok, true);
  assert.equal((await w.call("set", { key: "k", value: "written before terminate()" })).ok, true);
  w.terminate();
  await threadGone(tid);
  {
    using db = await afterWorkerReleased(() => Emdb.open(path));
    assert.equal(db.getString("k"), "written before terminate()");
    db.set("after", "yes");
    assert.equal(Emdb.lockHolder(path)?.pid, process.pid);
  }
  using again = Emdb.open(path);
  assert.equal(again.getString("after"), "yes");
});

test("breakLock() clears the lock a terminated Worker held, and a new Worker opens the database", {
  skip: !linux && "the holder's thread is identified through /proc (Linux)",
}, async (t) => {
  const path = tempDbPath(t);
  const w = workerFor(t);
  const tid = (await w.call("thread")).thread!;
  assert.equal((await w.call("open", { path })).ok, true);
  assert.equal((await w.call("set", { key: "k", value: "v" })).ok, true);
  w.terminate();
  await threadGone(tid);
  await afterWorkerReleased(() => Emdb.breakLock(path));
  assert.equal(Emdb.lockHolder(path), undefined);
  const next = workerFor(t);
  assert.equal((await next.call("open", { path })).ok, true, "a new Worker opens after breakLock()");
  assert.equal((await next.call("get", { key: "k" })).value, "v");
  assert.equal((await next.call("close")).ok, true);
});
