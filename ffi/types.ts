/**
 * The runtime-neutral vocabulary of the FFI layer.
 *
 * A symbol table is plain data: each entry names a C function with its
 * parameter and result types written in {@linkcode NativeType}. A
 * {@linkcode Binder} (one per runtime) turns such a table into callable
 * functions. Integers that are 64 bits wide in C are plain `number`s on the
 * JavaScript side; the binder converts to and from `bigint` where the runtime
 * needs it and refuses values that do not fit a double exactly.
 *
 * @module
 */

/**
 * A C type as the FFI layer knows it.
 *
 * - `i32` / `u32`: 32-bit integers (`int`, `DWORD`, `BOOL`).
 * - `i64` / `u64`: 64-bit integers (`off_t`, `size_t`, `ssize_t`, `HANDLE`).
 * - `pointer`: an address passed or returned as a `number` (`void *`), for
 *   memory the caller computes with (a mapping's base address).
 * - `handle`: an opaque pointer to a library's own object (`EVP_CIPHER_CTX *`),
 *   returned and passed back untouched as a {@linkcode Handle}, `null` for
 *   `NULL`. No arithmetic, no conversion: the runtime's own pointer value
 *   crosses the boundary as is, so a call costs no allocation.
 * - `buffer`: caller-owned bytes, passed as a non-empty `Uint8Array`.
 * - `buffer_or_null`: the same, or `null` for a `NULL` argument (an optional
 *   input, or an output the C function may skip).
 * - `void`: no result.
 */
export type NativeType =
  | "void"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "pointer"
  | "handle"
  | "buffer"
  | "buffer_or_null";

/**
 * An opaque pointer a library handed out (a Deno `PointerObject`, a Bun
 * number): only ever passed back to the same library. Never `NULL`: a `NULL`
 * result is `null`.
 */
export interface Handle {
  /** Never present at run time: only keeps handles apart from other values in the type system. */
  readonly __opaqueHandle: never;
}

/** One C function: its parameters, its result, and whether it may be missing. */
export interface SymbolSpec {
  /** The C parameter types, in order (at most 8). */
  readonly parameters: readonly NativeType[];
  /** The C result type. */
  readonly result: NativeType;
  /** When true, a library without this symbol still loads; the function is then absent. */
  readonly optional?: boolean;
}

/** A whole library's symbols, by C name. */
export type SymbolTable = Readonly<Record<string, SymbolSpec>>;

/** The JavaScript type of one argument. */
export type ArgType<T extends NativeType> = T extends "buffer" ? Uint8Array
  : T extends "buffer_or_null" ? Uint8Array | null
  : T extends "handle" ? Handle | null
  : number;

/** The JavaScript type of a result: a {@linkcode Handle} (or `null`) for `handle`, else a number (0 for `void`). */
export type ResultType<T extends NativeType> = T extends "handle" ? Handle | null : number;

/** The JavaScript function a {@linkcode SymbolSpec} becomes. */
export type BoundFunction<S extends SymbolSpec> = (...args: Args<S["parameters"]>) => ResultType<S["result"]>;

/** The JavaScript argument list of a parameter list. */
export type Args<P extends readonly NativeType[]> = { -readonly [I in keyof P]: ArgType<P[I]> };

/** A bound library: required symbols are functions, optional ones may be undefined. */
export type BoundLibrary<T extends SymbolTable> =
  & { [K in keyof T as T[K]["optional"] extends true ? never : K]: BoundFunction<T[K]> }
  & { [K in keyof T as T[K]["optional"] extends true ? K : never]?: BoundFunction<T[K]> };

/** The operating systems the I/O backends know. */
export type HostOs = "linux" | "darwin" | "windows";

/**
 * A permission a runtime may withhold (Deno's `--allow-*` flags; Bun grants
 * everything; a runtime without FFI never grants `ffi`).
 */
export type Permission =
  | { readonly kind: "ffi" }
  | { readonly kind: "read"; readonly path: string }
  | { readonly kind: "write"; readonly path: string }
  | { readonly kind: "env"; readonly variable: string };

/** What a runtime adapter provides. Nothing outside `ffi/` sees more than this. */
export interface Binder {
  /** Which runtime this binder drives; `"other"` has no FFI (Node, for instance). */
  readonly runtime: "deno" | "bun" | "other";
  /** The runtime's name and version, for messages (`"Deno 2.9.6"`). */
  readonly runtimeName: string;
  /** The operating system the process runs on. */
  readonly os: HostOs;
  /**
   * Whether the runtime closes the file descriptors a Worker opened when the
   * Worker is terminated (Deno does; Bun 1.4 keeps them open until the process
   * exits). Decides who may release a lock a terminated Worker held: only when
   * the runtime does not, may emdb close them itself without racing it.
   */
  readonly closesWorkerFiles: boolean;
  /**
   * Whether small copies (keys and values an iterator yields) are cheaper
   * carved out of a shared chunk than given each its own `ArrayBuffer`. V8
   * (Deno, Node): yes, a fresh 150-byte buffer costs ~1 µs on a large heap,
   * a view into a chunk ~0.1 µs. JavaScriptCore (Bun): no, `slice()` costs
   * ~40 ns and views over one shared buffer cost more than that.
   */
  readonly pooledCopies: boolean;
  /**
   * Whether the runtime grants a permission. Asks the runtime once; when it
   * would prompt the user and `prompt` is true, prompts once (Deno shows the
   * prompt only in a terminal, and denies without one).
   */
  allowed(permission: Permission, prompt: boolean): boolean;
  /**
   * Opens the first candidate library that loads and binds `table` from it.
   * Checks the FFI permission once before trying any path (so a runtime that
   * prompts asks at most once).
   *
   * @throws {FfiPermissionError} When the runtime refuses FFI.
   * @throws {FfiUnsupportedError} When the runtime has no FFI.
   * @throws {Error} Listing every path tried when none loads.
   */
  open<T extends SymbolTable>(candidates: readonly string[], table: T): BoundLibrary<T>;
  /**
   * Wraps `length` bytes of foreign memory at `address` without copying.
   * The caller owns the lifetime: the memory must stay mapped while the buffer is reachable.
   */
  wrap(address: number, length: number): ArrayBuffer;
  /** Reads the 32-bit signed integer at `address` (used for `errno`). */
  readI32(address: number): number;
  /** Reads an environment variable, or `undefined` when unset or not permitted (never prompts). */
  env(name: string): string | undefined;
}
