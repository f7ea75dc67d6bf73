/**
 * The POSIX I/O backend (Linux and macOS): `pwrite`, `fdatasync` (or
 * `F_FULLFSYNC`), `fallocate`/`ftruncate`, `flock`, `lseek` and `mmap` through
 * the FFI layer; opening, renaming and reading whole files through `node:fs`,
 * which both runtimes implement with real OS descriptors. The mapped journal
 * is {@linkcode PosixJournal}.
 *
 * Lock holders inside the process: every lock descriptor this backend opens
 * (`<path>.lock` and the journal's own lock descriptor) carries a random tag
 * as its file position, and the lock records the OS thread that took it.
 * When a Worker is terminated while it holds a database, Bun keeps its
 * descriptors (and so its locks) until the process exits; `reclaimLock`
 * closes exactly those, once the Worker's thread is gone. Deno closes them
 * itself, so there emdb only waits.
 *
 * @module
 */
import * as fs from "node:fs";
import { dirname } from "node:path";
import { binder, errnoName } from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";
import { fsError, NodeFiles } from "./node_files.ts";
import type { Io, JournalFile, LockAttempt, LockOwner, ReclaimResult } from "./io.ts";
import { EINTR, loadLibc, osError } from "./libc_binding.ts";
import { newTag, taggedDescriptors, threadRunning } from "./lock_reclaim.ts";
import { PosixJournal } from "./posix_journal.ts";

/** The backend for Linux and macOS. */
export class PosixIo extends NodeFiles implements Io {
  readonly kind = "posix";
  /** Tags of the locks this instance holds, by lock path, so the journal's lock descriptor gets the same. */
  #tags = new Map<string, number>();

  protected override loadNative(): void {
    loadLibc();
  }

  openJournal(path: string, create: boolean, writeThrough = false): JournalFile | undefined {
    const { libc, c } = loadLibc(); // before anything is created
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
    let lockFd = -1;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        throw new EmdbError("INVALID_CONFIG", `Cannot open "${path}": not a regular file`, { path });
      }
      // Second line of defence behind <path>.lock: a hard link (or any other
      // alias the path check cannot see) reaches the same inode, and this lock.
      // It is taken through a descriptor that is never mapped (see PosixJournal).
      try {
        lockFd = fs.openSync(path, fs.constants.O_RDONLY);
      } catch (e) {
        throw fsError(e, "open", path);
      }
      if (libc.flock(lockFd, c.LOCK_EX | c.LOCK_NB) !== 0) {
        const errno = errnoName(binder.os, libc.errno());
        throw new EmdbError("LOCK_BUSY", `Cannot open database "${path}": the journal is locked by another handle`, {
          path,
          errno,
        });
      }
      const tag = this.#tags.get(`${path}.lock`);
      if (tag !== undefined) {
        libc.lseek(lockFd, tag, c.SEEK_SET);
      }
      if (created) this.syncDirectory(dirname(path));
      const journal = new PosixJournal(path, fd, lockFd, st.size, writeThrough);
      if (tag !== undefined) libc.lseek(fd, tag, c.SEEK_SET);
      return journal;
    } catch (e) {
      fs.closeSync(fd);
      if (lockFd >= 0) fs.closeSync(lockFd);
      throw e;
    }
  }

  tryLock(lockPath: string): LockAttempt {
    const { libc, c } = loadLibc(); // before the lock file is created
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
    const tag = newTag();
    libc.lseek(fd, tag, c.SEEK_SET);
    this.#tags.set(lockPath, tag);
    const tags = this.#tags;
    let held = true;
    return {
      ok: true,
      handle: {
        owner: { thread: libc.threadId(), tag },
        release(): void {
          if (!held) return;
          held = false;
          if (tags.get(lockPath) === tag) tags.delete(lockPath);
          libc.flock(fd, c.LOCK_UN);
          fs.closeSync(fd);
        },
      },
    };
  }

  reclaimLock(path: string, owner: LockOwner): ReclaimResult {
    if (binder.os !== "linux") return "unknown";
    const { libc, c } = loadLibc();
    if (owner.thread === libc.threadId()) return "live";
    const running = threadRunning(owner.thread);
    if (running !== false) return running === true ? "live" : "unknown";
    if (binder.closesWorkerFiles) return "ending";
    const fds = taggedDescriptors([`${path}.lock`, path], owner.tag);
    for (const fd of fds) {
      libc.flock(fd, c.LOCK_UN);
      try {
        fs.closeSync(fd);
      } catch {
        // Closed meanwhile: its lock went with it.
      }
    }
    return fds.length > 0 ? "released" : "unknown";
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
