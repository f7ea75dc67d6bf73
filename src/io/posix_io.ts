/**
 * The POSIX I/O backend (Linux and macOS): `pwrite`, `fdatasync` (or
 * `F_FULLFSYNC`), `fallocate`/`ftruncate`, `flock` and `mmap` through the FFI
 * layer; opening, renaming and reading whole files through `node:fs`, which
 * both runtimes implement with real OS descriptors.
 *
 * Memory layout of a mapped journal: one read-only `MAP_SHARED` mapping of the
 * file, reserved far larger than the file (the kernel allows mapping past the
 * end of a file; those pages only become readable once the file grows into
 * them). Growing the file therefore never moves or invalidates memory a reader
 * holds. When the file outgrows the reservation, a second, larger mapping is
 * made and the first stays valid until `close()`.
 *
 * Mapped writes (Linux): a second, writable `MAP_SHARED` mapping of the same
 * reservation lets `writeRecord` copy a small frame into the page cache with
 * no system call. It is used only inside space that `fallocate` allocated, so
 * a full disk can never turn a store into SIGBUS; without `fallocate` (or on
 * macOS, where `F_FULLFSYNC` does not cover dirty mapped pages without `msync`)
 * every write is a `pwrite`. Readers and users only ever see the read-only
 * mapping.
 *
 * Retirement (the only crash-free sequence measured on both runtimes): every
 * ArrayBuffer ever wrapped over a mapping is detached with `transfer(0)`, so
 * views held by users read as length 0; only then is the range unmapped. If a
 * wrapper cannot be detached, the range is replaced by an anonymous read-only
 * zero mapping instead, so a stray view reads zeros rather than faulting.
 *
 * @module
 */
import * as fs from "node:fs";
import { dirname } from "node:path";
import {
  binder,
  DARWIN_CONSTANTS,
  errnoName,
  LIBC_CANDIDATES,
  LIBC_DARWIN,
  LIBC_LINUX,
  LINUX_CONSTANTS,
  type PosixConstants,
} from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";
import { fsError, NodeFiles } from "./node_files.ts";
import { type Io, type JournalFile, type LockAttempt, MAX_FRAME_BYTES, WINDOW_BYTES } from "./io.ts";

/** The libc functions this backend calls, whichever OS provided them. */
interface Libc {
  pwrite(fd: number, buf: Uint8Array, count: number, offset: number): number;
  fsync(fd: number): number;
  ftruncate(fd: number, length: number): number;
  flock(fd: number, op: number): number;
  mmap(addr: number, len: number, prot: number, flags: number, fd: number, off: number): number;
  munmap(addr: number, len: number): number;
  datasync(fd: number): number;
  fallocate: ((fd: number, mode: number, offset: number, len: number) => number) | undefined;
  errno(): number;
}

let cached: { libc: Libc; c: PosixConstants } | undefined;

function loadLibc(): { libc: Libc; c: PosixConstants } {
  if (cached) return cached;
  try {
    return bindLibc();
  } catch (e) {
    const hint = binder.runtime === "deno" ? " (under Deno, run with --allow-ffi)" : "";
    throw new EmdbError("UNSUPPORTED", `Cannot call the C library${hint}: ${(e as Error).message}`, { cause: e });
  }
}

function bindLibc(): { libc: Libc; c: PosixConstants } {
  const override = binder.env("EMDB_LIBC");
  if (binder.os === "darwin") {
    const lib = binder.open(override ? [override] : LIBC_CANDIDATES.darwin, LIBC_DARWIN);
    const c = DARWIN_CONSTANTS;
    cached = {
      c,
      libc: {
        ...lib,
        datasync: (fd) => lib.fcntl(fd, c.F_FULLFSYNC) === -1 ? lib.fsync(fd) : 0,
        fallocate: undefined,
        errno: () => binder.readI32(lib.__error()),
      },
    };
  } else {
    const lib = binder.open(override ? [override] : LIBC_CANDIDATES.linux, LIBC_LINUX);
    cached = {
      c: LINUX_CONSTANTS,
      libc: {
        ...lib,
        datasync: lib.fdatasync,
        fallocate: lib.fallocate,
        errno: () => binder.readI32(lib.__errno_location()),
      },
    };
  }
  return cached;
}

const EINTR = 4;

/** Turns the errno left by a failed libc call into an `EmdbError` code `IO`. */
function osError(libc: Libc, syscall: string, path: string | undefined): EmdbError {
  const name = errnoName(binder.os, libc.errno());
  const where = path === undefined ? "" : ` "${path}"`;
  return new EmdbError("IO", `Cannot ${syscall}${where}: ${name}`, { errno: name, syscall, path });
}

/** One reserved mapping of the journal and every wrapper made over it. */
interface Region {
  addr: number;
  /** The writable mapping of the same reservation, or 0. */
  rwAddr: number;
  reserved: number;
  wrappers: ArrayBuffer[];
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

const MIN_RESERVE = 1024 * 1024 * 1024;

class PosixJournal implements JournalFile {
  readonly path: string;
  #fd: number;
  #size: number;
  #regions: Region[] = [];
  #windows: Uint8Array[] = [];
  #rwWindows: Uint8Array[] = [];
  #generation = 0;
  /** True while every byte of `[0, size)` is allocated on disk (mapped writes are safe). */
  #mappedWrites: boolean;
  #libc: Libc;
  #c: PosixConstants;
  #retired = false;

  constructor(path: string, fd: number, size: number, writeThrough: boolean) {
    const { libc, c } = loadLibc();
    this.path = path;
    this.#fd = fd;
    this.#size = size;
    this.#libc = libc;
    this.#c = c;
    // O_DSYNC covers write(2), not stores into a mapping: with write-through every write is a pwrite.
    this.#mappedWrites = binder.os === "linux" && libc.fallocate !== undefined && !writeThrough;
    this.#rewrap();
  }

  get size(): number {
    return this.#size;
  }

  get windows(): readonly Uint8Array[] {
    return this.#windows;
  }

  get generation(): number {
    return this.#generation;
  }

  /** Maps a new, larger region when the file has outgrown the current one. */
  #ensureRegion(): Region {
    const current = this.#regions[this.#regions.length - 1];
    if (current !== undefined && current.reserved >= this.#size) return current;
    const reserved = Math.max(MIN_RESERVE, nextPowerOfTwo(this.#size * 2));
    const c = this.#c;
    const addr = this.#libc.mmap(0, reserved, c.PROT_READ, c.MAP_SHARED, this.#fd, 0);
    if (addr === -1 || addr === 0) throw osError(this.#libc, "mmap", this.path);
    let rwAddr = 0;
    if (this.#mappedWrites) {
      rwAddr = this.#libc.mmap(0, reserved, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, this.#fd, 0);
      if (rwAddr === -1) {
        rwAddr = 0;
        this.#mappedWrites = false;
      }
    }
    const region: Region = { addr, rwAddr, reserved, wrappers: [] };
    this.#regions.push(region);
    return region;
  }

  /** Builds fresh windows over `[0, size)`; old views stay valid. */
  #rewrap(): void {
    const windows: Uint8Array[] = [];
    if (this.#size > 0 && !this.#retired) {
      const region = this.#ensureRegion();
      for (let start = 0; start < this.#size; start += WINDOW_BYTES) {
        const len = Math.min(this.#size - start, WINDOW_BYTES + MAX_FRAME_BYTES);
        const ab = binder.wrap(region.addr + start, len);
        region.wrappers.push(ab);
        windows.push(new Uint8Array(ab));
      }
    }
    this.#windows = windows;
    // Writable views are made on the first mapped write after a growth: bulk
    // loads (setMany) never need them, and every wrapper has a cost.
    this.#rwWindows = [];
    this.#generation++;
  }

  write(data: Uint8Array, offset: number): void {
    let done = 0;
    const total = data.byteLength;
    while (done < total) {
      const part = done === 0 ? data : data.subarray(done);
      const n = this.#libc.pwrite(this.#fd, part, total - done, offset + done);
      if (n < 0) {
        if (this.#libc.errno() === EINTR) continue;
        throw osError(this.#libc, "pwrite", this.path);
      }
      if (n === 0) throw new EmdbError("IO", `Cannot pwrite "${this.path}": no progress`, { path: this.path });
      done += n;
    }
  }

  /** Wraps the writable mapping over `[0, size)` (after a growth, on first use). */
  #wrapWritable(): void {
    const region = this.#regions[this.#regions.length - 1];
    if (region === undefined || region.rwAddr === 0 || this.#retired) return;
    const rw: Uint8Array[] = [];
    for (let start = 0; start < this.#size; start += WINDOW_BYTES) {
      const ab = binder.wrap(region.rwAddr + start, Math.min(this.#size - start, WINDOW_BYTES + MAX_FRAME_BYTES));
      region.wrappers.push(ab);
      rw.push(new Uint8Array(ab));
    }
    this.#rwWindows = rw;
  }

  writeRecord(data: Uint8Array, offset: number): void {
    const n = data.byteLength;
    if (this.#mappedWrites && offset + n <= this.#size) {
      if (this.#rwWindows.length === 0) this.#wrapWritable();
      const k = Math.floor(offset / WINDOW_BYTES);
      const w = this.#rwWindows[k];
      if (w !== undefined) {
        w.set(data, offset - k * WINDOW_BYTES);
        return;
      }
    }
    this.write(data, offset);
  }

  sync(): void {
    for (;;) {
      if (this.#libc.datasync(this.#fd) === 0) return;
      if (this.#libc.errno() !== EINTR) throw osError(this.#libc, "fdatasync", this.path);
    }
  }

  syncAsync(): Promise<void> {
    // F_FULLFSYNC (macOS) is only reachable through FFI: sync in place there.
    if (binder.os !== "linux") return Promise.resolve(this.sync());
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (e) => (e ? reject(fsError(e, "fdatasync", this.path)) : resolve()));
    });
  }

  grow(size: number): void {
    if (size <= this.#size) return;
    const fa = this.#libc.fallocate;
    let ok = false;
    if (fa !== undefined) ok = fa(this.#fd, 0, this.#size, size - this.#size) === 0;
    if (!ok) {
      if (this.#libc.ftruncate(this.#fd, size) !== 0) throw osError(this.#libc, "ftruncate", this.path);
      // The new space is sparse: a store into it could fault on a full disk.
      this.#mappedWrites = false;
    }
    this.#size = size;
    this.#rewrap();
  }

  truncate(size: number): void {
    if (this.#libc.ftruncate(this.#fd, size) !== 0) throw osError(this.#libc, "ftruncate", this.path);
    this.#size = size;
    this.#rewrap();
  }

  retire(): void {
    this.#retired = true;
    for (const region of this.#regions) {
      let detachedAll = true;
      for (const ab of region.wrappers) {
        try {
          if (!ab.detached) ab.transfer(0);
        } catch {
          detachedAll = false;
        }
      }
      region.wrappers = [];
      for (const addr of [region.addr, region.rwAddr]) {
        if (addr === 0) continue;
        if (detachedAll) {
          this.#libc.munmap(addr, region.reserved);
        } else {
          const c = this.#c;
          const flags = c.MAP_PRIVATE | c.MAP_ANONYMOUS | c.MAP_FIXED | c.MAP_NORESERVE;
          this.#libc.mmap(addr, region.reserved, c.PROT_READ, flags, -1, 0);
        }
      }
    }
    this.#regions = [];
    this.#windows = [];
    this.#rwWindows = [];
    this.#generation++;
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#regions.length > 0) this.retire();
    try {
      fs.closeSync(this.#fd);
    } finally {
      this.#fd = -1;
    }
  }
}

/** The backend for Linux and macOS. */
export class PosixIo extends NodeFiles implements Io {
  readonly kind = "posix";

  openJournal(path: string, create: boolean, writeThrough = false): JournalFile | undefined {
    let fd: number;
    let created = false;
    const flags = fs.constants.O_RDWR | (writeThrough ? fs.constants.O_DSYNC : 0);
    try {
      fd = fs.openSync(path, flags);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw fsError(e, "open", path);
      if (!create) return undefined;
      try {
        fd = fs.openSync(path, flags | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
        created = true;
      } catch (e2) {
        throw fsError(e2, "create", path);
      }
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        throw new EmdbError("INVALID_CONFIG", `Cannot open "${path}": not a regular file`, { path });
      }
      // Second line of defence behind <path>.lock: a hard link (or any other
      // alias the path check cannot see) reaches the same inode, and this lock.
      const { libc, c } = loadLibc();
      if (libc.flock(fd, c.LOCK_EX | c.LOCK_NB) !== 0) {
        const errno = errnoName(binder.os, libc.errno());
        throw new EmdbError("LOCK_BUSY", `Cannot open database "${path}": the journal is locked by another handle`, {
          path,
          errno,
        });
      }
      if (created) this.syncDirectory(dirname(path));
      return new PosixJournal(path, fd, st.size, writeThrough);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  tryLock(lockPath: string): LockAttempt {
    const { libc, c } = loadLibc();
    let fd: number;
    try {
      fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    } catch (e) {
      throw fsError(e, "open lock file", lockPath);
    }
    for (;;) {
      if (libc.flock(fd, c.LOCK_EX | c.LOCK_NB) === 0) break;
      const code = libc.errno();
      if (code === EINTR) continue;
      fs.closeSync(fd);
      return { ok: false, errno: errnoName(binder.os, code) };
    }
    let held = true;
    return {
      ok: true,
      handle: {
        release(): void {
          if (!held) return;
          held = false;
          libc.flock(fd, c.LOCK_UN);
          fs.closeSync(fd);
        },
      },
    };
  }

  override writeFileDurable(path: string, data: Uint8Array): void {
    const { libc } = loadLibc();
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o644);
    } catch (e) {
      throw fsError(e, "create", path);
    }
    try {
      let done = 0;
      while (done < data.byteLength) done += fs.writeSync(fd, data, done, data.byteLength - done, done);
      if (libc.datasync(fd) !== 0) throw osError(libc, "fdatasync", path);
    } catch (e) {
      throw e instanceof EmdbError ? e : fsError(e, "write", path);
    } finally {
      fs.closeSync(fd);
    }
  }

  override syncDirectory(path: string): void {
    const { libc } = loadLibc();
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY);
    } catch (e) {
      throw fsError(e, "open folder", path);
    }
    try {
      if (libc.fsync(fd) !== 0) throw osError(libc, "fsync", path);
    } finally {
      fs.closeSync(fd);
    }
  }
}
