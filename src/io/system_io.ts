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
