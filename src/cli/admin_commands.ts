/**
 * The commands about the database as a whole: `stats`, `compact`, `backup`,
 * `lock-holder` and `break-lock`.
 *
 * @module
 */
import * as fs from "node:fs";
import { Emdb } from "../db.ts";
import { toFilePath } from "../paths.ts";
import type { Command, Context } from "./command.ts";
import { lockState, openTarget } from "./database.ts";
import { EXIT } from "./exit_codes.ts";
import { bytesText, count } from "./output.ts";
import type { Progress } from "./progress.ts";

const JSON_OPTION = { json: { type: "boolean" as const, help: "print JSON instead of a table" } };

/** Rows of a two-column table. */
function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}

function sizeCell(n: number): string {
  return n < 1024 ? `${count(n)} B` : `${bytesText(n)} (${count(n)} B)`;
}

const stats: Command = {
  name: "stats",
  synopsis: "",
  summary: "numbers about the database: keys, namespaces, bytes, garbage, index memory",
  details: "",
  options: JSON_OPTION,
  positionals: { names: [], min: 0 },
  run(ctx) {
    const target = ctx.target();
    using db = openTarget(target, false);
    const s = db.stats();
    if (ctx.args.values.json === true) {
      ctx.out.write(`${JSON.stringify({ path: target.path, ...s })}\n`);
      return Promise.resolve(EXIT.OK);
    }
    ctx.out.write(table([
      ["path", target.path + (target.isDefault ? " (default database)" : "")],
      ["live keys", count(s.liveRecords)],
      ["namespaces", `${count(s.namespaceCount)} (besides the default one)`],
      ["journal data", sizeCell(s.logicalSizeBytes)],
      ["live data", sizeCell(s.liveBytes)],
      ["garbage", `${sizeCell(s.garbageBytes)}, ${(s.garbageRatio * 100).toFixed(1)}% (compact gives it back)`],
      ["index memory", `${sizeCell(s.indexBytes)}, ${s.indexBytesPerKey.toFixed(1)} B per key`],
      ["checkpoint", s.checkpointOffset > 0 ? `covers ${sizeCell(s.checkpointOffset)} of the journal` : "none"],
      ["opened from", `${s.openedFrom}${s.replayedBytes > 0 ? `, replayed ${sizeCell(s.replayedBytes)}` : ""}`],
    ]));
    return Promise.resolve(EXIT.OK);
  },
};

/** Shows the time spent while `work` runs (the engine's steps yield to the event loop). */
async function withTicker<T>(progress: Progress, what: string, work: Promise<T>): Promise<T> {
  const timer = progress.enabled ? setInterval(() => progress.update(what), 100) : undefined;
  try {
    return await work;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    progress.done();
  }
}

const compact: Command = {
  name: "compact",
  synopsis: "",
  summary: "rewrite the journal without overwritten, deleted and expired records",
  details: "Atomic: a crash leaves the old journal or the new one, never a mix.",
  options: JSON_OPTION,
  positionals: { names: [], min: 0 },
  async run(ctx) {
    using db = openTarget(ctx.target(), false);
    const before = db.stats().logicalSizeBytes;
    const r = await withTicker(ctx.progress("compact"), `${bytesText(before)} journal`, db.compact());
    db.close();
    if (ctx.args.values.json === true) {
      ctx.out.write(`${JSON.stringify(r)}\n`);
    } else {
      const saved = r.bytesBefore - r.bytesAfter;
      const pct = r.bytesBefore > 0 ? ((saved / r.bytesBefore) * 100).toFixed(1) : "0.0";
      ctx.out.write(
        `compacted: ${bytesText(r.bytesBefore)} -> ${bytesText(r.bytesAfter)} ` +
          `(${count(r.bytesBefore)} -> ${count(r.bytesAfter)} bytes, ${pct}% smaller) in ${Math.round(r.ms)} ms\n`,
      );
    }
    return EXIT.OK;
  },
};

const backup: Command = {
  name: "backup",
  synopsis: "<target>",
  summary: "write a consistent, compacted copy of the database to <target>",
  details: "The copy appears complete or not at all; an existing <target> (not open elsewhere) is replaced.",
  options: {},
  positionals: { names: ["target"], min: 1 },
  async run(ctx) {
    const dest = toFilePath(ctx.args.positionals[0]!);
    using db = openTarget(ctx.target(), false);
    await withTicker(ctx.progress("backup"), "copying", db.backupTo(dest));
    db.close();
    const size = fs.statSync(dest).size;
    ctx.out.write(`backed up to ${dest} (${bytesText(size)})\n`);
    return EXIT.OK;
  },
};

function lockReport(ctx: Context): number {
  const { path } = ctx.target();
  const { holder, holderError, held } = lockState(path);
  if (ctx.args.values.json === true) {
    const o = {
      path,
      held: held ?? null,
      pid: holder?.pid ?? null,
      acquiredAt: holder?.acquiredAt ?? null,
      since: holder && holder.acquiredAt > 0 ? new Date(holder.acquiredAt).toISOString() : null,
      version: holder?.version ?? null,
      holderError: holderError ?? null,
    };
    ctx.out.write(`${JSON.stringify(o)}\n`);
  } else {
    const rows: [string, string][] = [["database", path]];
    rows.push([
      "held now",
      held === true ? "yes" : held === false ? "no" : "cannot tell (the lock file cannot be opened)",
    ]);
    if (holder !== undefined) {
      rows.push(["pid", String(holder.pid)]);
      rows.push(["since", holder.acquiredAt > 0 ? new Date(holder.acquiredAt).toISOString() : "unknown"]);
      rows.push(["version", holder.version ?? "unknown"]);
      if (held === false) {
        rows.push(["note", "stale holder record of a process that ended; `emdb break-lock` removes it"]);
      }
    } else if (holderError !== undefined) {
      rows.push(["holder", `unreadable: ${holderError}`]);
    } else {
      rows.push(["holder", held === true ? "unknown (no holder record)" : "none"]);
    }
    ctx.out.write(table(rows));
  }
  return held === true ? EXIT.OK : EXIT.NOT_FOUND;
}

const lockHolder: Command = {
  name: "lock-holder",
  synopsis: "",
  summary: "who holds the database lock (pid, since, version) and whether it is held now",
  details: [
    "Exits with 0 when the lock is held, 1 when it is not. Finding out takes the lock for an",
    "instant when it is free (a process opening the database in that very instant would see",
    "LOCK_BUSY). Never opens the database.",
  ].join("\n"),
  options: JSON_OPTION,
  positionals: { names: [], min: 0 },
  run(ctx) {
    return Promise.resolve(lockReport(ctx));
  },
};

const breakLock: Command = {
  name: "break-lock",
  synopsis: "",
  summary: "remove the holder record a crashed process left (refused while the lock is held)",
  details: [
    "The operating system releases the lock of a process that died, so a held lock belongs",
    "to a live process: breaking it would let two writers damage the database. This only",
    "removes a stale <path>.lock-meta; it exits with 5 when the lock is held.",
  ].join("\n"),
  options: {},
  positionals: { names: [], min: 0 },
  run(ctx) {
    const { path } = ctx.target();
    let had = false;
    try {
      had = Emdb.lockHolder(path) !== undefined;
    } catch {
      had = true; // an unreadable holder record is removed too
    }
    Emdb.breakLock(path);
    ctx.out.write(had ? `removed the stale holder record of ${path}\n` : `nothing to break: ${path} is not locked\n`);
    return Promise.resolve(EXIT.OK);
  },
};

/** The whole-database commands (verify is in its own file). */
export const ADMIN_COMMANDS: readonly Command[] = [stats, compact, backup, lockHolder, breakLock];
