/**
 * The C library's symbols used by the POSIX I/O backend, as data.
 *
 * Files are opened with the runtime's `node:fs` (real OS descriptors in both
 * Deno and Bun), so no variadic `open`/`fcntl` with a third argument is ever
 * declared: variadic arguments are passed wrongly on Apple arm64.
 *
 * @module
 */
import type { SymbolTable } from "./types.ts";

/** Symbols shared by Linux and macOS. */
const COMMON = {
  /** ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) */
  pwrite: { parameters: ["i32", "buffer", "u64", "i64"], result: "i64" },
  /** int fsync(int fd) */
  fsync: { parameters: ["i32"], result: "i32" },
  /** int ftruncate(int fd, off_t length) */
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  /** int flock(int fd, int operation) */
  flock: { parameters: ["i32", "i32"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: { parameters: ["pointer", "u64", "i32", "i32", "i32", "i64"], result: "i64" },
  /** int munmap(void *addr, size_t length) */
  munmap: { parameters: ["pointer", "u64"], result: "i32" },
  /** off_t lseek(int fd, off_t offset, int whence) — SEEK_HOLE/SEEK_DATA find holes; SEEK_SET tags a lock's file description */
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  /** int getpagesize(void) */
  getpagesize: { parameters: [], result: "i32" },
} as const satisfies SymbolTable;

/** glibc and musl on Linux. */
export const LIBC_LINUX = {
  ...COMMON,
  /** int fdatasync(int fd) */
  fdatasync: { parameters: ["i32"], result: "i32" },
  /** int fallocate(int fd, int mode, off_t offset, off_t len) */
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32", optional: true },
  /** int *__errno_location(void) */
  __errno_location: { parameters: [], result: "pointer" },
  /** pid_t gettid(void) — glibc 2.30+, musl 1.2.2+; identifies the thread (Worker) holding a lock */
  gettid: { parameters: [], result: "i32", optional: true },
} as const satisfies SymbolTable;

/** libSystem on macOS. */
export const LIBC_DARWIN = {
  ...COMMON,
  /** int fcntl(int fd, int cmd) — only with commands that take no third argument (F_FULLFSYNC). */
  fcntl: { parameters: ["i32", "i32"], result: "i32" },
  /** int *__error(void) */
  __error: { parameters: [], result: "pointer" },
} as const satisfies SymbolTable;

/** Where to look for the C library, first match wins; `EMDB_LIBC` overrides. */
export const LIBC_CANDIDATES = {
  linux: [
    "libc.so.6",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib/aarch64-linux-gnu/libc.so.6",
    "libc.musl-x86_64.so.1",
    "libc.musl-aarch64.so.1",
    "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",
  ],
  darwin: ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib"],
} as const;

/** Constants whose values differ between Linux and macOS. */
export interface PosixConstants {
  readonly PROT_NONE: number;
  readonly PROT_READ: number;
  readonly PROT_WRITE: number;
  readonly MAP_SHARED: number;
  readonly MAP_PRIVATE: number;
  readonly MAP_FIXED: number;
  readonly MAP_ANONYMOUS: number;
  readonly MAP_NORESERVE: number;
  readonly LOCK_EX: number;
  readonly LOCK_NB: number;
  readonly LOCK_UN: number;
  readonly SEEK_SET: number;
  readonly SEEK_DATA: number;
  readonly SEEK_HOLE: number;
  readonly F_FULLFSYNC: number;
}

/** Linux (x86-64 and arm64 share these). */
export const LINUX_CONSTANTS: PosixConstants = {
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_NORESERVE: 0x4000,
  LOCK_EX: 2,
  LOCK_NB: 4,
  LOCK_UN: 8,
  SEEK_SET: 0,
  SEEK_DATA: 3,
  SEEK_HOLE: 4,
  F_FULLFSYNC: -1,
};

/** macOS. */
export const DARWIN_CONSTANTS: PosixConstants = {
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x1000,
  MAP_NORESERVE: 0x40,
  LOCK_EX: 2,
  LOCK_NB: 4,
  LOCK_UN: 8,
  SEEK_SET: 0,
  SEEK_DATA: 4,
  SEEK_HOLE: 3,
  F_FULLFSYNC: 51,
};
