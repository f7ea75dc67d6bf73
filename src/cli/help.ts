/**
 * The help texts of `emdb`: the overview (`emdb --help`) and each command's
 * (`emdb <command> --help`), made from the commands' own descriptions.
 *
 * @module
 */
import type { OptionSpecs } from "./args.ts";
import type { Command } from "./command.ts";

/** The options every command takes. */
export const COMMON_OPTIONS: OptionSpecs = {
  db: { type: "string", arg: "path", help: "the database file (default: the embedded default database)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

function optionLines(specs: OptionSpecs): string[] {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${name}${s.type === "string" ? ` <${s.arg ?? "value"}>` : ""}`;
    return [flag, s.help] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`);
}

/**
 * The help of one command.
 *
 * @param cmd The command.
 * @returns The text (ends with a newline).
 */
export function commandHelp(cmd: Command): string {
  const lines = [`Usage: emdb [--db <path>] ${cmd.name}${cmd.synopsis ? ` ${cmd.synopsis}` : ""} [options]`, ""];
  lines.push(cmd.summary);
  if (cmd.details) lines.push("", ...cmd.details.split("\n"));
  lines.push("", "Options:", ...optionLines({ ...cmd.options, ...COMMON_OPTIONS }));
  return `${lines.join("\n")}\n`;
}

/**
 * The overview: every command and the exit codes.
 *
 * @param commands Every command.
 * @param version The package version.
 * @returns The text (ends with a newline).
 */
export function globalHelp(commands: readonly Command[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `emdb ${version}: the command line of the emdb embedded key-value database`,
    "",
    "Usage: emdb [--db <path>] <command> [arguments] [options]",
    "       emdb <command> --help",
    "",
    "Without --db, commands work on the embedded default database",
    "($XDG_DATA_HOME/emdb/emdb-default.emdb on Linux; see `emdb stats`).",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Global options:",
    "  --db <path>     the database file",
    "  -h, --help      show help (after a command: that command's help)",
    "  -V, --version   show the version",
    "",
    "Exit codes: 0 ok, 1 not found, 2 usage error, 3 database error, 4 damage found,",
    "5 database locked by another process, 6 bad input (nothing was written).",
    'Keys and values that start with "-" go after "--": emdb set -- -k -v',
    "",
  ].join("\n");
}
