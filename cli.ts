#!/usr/bin/env -S deno run --allow-ffi --allow-read --allow-write --allow-env
/**
 * The `emdb` command: inspect, edit, dump, load, verify, compact and back up
 * emdb databases from a shell.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write --allow-env cli.ts stats
 * bun cli.ts --db app.emdb get user:1
 * ```
 *
 * `emdb --help` lists the commands, `emdb <command> --help` explains one;
 * docs/CLI.md has all of it, with the exit codes.
 *
 * @example Run a command line from code
 * ```ts ignore
 * import { main } from "./cli.ts";
 * const code = await main(["--db", "app.emdb", "stats", "--json"]);
 * ```
 *
 * @module
 */
import process from "node:process";
import { main } from "./src/cli/main.ts";

export { main };
export type { Streams } from "./src/cli/main.ts";
export type { WritableLike } from "./src/cli/output.ts";
export type { ByteSource } from "./src/cli/command.ts";
export { EXIT, type ExitCode } from "./src/cli/exit_codes.ts";

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
