/**
 * `dump` and `load`: a database as JSON Lines (see `records.ts`), out and in.
 *
 * `load` is all or nothing. It reads and checks the whole input first (a bad
 * line is reported with its number before the database is even opened), then
 * writes every entry in one transaction: one batch record, applied whole or
 * not at all, also across a crash. So a failing line, an I/O error or a kill
 * in the middle changes nothing. The price: the input is held in memory, and
 * one load holds at most what one batch record holds (1 GiB); split bigger
 * inputs (each file is then atomic on its own).
 *
 * @module
 */
import * as fs from "node:fs";
import type { Emdb } from "../db.ts";
import type { BatchEntry } from "../store.ts";
import { oneOf } from "./args.ts";
import type { ByteSource, Command, Context } from "./command.ts";
import { openTarget } from "./database.ts";
import { badInput, CliError, EXIT, usageError } from "./exit_codes.ts";
import { storeOf, ttlLeft } from "./kv_commands.ts";
import { bytesText, count } from "./output.ts";
import { percent } from "./progress.ts";
import { type DumpEntry, entryLine, parseEntryLine, readLines } from "./records.ts";

const dump: Command = {
  name: "dump",
  synopsis: "",
  summary: "write every key of a namespace (or all of them) as JSON Lines, in key order",
  details: [
    'One object per key: {"ns":"","key":"k","value":"v"}, with "key_b64" for keys written',
    'as bytes, "value_b64" for values that are not UTF-8 text, and "ttl" (ms left) for keys',
    "that expire. `emdb dump --all | emdb --db copy.emdb load` copies a database.",
  ].join("\n"),
  options: {
    ns: { type: "string", arg: "name", help: "dump this namespace (default: the default namespace)" },
    all: { type: "boolean", help: "dump the default namespace and every other one" },
  },
  positionals: { names: [], min: 0 },
  async run(ctx) {
    oneOf(ctx.args.values, ["ns", "all"]);
    const ns = typeof ctx.args.values.ns === "string" ? ctx.args.values.ns : "";
    using db = openTarget(ctx.target(), false);
    storeOf(db, ns, false); // a missing namespace: exit 1 before anything is written
    const names = ctx.args.values.all === true ? ["", ...db.namespaces()] : [ns];
    const progress = ctx.progress("dump");
    let total = 0;
    if (progress.enabled) { for (const n of names) total += storeOf(db, n, false).size; }
    // The first ordered walk of a namespace sorts its keys first: say so rather than sit silent.
    progress.show(`putting ${count(total)} keys in order`);
    let n = 0;
    const out = ctx.out;
    try {
      outer: for (const name of names) {
        const store = storeOf(db, name, false);
        for (const [key, value] of store.range()) {
          const ttl = ttlLeft(store, key);
          if (ttl === -1) continue;
          const pending = out.write(entryLine(name, key, value, ttl));
          if (pending) await pending;
          if (out.broken) break outer;
          if ((++n & 1023) === 0) progress.update(`${count(n)} of ${count(total)} keys (${percent(n, total)})`);
        }
      }
    } finally {
      progress.done();
    }
    return EXIT.OK;
  },
};

/** Where `load` reads from: a file, or standard input. */
function inputOf(ctx: Context): { source: ByteSource; size: number | undefined; name: string } {
  const file = ctx.args.positionals[0];
  if (file === undefined || file === "-") {
    if (ctx.stdinIsTerminal) {
      throw usageError("load: reads JSON Lines from a file or standard input; name a file or pipe one in");
    }
    return { source: ctx.stdin, size: undefined, name: "standard input" };
  }
  let size: number;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw badInput(`cannot read "${file}": not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw badInput(`cannot read "${file}": ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  return { source: fs.createReadStream(file), size, name: file };
}

/** Reads and checks every line. */
async function readEntries(ctx: Context): Promise<DumpEntry[]> {
  const input = inputOf(ctx);
  const progress = ctx.progress("load: reading");
  const entries: DumpEntry[] = [];
  let bytes = 0;
  try {
    for await (const [line, text] of readLines(input.source, (n) => (bytes = n))) {
      entries.push(parseEntryLine(text, line));
      if ((entries.length & 1023) === 0) {
        const of = input.size === undefined ? "" : ` of ${bytesText(input.size)} (${percent(bytes, input.size)})`;
        progress.update(`${count(entries.length)} entries, ${bytesText(bytes)}${of}`);
      }
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw badInput(`cannot read ${input.name}: ${(e as { code?: string }).code ?? (e as Error).message}`);
  } finally {
    progress.done();
  }
  return entries;
}

/**
 * Writes every entry as one batch record. Entries for one namespace that
 * already exists (the usual dump of one namespace) go through `setMany`, which
 * writes that same single batch several times faster than a transaction's
 * staging; anything else (several namespaces, or one to create) is one
 * transaction, which creates namespaces inside the same batch.
 */
function writeAll(db: Emdb, entries: readonly DumpEntry[], spaces: ReadonlySet<string>): void {
  const opts = (e: DumpEntry) => (e.ttl === undefined ? undefined : { ttl: e.ttl });
  const [only] = spaces;
  if (spaces.size === 1 && (only === "" || db.namespaces().includes(only!))) {
    storeOf(db, only, false).setMany(entries.map((e): BatchEntry => {
      const o = opts(e);
      return o === undefined ? [e.key, e.value] : [e.key, e.value, o];
    }));
    return;
  }
  db.transaction((tx) => {
    for (const e of entries) (e.ns === "" ? tx : tx.namespace(e.ns)).set(e.key, e.value, opts(e));
  });
}

const load: Command = {
  name: "load",
  synopsis: "[file|-]",
  summary: "add the keys of a JSON Lines file (or standard input): all or nothing",
  details: [
    "Reads the format dump writes. Every line is checked before anything is written; then",
    "all of them are written in one transaction, so a bad line (reported with its number),",
    "an error or a crash leaves the database as it was. Existing keys are overwritten; a",
    '"ttl" counts from the load. One load holds at most 1 GiB of records: split bigger inputs.',
  ].join("\n"),
  options: {},
  positionals: { names: ["file"], min: 0 },
  async run(ctx) {
    const entries = await readEntries(ctx);
    using db = openTarget(ctx.target(), true);
    const progress = ctx.progress("load: writing");
    progress.show(`${count(entries.length)} entries in one transaction`);
    const spaces = new Set(entries.map((e) => e.ns));
    try {
      writeAll(db, entries, spaces);
      db.flush();
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) {
        throw badInput(`cannot load ${count(entries.length)} entries in one transaction: ${e.message}`);
      }
      throw e;
    } finally {
      progress.done();
    }
    db.close();
    const where = spaces.size === 1 ? "1 namespace" : `${count(spaces.size)} namespaces`;
    ctx.out.write(`loaded ${count(entries.length)} entries into ${where}\n`);
    return EXIT.OK;
  },
};

/** `dump` and `load`. */
export const DUMP_COMMANDS: readonly Command[] = [dump, load];
