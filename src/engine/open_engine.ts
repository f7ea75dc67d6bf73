/**
 * Opening an engine: refuse what is not a regular file, take the lock, clear
 * what an interrupted compaction left, open the journal and recover it.
 *
 * @module
 */
import process from "node:process";
import { EmdbError } from "../errors.ts";
import type { Io } from "../io/io.ts";
import type { ResolvedOptions } from "../options.ts";
import { Engine } from "./engine.ts";
import { acquireLock } from "./lockfile.ts";
import { recoverJournal } from "./open.ts";

function notFound(path: string | undefined): EmdbError {
  return new EmdbError("NOT_FOUND", `Cannot open database "${path}": it does not exist (create: false)`, { path });
}

/**
 * Opens an engine over any I/O backend (internal: tests use it with a
 * fault-injecting in-memory backend; `Emdb` uses the system backend).
 *
 * @param io The backend.
 * @param path The journal path, or `undefined` for an anonymous in-memory database.
 * @param opts Resolved options.
 * @returns The engine.
 */
export function openEngine(io: Io, path: string | undefined, opts: ResolvedOptions): Engine {
  if (path !== undefined) {
    const kind = io.statKind(path);
    if (kind === "other") {
      throw new EmdbError("INVALID_CONFIG", `Cannot open database "${path}": not a regular file`, { path });
    }
    if (kind === undefined && !opts.create) throw notFound(path);
  }
  const lock = path === undefined ? undefined : acquireLock(io, path, process.pid);
  try {
    // A compaction interrupted before its rename leaves this behind; the journal itself is whole.
    if (path !== undefined) io.remove(`${path}.compact`);
    const file = io.openJournal(
      path ?? ":memory:",
      path === undefined ? true : opts.create,
      opts.flushPolicy === "writeThrough",
    );
    if (file === undefined) throw notFound(path);
    try {
      return new Engine(io, file, path, lock, opts, recoverJournal(io, file, path, opts));
    } catch (e) {
      file.close();
      throw e;
    }
  } catch (e) {
    lock?.release();
    throw e;
  }
}
