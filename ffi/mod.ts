/**
 * The runtime-adapter layer: everything emdb needs from Deno or Bun to call
 * the operating system. Nothing outside `ffi/` names `Deno` or `Bun`.
 *
 * @module
 */
export { binder } from "./runtime.ts";
export { errnoName } from "./errno.ts";
export { FfiPermissionError, FfiUnsupportedError } from "./errors.ts";
export { SUPPORTED_RUNTIMES } from "./other.ts";
export { DARWIN_CONSTANTS, LIBC_CANDIDATES, LIBC_DARWIN, LIBC_LINUX, LINUX_CONSTANTS } from "./libc.ts";
export type { PosixConstants } from "./libc.ts";
export { KERNEL32, KERNEL32_CANDIDATES, WIN32 } from "./kernel32.ts";
export { EVP_CTRL, LIBCRYPTO, LIBCRYPTO_CANDIDATES, LIBCRYPTO_HMAC } from "./libcrypto.ts";
export type { Binder, BoundLibrary, Handle, HostOs, NativeType, Permission, SymbolSpec, SymbolTable } from "./types.ts";
