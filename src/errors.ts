/**
 * The one error class of emdb, with string codes.
 *
 * Misuse of the API (a wrong argument type, an out-of-range number) throws the
 * built-in `TypeError` or `RangeError`; conditions a caller may want to catch
 * and handle throw {@linkcode EmdbError} with a {@linkcode EmdbErrorCode}.
 *
 * @module
 */

/**
 * Every code an {@linkcode EmdbError} can carry.
 *
 * - `CLOSED`: the database was closed; the handle can no longer be used.
 * - `LOCK_BUSY`: another handle (in this process or another) holds the database lock.
 * - `LOCK_FAILED`: the lock file could not be created, read or written.
 * - `CORRUPTED`: the file holds damaged data; `offset` says where.
 * - `NOT_EMDB`: the file is not an emdb database (it is never written to).
 * - `VERSION_MISMATCH`: the file was written by an incompatible format version.
 * - `NOT_FOUND`: the database does not exist and `create: false` was given.
 * - `INVALID_CONFIG`: the options contradict each other or the file.
 * - `FULL`: the journal reached the largest size this format can address.
 * - `IO`: the operating system refused a call; `errno` names the reason.
 * - `UNSUPPORTED`: the runtime has no FFI emdb can use (Node, for instance:
 *   the message names the supported runtimes; `Emdb.openInMemory()` still
 *   works), or the platform is not supported; also an operation an encrypted
 *   database cannot offer (`getUnsafeView`).
 * - `PERMISSION`: the runtime withholds a permission emdb needs; the message
 *   names the flag that grants it (under Deno: `--allow-ffi`, `--allow-read`,
 *   `--allow-write`, `--allow-env`). Nothing was created or changed.
 * - `BUSY`: a write was attempted while the database was reading user code
 *   inside another write (the iterable given to `setMany`, a transaction
 *   callback); write after that call returns.
 * - `CONFLICT`: a transaction's `check` failed: the key changed since the
 *   version it was checked against. Nothing was written.
 * - `NAMESPACE_DROPPED`: the namespace of this handle was dropped.
 * - `KEY_MISMATCH`: the encryption key or passphrase is not this database's.
 * - `KEY_REQUIRED`: the database is encrypted and no key or passphrase was given.
 * - `NOT_ENCRYPTED`: a key or passphrase was given for a database that is not
 *   encrypted (use `Emdb.enableEncryption` to encrypt it).
 */
export type EmdbErrorCode =
  | "CLOSED"
  | "LOCK_BUSY"
  | "LOCK_FAILED"
  | "CORRUPTED"
  | "NOT_EMDB"
  | "VERSION_MISMATCH"
  | "NOT_FOUND"
  | "INVALID_CONFIG"
  | "FULL"
  | "IO"
  | "UNSUPPORTED"
  | "PERMISSION"
  | "BUSY"
  | "CONFLICT"
  | "NAMESPACE_DROPPED"
  | "KEY_MISMATCH"
  | "KEY_REQUIRED"
  | "NOT_ENCRYPTED";

/** Extra facts attached to an {@linkcode EmdbError}. */
export interface EmdbErrorDetails {
  /** The file the error is about. */
  path?: string | undefined;
  /** Byte offset in the file, for `CORRUPTED`. */
  offset?: number | undefined;
  /** The OS error name (`ENOENT`, `EAGAIN`, …), for `IO` and lock errors. */
  errno?: string | undefined;
  /** The system call that failed, for `IO`. */
  syscall?: string | undefined;
  /** The process id holding the lock, for `LOCK_BUSY` when known. */
  pid?: number | undefined;
  /** The underlying error, when there is one. */
  cause?: unknown;
}

/**
 * An error raised by emdb for a condition a caller may handle.
 *
 * @example Catching a lock conflict
 * ```ts
 * import { Emdb, EmdbError } from "@emdb/emdb";
 * const db = Emdb.openInMemory();
 * db.close();
 * try {
 *   db.get("k");
 * } catch (e) {
 *   if (e instanceof EmdbError && e.code === "CLOSED") console.log("closed");
 * }
 * ```
 */
export class EmdbError extends Error {
  /** What went wrong, as a stable string code. */
  readonly code: EmdbErrorCode;
  /** The file the error is about, when there is one. */
  readonly path: string | undefined;
  /** Byte offset in the file, for `CORRUPTED`. */
  readonly offset: number | undefined;
  /** The OS error name (`ENOENT`, `EAGAIN`, …), when the OS refused a call. */
  readonly errno: string | undefined;
  /** The system call that failed, when the OS refused a call. */
  readonly syscall: string | undefined;
  /** The pid of the process holding the lock, for `LOCK_BUSY` when known. */
  readonly pid: number | undefined;

  /**
   * Creates an error.
   *
   * @param code The stable code.
   * @param message A sentence of the form `Cannot X: detail`.
   * @param details Path, offset, errno, pid and cause where they apply.
   */
  constructor(code: EmdbErrorCode, message: string, details: EmdbErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "EmdbError";
    this.code = code;
    this.path = details.path;
    this.offset = details.offset;
    this.errno = details.errno;
    this.syscall = details.syscall;
    this.pid = details.pid;
  }
}
