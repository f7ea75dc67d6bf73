/**
 * Which database a command works on (`--db <path>`, or the default database
 * of `Emdb.openDefault`), opening it, and the state of its lock.
 *
 * @module
 */
import * as fs from "node:fs";
import { Emdb } from "../db.ts";
import { EmdbError } from "../errors.ts";
import { type LockHolder, lockPaths } from "../engine/lockfile.ts";
import { systemIo } from "../io/system_io.ts";
import { defaultDatabasePath, toFilePath } from "../paths.ts";
import { CliError, EXIT } from "./exit_codes.ts";

/** The database a command is about. */
export interface Target {
  /** Absolute path of the journal (symbolic links resolved). */
  path: string;
  /** True when no `--db` was given: the default database. */
  isDefault: boolean;
}

/**
 * Resolves `--db` (or the default database's place) to an absolute path.
 *
 * @param db The `--db` value, or `undefined` for the default database.
 * @returns The target.
 *
 * @example
 * ```ts
 * import { resolveTarget } from "./database.ts";
 * console.log(resolveTarget("/tmp/x.emdb").path.endsWith("x.emdb")); // true
 * ```
 */
export function resolveTarget(db: string | undefined): Target {
  const io = systemIo();
  if (db !== undefined) return { path: io.realPath(toFilePath(db)), isDefault: false };
  return { path: io.realPath(defaultDatabasePath(undefined, undefined, undefined).file), isDefault: true };
}

/**
 * Opens the target database.
 *
 * @param target The database.
 * @param create Whether a missing database is created (write commands) or refused (read commands).
 * @returns The open database.
 * @throws {CliError} Exit code 3 when it does not exist and `create` is false.
 * @throws {EmdbError} Whatever the open throws (`LOCK_BUSY`, `NOT_EMDB`, `CORRUPTED`…).
 */
export function openTarget(target: Target, create: boolean): Emdb {
  if (!create && !fs.existsSync(target.path)) throw missing(target);
  if (target.isDefault && create) return Emdb.openDefault();
  return Emdb.open(target.path, { create });
}

/**
 * The error for a database that does not exist.
 *
 * @param target The database.
 * @returns Exit code 3, with a hint for the default database.
 */
export function missing(target: Target): CliError {
  const hint = target.isDefault ? " (the default database is created by the first write, e.g. `emdb set`)" : "";
  return new CliError(EXIT.DATABASE, `NOT_FOUND: database "${target.path}" does not exist${hint}`);
}

/** What `lock-holder` reports. */
export interface LockState {
  /** The holder record (`<path>.lock-meta`), when there is one. */
  holder: LockHolder | undefined;
  /** Why the holder record could not be read, when it could not. */
  holderError: string | undefined;
  /** Whether the OS lock is held right now; `undefined` when that could not be found out. */
  held: boolean | undefined;
}

/**
 * Reads the holder record and, with `probe`, finds out whether the lock is
 * held now by trying to take it without waiting and giving it back at once
 * (a process opening the database in that very instant would see
 * `LOCK_BUSY`). Creates no file: a database without a lock file is not locked.
 *
 * @param path The database path (absolute).
 * @param probe Whether to try the lock; without it `held` is `undefined`.
 * @returns The lock's state.
 */
export function lockState(path: string, probe = true): LockState {
  const io = systemIo();
  let holder: LockHolder | undefined;
  let holderError: string | undefined;
  try {
    holder = Emdb.lockHolder(path);
  } catch (e) {
    holderError = (e as Error).message;
  }
  const { lock } = lockPaths(path);
  let held: boolean | undefined;
  if (!probe) return { holder, holderError, held };
  try {
    if (io.statKind(lock) !== "file") {
      held = false;
    } else {
      const attempt = io.tryLock(lock);
      if (attempt.ok) {
        attempt.handle.release();
        held = false;
      } else {
        held = attempt.errno === "EAGAIN" || attempt.errno === "EWOULDBLOCK" || attempt.errno === "EACCES"
          ? true
          : undefined;
      }
    }
  } catch (e) {
    if (e instanceof EmdbError && (e.code === "UNSUPPORTED" || e.code === "PERMISSION")) throw e;
    held = undefined;
  }
  return { holder, holderError, held };
}
