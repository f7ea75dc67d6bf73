/**
 * `emdb verify`: reads the journal without opening the database (no lock, no
 * write: it works while another process has the database open) and checks
 * every record with `src/engine/verify.ts`.
 *
 * @module
 */
import * as fs from "node:fs";
import type { Header } from "../format/header.ts";
import { hasDamage, verifyJournal, type VerifyReport } from "../engine/verify.ts";
import type { Command } from "./command.ts";
import { lockState, missing, type Target } from "./database.ts";
import { CliError, EXIT } from "./exit_codes.ts";
import { bytesText, count } from "./output.ts";
import { percent, type Progress } from "./progress.ts";

const READ_CHUNK = 16 * 1024 * 1024;

/**
 * Reads a whole file into one buffer (a snapshot of its size when opened).
 *
 * @returns The bytes, or `undefined` when the file does not exist.
 */
function readSnapshot(path: string, progress: Progress): Uint8Array | undefined {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return undefined;
    throw new CliError(
      EXIT.DATABASE,
      `IO: cannot read "${path}": ${(e as { code?: string }).code ?? (e as Error).message}`,
    );
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CliError(EXIT.DATABASE, `INVALID_CONFIG: "${path}" is not a regular file`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(st.size);
    } catch {
      throw new CliError(EXIT.DATABASE, `IO: cannot hold "${path}" (${count(st.size)} bytes) in memory to verify it`);
    }
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, Math.min(READ_CHUNK, bytes.length - done), done);
      if (n === 0) break; // the file shrank meanwhile (a close trimmed its preallocated space)
      done += n;
      progress.update(`reading ${bytesText(done)} of ${bytesText(bytes.length)} (${percent(done, bytes.length)})`);
    }
    return done === bytes.length ? bytes : bytes.subarray(0, done);
  } finally {
    fs.closeSync(fd);
  }
}

function readHint(path: string): Uint8Array | undefined {
  try {
    if (!fs.statSync(path).isFile()) return undefined;
    const b = fs.readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch {
    return undefined;
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}

function headerLine(h: VerifyReport["header"]): string {
  if (h === "empty") return "none (empty file)";
  if (typeof h === "string") {
    return {
      short: "too short",
      magic: "not emdb",
      version: "another format version",
      crc: "damaged (CRC mismatch)",
      flags: "unknown flags",
    }[h];
  }
  const hd = h as Header;
  const created = hd.createdAt > 0 ? `, created ${new Date(hd.createdAt).toISOString()}` : "";
  return `format ${hd.version}${created}, ${count(hd.compactions)} compaction${hd.compactions === 1 ? "" : "s"}`;
}

function humanReport(r: VerifyReport, target: Target, lockNote: string): string {
  const c = r.counts;
  const rows: [string, string][] = [
    ["journal", `${target.path} (${count(r.fileBytes)} bytes)`],
    ["lock", lockNote],
    ["header", headerLine(r.header)],
    [
      "records",
      `${count(r.records)} valid up to byte ${count(r.validEnd)} (${plural(c.put, "put")}, ${
        plural(c.delete, "delete")
      }, ` +
      `${plural(c.namespace, "namespace record")}, ${plural(c.clear, "clear")}, ${
        plural(c.checkpoint, "checkpoint")
      }, ` +
      `${plural(c.batch, "batch", "batches")})`,
    ],
    ["live", `${plural(r.liveKeys, "key")}, ${bytesText(r.liveBytes)}, ${plural(r.namespaces, "named namespace")}`],
  ];
  if (r.zeroTailBytes > 0) {
    rows.push(["tail", `${count(r.zeroTailBytes)} zero bytes of preallocated space (an open trims them)`]);
  }
  const cp = r.checkpoint;
  rows.push([
    "checkpoint",
    cp.state === "none"
      ? "none"
      : cp.state === "usable"
      ? `usable: covers the journal up to byte ${count(cp.covered!)}`
      : `ignored by an open: ${cp.reason}`,
  ]);
  if (r.findings.length === 0) {
    rows.push(["damage", "none"]);
  } else {
    rows.push(["damage", `${r.findings.length}${r.truncated ? "+" : ""} region${r.findings.length === 1 ? "" : "s"}`]);
    for (const f of r.findings) rows.push(["", `${f.kind} at bytes ${count(f.offset)}-${count(f.end)}: ${f.reason}`]);
    if (r.recordsAfterDamage > 0) {
      rows.push(["after damage", `${count(r.recordsAfterDamage)} valid records lie after the first damage`]);
    }
  }
  rows.push(["open", r.open.text]);
  rows.push(["result", hasDamage(r) ? "DAMAGED" : "OK"]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n";
}

const verify: Command = {
  name: "verify",
  synopsis: "",
  summary: "check every record of the journal (CRCs, format rules) and report damage with offsets",
  details: [
    "Read-only: does not open the database or take its lock, so it also works while another",
    "process has the database open (it checks a snapshot; a write in progress at that moment",
    "can show as a torn tail). Reports what an open would do about any damage.",
    "Exits with 0 when the journal is sound, 4 when damage was found, 3 when the file is",
    "missing or not an emdb journal. Holds the journal in memory while it checks it.",
  ].join("\n"),
  options: { json: { type: "boolean", help: "print the report as JSON" } },
  positionals: { names: [], min: 0 },
  run(ctx) {
    const target = ctx.target();
    const progress = ctx.progress("verify");
    let report: VerifyReport;
    try {
      const bytes = readSnapshot(target.path, progress);
      if (bytes === undefined) throw missing(target);
      report = verifyJournal(bytes, {
        hint: readHint(`${target.path}.hint`),
        onProgress: (off) =>
          progress.update(`checked ${bytesText(off)} of ${bytesText(bytes.length)} (${percent(off, bytes.length)})`),
      });
    } finally {
      progress.done();
    }
    if (report.open.action === "cannot-open") {
      const code = report.header === "magic" || report.header === "short" ? "NOT_EMDB" : "VERSION_MISMATCH";
      throw new CliError(
        EXIT.DATABASE,
        `${code}: "${target.path}" ${report.open.text.replace(/^refuses with \w+: /, "is ")}`,
      );
    }
    let lock;
    try {
      lock = lockState(target.path, false);
    } catch {
      lock = undefined;
    }
    const holder = lock?.holder;
    if (ctx.args.values.json === true) {
      const { header, ...rest } = report;
      const h = typeof header === "string"
        ? header
        : { version: header.version, createdAt: header.createdAt, compactions: header.compactions };
      ctx.out.write(
        `${
          JSON.stringify({
            path: target.path,
            holderPid: holder?.pid ?? null,
            header: h,
            damaged: hasDamage(report),
            ...rest,
          })
        }\n`,
      );
    } else {
      const lockNote = holder !== undefined
        ? `holder record names process ${holder.pid}: the database is probably open; this checked a snapshot`
        : "no holder record (not open)";
      ctx.out.write(humanReport(report, target, lockNote));
    }
    return Promise.resolve(hasDamage(report) ? EXIT.DAMAGED : EXIT.OK);
  },
};

/** `verify`. */
export const VERIFY_COMMANDS: readonly Command[] = [verify];
