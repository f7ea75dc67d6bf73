/**
 * The exit codes of the `emdb` command, and the one error type its commands
 * throw to end with one of them. The codes are stable: scripts may rely on
 * them (the table is in docs/CLI.md and the README).
 *
 * @module
 */
import { EmdbError } from "../errors.ts";

/**
 * Every exit code `emdb` ends with.
 *
 * | code | name        | meaning |
 * | ---- | ----------- | ------- |
 * | 0    | `OK`        | done |
 * | 1    | `NOT_FOUND` | the key, namespace or lock holder asked for does not exist |
 * | 2    | `USAGE`     | the command line is wrong (unknown command or flag, missing or bad argument) |
 * | 3    | `DATABASE`  | the database refused (missing file, not an emdb file, I/O error…); the message names the `EmdbError` code |
 * | 4    | `DAMAGED`   | damage found (by `verify`, or an open that met corruption) |
 * | 5    | `LOCKED`    | another process holds the database lock |
 * | 6    | `BAD_INPUT` | the input of `load` (or `set --stdin`) is invalid: nothing was written |
 */
export const EXIT = {
  OK: 0,
  NOT_FOUND: 1,
  USAGE: 2,
  DATABASE: 3,
  DAMAGED: 4,
  LOCKED: 5,
  BAD_INPUT: 6,
} as const;

/** One of the {@linkcode EXIT} codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error that ends the command with a given exit code and a one-line message.
 *
 * @example
 * ```ts
 * import { CliError, EXIT } from "./exit_codes.ts";
 * const e = new CliError(EXIT.USAGE, "unknown command \"frobnicate\"");
 * console.log(e.exitCode); // 2
 * ```
 */
export class CliError extends Error {
  /** The exit code to end with. */
  readonly exitCode: ExitCode;

  /**
   * @param exitCode The exit code.
   * @param message One line, without the `emdb: ` prefix.
   */
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * A usage error (exit code 2).
 *
 * @param message What is wrong with the command line.
 * @returns The error.
 */
export function usageError(message: string): CliError {
  return new CliError(EXIT.USAGE, message);
}

/**
 * A bad-input error (exit code 6).
 *
 * @param message What is wrong with the input.
 * @returns The error.
 */
export function badInput(message: string): CliError {
  return new CliError(EXIT.BAD_INPUT, message);
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, " ").trim();
}

/**
 * Turns anything a command threw into an exit code and the one-line message
 * printed after `emdb: `.
 *
 * @param e What was thrown.
 * @returns The exit code and the message.
 *
 * @example
 * ```ts
 * import { EmdbError } from "../errors.ts";
 * import { describeFailure } from "./exit_codes.ts";
 * const { code, message } = describeFailure(new EmdbError("LOCK_BUSY", "Cannot open database \"x\": lock held by process 7"));
 * console.log(code, message); // 5 "LOCK_BUSY: Cannot open database "x": lock held by process 7"
 * ```
 */
export function describeFailure(e: unknown): { code: ExitCode; message: string } {
  if (e instanceof CliError) return { code: e.exitCode, message: oneLine(e.message) };
  // `using` turns a failing close() after a failure into a SuppressedError: the first failure is the story.
  const suppressed = e as { name?: unknown; suppressed?: unknown };
  if (suppressed?.name === "SuppressedError" && suppressed.suppressed !== undefined) {
    return describeFailure(suppressed.suppressed);
  }
  // The runtime refusing the FFI (Deno without --allow-ffi) can surface wrapped in another error: name it.
  for (let c = (e as { cause?: unknown })?.cause; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause) {
    if (c instanceof EmdbError && (c.code === "UNSUPPORTED" || c.code === "PERMISSION")) return describeFailure(c);
  }
  if (e instanceof EmdbError) {
    const code = e.code === "LOCK_BUSY" ? EXIT.LOCKED : e.code === "CORRUPTED" ? EXIT.DAMAGED : EXIT.DATABASE;
    let text = e.message;
    if (e.code === "NOT_FOUND" && e.path !== undefined) text = `Cannot open database "${e.path}": it does not exist`;
    return { code, message: oneLine(`${e.code}: ${text}`) };
  }
  // The library throws TypeError / RangeError for arguments it refuses (a key too long, a bad name).
  if (e instanceof TypeError || e instanceof RangeError) return { code: EXIT.USAGE, message: oneLine(e.message) };
  const err = e as { name?: unknown; message?: unknown };
  const name = typeof err?.name === "string" ? err.name : "Error";
  const message = typeof err?.message === "string" ? err.message : String(e);
  return { code: EXIT.DATABASE, message: oneLine(`unexpected ${name}: ${message}`) };
}
