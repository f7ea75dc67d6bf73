/**
 * The Bun binder: `bun:ffi` behind the neutral {@linkcode Binder} interface.
 *
 * `bun:ffi` is loaded with `process.getBuiltinModule("bun:ffi")`, which is
 * synchronous in Bun: no top-level `await` (Bun drops messages posted to a
 * Worker while one is pending, and `bun build --bytecode` cannot compile one),
 * no dynamic `import()` that `deno publish` cannot analyse, and no
 * `import.meta.require` (a syntax error once `--bytecode` turns the bundle
 * into CommonJS). Nothing here runs when the
 * module is imported: {@linkcode bunBinder} is called by `runtime.ts` only
 * under Bun, so other runtimes can import this file. Only the few members of
 * `bun:ffi` used here are typed.
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

interface BunGlobals {
  Bun: { version: string };
  process: {
    platform: string;
    env: Record<string, string | undefined>;
    getBuiltinModule(id: string): unknown;
  };
}

const BUN_TYPES: Record<NativeType, string> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64_fast",
  u64: "u64_fast",
  pointer: "u64_fast",
  handle: "ptr",
  buffer: "ptr",
  buffer_or_null: "ptr",
};

type Fn = (...a: unknown[]) => unknown;

/**
 * Wraps one foreign function: 64-bit results become numbers (bun:ffi's
 * `_fast` types already give numbers when they fit), handles pass untouched.
 * The wrapper has the C function's arity, as in the Deno binder (no rest
 * parameter or spread on the per-call path).
 */
function bindOne(fn: Fn, params: readonly NativeType[], result: NativeType): Fn {
  const n = params.length;
  const post = result === "i64" || result === "u64" || result === "pointer"
    ? (r: unknown) => toNumber(r as number | bigint)
    : result === "handle"
    ? (r: unknown) => r
    : (r: unknown) => r === undefined ? 0 : Number(r);
  const arity = (got: number): never => {
    throw new TypeError(`FFI call expects ${n} arguments, got ${got}`);
  };
  switch (n) {
    case 0:
      return function (this: unknown) {
        if (arguments.length !== 0) arity(arguments.length);
        return post(fn());
      };
    case 1:
      return function (this: unknown, a: unknown) {
        if (arguments.length !== 1) arity(arguments.length);
        return post(fn(a));
      };
    case 2:
      return function (this: unknown, a: unknown, b: unknown) {
        if (arguments.length !== 2) arity(arguments.length);
        return post(fn(a, b));
      };
    case 3:
      return function (this: unknown, a: unknown, b: unknown, c: unknown) {
        if (arguments.length !== 3) arity(arguments.length);
        return post(fn(a, b, c));
      };
    case 4:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
        if (arguments.length !== 4) arity(arguments.length);
        return post(fn(a, b, c, d));
      };
    case 5:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) {
        if (arguments.length !== 5) arity(arguments.length);
        return post(fn(a, b, c, d, e));
      };
    case 6:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) {
        if (arguments.length !== 6) arity(arguments.length);
        return post(fn(a, b, c, d, e, f));
      };
    case 7:
      return function (
        this: unknown,
        a: unknown,
        b: unknown,
        c: unknown,
        d: unknown,
        e: unknown,
        f: unknown,
        g: unknown,
      ) {
        if (arguments.length !== 7) arity(arguments.length);
        return post(fn(a, b, c, d, e, f, g));
      };
    case 8:
      return function (
        this: unknown,
        a: unknown,
        b: unknown,
        c: unknown,
        d: unknown,
        e: unknown,
        f: unknown,
        g: unknown,
        h: unknown,
      ) {
        if (arguments.length !== 8) arity(arguments.length);
        return post(fn(a, b, c, d, e, f, g, h));
      };
  }
  throw new RangeError(`Cannot bind a C function of ${n} parameters: at most 8 (keep every argument in a register)`);
}

function spec(s: { parameters: readonly NativeType[]; result: NativeType }) {
  return { args: s.parameters.map((p) => BUN_TYPES[p]), returns: BUN_TYPES[s.result] };
}

/**
 * Creates the binder used when emdb runs under Bun.
 *
 * @returns The binder.
 */
export function bunBinder(): Binder {
  const g = globalThis as unknown as BunGlobals;
  const proc = g.process;
  const ffi = proc.getBuiltinModule("bun:ffi") as BunFfi;
  const os: HostOs = proc.platform === "win32" ? "windows" : proc.platform === "darwin" ? "darwin" : "linux";
  return {
    runtime: "bun",
    runtimeName: `Bun ${g.Bun.version}`,
    os,
    closesWorkerFiles: false,
    pooledCopies: false,
    allowed: () => true,
    open<T extends SymbolTable>(candidates: readonly string[], table: T): BoundLibrary<T> {
      const errors: string[] = [];
      for (const path of candidates) {
        const out: Record<string, unknown> = {};
        let loaded = false;
        // Bun refuses a whole dlopen when one symbol is missing, so optional
        // symbols are opened one by one after the required set loads.
        const required: Record<string, { args: string[]; returns: string }> = {};
        for (const [name, s] of Object.entries(table)) if (!s.optional) required[name] = spec(s);
        try {
          const lib = ffi.dlopen(path, required);
          for (const [name, s] of Object.entries(table)) {
            if (!s.optional) out[name] = bindOne(lib.symbols[name]!, s.parameters, s.result);
          }
          loaded = true;
        } catch (e) {
          errors.push(`${path}: ${(e as Error).message}`);
        }
        if (!loaded) continue;
        for (const [name, s] of Object.entries(table)) {
          if (!s.optional) continue;
          try {
            const one = ffi.dlopen(path, { [name]: spec(s) });
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
}
