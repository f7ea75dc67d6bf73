/**
 * The C library as the POSIX backend sees it: one {@linkcode Libc} whatever
 * the OS, bound once per process, and the errors its failures become.
 *
 * @module
 */
import {
  binder,
  DARWIN_CONSTANTS,
  errnoName,
  FfiPermissionError,
  FfiUnsupportedError,
  LIBC_CANDIDATES,
  LIBC_DARWIN,
  LIBC_LINUX,
  LINUX_CONSTANTS,
  type PosixConstants,
} from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";

/** The libc functions the POSIX backend calls, whichever OS provided them. */
export interface Libc {
  pwrite(fd: number, buf: Uint8Array, count: number, offset: number): number;
  fsync(fd: number): number;
  ftruncate(fd: number, length: number): number;
  flock(fd: number, op: number): number;
  mmap(addr: number, len: number, prot: number, flags: number, fd: number, off: number): number;
  munmap(addr: number, len: number): number;
  lseek(fd: number, offset: number, whence: number): number;
  datasync(fd: number): number;
  fallocate: ((fd: number, mode: number, offset: number, len: number) => number) | undefined;
  /** The calling thread's OS id, or 0 where unknown. */
  threadId(): number;
  errno(): number;
  /** The size of a memory page. */
  readonly pageSize: number;
}

let cached: { libc: Libc; c: PosixConstants } | undefined;

/**
 * Turns a refusal of the FFI layer into the `EmdbError` a caller can act on.
 *
 * @param e What the FFI layer threw.
 * @returns `PERMISSION`, `UNSUPPORTED`, or `UNSUPPORTED` with the load failure.
 */
export function ffiError(e: unknown): EmdbError {
  if (e instanceof EmdbError) return e;
  if (e instanceof FfiPermissionError) {
    return new EmdbError("PERMISSION", `Cannot call the C library: ${e.message}`, { cause: e });
  }
  if (e instanceof FfiUnsupportedError) {
    return new EmdbError("UNSUPPORTED", `Cannot open a database file: ${e.message}`);
  }
  return new EmdbError("UNSUPPORTED", `Cannot call the C library: ${(e as Error).message}`, { cause: e });
}

/**
 * The bound C library and the OS constants, loaded on first use.
 *
 * @throws {EmdbError} `PERMISSION` (Deno without `--allow-ffi`), `UNSUPPORTED`.
 */
export function loadLibc(): { libc: Libc; c: PosixConstants } {
  if (cached) return cached;
  try {
    cached = bindLibc();
  } catch (e) {
    throw ffiError(e);
  }
  return cached;
}

function bindLibc(): { libc: Libc; c: PosixConstants } {
  const override = binder.env("EMDB_LIBC");
  if (binder.os === "darwin") {
    const lib = binder.open(override ? [override] : LIBC_CANDIDATES.darwin, LIBC_DARWIN);
    const c = DARWIN_CONSTANTS;
    return {
      c,
      libc: {
        ...lib,
        datasync: (fd) => lib.fcntl(fd, c.F_FULLFSYNC) === -1 ? lib.fsync(fd) : 0,
        fallocate: undefined,
        threadId: () => 0,
        errno: () => binder.readI32(lib.__error()),
        pageSize: lib.getpagesize(),
      },
    };
  }
  const lib = binder.open(override ? [override] : LIBC_CANDIDATES.linux, LIBC_LINUX);
  const gettid = lib.gettid;
  return {
    c: LINUX_CONSTANTS,
    libc: {
      ...lib,
      datasync: lib.fdatasync,
      fallocate: lib.fallocate,
      threadId: gettid === undefined ? () => 0 : () => gettid(),
      errno: () => binder.readI32(lib.__errno_location()),
      pageSize: lib.getpagesize(),
    },
  };
}

/** errno of an interrupted call (the same on Linux and macOS). */
export const EINTR = 4;

/**
 * Turns the errno left by a failed libc call into an `EmdbError` code `IO`.
 *
 * @param libc The library (to read errno right away).
 * @param syscall The call that failed.
 * @param path The file concerned, if any.
 * @returns The error.
 */
export function osError(libc: Libc, syscall: string, path: string | undefined): EmdbError {
  const name = errnoName(binder.os, libc.errno());
  const where = path === undefined ? "" : ` "${path}"`;
  return new EmdbError("IO", `Cannot ${syscall}${where}: ${name}`, { errno: name, syscall, path });
}
