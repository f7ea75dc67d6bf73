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
 * ```
 *   Lines after the first are `key=value`; unknown keys are ignored.
 *
 * Unlike the crate, `<path>.lock` is never deleted on release: deleting it
 * after unlocking lets a waiting process lock the unlinked file while a third
 * creates a new one, and both then believe they hold the lock. On release the
 * holder deletes `<path>.lock-meta` while still holding the lock, then unlocks.
 *
 * @module
 */
import { EmdbError } from "../errors.ts";
import type { Io, LockAttempt, LockHandle } from "../io/io.ts";
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

/**
 * Parses a `.lock-meta` body.
 *
 * @param text The file content.
 * @param path For error messages.
 * @returns The holder, or `undefined` for an empty body.
 * @throws {EmdbError} `CORRUPTED` when the body is not a holder record.
 */
export function parseHolder(text: string, path: string): LockHolder | undefined {
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
  return {
    schemaVersion,
    pid,
    acquiredAt: Number.isFinite(acquiredAt) ? acquiredAt : 0,
    version: fields.get("version") ?? fields.get("crate_version"),
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
  const { meta } = lockPaths(path);
  const bytes = io.readFile(meta);
  if (bytes === undefined) return undefined;
  return parseHolder(new TextDecoder().decode(bytes), meta);
}

/** `io.tryLock`, with a lock file that cannot be opened reported as `LOCK_FAILED`. */
function tryLock(io: Io, lock: string): LockAttempt {
  try {
    return io.tryLock(lock);
  } catch (e) {
    const errno = e instanceof EmdbError ? e.errno : undefined;
    throw new EmdbError("LOCK_FAILED", `Cannot open lock file "${lock}"${errno ? `: ${errno}` : ""}`, {
      path: lock,
      errno,
      cause: e,
    });
  }
}

function busy(path: string, holder: LockHolder | undefined): EmdbError {
  const who = holder ? `process ${holder.pid}` : "another handle";
  const details = holder ? { path, pid: holder.pid } : { path };
  return new EmdbError("LOCK_BUSY", `Cannot open database "${path}": lock held by ${who}`, details);
}

function safeHolder(io: Io, path: string): LockHolder | undefined {
  try {
    return readHolder(io, path);
  } catch {
    return undefined;
  }
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
  const { lock, meta } = lockPaths(path);
  if (heldHere.has(path)) throw busy(path, { schemaVersion: 1, pid, acquiredAt: 0, version: VERSION });
  const attempt = tryLock(io, lock);
  if (!attempt.ok) {
    if (attempt.errno === "EAGAIN" || attempt.errno === "EWOULDBLOCK" || attempt.errno === "EACCES") {
      throw busy(path, safeHolder(io, path));
    }
    throw new EmdbError("LOCK_FAILED", `Cannot lock "${lock}": ${attempt.errno}`, { path: lock, errno: attempt.errno });
  }
  heldHere.add(path);
  try {
    const body = `emdb-lock v1\npid=${pid}\nacquired_at=${Date.now()}\nversion=${VERSION}\n`;
    io.writeFileAtomic(meta, new TextEncoder().encode(body));
  } catch (e) {
    heldHere.delete(path);
    attempt.handle.release();
    throw new EmdbError("LOCK_FAILED", `Cannot write lock holder "${meta}"`, { path: meta, cause: e });
  }
  let released = false;
  return {
    release(): void {
      if (released) return;
      released = true;
      try {
        io.remove(meta);
      } finally {
        heldHere.delete(path);
        attempt.handle.release();
      }
    },
  };
}

/**
 * Clears the holder record a crashed holder left behind.
 *
 * `<path>.lock` itself is kept: removing it is what opens the two-holder race
 * described above, and an unlocked lock file is harmless.
 *
 * The kernel drops an advisory lock when its holder dies, so a lock that is
 * still held belongs to a live process; breaking it would let two writers
 * corrupt the database, and this refuses instead.
 *
 * @param io The file system.
 * @param path The database path.
 * @throws {EmdbError} `LOCK_BUSY` when a live handle holds the lock.
 */
export function breakLock(io: Io, path: string): void {
  const { lock, meta } = lockPaths(path);
  if (heldHere.has(path)) throw busy(path, safeHolder(io, path));
  if (io.statKind(lock) !== "file") {
    // Nothing can hold a lock file that does not exist (or is not a file); drop a stray holder record.
    io.remove(meta);
    return;
  }
  const attempt = tryLock(io, lock);
  if (!attempt.ok) throw busy(path, safeHolder(io, path));
  try {
    io.remove(meta);
  } finally {
    attempt.handle.release();
  }
}
