/**
 * A small application built on emdb: opens the database at the path given on
 * the command line, counts the run, writes a batch of records, reads every one
 * back, and closes. It is what the suite compiles into single-file executables
 * (`bun build --compile`, `deno compile`) and runs from another folder.
 *
 * ```sh
 * deno run --allow-ffi --allow-read --allow-write examples/app.ts ./app.emdb
 * bun examples/app.ts ./app.emdb
 * bun build --compile examples/app.ts --outfile emdb-app && ./emdb-app ./app.emdb
 * ```
 *
 * `--hold` keeps the database open after the round trip until standard input
 * closes, so a second copy started meanwhile shows the cross-process lock.
 *
 * Exit codes: 0 done, 1 an `EmdbError` (its code is printed, e.g.
 * `emdb-app: LOCK_BUSY: Cannot open database "…": lock held by process 4242`),
 * 2 usage, 3 a value read back differs from the one written.
 *
 * @module
 */
import process from "node:process";
import { Emdb, EmdbError } from "../mod.ts"; // in your own app: from "@emdb/emdb"

/** Records written and read back on every run. */
export const RECORDS_PER_RUN = 100;

const USAGE = "usage: emdb-app <database-path> [--hold]";

/** The parsed command line of the app. */
export interface AppArgs {
  /** The database file. */
  path: string;
  /** Keep the database open until standard input closes. */
  hold: boolean;
}

/**
 * Parses `[path, --hold?]`.
 *
 * @param argv The arguments after the program name.
 * @returns The parsed arguments, or a usage message.
 */
export function parseArgs(argv: readonly string[]): AppArgs | string {
  const hold = argv.includes("--hold");
  const rest = argv.filter((a) => a !== "--hold");
  if (rest.length !== 1 || rest[0] === "" || rest[0]!.startsWith("-")) return USAGE;
  return { path: rest[0]!, hold };
}

function waitForStdinEnd(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on("end", resolve);
    process.stdin.on("close", resolve);
    process.stdin.on("error", resolve);
    process.stdin.resume();
  });
}

/**
 * Runs the app: one counted round trip on the database at `args.path`.
 *
 * @param args The parsed command line.
 * @param print Where progress lines go.
 * @returns The process exit code.
 */
export async function runApp(args: AppArgs, print: (line: string) => void): Promise<number> {
  using db = Emdb.open(args.path);
  print(`opened ${db.path} (${db.stats().openedFrom})`);

  const runs = Number(db.getString("app:runs") ?? "0") + 1;
  const tag = `run ${runs} of process ${process.pid}`;
  db.set("app:runs", String(runs));
  db.setMany(
    Array.from({ length: RECORDS_PER_RUN }, (_, i) => [`app:record:${i}`, `record ${i}, ${tag}`] as const),
  );
  db.flush();
  print(`wrote ${RECORDS_PER_RUN} records (${tag})`);

  for (let i = 0; i < RECORDS_PER_RUN; i++) {
    const got = db.getString(`app:record:${i}`);
    if (got !== `record ${i}, ${tag}`) {
      print(`mismatch at app:record:${i}: ${JSON.stringify(got)}`);
      return 3;
    }
  }
  print(`read back ${RECORDS_PER_RUN} records: ok; runs so far: ${runs}`);

  if (args.hold) {
    print(`holding the database (pid ${process.pid}) until stdin closes`);
    await waitForStdinEnd();
  }
  db.close();
  print("closed");
  return 0;
}

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === "string") {
    console.error(args);
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = await runApp(args, (line) => console.log(line));
    } catch (e) {
      if (!(e instanceof EmdbError)) throw e;
      console.error(`emdb-app: ${e.code}: ${e.message}`);
      process.exitCode = 1;
    }
  }
}
