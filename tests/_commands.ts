/**
 * Running real executables from tests (the runtimes' own tools, compiled
 * binaries, a package manager): to completion with a time limit, or in the
 * background with a pipe to standard input and line-by-line output.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type ChildResult, currentRuntime, type Runtime, runtimeExecutable } from "./_helpers.ts";

/** Absolute path of the repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("..", import.meta.url)).replace(/[\\/]$/, "");

/** Where and how a command runs. */
export interface CommandOptions {
  /** Working folder (default: the repository root). */
  cwd?: string;
  /** The whole environment (default: this process's, with `NO_COLOR=1`). */
  env?: Record<string, string | undefined>;
  /** SIGKILL after this many milliseconds (default 120,000); the result then has `timedOut`. */
  timeoutMs?: number;
}

function environment(options: CommandOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env ?? { ...process.env, NO_COLOR: "1" })) {
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * Runs a command to completion (standard input closed) and returns how it ended.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param options Folder, environment, time limit.
 * @returns Exit code, signal, output and whether the time limit struck.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<ChildResult> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: environment(options),
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
  }, options.timeoutMs ?? 120_000);
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

/** A command running in the background with a pipe to its standard input. */
export interface BackgroundCommand {
  /** Its process id. */
  readonly pid: number;
  /** Resolves with the first stdout line matching `pred`; rejects if it exits first or after `timeoutMs`. */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Closes its standard input and waits for it to exit (SIGKILL after `timeoutMs`). */
  finish(timeoutMs?: number): Promise<ChildResult>;
  /** SIGKILLs it if it still runs (for cleanup). */
  kill(): void;
}

/**
 * Starts a command with a pipe to its standard input.
 *
 * @param command The executable.
 * @param args Its arguments.
 * @param options Folder and environment (`timeoutMs` is given per wait instead).
 * @returns A handle to wait for its lines and to end it.
 */
export function startCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): BackgroundCommand {
  const child = spawn(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: environment(options),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let ended: { code: number | null; signal: string | null } | undefined;
  const changed: Array<() => void> = [];
  const notify = () => changed.splice(0).forEach((f) => f());
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => {
    stdout += d;
    notify();
  });
  child.stderr!.on("data", (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => {
    child.on("close", (code, signal) => {
      ended = { code, signal };
      notify();
      resolve();
    });
  });
  const completeLines = () => stdout.split("\n").slice(0, -1);
  return {
    pid: child.pid ?? -1,
    waitForLine(pred, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${stdout}\nstderr:\n${stderr}`)),
          timeoutMs,
        );
        const check = () => {
          const line = completeLines().find(pred);
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          } else if (ended !== undefined) {
            clearTimeout(timer);
            reject(
              new Error(`exited (code ${ended.code}) before a matching line; stdout:\n${stdout}\nstderr:\n${stderr}`),
            );
          } else {
            changed.push(check);
          }
        };
        check();
      });
    },
    async finish(timeoutMs = 60_000) {
      child.stdin!.end();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, timeoutMs);
      await exited;
      clearTimeout(timer);
      return { code: ended!.code, signal: ended!.signal, stdout, stderr, timedOut };
    },
    kill() {
      if (ended === undefined) child.kill("SIGKILL");
    },
  };
}

/**
 * The executable of a runtime's own tool (`bun build`, `deno compile`…): the runtime
 * running the tests, or the pinned one in `node_modules/.bin`.
 *
 * @param runtime Which runtime.
 * @returns Its path; throws when it is not installed.
 */
export function toolOf(runtime: Runtime): string {
  const exe = runtimeExecutable(runtime);
  if (exe === undefined || !existsSync(exe)) {
    throw new Error(`${runtime} is not installed in node_modules/.bin (run npm ci); tests run under ${currentRuntime}`);
  }
  return exe;
}
