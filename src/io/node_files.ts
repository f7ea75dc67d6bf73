/**
 * The whole-file operations both OS backends do the same way, through
 * `node:fs` (which Deno and Bun both implement): read, stat, resolve links,
 * delete, create folders, and the atomic replace protocol.
 *
 * @module
 */
import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { EmdbError } from "../errors.ts";

/** Turns a `node:fs` exception into an `EmdbError` code `IO`. */
export function fsError(e: unknown, action: string, path: string): EmdbError {
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
  /** Writes a new file and makes it durable. */
  abstract writeFileDurable(path: string, data: Uint8Array): void;
  /** Makes a folder's entries durable (a no-op where the OS cannot). */
  abstract syncDirectory(path: string): void;

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
    try {
      const b = fs.readFileSync(path);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw fsError(e, "read", path);
    }
  }

  /** Replaces a file atomically: temp file, sync, rename, sync the folder. */
  writeFileAtomic(path: string, data: Uint8Array): void {
    const tmp = `${path}.tmp`;
    this.writeFileDurable(tmp, data);
    this.rename(tmp, path);
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
