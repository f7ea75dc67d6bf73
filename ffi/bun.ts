/**
 * The Bun binder: `bun:ffi` behind the neutral {@linkcode Binder} interface.
 *
 * `bun:ffi` is imported through a variable so that Deno's type checker and
 * publisher never try to resolve it. Only the few members used here are typed.
 *
 * @module
 */
import { toNumber } from "./convert.ts";
import type { Binder, BoundLibrary, HostOs, NativeType, SymbolTable } from "./types.ts";

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  toArrayBuffer(ptr: number, byteOffset: number, byteLength: number): ArrayBuffer;
  read: { i32(ptr: number, offset: number): number };
}

const spec = "bun:ffi";
const ffi = (await import(spec)) as BunFfi;

const BUN_TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64_fast",
  u64: "u64_fast",
  pointer: "u64_fast",
  buffer: "ptr",
};

interface BunProcess {
  platform: string;
  env: Record<string, string | undefined>;
}
const proc = (globalThis as unknown as { process: BunProcess }).process;

function osOf(): HostOs {
  if (proc.platform === "win32") return "windows";
  if (proc.platform === "darwin") return "darwin";
  return "linux";
}

function bindOne(fn: (...a: unknown[]) => unknown, params: readonly NativeType[], result: NativeType) {
  const n = params.length;
  const wideResult = result === "i64" || result === "u64" || result === "pointer";
  return (...args: unknown[]): number => {
    if (args.length !== n) throw new TypeError(`FFI call expects ${n} arguments, got ${args.length}`);
    const r = fn(...args);
    if (wideResult) return toNumber(r as number | bigint);
    return r === undefined ? 0 : Number(r);
  };
}

/** The binder used when emdb runs under Bun. */
export const binder: Binder = {
  runtime: "bun",
  os: osOf(),
  open<T extends SymbolTable>(candidates: readonly string[], table: T): BoundLibrary<T> {
    const errors: string[] = [];
    for (const path of candidates) {
      const out: Record<string, unknown> = {};
      let loaded = false;
      // Bun refuses a whole dlopen when one symbol is missing, so optional
      // symbols are opened one by one after the required set loads.
      const required: Record<string, { args: string[]; returns: string }> = {};
      for (const [name, s] of Object.entries(table)) {
        if (s.optional) continue;
        required[name] = { args: s.parameters.map((p) => BUN_TYPES[p]), returns: BUN_TYPES[s.result] };
      }
      try {
        const lib = ffi.dlopen(path, required);
        for (const [name, s] of Object.entries(table)) {
          if (s.optional) continue;
          out[name] = bindOne(lib.symbols[name]!, s.parameters, s.result);
        }
        loaded = true;
      } catch (e) {
        errors.push(`${path}: ${(e as Error).message}`);
      }
      if (!loaded) continue;
      for (const [name, s] of Object.entries(table)) {
        if (!s.optional) continue;
        try {
          const one = ffi.dlopen(path, {
            [name]: { args: s.parameters.map((p) => BUN_TYPES[p]), returns: BUN_TYPES[s.result] },
          });
          out[name] = bindOne(one.symbols[name]!, s.parameters, s.result);
        } catch {
          // Optional symbol absent from this library.
        }
      }
      return out as BoundLibrary<T>;
    }
    throw new Error(`Cannot load a native library; tried:\n  ${errors.join("\n  ")}`);
  },
  wrap(address: number, length: number): ArrayBuffer {
    return ffi.toArrayBuffer(address, 0, length);
  },
  readI32(address: number): number {
    return ffi.read.i32(address, 0);
  },
  env(name: string): string | undefined {
    return proc.env[name];
  },
};
