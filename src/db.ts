/**
 * The public, synchronous database handle.
 *
 * @module
 */
import { dirname } from "node:path";
import { backup, compact, type CompactionResult } from "./engine/compact.ts";
import { EmdbError } from "./errors.ts";
import type { Engine } from "./engine/engine.ts";
import type { Space } from "./engine/space.ts";
import { breakLock, type LockHolder, readHolder } from "./engine/lockfile.ts";
import { openEngine } from "./engine/open_engine.ts";
import type { Io } from "./io/io.ts";
import { MemoryIo } from "./io/memory_io.ts";
import { assertSystemAccess, systemIo } from "./io/system_io.ts";
import { type EmdbOptions, type EncryptionOptions, resolveOptions } from "./options.ts";
import { rekey, type RekeyOptions } from "./encryption_admin.ts";
import { checkNamespaceName, Namespace } from "./namespace.ts";
import { defaultDatabasePath, toFilePath } from "./paths.ts";
import type { EmdbStats } from "./stats.ts";
import { KvStore } from "./store.ts";
import { AtomicOperation, runTransaction, type Transaction } from "./transaction.ts";

/** Makes an `Emdb` around an engine (the constructor is private to the class). */
let wrap: (engine: Engine) => Emdb;

/**
 * Opens a database over any I/O backend (internal, for tests: an in-memory
 * backend with fault injection). `Emdb.open` uses the system backend.
 *
 * @param io The backend.
 * @param path The journal path.
 * @param options Options.
 * @returns The database.
 */
export function openWithIo(io: Io, path: string, options?: EmdbOptions): Emdb {
  return wrap(openEngine(io, path, resolveOptions(options)));
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
export class Emdb extends KvStore implements Disposable {
  static {
    wrap = (engine) => new Emdb(engine);
  }
  #e: Engine;

  private constructor(engine: Engine) {
    super(engine);
    this.#e = engine;
  }

  /** @internal */
  protected space(): Space {
    this.#e.check();
    return this.#e.keyspace.main;
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
   * @throws {EmdbError} `LOCK_BUSY`, `NOT_EMDB`, `VERSION_MISMATCH`, `CORRUPTED`, `NOT_FOUND`, `IO`; `PERMISSION`
   *   (naming the missing Deno flags); `UNSUPPORTED` (a runtime without FFI, such as Node); `KEY_REQUIRED`,
   *   `KEY_MISMATCH`, `NOT_ENCRYPTED` (encryption).
   * @throws {TypeError} For an unknown option or a bad argument.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.open(`${dir}/app.emdb`);
   * db.set("k", "v");
   * db.close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  static open(path: string | URL, options?: EmdbOptions): Emdb {
    const opts = resolveOptions(options);
    const file = toFilePath(path);
    assertSystemAccess(file);
    const io = systemIo();
    const real = io.realPath(file);
    if (io.statKind(dirname(real)) === undefined) {
      throw new EmdbError("NOT_FOUND", `Cannot open "${real}": the folder "${dirname(real)}" does not exist`, {
        path: real,
      });
    }
    return new Emdb(openEngine(io, real, opts));
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
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dataRoot = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.openDefault({ dataRoot });
   * console.log(db.path);
   * db.close();
   * rmSync(dataRoot, { recursive: true });
   * ```
   */
  static openDefault(options?: EmdbOptions): Emdb {
    const opts = resolveOptions(options);
    const { dir, file } = defaultDatabasePath(opts.appName, opts.databaseName, opts.dataRoot);
    assertSystemAccess(file);
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
   * @throws {EmdbError} `CORRUPTED` when the holder file is not an emdb lock file; `IO` when it cannot be read
   *   or is not a regular file (a FIFO planted there is refused, never waited on).
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import process from "node:process";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.open(`${dir}/x.emdb`);
   * console.log(Emdb.lockHolder(`${dir}/x.emdb`)?.pid === process.pid); // true
   * db.close();
   * rmSync(dir, { recursive: true });
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
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * Emdb.breakLock(`${dir}/x.emdb`); // nothing to break: no-op
   * rmSync(dir, { recursive: true });
   * ```
   */
  static breakLock(path: string | URL): void {
    const io = systemIo();
    breakLock(io, io.realPath(toFilePath(path)));
  }

  /**
   * Encrypts a closed plaintext database in place: every live record is
   * rewritten sealed under `encryption` (a rewrite with the compaction
   * protocol, so a crash at any step leaves the database openable, plaintext
   * or encrypted, with every record). Expiries, namespaces and versions are kept.
   *
   * @param path The database.
   * @param encryption The new key or passphrase.
   * @param options The cipher (default AES-256-GCM) and, for a passphrase, Argon2id costs.
   * @throws {EmdbError} `NOT_FOUND`, `LOCK_BUSY` (it is open), `KEY_REQUIRED` (already encrypted), `IO`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const key = crypto.getRandomValues(new Uint8Array(32));
   * Emdb.open(`${dir}/db.emdb`).close();
   * Emdb.enableEncryption(`${dir}/db.emdb`, { key });
   * Emdb.open(`${dir}/db.emdb`, { encryption: { key } }).close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  static enableEncryption(path: string | URL, encryption: EncryptionOptions, options?: RekeyOptions): void {
    rekey(path, undefined, encryption, options);
  }

  /**
   * Decrypts a closed encrypted database in place (the same crash-safe rewrite).
   *
   * @param path The database.
   * @param current Its key or passphrase.
   * @throws {EmdbError} `KEY_MISMATCH`, `NOT_ENCRYPTED`, `NOT_FOUND`, `LOCK_BUSY`, `IO`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const key = crypto.getRandomValues(new Uint8Array(32));
   * Emdb.open(`${dir}/db.emdb`, { encryption: { key } }).close();
   * Emdb.disableEncryption(`${dir}/db.emdb`, { key });
   * Emdb.open(`${dir}/db.emdb`).close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  static disableEncryption(path: string | URL, current: EncryptionOptions): void {
    rekey(path, current, undefined);
  }

  /**
   * Changes a closed encrypted database's key or passphrase (the same
   * crash-safe rewrite; the cipher is kept unless `options.cipher` says otherwise).
   *
   * @param path The database.
   * @param current Its key or passphrase.
   * @param next The new key or passphrase.
   * @param options Another cipher, Argon2id costs for a new passphrase.
   * @throws {EmdbError} `KEY_MISMATCH`, `NOT_ENCRYPTED`, `NOT_FOUND`, `LOCK_BUSY`, `IO`, `CORRUPTED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const oldKey = crypto.getRandomValues(new Uint8Array(32));
   * const newKey = crypto.getRandomValues(new Uint8Array(32));
   * Emdb.open(`${dir}/db.emdb`, { encryption: { key: oldKey } }).close();
   * Emdb.rotateKey(`${dir}/db.emdb`, { key: oldKey }, { key: newKey });
   * Emdb.open(`${dir}/db.emdb`, { encryption: { key: newKey } }).close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  static rotateKey(
    path: string | URL,
    current: EncryptionOptions,
    next: EncryptionOptions,
    options?: RekeyOptions,
  ): void {
    rekey(path, current, next, options);
  }

  /** The journal's path, or `undefined` for an in-memory database. */
  get path(): string | undefined {
    return this.#e.path;
  }

  /**
   * A namespace: its own keyspace with the same surface as the database.
   * Created (durably, at the next flush) when it does not exist.
   *
   * @param name 1 to 255 UTF-8 bytes, no control characters.
   * @returns The namespace's handle.
   * @throws {TypeError} For a name that is not a string or holds a control character or lone surrogate.
   * @throws {RangeError} For an empty or over-long name.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `FULL` (more than 4,096 namespaces).
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.namespace("users").set("ada", "Ada");
   * console.log(db.namespace("users").getString("ada")); // "Ada"
   * ```
   */
  namespace(name: string): Namespace {
    checkNamespaceName(name);
    this.#e.check();
    const space = this.#e.keyspace.byName.get(name) ?? this.#e.createNamespace(name);
    return new Namespace(this.#e, space);
  }

  /**
   * The names of every namespace (the default one excluded), sorted.
   *
   * @returns The names.
   * @throws {EmdbError} `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.namespace("b");
   * db.namespace("a");
   * console.log(db.namespaces()); // ["a", "b"]
   * ```
   */
  namespaces(): string[] {
    this.#e.check();
    return [...this.#e.keyspace.byName.keys()].sort();
  }

  /**
   * Drops a namespace and every key in it, durably (a record is appended and
   * synced). Handles to it then throw `NAMESPACE_DROPPED`; the name can be
   * used again for a new, empty namespace.
   *
   * @param name The namespace's name.
   * @returns `true` when it existed.
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.namespace("tmp").set("k", "v");
   * console.log(db.dropNamespace("tmp"), db.namespaces()); // true []
   * ```
   */
  dropNamespace(name: string): boolean {
    checkNamespaceName(name);
    this.#e.check();
    const space = this.#e.keyspace.byName.get(name);
    if (space === undefined) return false;
    this.#e.dropNamespace(space);
    return true;
  }

  /**
   * Runs `fn` as a transaction. Reads through `tx` see its own writes; its
   * writes are committed, when `fn` returns, as one batch record: all or
   * nothing, in memory and across a crash. A thrown error rolls everything
   * back (nothing visible, nothing written) and is rethrown. A failed
   * `tx.check` makes the commit throw `EmdbError` code `CONFLICT`. The
   * callback must be synchronous; writing to the database directly (not
   * through `tx`) inside it throws `BUSY`.
   *
   * @param fn The transaction's body.
   * @returns What `fn` returns.
   * @throws {EmdbError} `CONFLICT`, `CLOSED`, `BUSY`, `IO`; whatever `fn` throws.
   * @throws {TypeError} When `fn` returns a promise (nothing is written).
   *
   * @example Optimistic check across an await
   * ```ts
   * import { Emdb, EmdbError } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("stock", "3");
   * const seen = db.getEntry("stock")!;
   * // ... time passes, another writer may change "stock" ...
   * try {
   *   db.transaction((tx) => {
   *     tx.check("stock", seen.version);
   *     tx.set("stock", "2");
   *   });
   * } catch (e) {
   *   if (e instanceof EmdbError && e.code === "CONFLICT") console.log("retry");
   * }
   * ```
   */
  transaction<T>(fn: (tx: Transaction) => T): T {
    this.#e.check();
    return runTransaction(this.#e, this.#e.keyspace.main, fn, checkNamespaceName);
  }

  /**
   * Starts an atomic operation in Deno KV's style on the default namespace:
   * `check`s, then `set`s and `delete`s, then `commit()`.
   *
   * @returns The builder.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * const { ok } = db.atomic().check({ key: "k", version: null }).set("k", "v").commit();
   * console.log(ok); // true
   * ```
   */
  atomic(): AtomicOperation {
    return new AtomicOperation(this.#e, () => this.space());
  }

  /**
   * Makes every write so far durable with one fdatasync (a no-op when nothing
   * changed). Returns only once the data is on stable storage.
   *
   * @throws {EmdbError} `CLOSED`, `IO`.
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
   * Writes a checkpoint: a marker record in the journal, a flush, then the
   * indexes' entries in `<path>.hint` (temp file, sync, rename, sync the
   * folder), so that the next open rebuilds the indexes from it and replays
   * only what was written after.
   *
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.open(`${dir}/c.emdb`);
   * db.set("k", "v");
   * db.checkpoint();
   * db.close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  checkpoint(): void {
    this.#e.checkpoint();
  }

  /**
   * Compacts the journal: rewrites the live records (dropping overwritten,
   * deleted and expired ones) into a new file and switches to it atomically
   * (temp file, sync, rename, sync the folder). Runs in steps of 256 KiB,
   * yielding to the event loop between them, so reads and writes go on
   * meanwhile and none is lost; the switch itself is one short synchronous
   * step. Namespaces, expiries and versions are kept. A second call while one
   * runs returns the same promise. Views from `getUnsafeView` taken before the
   * switch read as length 0 after it; iterators started before it finish on
   * the old file.
   *
   * @returns What it did: bytes before and after, and how long it took.
   * @throws {EmdbError} `CLOSED` (also when the database is closed meanwhile), `IO`, `CORRUPTED`
   *   (a damaged record: the database stays on its current journal).
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * for (let i = 0; i < 1000; i++) db.set("k", String(i)); // 999 dead records
   * const { bytesBefore, bytesAfter } = await db.compact();
   * console.log(bytesAfter < bytesBefore, db.getString("k")); // true "999"
   * ```
   */
  compact(): Promise<CompactionResult> {
    return compact(this.#e, false);
  }

  /**
   * {@linkcode Emdb.compact}, all at once: blocks until done (for scripts and tools).
   *
   * @returns What it did.
   * @throws {EmdbError} `BUSY` while an asynchronous compaction runs; as {@linkcode Emdb.compact}.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * db.set("k", "v");
   * db.delete("k");
   * console.log(db.compactSync().bytesAfter); // 256: just the header
   * ```
   */
  compactSync(): CompactionResult {
    return compact(this.#e, true);
  }

  /**
   * Writes a consistent, compacted copy of the database (as of this call) to
   * `path`, atomically: the file appears complete or not at all. Writes go on
   * meanwhile. The copy opens with `Emdb.open`. Refuses the live database's own
   * files, and a target another handle has open. An in-memory database is
   * backed up to a file like any other (this is how to save one).
   *
   * @param path Where to write the backup (replaced if it exists).
   * @throws {EmdbError} `INVALID_CONFIG` (the target is this database or not a file), `NOT_FOUND` (its folder
   *   does not exist), `LOCK_BUSY`, `IO`, `PERMISSION`, `CLOSED`.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * const db = Emdb.open(`${dir}/live.emdb`);
   * db.set("k", "v");
   * await db.backupTo(`${dir}/copy.emdb`);
   * db.close();
   * using copy = Emdb.open(`${dir}/copy.emdb`);
   * console.log(copy.getString("k")); // "v"
   * copy.close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  backupTo(path: string | URL): Promise<void> {
    const [io, target] = this.#backupTarget(path);
    return backup(this.#e, io, target, false);
  }

  /**
   * {@linkcode Emdb.backupTo}, all at once: blocks until done.
   *
   * @param path Where to write the backup.
   * @throws {EmdbError} As {@linkcode Emdb.backupTo}.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * import { mkdtempSync, rmSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * const dir = mkdtempSync(`${tmpdir()}/emdb-`);
   * using db = Emdb.open(`${dir}/live.emdb`);
   * db.backupToSync(`${dir}/copy.emdb`);
   * db.close();
   * rmSync(dir, { recursive: true });
   * ```
   */
  backupToSync(path: string | URL): void {
    const [io, target] = this.#backupTarget(path);
    backup(this.#e, io, target, true);
  }

  /** Where a backup goes: beside the database, or, for an in-memory one, to the real file system. */
  #backupTarget(path: string | URL): [Io, string] {
    const file = toFilePath(path);
    if (this.#e.path !== undefined) return [this.#e.io, this.#e.io.realPath(file)];
    assertSystemAccess(file);
    const io = systemIo();
    return [io, io.realPath(file)];
  }

  /**
   * Numbers about the database: live records, live and garbage bytes, index
   * memory, how it was opened.
   *
   * @returns A fresh {@linkcode EmdbStats} object.
   * @throws {EmdbError} `CLOSED`.
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
   * @throws {EmdbError} `IO` when the final flush fails (the handle is closed anyway).
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
