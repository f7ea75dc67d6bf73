/**
 * The whole-file operations both OS backends do the same way, through
 * `node:fs` (which Deno and Bun both implement): read, stat, resolve links,
 * delete, create folders, and the atomic replace protocol.
 *
 * @module
 */
import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { binder } from "../../ffi/mod.ts";
import { EmdbError } from "../errors.ts";

/**
 * Whether `e` is the runtime refusing a permission (Deno's `NotCapable`, or
 * `PermissionDenied` before Deno 2), as opposed to the OS refusing the call.
 *
 * @param e Anything thrown.
 * @returns True for a runtime permission refusal.
 */
export function isPermissionRefusal(e: unknown): boolean {
  const name = (e as { name?: unknown })?.name;
  return name === "NotCapable" || name === "PermissionDenied";
}

/**
 * Turns a `node:fs` exception into an `EmdbError`: `PERMISSION` when the
 * runtime withheld a permission (the message names the flag), else `IO` with
 * the errno.
 */
export function fsError(e: unknown, action: string, path: string): EmdbError {
  if (isPermissionRefusal(e)) {
    return new EmdbError("PERMISSION", `Cannot ${action} "${path}": ${(e as Error).message}`, { path, cause: e });
  }
  const err = e as { code?: string; syscall?: string };
  const errno = typeof err.code === "string" ? err.code : "EIO";
  return new EmdbError("IO", `Cannot ${action} "${path}": ${errno}`, {
    errno,
    syscall: err.syscall ?? action,
    path,
    cause: e,
  });
}

function isMissing(e: unknown): boolean {
  return (e as { code?: string }).code === "ENOENT";
}

/** The `node:fs` half of an OS backend; subclasses add the journal, the lock and syncing. */
export abstract class NodeFiles {
  /** Loads the OS library the backend calls (libc, kernel32). */
  protected abstract loadNative(): void;
  /** Writes a new file and makes it durable. */
  abstract writeFileDurable(path: string, data: Uint8Array): void;
  /** Makes a folder's entries durable (a no-op where the OS cannot). */
  abstract syncDirectory(path: string): void;

  /**
   * Checks, before anything is created, that the runtime grants what opening
   * `path` needs: FFI (the OS library loads), and reading and writing the
   * folder of `path`. Where the runtime prompts (Deno in a terminal) it asks
   * at most once per permission, and not at all once one was refused.
   *
   * @param path The database path (absolute).
   * @throws {EmdbError} `PERMISSION` naming every missing flag; `UNSUPPORTED` without FFI.
   */
  checkAccess(path: string): void {
    const missing: string[] = [];
    let prompt = true;
    try {
      this.loadNative();
    } catch (e) {
      if (!(e instanceof EmdbError) || e.code !== "PERMISSION") throw e;
      missing.push("--allow-ffi");
      prompt = false;
    }
    const dir = dirname(path);
    for (const kind of ["read", "write"] as const) {
      if (binder.allowed({ kind, path: dir }, prompt)) continue;
      missing.push(`--allow-${kind}`);
      prompt = false;
    }
    if (missing.length === 0) return;
    const flags = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(", ")} and ${missing.at(-1)}`;
    const scope = missing.some((f) => f !== "--allow-ffi") ? ` (read and write may be limited to "${dir}")` : "";
    throw new EmdbError(
      "PERMISSION",
      `Cannot open database "${path}": ${binder.runtimeName} needs ${flags}${scope}; run again with ${
        missing.length === 1 ? "it" : "them"
      }`,
      { path },
    );
  }

  /** The path with symbolic links resolved (for a missing file, its folder's). */
  realPath(path: string): string {
    try {
      return fs.realpathSync(path);
    } catch {
      try {
        return join(fs.realpathSync(dirname(path)), basename(path));
      } catch {
        return path;
      }
    }
  }

  /** What is at `path`: a regular file, something else, or nothing. */
  statKind(path: string): "file" | "other" | undefined {
    try {
      return fs.statSync(path).isFile() ? "file" : "other";
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw fsError(e, "stat", path);
    }
  }

  /** A whole file, or `undefined` when it does not exist. */
  readFile(path: string): Uint8Array | undefined {
    // Sized by fstat and read with positional reads into one buffer: for a
    // 12 MB checkpoint, Deno's readFileSync took ~100 ms and this ~20 ms.
    let fd: number;
    try {
      // Non-blocking: opening a FIFO planted at a side file's path must not wait for a writer.
      fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw fsError(e, "read", path);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        throw new EmdbError("IO", `Cannot read "${path}": it is not a regular file`, { path, syscall: "read" });
      }
      const size = st.size;
      const buf = new Uint8Array(size);
      let n = 0;
      while (n < size) {
        const got = fs.readSync(fd, buf, n, size - n, n);
        if (got === 0) return buf.subarray(0, n);
        n += got;
      }
      // More than fstat said (the file grew, or reports size 0 as /proc does): read on in chunks.
      const parts: Uint8Array[] = [buf];
      for (let pos = n;;) {
        const chunk = new Uint8Array(64 * 1024);
        const got = fs.readSync(fd, chunk, 0, chunk.length, pos);
        if (got === 0) break;
        parts.push(chunk.subarray(0, got));
        pos += got;
      }
      if (parts.length === 1) return buf;
      const out = new Uint8Array(parts.reduce((t, p) => t + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    } catch (e) {
      throw e instanceof EmdbError ? e : fsError(e, "read", path);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Replaces a file atomically: temp file, sync, rename, sync the folder. When
   * a step fails (a full disk, say) the temp file is removed and the error
   * keeps its errno.
   */
  writeFileAtomic(path: string, data: Uint8Array): void {
    const tmp = `${path}.tmp`;
    try {
      this.writeFileDurable(tmp, data);
      try {
        fs.renameSync(tmp, path);
      } catch (e) {
        throw fsError(e, "rename", tmp);
      }
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // Never created, or already gone.
      }
      throw e;
    }
    this.syncDirectory(dirname(path));
  }

  /** Renames a file over another, atomically. */
  rename(from: string, to: string): void {
    try {
      fs.renameSync(from, to);
    } catch (e) {
      throw fsError(e, "rename", from);
    }
  }

  /** Deletes a file; a missing file is not an error. */
  remove(path: string): void {
    try {
      fs.unlinkSync(path);
    } catch (e) {
      if (!isMissing(e)) throw fsError(e, "remove", path);
    }
  }

  /** Creates a folder and its parents. */
  makeDirectory(path: string): void {
    try {
      fs.mkdirSync(path, { recursive: true });
    } catch (e) {
      throw fsError(e, "create folder", path);
    }
  }
}
