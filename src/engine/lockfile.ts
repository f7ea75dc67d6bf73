/**
 * The cross-process lock: the same protocol as the Rust crate's `lockfile.rs`.
 *
 * - `<path>.lock` carries the OS advisory lock (flock `LOCK_EX|LOCK_NB`;
 *   `LockFileEx` fail-immediately on Windows). Its content is never read.
 * - `<path>.lock-meta` names the holder, as text:
 *
 * ```text
 * emdb-lock v1
 * pid=<decimal>
 * acquired_at=<Unix ms>
 * version=<emdb version>
 * thread=<OS thread id>        (Linux; absent elsewhere)
 * tag=<decimal>                (Linux; absent elsewhere)
 * ```
 *   Lines after the first are `key=value`; unknown keys are ignored (the Rust
 *   crate ignores `thread` and `tag`).
 *
 * Holders inside this process. Threads of one process (Workers) do not share
 * `heldHere`, but they do conflict on the OS lock, so a second open from any
 * thread is `LOCK_BUSY`, and the message says the lock is "held by this
 * process (pid N)". A Worker terminated while it holds a database leaves its
 * lock behind: Deno closes the Worker's descriptors shortly after
 * `terminate()` (the lock goes with them), Bun keeps them until the process
 * exits. `thread` and `tag` let a later open or `breakLock` in the same
 * process prove the holder is gone (its thread has ended) and release exactly
 * its descriptors (see `Io.reclaimLock`); a holder whose thread still runs is
 * never touched. Until the runtime or emdb has released it, such a lock is
 * reported as held by a Worker of this process that has ended.
 *
 * Unlike the crate, `<path>.lock` is never deleted on release: deleting it
 * after unlocking lets a waiting process lock the unlinked file while a third
 * creates a new one, and both then believe they hold the lock. On release the
 * holder deletes `<path>.lock-meta` while still holding the lock, then unlocks.
 *
 * @module
 */
import process from "node:process";
import { EmdbError } from "../errors.ts";
import type { Io, LockAttempt, LockHandle, LockOwner, ReclaimResult } from "../io/io.ts";
import { VERSION } from "../version.ts";

/** Who holds (or last held) a database's lock, as written in `<path>.lock-meta`. */
export interface LockHolder {
  /** Version of the holder-file layout; currently 1. */
  schemaVersion: number;
  /** Process id of the holder. */
  pid: number;
  /** When the lock was taken, in Unix milliseconds. */
  acquiredAt: number;
  /** The emdb version of the holder (`crate_version` for the Rust crate), when given. */
  version: string | undefined;
}

const MAGIC = "emdb-lock v";

/** Paths of the two lock files of a database. */
export function lockPaths(path: string): { lock: string; meta: string } {
  return { lock: `${path}.lock`, meta: `${path}.lock-meta` };
}

/** Paths held by a handle of this process, so a second open fails with our own pid. */
const heldHere = new Set<string>();

/** A holder record with what identifies the holder inside its process (not public). */
interface HolderRecord {
  holder: LockHolder;
  owner: LockOwner | undefined;
}

/**
 * Parses a `.lock-meta` body.
 *
 * @param text The file content.
 * @param path For error messages.
 * @returns The holder, or `undefined` for an empty body.
 * @throws {EmdbError} `CORRUPTED` when the body is not a holder record.
 */
export function parseHolder(text: string, path: string): LockHolder | undefined {
  return parseRecord(text, path)?.holder;
}

function parseRecord(text: string, path: string): HolderRecord | undefined {
  if (text.trim() === "") return undefined;
  const lines = text.split(/\r?\n/);
  const first = lines[0]!.trim();
  if (!first.startsWith(MAGIC)) {
    throw new EmdbError("CORRUPTED", `Cannot read lock holder "${path}": not an emdb lock file`, { path });
  }
  const schemaVersion = Number(first.slice(MAGIC.length));
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) {
    throw new EmdbError("CORRUPTED", `Cannot read lock holder "${path}": bad schema version`, { path });
  }
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const eq = line.indexOf("=");
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const pid = Number(fields.get("pid"));
  if (!Number.isSafeInteger(pid) || pid < 0) {
    throw new EmdbError("CORRUPTED", `Cannot read lock holder "${path}": missing pid`, { path });
  }
  const acquiredAt = Number(fields.get("acquired_at") ?? "0");
  const thread = Number(fields.get("thread"));
  const tag = Number(fields.get("tag"));
  return {
    holder: {
      schemaVersion,
      pid,
      acquiredAt: Number.isFinite(acquiredAt) ? acquiredAt : 0,
      version: fields.get("version") ?? fields.get("crate_version"),
    },
    owner: Number.isSafeInteger(thread) && thread > 0 && Number.isSafeInteger(tag) && tag > 0
      ? { thread, tag }
      : undefined,
  };
}

/**
 * Reads the holder of a database's lock.
 *
 * @param io The file system.
 * @param path The database path.
 * @returns The holder, or `undefined` when no holder file exists.
 */
export function readHolder(io: Io, path: string): LockHolder | undefined {
  return readRecord(io, path)?.holder;
}

function readRecord(io: Io, path: string): HolderRecord | undefined {
  const { meta } = lockPaths(path);
  const bytes = io.readFile(meta);
  if (bytes === undefined) return undefined;
  return parseRecord(new TextDecoder().decode(bytes), meta);
}

/**
 * `io.tryLock`, with a lock file that cannot be opened reported as
 * `LOCK_FAILED` (a refused permission or a runtime without FFI keep their
 * own codes: they say what to do).
 */
function tryLock(io: Io, lock: string): LockAttempt {
  try {
    return io.tryLock(lock);
  } catch (e) {
    if (e instanceof EmdbError && (e.code === "PERMISSION" || e.code === "UNSUPPORTED")) throw e;
    const errno = e instanceof EmdbError ? e.errno : undefined;
    throw new EmdbError("LOCK_FAILED", `Cannot open lock file "${lock}"${errno ? `: ${errno}` : ""}`, {
      path: lock,
      errno,
      cause: e,
    });
  }
}

function busy(path: string, holder: LockHolder | undefined, state: ReclaimResult = "unknown"): EmdbError {
  let who = "another handle";
  if (holder !== undefined && holder.pid === process.pid) {
    who = `this process (pid ${holder.pid})`;
    if (state === "ending") who += ", by a Worker that has ended; retry once the runtime has released it";
    else who += ": another handle, in this thread or a Worker";
  } else if (holder !== undefined) {
    who = `process ${holder.pid}`;
  }
  const details = holder ? { path, pid: holder.pid } : { path };
  return new EmdbError("LOCK_BUSY", `Cannot open database "${path}": lock held by ${who}`, details);
}

function safeRecord(io: Io, path: string): HolderRecord | undefined {
  try {
    return readRecord(io, path);
  } catch {
    return undefined;
  }
}

/** Errors of a full or failing disk: the cause is the disk, not the lock. */
const DISK_ERRNOS = new Set(["ENOSPC", "EDQUOT", "EIO", "EFBIG"]);

/**
 * Takes the OS lock; when a holder in this process whose thread has ended
 * still has it, releases that holder's descriptors and tries once more.
 *
 * @returns The handle, or the LOCK_BUSY error to throw.
 */
function lockOrReclaim(io: Io, path: string): LockHandle | EmdbError {
  const { lock } = lockPaths(path);
  const attempt = tryLock(io, lock);
  if (attempt.ok) return attempt.handle;
  if (attempt.errno !== "EAGAIN" && attempt.errno !== "EWOULDBLOCK" && attempt.errno !== "EACCES") {
    throw new EmdbError("LOCK_FAILED", `Cannot lock "${lock}": ${attempt.errno}`, { path: lock, errno: attempt.errno });
  }
  const record = safeRecord(io, path);
  if (record?.holder.pid !== process.pid || record.owner === undefined) return busy(path, record?.holder);
  const state = io.reclaimLock(path, record.owner);
  if (state !== "live") {
    // Released by us, or by the runtime meanwhile (it closes an ended Worker's descriptors on its own schedule).
    const again = tryLock(io, lock);
    if (again.ok) return again.handle;
  }
  return busy(path, record.holder, state);
}

/**
 * Takes a database's lock and records this process as the holder.
 *
 * @param io The file system.
 * @param path The database path.
 * @param pid This process's id.
 * @returns A handle whose `release()` gives the lock up.
 * @throws {EmdbError} `LOCK_BUSY` when held elsewhere.
 */
export function acquireLock(io: Io, path: string, pid: number): LockHandle {
  const { meta } = lockPaths(path);
  if (heldHere.has(path)) throw busy(path, { schemaVersion: 1, pid, acquiredAt: 0, version: VERSION });
  const handle = lockOrReclaim(io, path);
  if (handle instanceof EmdbError) throw handle;
  heldHere.add(path);
  try {
    let body = `emdb-lock v1\npid=${pid}\nacquired_at=${Date.now()}\nversion=${VERSION}\n`;
    if (handle.owner !== undefined && handle.owner.thread > 0) {
      body += `thread=${handle.owner.thread}\ntag=${handle.owner.tag}\n`;
    }
    io.writeFileAtomic(meta, new TextEncoder().encode(body));
  } catch (e) {
    heldHere.delete(path);
    handle.release();
    throw holderWriteError(meta, e);
  }
  let released = false;
  return {
    owner: handle.owner,
    release(): void {
      if (released) return;
      released = true;
      try {
        io.remove(meta);
      } finally {
        heldHere.delete(path);
        handle.release();
      }
    },
  };
}

/**
 * The error for a holder record that could not be written: `IO` with the
 * errno when the disk is the cause (full, failing), else `LOCK_FAILED` with
 * the errno; a permission refusal keeps its code.
 */
function holderWriteError(meta: string, e: unknown): EmdbError {
  const errno = e instanceof EmdbError ? e.errno : undefined;
  if (e instanceof EmdbError && e.code === "PERMISSION") return e;
  const code = errno !== undefined && DISK_ERRNOS.has(errno) ? "IO" : "LOCK_FAILED";
  return new EmdbError(code, `Cannot write lock holder "${meta}"${errno ? `: ${errno}` : ""}`, {
    path: meta,
    errno,
    syscall: e instanceof EmdbError ? e.syscall : undefined,
    cause: e,
  });
}

/**
 * Clears the holder record a crashed holder left behind.
 *
 * `<path>.lock` itself is kept: removing it is what opens the two-holder race
 * described above, and an unlocked lock file is harmless.
 *
 * The kernel drops an advisory lock when its holder dies, so a lock that is
 * still held belongs to a live process; breaking it would let two writers
 * corrupt the database, and this refuses instead. The one exception is a
 * holder in this process whose thread has ended (a terminated Worker): its
 * descriptors are released (see the module notes) and the record cleared.
 *
 * @param io The file system.
 * @param path The database path.
 * @throws {EmdbError} `LOCK_BUSY` when a live handle holds the lock.
 */
export function breakLock(io: Io, path: string): void {
  const { lock, meta } = lockPaths(path);
  if (heldHere.has(path)) throw busy(path, safeRecord(io, path)?.holder);
  if (io.statKind(lock) !== "file") {
    // Nothing can hold a lock file that does not exist (or is not a file); drop a stray holder record.
    io.remove(meta);
    return;
  }
  const handle = lockOrReclaim(io, path);
  if (handle instanceof EmdbError) throw handle;
  try {
    io.remove(meta);
  } finally {
    handle.release();
  }
}
