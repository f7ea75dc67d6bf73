/**
 * Picks the I/O backend of the operating system we run on. This is the only
 * place that decides between POSIX and Windows.
 *
 * @module
 */
import { binder } from "../../ffi/mod.ts";
import type { Io } from "./io.ts";
import { PosixIo } from "./posix_io.ts";
import { Win32Io } from "./win32_io.ts";

let io: Io | undefined;

/** The backend for real files on this OS (created once). */
export function systemIo(): Io {
  io ??= binder.os === "windows" ? new Win32Io() : new PosixIo();
  return io;
}

/**
 * Checks, before anything is created, that this runtime lets emdb open the
 * database at `path`: that it has an FFI emdb can use, and (under Deno) the
 * permissions `--allow-ffi`, `--allow-read` and `--allow-write` for the
 * database's folder. In a terminal Deno prompts at most once per missing
 * permission, and not at all after one was refused; without a terminal it
 * refuses at once. One error names every missing flag.
 *
 * Call it first in `Emdb.open` and `Emdb.openDefault` (after the path is
 * resolved, before `makeDirectory`, `realPath` or anything else touches the
 * file system).
 *
 * @param path The database's absolute path.
 * @throws {EmdbError} `PERMISSION` (naming the flags) or `UNSUPPORTED` (naming the supported runtimes).
 */
export function assertSystemAccess(path: string): void {
  systemIo().checkAccess(path);
}
