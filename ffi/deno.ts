/**
 * The Deno binder: `Deno.dlopen` behind the neutral {@linkcode Binder} interface.
 *
 * Deno passes and returns every 64-bit integer as a `bigint`; this binder
 * converts at the boundary so the rest of emdb only sees numbers.
 *
 * @module
 */
import { toBigInt, toNumber } from "./convert.ts";
import type { Binder, BoundLibrary, HostOs, NativeType, SymbolTable } from "./types.ts";

type DenoType = "void" | "i32" | "u32" | "i64" | "u64" | "usize" | "buffer";

const DENO_TYPES: Record<NativeType, DenoType> = {
  void: "void",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  pointer: "usize",
  buffer: "buffer",
};

const WIDE: ReadonlySet<NativeType> = new Set<NativeType>(["i64", "u64", "pointer"]);

function bindOne(fn: (...a: unknown[]) => unknown, params: readonly NativeType[], result: NativeType) {
  const wide = params.map((p) => WIDE.has(p));
  const wideResult = WIDE.has(result);
  const n = params.length;
  return (...args: unknown[]): number => {
    if (args.length !== n) throw new TypeError(`FFI call expects ${n} arguments, got ${args.length}`);
    for (let i = 0; i < n; i++) if (wide[i]) args[i] = toBigInt(args[i] as number);
    const r = fn(...args);
    if (wideResult) return toNumber(r as bigint);
    return r === undefined ? 0 : Number(r);
  };
}

function osOf(): HostOs {
  const os = Deno.build.os;
  if (os === "windows") return "windows";
  if (os === "darwin") return "darwin";
  return "linux";
}

/** The binder used when emdb runs under Deno. */
export const binder: Binder = {
  runtime: "deno",
  os: osOf(),
  open<T extends SymbolTable>(candidates: readonly string[], table: T): BoundLibrary<T> {
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
        out[name] = bindOne(fn as (...a: unknown[]) => unknown, spec.parameters, spec.result);
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
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  },
};
