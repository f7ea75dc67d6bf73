/**
 * The Deno binder: `Deno.dlopen` behind the neutral {@linkcode Binder} interface.
 *
 * Deno passes and returns every 64-bit integer as a `bigint`; this binder
 * converts at the boundary so the rest of emdb only sees numbers.
 *
 * Nothing here runs when the module is imported: {@linkcode denoBinder} is
 * called by `runtime.ts` only under Deno, so other runtimes can import it.
 *
 * Permissions: `Deno.permissions.querySync` is asked before anything that
 * needs one. FFI is checked as a whole once per library load, before any
 * candidate path is tried (each `Deno.dlopen` of a path would otherwise
 * prompt on its own); a prompt, when Deno would show one, is shown at most
 * once, and a refusal is remembered by Deno (no second prompt).
 *
 * @module
 */
import { toBigInt, toNumber } from "./convert.ts";
import { FfiPermissionError } from "./errors.ts";
import type { Binder, BoundLibrary, HostOs, NativeType, Permission, SymbolTable } from "./types.ts";

type DenoType = "void" | "i32" | "u32" | "i64" | "u64" | "usize" | "pointer" | "buffer";

const DENO_TYPES: Record<NativeType, DenoType> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  pointer: "usize",
  handle: "pointer",
  buffer: "buffer",
  buffer_or_null: "buffer",
};

const WIDE: ReadonlySet<NativeType> = new Set<NativeType>(["i64", "u64", "pointer"]);

type Fn = (...a: unknown[]) => unknown;
type Conv = (x: unknown) => unknown;
const same: Conv = (x) => x;
const wide: Conv = (x) => toBigInt(x as number);

/**
 * Wraps one foreign function: 64-bit arguments become bigints, 64-bit results
 * numbers, handles and buffers pass untouched. The wrapper has the C
 * function's arity (no rest parameter, no spread): V8 then keeps Deno's fast
 * call path, where a spread call would take the generic one (about 2 µs
 * instead of 0.3 µs for the five calls of an AEAD record, bench/crypto_micro.ts).
 */
function bindOne(fn: Fn, params: readonly NativeType[], result: NativeType): Fn {
  const n = params.length;
  const [c0 = same, c1 = same, c2 = same, c3 = same, c4 = same, c5 = same, c6 = same, c7 = same] = params.map((
    p,
  ) => WIDE.has(p) ? wide : same);
  const post: Conv = WIDE.has(result)
    ? (r) => toNumber(r as bigint)
    : result === "handle"
    ? (r) => r
    : (r) => r === undefined ? 0 : Number(r);
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
        return post(fn(c0(a)));
      };
    case 2:
      return function (this: unknown, a: unknown, b: unknown) {
        if (arguments.length !== 2) arity(arguments.length);
        return post(fn(c0(a), c1(b)));
      };
    case 3:
      return function (this: unknown, a: unknown, b: unknown, c: unknown) {
        if (arguments.length !== 3) arity(arguments.length);
        return post(fn(c0(a), c1(b), c2(c)));
      };
    case 4:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown) {
        if (arguments.length !== 4) arity(arguments.length);
        return post(fn(c0(a), c1(b), c2(c), c3(d)));
      };
    case 5:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) {
        if (arguments.length !== 5) arity(arguments.length);
        return post(fn(c0(a), c1(b), c2(c), c3(d), c4(e)));
      };
    case 6:
      return function (this: unknown, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown, f: unknown) {
        if (arguments.length !== 6) arity(arguments.length);
        return post(fn(c0(a), c1(b), c2(c), c3(d), c4(e), c5(f)));
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
        return post(fn(c0(a), c1(b), c2(c), c3(d), c4(e), c5(f), c6(g)));
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
        return post(fn(c0(a), c1(b), c2(c), c3(d), c4(e), c5(f), c6(g), c7(h)));
      };
  }
  throw new RangeError(`Cannot bind a C function of ${n} parameters: at most 8 (keep every argument in a register)`);
}

function osOf(): HostOs {
  const os = Deno.build.os;
  if (os === "windows") return "windows";
  if (os === "darwin") return "darwin";
  return "linux";
}

function descriptor(p: Permission): Deno.PermissionDescriptor {
  switch (p.kind) {
    case "ffi":
      return { name: "ffi" };
    case "env":
      return { name: "env", variable: p.variable };
    case "read":
      return { name: "read", path: p.path };
    case "write":
      return { name: "write", path: p.path };
  }
}

function state(d: Deno.PermissionDescriptor): Deno.PermissionState {
  try {
    return Deno.permissions.querySync(d).state;
  } catch {
    return "denied";
  }
}

function allowed(p: Permission, prompt: boolean): boolean {
  const d = descriptor(p);
  let s = state(d);
  if (s === "prompt" && prompt) {
    try {
      s = Deno.permissions.requestSync(d).state;
    } catch {
      s = "denied";
    }
  }
  return s === "granted";
}

/**
 * Checks once that FFI is granted as a whole (asking once where Deno would
 * prompt). A path-scoped `--allow-ffi=<library>` is not enough: reading mapped
 * memory (`UnsafePointerView`) needs the unscoped permission.
 */
function assertFfi(): void {
  if (allowed({ kind: "ffi" }, true)) return;
  throw new FfiPermissionError(
    "--allow-ffi",
    "Deno needs --allow-ffi to call the C library (flock, mmap, fdatasync); run again with --allow-ffi (not scoped to a path: emdb reads mapped memory, which needs the whole permission)",
  );
}

/**
 * Creates the binder used when emdb runs under Deno.
 *
 * @returns The binder.
 */
export function denoBinder(): Binder {
  return {
    runtime: "deno",
    runtimeName: `Deno ${Deno.version.deno}`,
    os: osOf(),
    closesWorkerFiles: true,
    pooledCopies: true,
    allowed,
    open<T extends SymbolTable>(candidates: readonly string[], table: T): BoundLibrary<T> {
      assertFfi();
      const errors: string[] = [];
      for (const path of candidates) {
        const required: Record<string, Deno.ForeignFunction> = {};
        for (const [name, spec] of Object.entries(table)) {
          required[name] = {
            parameters: spec.parameters.map((p) => DENO_TYPES[p]),
            result: DENO_TYPES[spec.result],
            optional: spec.optional === true,
          } as Deno.ForeignFunction;
        }
        let lib: Deno.DynamicLibrary<Record<string, Deno.ForeignFunction>>;
        try {
          lib = Deno.dlopen(path, required);
        } catch (e) {
          errors.push(`${path}: ${(e as Error).message}`);
          continue;
        }
        const out: Record<string, unknown> = {};
        for (const [name, spec] of Object.entries(table)) {
          const fn = (lib.symbols as Record<string, unknown>)[name];
          if (typeof fn !== "function") continue;
          out[name] = bindOne(fn as Fn, spec.parameters, spec.result);
        }
        return out as BoundLibrary<T>;
      }
      throw new Error(`Cannot load a native library; tried:\n  ${errors.join("\n  ")}`);
    },
    wrap(address: number, length: number): ArrayBuffer {
      const ptr = Deno.UnsafePointer.create(toBigInt(address));
      if (ptr === null) throw new RangeError("Cannot wrap the null address");
      return Deno.UnsafePointerView.getArrayBuffer(ptr, length);
    },
    readI32(address: number): number {
      const ptr = Deno.UnsafePointer.create(toBigInt(address));
      if (ptr === null) return 0;
      return new Deno.UnsafePointerView(ptr).getInt32(0);
    },
    env(name: string): string | undefined {
      if (state({ name: "env", variable: name }) !== "granted") return undefined;
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    },
  };
}
