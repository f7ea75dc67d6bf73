/**
 * Command-line parsing for `emdb`: the global options before the command,
 * then each command's own options, with `node:util`'s `parseArgs` (built into
 * both runtimes and into compiled executables, so no dependency), and the
 * conversions of option values (numbers, base64, keys).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import type { Key } from "../codec.ts";
import { usageError } from "./exit_codes.ts";

/** One option of a command. */
export interface OptionSpec {
  /** `"string"` takes a value, `"boolean"` is a switch. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
  /** Name of the value in help (`<ms>`), for string options. */
  arg?: string;
  /** One line of help. */
  help: string;
}

/** The options of a command, by long name. */
export type OptionSpecs = Record<string, OptionSpec>;

/** A parsed command line: option values and positional arguments. */
export interface Parsed {
  /** Values of the options given (strings, or `true` for switches). */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** What comes before the command: `--db`, `--help`, `--version`. */
export interface GlobalArgs {
  /** `--db <path>`, when given. */
  db: string | undefined;
  /** `--help` / `-h` before the command. */
  help: boolean;
  /** `--version` / `-V`. */
  version: boolean;
  /** The command's name, when given. */
  command: string | undefined;
  /** Everything after the command's name. */
  rest: string[];
}

/**
 * Splits the global options from the command and its arguments.
 *
 * @param argv The arguments (without the runtime and script).
 * @returns The global options, the command and the rest.
 * @throws {CliError} Exit code 2 for an unknown option before the command.
 *
 * @example
 * ```ts
 * import { parseGlobal } from "./args.ts";
 * const g = parseGlobal(["--db", "app.emdb", "get", "k"]);
 * console.log(g.db, g.command, g.rest); // "app.emdb" "get" ["k"]
 * ```
 */
export function parseGlobal(argv: readonly string[]): GlobalArgs {
  const g: GlobalArgs = { db: undefined, help: false, version: false, command: undefined, rest: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    if (a === "--help" || a === "-h") g.help = true;
    else if (a === "--version" || a === "-V") g.version = true;
    else if (a === "--db" || a.startsWith("--db=")) {
      if (g.db !== undefined) throw usageError("--db is given twice");
      const v = a === "--db" ? argv[++i] : a.slice(5);
      if (v === undefined) throw usageError("option --db needs a path");
      g.db = checkPath(v);
    } else throw usageError(`unknown option ${quoteArg(a)} (a command's options go after the command)`);
  }
  g.command = argv[i];
  g.rest = argv.slice(i + 1);
  return g;
}

function checkPath(p: string): string {
  if (p === "") throw usageError("option --db needs a non-empty path");
  return p;
}

/** Quotes an argument for a message when it holds anything unusual. */
export function quoteArg(a: string): string {
  return /^[\w.,:/@%+=-]+$/.test(a) ? a : JSON.stringify(a);
}

/**
 * Parses a command's arguments against its options.
 *
 * @param command The command's name (for messages).
 * @param args Its arguments.
 * @param specs Its options.
 * @param positionals How many positional arguments it takes, and their names (for messages).
 * @returns The values and positionals.
 * @throws {CliError} Exit code 2 for an unknown option, a missing value or a wrong number of arguments.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./args.ts";
 * const p = parseCommand("get", ["k", "--json"], { json: { type: "boolean", help: "" } }, { names: ["key"], min: 1 });
 * console.log(p.positionals, p.values.json); // ["k"] true
 * ```
 */
export function parseCommand(
  command: string,
  args: readonly string[],
  specs: OptionSpecs,
  positionals: { names: readonly string[]; min: number },
): Parsed {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = s.short === undefined ? { type: s.type } : { type: s.type, short: s.short };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageError(`${command}: ${parseError(e, specs)}`);
  }
  const { values, positionals: pos } = parsed;
  if (values.help === true) return { values, positionals: pos };
  if (pos.length < positionals.min) {
    const missing = positionals.names.slice(pos.length, positionals.min).map((n) => `<${n}>`).join(" ");
    throw usageError(`${command}: missing ${missing} (see emdb ${command} --help)`);
  }
  if (pos.length > positionals.names.length) {
    const extra = pos[positionals.names.length]!;
    const hint = extra.startsWith("-") ? "" : " (quote an argument that holds spaces)";
    throw usageError(`${command}: unexpected argument ${quoteArg(extra)}${hint}`);
  }
  return { values, positionals: pos };
}

/** A one-line message for a `parseArgs` error (its own messages differ between versions). */
function parseError(e: unknown, specs: OptionSpecs): string {
  const err = e as { code?: string; message?: string };
  const message = err.message ?? String(e);
  const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? "";
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const known = Object.keys(specs).map((k) => `--${k}`).join(", ");
      return `unknown option ${flag} (this command takes: ${known}; put a value that starts with "-" after "--")`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /does not take/.test(message)
        ? `option ${flag} does not take a value`
        : `option ${flag} needs a value${/argument is ambiguous/.test(message) ? ` (write ${flag}=<value>)` : ""}`;
    default:
      return message.split("\n")[0]!;
  }
}

/**
 * Reads a whole-number option.
 *
 * @param name The option (for messages).
 * @param v Its text.
 * @param min The smallest allowed value.
 * @returns The number.
 * @throws {CliError} Exit code 2 when it is not a whole number ≥ `min`.
 */
export function intOption(name: string, v: string, min: number): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw usageError(`option --${name} needs a whole number ≥ ${min}, got ${quoteArg(v)}`);
  }
  return n;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes strict base64 (standard alphabet, padded; no spaces).
 *
 * @param text The base64 text.
 * @returns The bytes, or `undefined` when `text` is not strict base64.
 *
 * @example
 * ```ts
 * import { fromBase64 } from "./args.ts";
 * console.log(fromBase64("AAH/")); // Uint8Array [0, 1, 255]
 * ```
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const b = Buffer.from(text, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Encodes bytes as base64.
 *
 * @param bytes The bytes.
 * @returns Standard, padded base64.
 */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/**
 * A key from the command line: the text itself, or bytes when it is given in base64.
 *
 * @param what The argument's name (for messages).
 * @param text The argument.
 * @param base64 Whether it is base64.
 * @returns The key.
 * @throws {CliError} Exit code 2 for bad base64.
 */
export function keyArg(what: string, text: string, base64: boolean): Key {
  if (!base64) return text;
  const b = fromBase64(text);
  if (b === undefined) throw usageError(`${what} ${quoteArg(text)} is not valid base64 (--key-base64)`);
  return b;
}

/**
 * At most one of several switches.
 *
 * @param values Parsed values.
 * @param names The switches that exclude each other.
 * @returns The one given, or `undefined`.
 * @throws {CliError} Exit code 2 when more than one is given.
 */
export function oneOf(values: Parsed["values"], names: readonly string[]): string | undefined {
  const given = names.filter((n) => values[n] !== undefined && values[n] !== false);
  if (given.length > 1) throw usageError(`options ${given.map((n) => `--${n}`).join(" and ")} exclude each other`);
  return given[0];
}
