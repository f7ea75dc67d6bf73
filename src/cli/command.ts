/**
 * What every `emdb` command is made of: its name, help, options and a `run`
 * function that receives a {@linkcode Context}.
 *
 * @module
 */
import type { OptionSpecs, Parsed } from "./args.ts";
import type { Target } from "./database.ts";
import type { Output } from "./output.ts";
import type { Progress } from "./progress.ts";

/** Chunks of input bytes (standard input, a file); text chunks are UTF-8 encoded by readers. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** What a command works with. */
export interface Context {
  /** Option values and positional arguments. */
  args: Parsed;
  /** The database (`--db`, or the default one); resolved on first use. */
  target(): Target;
  /** Standard output. */
  out: Output;
  /** Standard input, as chunks of bytes. */
  stdin: ByteSource;
  /** Whether standard input is a terminal. */
  stdinIsTerminal: boolean;
  /** A progress line on standard error (drawn only when it is a terminal). */
  progress(label: string): Progress;
}

/** One command of `emdb`. */
export interface Command {
  /** Its name (`get`). */
  name: string;
  /** Its arguments, for the usage line (`<key>`). */
  synopsis: string;
  /** One line: what it does. */
  summary: string;
  /** More lines of help (may be empty). */
  details: string;
  /** Its options (`--db` and `--help` are added to every command). */
  options: OptionSpecs;
  /** Names of its positional arguments, and how many are required. */
  positionals: { names: readonly string[]; min: number };
  /** Runs it; returns the exit code. */
  run(ctx: Context): Promise<number>;
}
