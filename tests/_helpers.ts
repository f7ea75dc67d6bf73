/**
 * Shared helpers of the test suite: temp folders that remove themselves, child
 * processes run with the same runtime as the tests, a seeded PRNG, byte helpers
 * and an assertion for {@linkcode EmdbError} codes.
 *
 * Every test file imports the public API from `../mod.ts` and these helpers
 * only; nothing here reaches into `src/`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EmdbError, type EmdbErrorCode } from "../mod.ts";

/** The part of a `node:test` context the helpers need (same shape on Deno and Bun). */
export interface CleanupContext {
  after(fn: () => void | Promise<void>): void;
}

/**
 * Makes a fresh, empty temp folder and removes it (recursively) when the test ends.
 *
 * @param t The test context; cleanup is registered with `t.after`.
 * @returns The folder's absolute path.
 */
export function tempDir(t: CleanupContext): string {
  const dir = mkdtempSync(join(tmpdir(), "emdb-test-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A database path inside a fresh temp folder (the file itself does not exist yet).
 *
 * @param t The test context.
 * @param name The file name inside the folder.
 * @returns The path.
 */
export function tempDbPath(t: CleanupContext, name = "test.emdb"): string {
  return join(tempDir(t), name);
}

/** True when the tests run under Deno, false under Bun (decided here only). */
const isDeno: boolean = "Deno" in globalThis;

/** Absolute path of a file in `tests/fixtures/`. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A JavaScript runtime the suite knows how to start. */
export type Runtime = "deno" | "bun";

/** The runtime running the tests. */
export const currentRuntime: Runtime = isDeno ? "deno" : "bun";

/** The other runtime (for files written by one and read by the other). */
export const otherRuntime: Runtime = isDeno ? "bun" : "deno";

/**
 * The executable of a runtime: this process's own for the current one, the pinned
 * `node_modules/.bin/<name>` for the other; `undefined` when it is not installed.
 */
export function runtimeExecutable(runtime: Runtime): string | undefined {
  if (runtime === currentRuntime) return process.execPath;
  const bin = fileURLToPath(new URL(`../node_modules/.bin/${runtime}`, import.meta.url));
  return existsSync(bin) ? bin : undefined;
}

/**
 * The command line that runs `script` with a runtime (by default the one running the tests).
 *
 * @returns `[executable, ...arguments]`.
 */
export function runtimeCommand(
  script: string,
  args: readonly string[] = [],
  runtime: Runtime = currentRuntime,
): [string, string[]] {
  const exe = runtimeExecutable(runtime);
  if (exe === undefined) throw new Error(`${runtime} is not installed in node_modules/.bin`);
  return runtime === "deno" ? [exe, ["run", "-A", script, ...args]] : [exe, [script, ...args]];
}

/** How a child process ended and what it printed. */
export interface ChildResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a fixture script to completion in a child process, killing it with
 * SIGKILL if it takes longer than `timeoutMs` (so a hang fails the test instead
 * of hanging the suite).
 *
 * @param script A fixture file name (in `tests/fixtures/`).
 * @param args Its arguments.
 * @param options Environment, working folder, time limit and runtime (default: the current one).
 * @returns Exit code, signal, output and whether the time limit struck.
 */
export function runFixture(
  script: string,
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; runtime?: Runtime } = {},
): Promise<ChildResult> {
  const [cmd, argv] = runtimeCommand(fixture(script), args, options.runtime);
  const child = spawn(cmd, argv, {
    env: options.env ?? { ...process.env } as Record<string, string>,
    cwd: options.cwd ?? process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let timedOut = false;
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (d: string) => (stdout += d));
  child.stderr.on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * A child process whose stdout is read line by line while it runs, so the test
 * can wait for a line and then kill it.
 */
export class LiveChild {
  /** Every complete line printed so far. */
  readonly lines: string[] = [];
  /** Everything printed on stderr so far. */
  stderr = "";
  /** The child's process id. */
  readonly pid: number;
  /** Resolves when the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  #child: ReturnType<typeof spawn>;
  #partial = "";
  #waiters: Waiter[] = [];
  #done = false;

  constructor(script: string, args: readonly string[], env?: Record<string, string>, runtime?: Runtime) {
    const [cmd, argv] = runtimeCommand(fixture(script), args, runtime);
    this.#child = spawn(cmd, argv, {
      env: env ?? { ...process.env } as Record<string, string>,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.pid = this.#child.pid ?? -1;
    this.#child.stdout!.setEncoding("utf8");
    this.#child.stderr!.setEncoding("utf8");
    this.#child.stdout!.on("data", (d: string) => this.#onData(d));
    this.#child.stderr!.on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      this.#child.on("close", (code, signal) => {
        if (this.#partial !== "") this.#push(this.#partial);
        this.#partial = "";
        this.#done = true;
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(
            new Error(
              `child exited (code ${code}, signal ${signal}) before the expected line; stderr:\n${this.stderr}`,
            ),
          );
        }
        resolve({ code, signal });
      });
    });
  }

  #onData(d: string): void {
    const parts = (this.#partial + d).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) this.#push(line);
  }

  #push(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(line)) return true;
      clearTimeout(w.timer);
      w.resolve(line);
      return false;
    });
  }

  /**
   * Resolves with the first line (already printed or to come) matching `pred`;
   * rejects if the child exits first or `timeoutMs` passes.
   */
  waitForLine(pred: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    const seen = this.lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.#done) return Promise.reject(new Error(`child exited before the expected line; stderr:\n${this.stderr}`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          reject(new Error(`no expected line from the child within ${timeoutMs} ms; stderr:\n${this.stderr}`));
        }, timeoutMs),
      };
      this.#waiters.push(w);
    });
  }

  /** Sends SIGKILL (if still running) and waits until the process is gone. */
  async kill(): Promise<{ code: number | null; signal: string | null }> {
    if (!this.#done) this.#child.kill("SIGKILL");
    return await this.exited;
  }
}

interface Waiter {
  pred: (line: string) => boolean;
  resolve: (line: string) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Sleeps for `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { Rng } from "./_rng.ts";

/**
 * The seed for a random test: `$EMDB_TEST_SEED` when set (to replay a failure),
 * otherwise a fresh random one.
 */
export function testSeed(): number {
  const fromEnv = process.env.EMDB_TEST_SEED;
  if (fromEnv !== undefined && fromEnv !== "") return Number(fromEnv) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/**
 * Runs `fn` and, if it throws, adds the seed to the error so the failure can be
 * replayed with `EMDB_TEST_SEED=<seed>`.
 */
export async function withSeed(seed: number, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const note = `[replay with EMDB_TEST_SEED=${seed}]`;
    console.error(note);
    if (e instanceof Error) {
      e.message = `${note} ${e.message}`;
      throw e;
    }
    throw new Error(`${note} ${String(e)}`);
  }
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Hex of bytes, for messages. */
export function hex(b: Uint8Array, max = 64): string {
  let s = "";
  for (let i = 0; i < Math.min(b.length, max); i++) s += b[i]!.toString(16).padStart(2, "0");
  return b.length > max ? `${s}…(${b.length} bytes)` : s;
}

/** True when two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Asserts that `actual` holds exactly the bytes `expected` (or both are undefined). */
export function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined, what = "value"): void {
  if (bytesEqual(actual, expected)) return;
  const show = (b: Uint8Array | undefined) => (b === undefined ? "undefined" : hex(b));
  assert.fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Reads a whole file as bytes. */
export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** Index of `needle` in `haystack` at or after `from`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(
    Buffer.from(needle.buffer, needle.byteOffset, needle.length),
    from,
  );
}

/**
 * Asserts that `fn` throws an {@linkcode EmdbError} with `code` and returns it.
 *
 * @param fn The call expected to throw.
 * @param code The expected code.
 * @returns The error, for further checks.
 */
export function assertEmdbError(fn: () => unknown, code: EmdbErrorCode): EmdbError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) assert.fail(`expected EmdbError ${code}, but nothing was thrown`);
  if (!(thrown instanceof EmdbError)) {
    assert.fail(`expected EmdbError ${code}, got ${(thrown as Error)?.name}: ${(thrown as Error)?.message}`);
  }
  assert.equal(thrown.code, code, `expected code ${code}, got ${thrown.code}: ${thrown.message}`);
  return thrown;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32C (Castagnoli) of `buf[start, end)`, written independently of the engine
 * so that tests can forge frames whose checksum is valid.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Size of the journal header. */
export const HEADER_BYTES = 256;
/** Size of a plain frame header. */
export const FRAME_HEADER_BYTES = 16;

/** Length of a plain put frame with a key and value of these sizes (8-byte aligned). */
export function putFrameBytes(keyBytes: number, valueBytes: number): number {
  return Math.ceil((FRAME_HEADER_BYTES + keyBytes + valueBytes) / 8) * 8;
}
