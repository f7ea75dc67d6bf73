/**
 * The two ways the FFI layer refuses before calling the OS at all. The I/O
 * backends turn them into `EmdbError`s (`PERMISSION`, `UNSUPPORTED`); this
 * layer stays independent of the engine.
 *
 * @module
 */

/** The runtime refused a permission emdb needs (Deno without `--allow-ffi`, for instance). */
export class FfiPermissionError extends Error {
  /** The command-line flag that grants it, such as `--allow-ffi`. */
  readonly flag: string;

  /**
   * Creates the error.
   *
   * @param flag The flag that grants the permission.
   * @param message What was refused.
   */
  constructor(flag: string, message: string) {
    super(message);
    this.name = "FfiPermissionError";
    this.flag = flag;
  }
}

/** The running runtime has no FFI emdb can use (Node, a browser…). */
export class FfiUnsupportedError extends Error {
  /**
   * Creates the error.
   *
   * @param message Names the runtime and the supported ones.
   */
  constructor(message: string) {
    super(message);
    this.name = "FfiUnsupportedError";
  }
}
