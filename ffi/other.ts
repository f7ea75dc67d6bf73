/**
 * The binder of a runtime without a usable FFI (Node, a browser, an edge
 * runtime): importing emdb works there, in-memory databases work, and every
 * attempt to reach the OS throws {@linkcode FfiUnsupportedError} naming the
 * runtimes that are supported.
 *
 * @module
 */
import { FfiUnsupportedError } from "./errors.ts";
import type { Binder, BoundLibrary, HostOs, Permission, SymbolTable } from "./types.ts";

/** The runtimes emdb can open files with: the versions the test suite runs on, or later. */
export const SUPPORTED_RUNTIMES = "Deno 2.9.6 or later (run with --allow-ffi) or Bun 1.4.4 or later";

interface MaybeProcess {
  process?: { platform?: string; versions?: { node?: string }; env?: Record<string, string | undefined> };
}

function nameOf(g: MaybeProcess): string {
  const node = g.process?.versions?.node;
  return node === undefined ? "this JavaScript runtime" : `Node ${node}`;
}

/**
 * Creates the binder for a runtime emdb cannot call the OS from.
 *
 * @returns The binder.
 */
export function otherBinder(): Binder {
  const g = globalThis as MaybeProcess;
  const platform = g.process?.platform;
  const os: HostOs = platform === "win32" ? "windows" : platform === "darwin" ? "darwin" : "linux";
  const runtimeName = nameOf(g);
  const refuse = (): never => {
    throw new FfiUnsupportedError(
      `emdb opens database files only under ${SUPPORTED_RUNTIMES}; this is ${runtimeName}, which has no FFI emdb can use (Emdb.openInMemory() works here)`,
    );
  };
  return {
    runtime: "other",
    runtimeName,
    os,
    closesWorkerFiles: false,
    pooledCopies: true,
    allowed: (p: Permission) => p.kind !== "ffi",
    open<T extends SymbolTable>(_candidates: readonly string[], _table: T): BoundLibrary<T> {
      return refuse();
    },
    wrap: refuse,
    readI32: refuse,
    env(name: string): string | undefined {
      return g.process?.env?.[name];
    },
  };
}
