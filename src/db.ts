/**
 * The public, synchronous database handle.
 *
 * @module
 */
import process from "node:process";
import type { Key, Value } from "./codec.ts";
import { EmdbError } from "./errors.ts";
import { type EmdbStats, Engine } from "./engine/engine.ts";
import { acquireLock, breakLock, type LockHolder, readHolder } from "./engine/lockfile.ts";
import { recoverJournal } from "./engine/open.ts";
import type { Io } from "./io/io.ts";
import { MemoryIo } from "./io/memory_io.ts";
import { systemIo } from "./io/system_io.ts";
import { type EmdbOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { defaultDatabasePath, toFilePath } from "./paths.ts";

function notFound(path: string | undefined): EmdbError {
  return new EmdbError("NOT_FOUND", `Cannot open database "${path}": it does not exist (create: false)`, { path });
}

/**
 * Opens an engine over any I/O backend (internal: tests use it with a
 * fault-injecting in-memory backend; `Emdb` uses the system backend).
 *
 * @param io The backend.
 * @param path The journal path, or `undefined` for an anonymous in-memory database.
 * @param opts Resolved options.
 * @returns The engine.
 */
export function openEngine(io: Io, path: string | undefined, opts: ResolvedOptions): Engine {
  if (path !== undefined) {
    const kind = io.statKind(path);
    if (kind === "other") {
      throw new EmdbError("INVALID_CONFIG", `Cannot open database "${path}": not a regular file`, { path });
    }
    if (kind === undefined && !opts.create) throw notFound(path);
  }
  const lock = path === undefined ? undefined : acquireLock(io, path, process.pid);
  try {
    const file = io.openJournal(path ?? ":memory:", path === undefined ? true : opts.create);
    if (file === undefined) throw notFound(path);
    try {
      return new Engine(io, file, path, lock, opts, recoverJournal(io, file, path, opts));
    } catch (e) {
      file.close();
      throw e;
    }
  } catch (e) {
    lock?.release();
    throw e;
  }
}

/**
 * An open emdb database: a persistent, crash-safe key-value store.
 *
 * Keys and values are strings (stored as UTF-8) or `Uint8Array`s. Writes are
 * visible to reads at once; `flush()` makes them durable. One handle per
 * database file: a second open, from this process or another, throws
 * `EmdbError` code `LOCK_BUSY`.
 *
 * @example Open, write, read, close
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * db.set("greeting", "hello");
 * console.log(db.getString("greeting")); // "hello"
 * ```
 */
export class Emdb implements Disposable {
  #e: Engine;

  private constructor(engine: Engine) {
    this.#e = engine;
  }

  /**
   * Opens (by default creating) the database stored at `path`.
   *
   * Replays the journal (or loads the last checkpoint and replays what came
   * after it), cuts a torn tail left by a crash, and takes the database lock.
   *
   * @param path File path or `file:` URL of the journal.
   * @param options See {@linkcode EmdbOptions}.
   * @returns The open database.
   * @throws {EmdbError} `LOCK_BUSY`, `NOT_EMDB`, `VERSION_MISMATCH`, `CORRUPTED`, `NOT_FOUND`, `IO`.
   * @throws {TypeError} For an unknown option or a bad argument.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.open(`${dir}/app.emdb`);
   * db.set("k", "v");
   * db.close();
   * ```
   */
  static open(path: string | URL, options?: EmdbOptions): Emdb {
    const opts = resolveOptions(options);
    const io = systemIo();
    return new Emdb(openEngine(io, io.realPath(toFilePath(path)), opts));
  }

  /**
   * Opens the default database: `$XDG_DATA_HOME/emdb/emdb-default.emdb` on
   * Linux (with the crate's fallbacks on every OS), or the place named by the
   * `appName`, `databaseName` and `dataRoot` options. Creates the folder.
   *
   * @param options See {@linkcode EmdbOptions}.
   * @returns The open database.
   * @throws {EmdbError} As {@linkcode Emdb.open}, and `INVALID_CONFIG` for a name with a path separator.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * using db = Emdb.openDefault({ dataRoot: mkdtempSync(`${tmpdir()}/emdb-`) });
   * console.log(db.path);
   * ```
   */
  static openDefault(options?: EmdbOptions): Emdb {
    const opts = resolveOptions(options);
    const { dir, file } = defaultDatabasePath(opts.appName, opts.databaseName, opts.dataRoot);
    const io = systemIo();
    io.makeDirectory(dir);
    return new Emdb(openEngine(io, io.realPath(file), opts));
  }

  /**
   * Opens a database that lives only in memory: no file, no lock. It has the
   * same behaviour as a file database and is gone when closed.
   *
   * @param options See {@linkcode EmdbOptions} (file-related options have no effect).
   * @returns The open database.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("a", "1");
   * console.log(db.size); // 1
   * ```
   */
  static openInMemory(options?: EmdbOptions): Emdb {
    const opts = resolveOptions(options);
    return new Emdb(openEngine(new MemoryIo(), undefined, opts));
  }

  /**
   * Reads who holds (or, after a crash, last held) the lock of a database.
   *
   * @param path The database path.
   * @returns The holder, or `undefined` when no holder file exists.
   * @throws {EmdbError} `CORRUPTED` when the holder file is not an emdb lock file.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import process from "node:process";
   * const path = `${mkdtempSync(`${tmpdir()}/emdb-`)}/x.emdb`;
   * using db = Emdb.open(path);
   * console.log(Emdb.lockHolder(path)?.pid === process.pid); // true
   * ```
   */
  static lockHolder(path: string | URL): LockHolder | undefined {
    const io = systemIo();
    return readHolder(io, io.realPath(toFilePath(path)));
  }

  /**
   * Clears the holder record left by a crashed process. Refuses (with
   * `LOCK_BUSY`) when a live handle still holds the lock: the OS releases the
   * lock of a dead process by itself, so a held lock is never stale.
   *
   * @param path The database path.
   * @throws {EmdbError} `LOCK_BUSY` when the lock is held.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * Emdb.breakLock(`${mkdtempSync(`${tmpdir()}/emdb-`)}/x.emdb`); // nothing to break: no-op
   * ```
   */
  static breakLock(path: string | URL): void {
    const io = systemIo();
    breakLock(io, io.realPath(toFilePath(path)));
  }

  /** The journal's path, or `undefined` for an in-memory database. */
  get path(): string | undefined {
    return this.#e.path;
  }

  /**
   * The number of live keys.
   *
   * @throws {EmdbError} `CLOSED`.
   */
  get size(): number {
    return this.#e.size;
  }

  /**
   * Reads a value.
   *
   * @param key The key.
   * @returns A copy of the value, or `undefined` when the key is absent.
   * @throws {EmdbError} `CLOSED`.
   * @throws {TypeError} For a key that is not a string or Uint8Array.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", Uint8Array.of(1, 2));
   * console.log(db.get("k")); // Uint8Array [1, 2]
   * ```
   */
  get(key: Key): Uint8Array | undefined {
    return this.#e.get(key);
  }

  /**
   * Reads a value as a UTF-8 string.
   *
   * @param key The key.
   * @returns The value decoded as UTF-8, or `undefined` when absent.
   * @throws {TypeError} When the stored bytes are not valid UTF-8.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.getString("k")); // "v"
   * ```
   */
  getString(key: Key): string | undefined {
    const v = this.#e.getUnsafeView(key);
    if (v === undefined) return undefined;
    try {
      return strictUtf8.decode(v);
    } catch {
      throw new TypeError("The stored value is not valid UTF-8; read it with get()");
    }
  }

  /**
   * Copies a value into a buffer you own, allocating nothing: the fastest safe
   * read when values are read in a loop (allocating a fresh buffer per value is
   * what dominates `get()` under Deno).
   *
   * @param key The key.
   * @param target Where to copy the value (from index 0).
   * @returns The value's length in bytes, or -1 when the key is absent.
   * @throws {RangeError} When `target` is shorter than the value (nothing is copied).
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "value");
   * const buf = new Uint8Array(64);
   * const n = db.getInto("k", buf);
   * console.log(new TextDecoder().decode(buf.subarray(0, n))); // "value"
   * ```
   */
  getInto(key: Key, target: Uint8Array): number {
    return this.#e.getInto(key, target);
  }

  /**
   * **Unsafe, zero-copy read.** Returns a view straight into the database's
   * memory map instead of a copy. The view is valid until `close()`; after
   * that it reads as length 0 (holding or reading it never crashes the
   * process). It is read-only memory: never write through it (a write faults). Prefer {@linkcode Emdb.get} unless profiling shows the copy matters.
   *
   * @param key The key.
   * @returns A read-only-by-contract view of the value, or `undefined`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.getUnsafeView("k")?.length); // 1
   * ```
   */
  getUnsafeView(key: Key): Uint8Array | undefined {
    return this.#e.getUnsafeView(key);
  }

  /**
   * Tells whether a key is present.
   *
   * @param key The key.
   * @returns `true` when present.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * console.log(db.has("k")); // false
   * ```
   */
  has(key: Key): boolean {
    return this.#e.has(key);
  }

  /**
   * Stores a value (one positional write). Visible to reads at once; durable after `flush()`.
   *
   * @param key The key (at most 65,535 bytes).
   * @param value The value.
   * @throws {TypeError} For a key or value of the wrong type, or a string with a lone surrogate.
   * @throws {RangeError} For a key over 65,535 bytes or a value over 1 GiB.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * ```
   */
  set(key: Key, value: Value): void {
    this.#e.set(key, value);
  }

  /**
   * Removes a key (appends a tombstone when it existed).
   *
   * @param key The key.
   * @returns `true` when the key existed.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * console.log(db.delete("k")); // true
   * ```
   */
  delete(key: Key): boolean {
    return this.#e.delete(key);
  }

  /**
   * Stores many pairs as one batch frame with one positional write. The batch
   * is all or nothing, in memory and across a crash. Later duplicates win.
   * If any entry is invalid, nothing is written.
   *
   * @param entries `[key, value]` pairs.
   * @throws {TypeError} For an invalid entry.
   * @throws {RangeError} For a batch over 1 GiB.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.setMany([["a", "1"], ["b", "2"]]);
   * console.log(db.size); // 2
   * ```
   */
  setMany(entries: Iterable<readonly [Key, Value]>): void {
    this.#e.setMany(entries);
  }

  /**
   * Removes every key, durably: one record is appended and synced, so the
   * database is still empty after a crash or reopen.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * db.clear();
   * console.log(db.size); // 0
   * ```
   */
  clear(): void {
    this.#e.clear();
  }

  /**
   * Makes every write so far durable with one fdatasync (a no-op when nothing
   * changed). Returns only once the data is on stable storage.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * db.flush();
   * ```
   */
  flush(): void {
    this.#e.flush();
  }

  /**
   * Flushes, then writes an index snapshot (`<path>.hint`) so that the next
   * open loads it and replays only what was written after. Atomic: temp file,
   * sync, rename, sync the folder.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * using db = Emdb.open(`${mkdtempSync(`${tmpdir()}/emdb-`)}/c.emdb`);
   * db.set("k", "v");
   * db.checkpoint();
   * ```
   */
  checkpoint(): void {
    this.#e.checkpoint();
  }

  /**
   * Numbers about the database: live records, sizes, index memory, how it was opened.
   *
   * @returns A fresh {@linkcode EmdbStats} object.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * console.log(db.stats().liveRecords); // 0
   * ```
   */
  stats(): EmdbStats {
    return this.#e.stats();
  }

  /**
   * Flushes (and checkpoints when the journal grew), trims preallocated space,
   * releases the memory map and the lock. Idempotent; afterwards every other
   * method throws `EmdbError` code `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * const db = Emdb.openInMemory();
   * db.close();
   * db.close(); // no-op
   * ```
   */
  close(): void {
    this.#e.close();
  }

  /** Closes the database (for `using`). */
  [Symbol.dispose](): void {
    this.#e.close();
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
