/**
 * The I/O interface the engine receives.
 *
 * The engine never touches the file system or the OS directly: it asks an
 * {@linkcode Io} backend (POSIX, Windows or in-memory) to open its journal,
 * take the lock and read or replace side files. This is what lets the same
 * engine run on a real file, in memory, or under fault injection.
 *
 * @module
 */

/** Frames never exceed this many bytes, so a frame that starts in window k fits in it. */
export const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/** Window k of a journal's memory starts at file offset `k * WINDOW_BYTES`. */
export const WINDOW_BYTES = 1024 * 1024 * 1024;

/**
 * The journal file: positional writes, durable syncs, and read access through
 * memory (an mmap of the file, or plain memory).
 *
 * Reads go through {@linkcode JournalFile.windows}: window `k` is a view whose
 * byte 0 is file offset `k * WINDOW_BYTES` and which extends at least
 * `MAX_FRAME_BYTES` past the start of the next window (or to the end of the
 * file), so every frame is readable from the window it starts in.
 */
export interface JournalFile {
  /** The file's path, or `undefined` in memory. */
  readonly path: string | undefined;
  /** Bytes allocated on disk (data plus preallocated zeros). */
  readonly size: number;
  /**
   * Where the first hole of the file starts, as found when it was opened
   * (`lseek(SEEK_HOLE)`; `size` when there is none, or in memory). Bytes
   * from here on were never written: preallocated or sparse space, such as
   * the tail a crash leaves after `ENOSPC`. Reading them through `windows`
   * gives zeros without touching the disk (the backend maps holes as
   * anonymous zero pages: on a full tmpfs, reading a file hole through a
   * mapping faults with SIGBUS). Recovery may treat `[readableEnd, size)` as a
   * torn tail of zeros.
   */
  readonly readableEnd: number;
  /** Readable views of `[0, size)`, replaced when the file grows. */
  readonly windows: readonly Uint8Array[];
  /** Increments whenever `windows` is replaced. */
  readonly generation: number;
  /**
   * Makes fresh `windows` when one was detached by a user (a `getUnsafeView`
   * view's buffer moved away with `transfer()` or a `postMessage` transfer list:
   * that detaches the buffer the window shares). Cheap when nothing changed.
   */
  refresh(): void;
  /** Writes `data` at `offset` in full (one positional write). */
  write(data: Uint8Array, offset: number): void;
  /**
   * Writes one small frame at `offset`, which lies inside the allocated size.
   * A backend may copy it through a writable shared mapping instead of making
   * a system call: the bytes land in the same page cache as a `pwrite`, so a
   * process crash keeps them and `sync()` makes them durable.
   */
  writeRecord(data: Uint8Array, offset: number): void;
  /** Makes every completed write durable (fdatasync or its equivalent). */
  sync(): void;
  /**
   * The same as {@linkcode JournalFile.sync}, off the JavaScript thread where
   * the runtime can (so a long sync of a freshly written file does not stall
   * other work); a backend without that syncs in place.
   */
  syncAsync(): Promise<void>;
  /** Grows the file to at least `size` bytes of zeros (preallocation) and maps it. */
  grow(size: number): void;
  /**
   * Sets the file size to exactly `size` bytes. Shrinking is only allowed while no
   * view handed out by the engine can still read past `size` (at open, before
   * anything is returned, and at close, after {@linkcode JournalFile.retire}).
   */
  truncate(size: number): void;
  /**
   * Makes every view ever handed out unreadable (length 0) so that releasing the
   * memory can never crash a holder; called by `close()`.
   */
  retire(): void;
  /** Closes the file (after `retire`). Idempotent. */
  close(): void;
}

/**
 * Identifies a lock holder inside its own process: which OS thread took the
 * lock (a Worker's thread, or the main thread) and a random tag set as the
 * file position of the holder's lock descriptors, so they can be told apart
 * from any other descriptor of the same file.
 */
export interface LockOwner {
  /** The OS thread id (Linux `gettid()`), or 0 when unknown. */
  readonly thread: number;
  /** The tag, a positive integer below 2^53. */
  readonly tag: number;
}

/** An acquired exclusive lock; `release()` is idempotent. */
export interface LockHandle {
  release(): void;
  /** Who holds it inside this process, when the backend can tell (Linux). */
  readonly owner?: LockOwner | undefined;
}

/**
 * What {@linkcode Io.reclaimLock} found about a holder in this process:
 * - `released`: its thread has ended and emdb closed the descriptors it left;
 * - `live`: its thread still runs (a live handle: the lock is really held);
 * - `ending`: its thread has ended and the runtime itself closes what it left
 *   (Deno does, shortly after `terminate()`): retrying soon succeeds;
 * - `unknown`: this backend or OS cannot tell.
 */
export type ReclaimResult = "released" | "live" | "ending" | "unknown";

/** Result of trying to take a lock. */
export type LockAttempt = { ok: true; handle: LockHandle } | { ok: false; errno: string };

/** Everything the engine asks of the file system and the OS. */
export interface Io {
  /** `"posix"`, `"win32"` or `"memory"`. */
  readonly kind: string;
  /**
   * Opens the journal; returns `undefined` when it is missing and `create` is false.
   * With `writeThrough`, every write is durable when it returns (`O_DSYNC`,
   * `FILE_FLAG_WRITE_THROUGH`) and no write goes through a writable mapping.
   */
  openJournal(path: string, create: boolean, writeThrough?: boolean): JournalFile | undefined;
  /** Tries once, without waiting, to take the exclusive OS lock carried by `lockPath`. */
  tryLock(lockPath: string): LockAttempt;
  /**
   * Releases the lock of database `path` that `owner`, a holder in this
   * process, still holds although its thread has ended (a Worker terminated
   * while the database was open; Bun keeps such a Worker's descriptors open
   * until the process exits). Only descriptors carrying `owner.tag` are
   * closed, and only when the runtime does not close them itself.
   */
  reclaimLock(path: string, owner: LockOwner): ReclaimResult;
  /**
   * Checks, before anything is created, that the runtime lets this backend
   * reach the database at `path`: FFI, and reading and writing its folder.
   * May prompt once per missing permission where the runtime prompts.
   *
   * @throws {EmdbError} `PERMISSION` naming every missing flag; `UNSUPPORTED` without FFI.
   */
  checkAccess(path: string): void;
  /**
   * The canonical path of `path`: symbolic links resolved (for a file that
   * does not exist yet, its folder's), so every alias of one database maps to
   * one set of lock files.
   */
  realPath(path: string): string;
  /** What is at `path`: a regular file, something else, or nothing. */
  statKind(path: string): "file" | "other" | undefined;
  /** Reads a whole file, or `undefined` when it does not exist. */
  readFile(path: string): Uint8Array | undefined;
  /** Replaces a file atomically and durably: temp file, sync, rename, sync the folder. */
  writeFileAtomic(path: string, data: Uint8Array): void;
  /** Writes a new file and syncs it (used for salvage side files). */
  writeFileDurable(path: string, data: Uint8Array): void;
  /** Deletes a file; a missing file is not an error. */
  remove(path: string): void;
  /** Renames a file over another, atomically (the target is replaced). */
  rename(from: string, to: string): void;
  /** Creates a folder and its parents. */
  makeDirectory(path: string): void;
  /** Syncs a folder so that entries created or renamed in it survive a crash. */
  syncDirectory(path: string): void;
}
