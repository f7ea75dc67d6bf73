/**
 * The `emdb` command line: picks the command, parses its arguments, runs it
 * and turns whatever happens into an exit code and, on failure, one line on
 * standard error (`emdb: <message>`).
 *
 * @module
 */
import process from "node:process";
import { VERSION } from "../version.ts";
import { parseCommand, parseGlobal, quoteArg } from "./args.ts";
import { ADMIN_COMMANDS } from "./admin_commands.ts";
import type { ByteSource, Command, Context } from "./command.ts";
import { resolveTarget, type Target } from "./database.ts";
import { DUMP_COMMANDS } from "./dump_commands.ts";
import { describeFailure, EXIT, usageError } from "./exit_codes.ts";
import { commandHelp, COMMON_OPTIONS, globalHelp } from "./help.ts";
import { KV_COMMANDS } from "./kv_commands.ts";
import { Output, type WritableLike, writeStderr } from "./output.ts";
import { Progress } from "./progress.ts";
import { VERIFY_COMMANDS } from "./verify_command.ts";

/** Every command, in the order `emdb --help` lists them. */
export const COMMANDS: readonly Command[] = [
  ...ADMIN_COMMANDS.slice(0, 1), // stats
  ...KV_COMMANDS,
  ...DUMP_COMMANDS,
  ...VERIFY_COMMANDS,
  ...ADMIN_COMMANDS.slice(1),
];

/** The streams a run uses (the process's own by default; tests may pass others). */
export interface Streams {
  /** Where results go. */
  stdout: WritableLike;
  /** Input of `load` and `set --stdin`. */
  stdin: ByteSource;
  /** Whether standard input is a terminal. */
  stdinIsTerminal: boolean;
  /** Writes to standard error. */
  stderr: (text: string) => void;
  /** Whether standard error is a terminal (progress is drawn only then). */
  stderrIsTerminal: boolean;
}

function processStreams(): Streams {
  return {
    stdout: process.stdout as unknown as WritableLike,
    stdin: process.stdin as unknown as ByteSource,
    stdinIsTerminal: process.stdin.isTTY === true,
    stderr: writeStderr,
    stderrIsTerminal: process.stderr.isTTY === true,
  };
}

/**
 * Runs the command line `argv` and returns the exit code. Never throws: every
 * failure becomes an exit code and one line on standard error.
 *
 * @param argv The arguments after the program's name.
 * @param streams Where to read and write (default: the process's own).
 * @returns The exit code (see {@linkcode EXIT}).
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const chunks: Uint8Array[] = [];
 * const code = await main(["--version"], {
 *   stdout: { write: (c, cb) => (chunks.push(c), cb?.(), true), on: () => {}, off: () => {} },
 *   stdin: [],
 *   stdinIsTerminal: false,
 *   stderr: () => {},
 *   stderrIsTerminal: false,
 * });
 * console.log(code, new TextDecoder().decode(chunks[0])); // 0 "emdb 0.1.0\n"
 * ```
 */
export async function main(argv: readonly string[], streams: Streams = processStreams()): Promise<number> {
  const out = new Output(streams.stdout);
  let code: number;
  try {
    code = await dispatch(argv, streams, out);
  } catch (e) {
    const failure = describeFailure(e);
    code = failure.code;
    await out.end();
    streams.stderr(`emdb: ${failure.message}\n`);
    return code;
  }
  await out.end();
  return code;
}

async function dispatch(argv: readonly string[], streams: Streams, out: Output): Promise<number> {
  const g = parseGlobal(argv);
  if (g.version) {
    out.write(`emdb ${VERSION}\n`);
    return EXIT.OK;
  }
  if (g.command === undefined) {
    if (g.help) {
      out.write(globalHelp(COMMANDS, VERSION));
      return EXIT.OK;
    }
    streams.stderr(globalHelp(COMMANDS, VERSION));
    throw usageError("no command given");
  }
  if (g.command === "help") {
    const about = COMMANDS.find((c) => c.name === g.rest[0]);
    out.write(about ? commandHelp(about) : globalHelp(COMMANDS, VERSION));
    return EXIT.OK;
  }
  const cmd = COMMANDS.find((c) => c.name === g.command);
  if (cmd === undefined) {
    throw usageError(`unknown command ${quoteArg(g.command)} (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
  }
  if (g.help) {
    out.write(commandHelp(cmd));
    return EXIT.OK;
  }
  const args = parseCommand(cmd.name, g.rest, { ...cmd.options, ...COMMON_OPTIONS }, cmd.positionals);
  if (args.values.help === true) {
    out.write(commandHelp(cmd));
    return EXIT.OK;
  }
  const local = args.values.db;
  if (typeof local === "string" && g.db !== undefined) throw usageError("--db is given twice");
  if (local === "") throw usageError("option --db needs a non-empty path");
  const db = typeof local === "string" ? local : g.db;
  let target: Target | undefined;
  const ctx: Context = {
    args,
    target: () => (target ??= resolveTarget(db)),
    out,
    stdin: streams.stdin,
    stdinIsTerminal: streams.stdinIsTerminal,
    progress: (label) => new Progress(label, { enabled: streams.stderrIsTerminal, write: (t) => streams.stderr(t) }),
  };
  return await cmd.run(ctx);
}
