/**
 * The `emdb` command line, end to end: the CLI runs as a child process (the
 * same runtime as the tests, and a Bun-compiled executable) on temporary
 * databases; the test checks exit codes, output, and the files themselves.
 * A few cheap checks (help texts, usage errors) call `main()` in process.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Emdb } from "../mod.ts";
import { main } from "../cli.ts";
import { Progress } from "../src/cli/progress.ts";
import { entryLine, parseEntryLine } from "../src/cli/records.ts";
import {
  assertBytes,
  crc32c,
  indexOfBytes,
  LiveChild,
  readBytes,
  runtimeCommand,
  runtimeExecutable,
  tempDbPath,
  tempDir,
  utf8,
} from "./_helpers.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

interface CliResult {
  code: number | null;
  stdout: Uint8Array;
  text: string;
  stderr: string;
}

interface CliOptions {
  input?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
  /** Run this executable instead of the runtime + cli.ts (a compiled binary). */
  exe?: string;
}

/** Runs the CLI to completion as a child process. */
function cli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const [cmd, argv] = options.exe !== undefined ? [options.exe, [...args]] : runtimeCommand(CLI, args);
  const child = spawn(cmd, argv, {
    env: options.env ?? { ...process.env } as Record<string, string>,
    cwd: options.cwd ?? process.cwd(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Uint8Array[] = [];
  let stderr = "";
  child.stdout!.on("data", (d: Uint8Array) => out.push(d));
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (stderr += d));
  child.stdin!.on("error", () => {}); // the CLI may exit before reading its input
  child.stdin!.end(options.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdout = new Uint8Array(Buffer.concat(out));
      resolve({ code, stdout, text: new TextDecoder().decode(stdout), stderr });
    });
  });
}

/** Asserts an exit code, showing the output when it differs. */
function assertExit(r: CliResult, code: number, what = ""): void {
  assert.equal(r.code, code, `${what} exit code: stdout ${JSON.stringify(r.text)}, stderr ${JSON.stringify(r.stderr)}`);
}

/** Asserts a failure: the exit code, and one line on stderr that starts with "emdb: " and holds `needle`. */
function assertFailure(r: CliResult, code: number, needle: string): void {
  assertExit(r, code);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.ok(lines[0]!.startsWith("emdb: "), r.stderr);
  assert.ok(lines[0]!.includes(needle), `stderr ${JSON.stringify(r.stderr)} should mention ${JSON.stringify(needle)}`);
}

/** Runs `main()` in this process with captured streams. */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const chunks: Uint8Array[] = [];
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (c, cb) => (chunks.push(c.slice()), cb?.(), true), on: () => {}, off: () => {} },
    stdin: [],
    stdinIsTerminal: false,
    stderr: (t) => (stderr += t),
    stderrIsTerminal: false,
  });
  return { code, stdout: new TextDecoder().decode(Buffer.concat(chunks)), stderr };
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

test("set, get, delete and namespaces work end to end, with exit codes 0 and 1", async (t) => {
  const db = tempDbPath(t);
  assertExit(await cli(["--db", db, "set", "user:1", "Ada"]), 0, "set");
  assertExit(await cli(["--db", db, "set", "--ns", "sessions", "s1", "token", "--ttl", "60000"]), 0, "set --ns");
  const got = await cli(["--db", db, "get", "user:1"]);
  assertExit(got, 0);
  assert.equal(got.text, "Ada\n");
  assert.equal((await cli(["get", "s1", "--ns", "sessions", "--db", db])).text, "token\n", "--db after the command");
  assertFailure(await cli(["--db", db, "get", "nope"]), 1, 'key "nope" not found');
  assertFailure(await cli(["--db", db, "get", "s1", "--ns", "absent"]), 1, 'namespace "absent" does not exist');
  assert.equal((await cli(["--db", db, "namespaces"])).text, "sessions\n");
  assert.deepEqual(JSON.parse((await cli(["--db", db, "namespaces", "--json"])).text), [{ name: "sessions", keys: 1 }]);
  assertExit(await cli(["--db", db, "delete", "user:1"]), 0, "delete");
  assertFailure(await cli(["--db", db, "delete", "user:1"]), 1, "not found");
  // Values starting with "-", after "--"; a value from standard input, bytes exactly.
  assertExit(await cli(["--db", db, "set", "--", "-k", "-v"]), 0);
  assertExit(await cli(["--db", db, "set", "bin", "--stdin"], { input: Uint8Array.of(0, 1, 2, 255) }), 0);
  using check = Emdb.open(db);
  assert.equal(check.has("user:1"), false);
  assert.equal(check.getString("-k"), "-v");
  assertBytes(check.get("bin"), Uint8Array.of(0, 1, 2, 255));
  const ttl = check.namespace("sessions").ttl("s1")!;
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
});

test("get prints text, --raw bytes, --base64 and --json; a binary value needs one of them", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  db.set("bin", Uint8Array.of(0xff, 0x00, 0x0a));
  db.set(Uint8Array.of(1, 2), "under a byte key");
  db.set("multi", "line 1\nline 2");
  db.close();
  assert.equal((await cli(["--db", path, "get", "multi"])).text, "line 1\nline 2\n");
  assertBytes((await cli(["--db", path, "get", "bin", "--raw"])).stdout, Uint8Array.of(0xff, 0x00, 0x0a));
  assert.equal((await cli(["--db", path, "get", "bin", "--base64"])).text, "/wAK\n");
  assert.deepEqual(jsonLines((await cli(["--db", path, "get", "bin", "--json"])).text), [
    { ns: "", key: "bin", value_b64: "/wAK" },
  ]);
  assertFailure(await cli(["--db", path, "get", "bin"]), 2, "not UTF-8 text");
  assert.equal((await cli(["--db", path, "get", "--key-base64", "AQI="])).text, "under a byte key\n");
  assertFailure(await cli(["--db", path, "get", "--key-base64", "not base64!"]), 2, "not valid base64");
  assertFailure(await cli(["--db", path, "get", "bin", "--raw", "--json"]), 2, "exclude each other");
});

test("scan walks keys in byte order with prefix, bounds, after, reverse, limit, keys-only, json and raw", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  for (let i = 0; i < 25; i++) db.set(`user:${String(i).padStart(3, "0")}`, `#${i}`);
  db.set("other", "tab\there");
  db.set(Uint8Array.of(0x7a, 0xff), Uint8Array.of(0x00, 0x41));
  db.namespace("ns").set("only", "in ns");
  db.close();
  const all = (await cli(["--db", path, "scan"])).text.split("\n").filter((l) => l !== "");
  assert.equal(all.length, 27);
  assert.equal(all[0], "other\ttab\\there", "tabs inside a value are escaped");
  assert.equal(all[1], "user:000\t#0");
  assert.equal(all[26], "z\\xff\t\\x00A", "bytes that are not text show as \\xNN");
  const page = await cli([
    "--db",
    path,
    "scan",
    "--prefix",
    "user:",
    "--limit",
    "10",
    "--after",
    "user:009",
    "--keys-only",
  ]);
  assert.deepEqual(page.text.trim().split("\n"), Array.from({ length: 10 }, (_, i) => `user:0${10 + i}`));
  const rev = await cli(["--db", path, "scan", "--start", "user:020", "--end", "user:023", "--reverse", "--keys-only"]);
  assert.equal(rev.text, "user:022\nuser:021\nuser:020\n");
  const json = jsonLines((await cli(["--db", path, "scan", "--prefix", "user:02", "--json"])).text);
  assert.deepEqual(json[0], { ns: "", key: "user:020", value: "#20" });
  assert.equal(json.length, 5);
  const raw = await cli(["--db", path, "scan", "--prefix", "other", "--raw"]);
  assert.equal(raw.text, "other\ttab\there\n");
  assert.equal((await cli(["--db", path, "scan", "--ns", "ns"])).text, "only\tin ns\n");
  assertFailure(await cli(["--db", path, "scan", "--limit", "-1"]), 2, "--limit");
});

test("dump | load through a shell pipe copies binary keys and values, TTLs and namespaces exactly", (t) => {
  const dir = tempDir(t);
  const from = join(dir, "from.emdb");
  const to = join(dir, "to.emdb");
  const db = Emdb.open(from);
  db.set("text", "hello\nworld\t\u00e9\u{1F600}");
  db.set(Uint8Array.of(0, 255, 10, 34), Uint8Array.of(1, 2, 3, 0xff));
  db.set(utf8("bytes-but-text"), "a key written as bytes stays bytes");
  db.set("empty", "");
  db.set("expiring", "soon", { ttl: 3_600_000 });
  db.namespace("logs").set("l1", Uint8Array.of(0xc3, 0x28));
  db.namespace("logs").set("l2", '{"json": true}');
  db.close();
  const [exe, pre] = runtimeCommand(CLI, []);
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const base = [exe, ...pre].map(q).join(" ");
  const pipe = spawnSync("sh", ["-c", `${base} --db ${q(from)} dump --all | ${base} --db ${q(to)} load`], {
    encoding: "utf8",
  });
  assert.equal(pipe.status, 0, pipe.stderr);
  assert.equal(pipe.stdout, "loaded 7 entries into 2 namespaces\n");
  assert.equal(pipe.stderr, "", "no progress output when stderr is not a terminal");
  using copy = Emdb.open(to);
  const entries = [...copy.range()];
  assert.equal(entries.length, 5);
  const byName = new Map(entries.map(([k, v]) => [typeof k === "string" ? `s:${k}` : `b:${[...k].join(",")}`, v]));
  assertBytes(byName.get("s:text"), utf8("hello\nworld\t\u00e9\u{1F600}"));
  assertBytes(byName.get("b:0,255,10,34"), Uint8Array.of(1, 2, 3, 0xff));
  assertBytes(byName.get(`b:${[...utf8("bytes-but-text")].join(",")}`), utf8("a key written as bytes stays bytes"));
  assertBytes(byName.get("s:empty"), new Uint8Array(0));
  const ttl = copy.ttl("expiring")!;
  assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `ttl kept: ${ttl}`);
  assert.equal(copy.ttl("text"), Infinity);
  assert.deepEqual(copy.namespaces(), ["logs"]);
  assertBytes(copy.namespace("logs").get("l1"), Uint8Array.of(0xc3, 0x28));
  assert.equal(copy.namespace("logs").getString("l2"), '{"json": true}');
});

test("load is all or nothing: a bad line is reported by number and the database file is unchanged", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  const db = Emdb.open(path);
  db.set("keep", "me");
  db.close();
  const before = readBytes(path);
  const good = '{"ns":"","key":"a","value":"1"}\n{"ns":"n","key_b64":"AAE=","value_b64":"/w=="}\n';
  const cases: [string, string][] = [
    ["not json at all\n", "line 3: not valid JSON"],
    ['{"key":"x"}\n', 'line 3: "value" or "value_b64" is missing'],
    ['{"key":"x","value":"1","extra":1}\n', 'line 3: unknown field "extra"'],
    ['{"key_b64":"@@@","value":"1"}\n', 'line 3: "key_b64" is not valid base64'],
    ['{"key":"x","value":"1","ttl":-5}\n', 'line 3: "ttl" must be a non-negative'],
    ['{"ns":"bad\\u0001name","key":"x","value":"1"}\n', 'line 3: "ns"'],
    ['{"key":"\\ud800","value":"1"}\n', 'line 3: "key" holds a lone surrogate'],
    ["[1,2]\n", "line 3: not a JSON object"],
  ];
  for (const [bad, message] of cases) {
    const r = await cli(["--db", path, "load"], { input: good + bad + good });
    assertFailure(r, 6, message);
    assertBytes(readBytes(path), before, `database bytes after ${JSON.stringify(bad)}`);
  }
  const notUtf8 = new Uint8Array([...utf8(good), 0x7b, 0xff, 0x7d, 0x0a]);
  assertFailure(await cli(["--db", path, "load", "-"], { input: notUtf8 }), 6, "line 3: not valid UTF-8");
  assertFailure(await cli(["--db", path, "load", join(dir, "missing.jsonl")]), 6, "ENOENT");
  // Nothing is created either: a failing load into a new path leaves no file.
  const fresh = join(dir, "fresh.emdb");
  assertFailure(await cli(["--db", fresh, "load"], { input: "{}\n" }), 6, "line 1");
  assert.equal(existsSync(fresh), false);
  // The same input without the bad line loads, from a file, blank lines and CRLF included.
  const file = join(dir, "in.jsonl");
  writeFileSync(file, `${good.replaceAll("\n", "\r\n")}\n\n`);
  const ok = await cli(["--db", path, "load", file]);
  assertExit(ok, 0);
  assert.equal(ok.text, "loaded 2 entries into 2 namespaces\n");
  // Entries of one existing namespace take the setMany path: the same single batch, with TTLs and byte keys.
  const single = '{"key":"t","value":"x","ttl":60000}\n{"ns":"","key_b64":"AAI=","value":"y"}\n';
  assert.equal((await cli(["--db", path, "load"], { input: single })).text, "loaded 2 entries into 1 namespace\n");
  using after = Emdb.open(path);
  assert.equal(after.getString("a"), "1");
  assert.equal(after.getString("keep"), "me");
  assertBytes(after.namespace("n").get(Uint8Array.of(0, 1)), Uint8Array.of(0xff));
  const ttl = after.ttl("t")!;
  assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);
  assert.equal(after.getString(Uint8Array.of(0, 2)), "y");
  assert.ok(
    [...after.keys()].some((k) => k instanceof Uint8Array && k.length === 2),
    "a key_b64 key reads back as bytes",
  );
});

test("bad input changes nothing: missing database, foreign file, unknown flag, bad arguments", async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, "missing.emdb");
  for (const args of [["get", "k"], ["scan"], ["stats"], ["dump"], ["delete", "k"], ["compact"], ["verify"]]) {
    assertFailure(await cli(["--db", missing, ...args]), 3, "NOT_FOUND");
  }
  assert.equal(existsSync(missing), false, "reads never create the database");
  const foreign = join(dir, "notes.txt");
  writeFileSync(foreign, "these are my notes, not a database\n".repeat(20));
  const text = readBytes(foreign);
  assertFailure(await cli(["--db", foreign, "get", "k"]), 3, "NOT_EMDB");
  assertFailure(await cli(["--db", foreign, "set", "k", "v"]), 3, "NOT_EMDB");
  assertFailure(await cli(["--db", foreign, "load"], { input: '{"key":"k","value":"v"}\n' }), 3, "NOT_EMDB");
  assertFailure(await cli(["--db", foreign, "verify"]), 3, "NOT_EMDB");
  assertBytes(readBytes(foreign), text, "the foreign file");
  assertFailure(await cli(["--db", dir, "get", "k"]), 3, "not a regular file");
  const path = join(dir, "db.emdb");
  assertExit(await cli(["--db", path, "set", "k", "v"]), 0);
  const before = readBytes(path);
  assertFailure(await cli(["--db", path, "set", "k", "w", "--bogus"]), 2, "unknown option --bogus");
  assertFailure(await cli(["--db", path, "set", "k", "w", "--ttl", "soon"]), 2, "--ttl");
  assertFailure(await cli(["--db", path, "set", "k"]), 2, "missing <value>");
  assertFailure(await cli(["--db", path, "set", "k", "w", "extra"]), 2, "unexpected argument extra");
  assertFailure(await cli(["--db", path, "set", "k", "@@", "--base64"]), 2, "not valid base64");
  assertFailure(await cli(["--db", path, "set", "k", "w", "--ns", "a\tb"]), 2, "control characters");
  assertFailure(await cli(["--db", path, "set", "x".repeat(70_000), "w"]), 2, "Key too long");
  assertFailure(await cli(["--db", path, "--db", path, "get", "k"]), 2, "--db is given twice");
  assertBytes(readBytes(path), before, "the database after refused commands");
});

/** A database of ten records, closed without a checkpoint unless asked; returns the offset of record 5. */
function tenRecords(path: string, checkpoint: boolean): number {
  const db = Emdb.open(path, { checkpointOnClose: checkpoint });
  for (let i = 0; i < 10; i++) db.set(`key-00${i}`, `value-00${i}`);
  db.close();
  // A put record: 16-byte header, then the key: the record starts 16 bytes before its key.
  return indexOfBytes(readBytes(path), utf8("key-005")) - 16;
}

test("verify finds a flipped bit, reports its offset and exit code 4, and leaves the file untouched", async (t) => {
  const path = tempDbPath(t);
  const sound = await cli(["--db", path, "verify"]);
  assertFailure(sound, 3, "NOT_FOUND");
  const record = tenRecords(path, false);
  const ok = await cli(["--db", path, "verify"]);
  assertExit(ok, 0);
  assert.match(ok.text, /result\s+OK/);
  const bytes = readBytes(path);
  bytes[record + 16 + 7 + 3]! ^= 0x04; // one bit of the value "value-005"
  writeFileSync(path, bytes);
  const r = await cli(["--db", path, "verify", "--json"]);
  assertExit(r, 4);
  const report = JSON.parse(r.text);
  assert.equal(report.damaged, true);
  assert.equal(report.findings.length, 1);
  assert.equal(report.findings[0].kind, "corrupt");
  assert.equal(report.findings[0].offset, record);
  assert.equal(report.findings[0].end, record + 32, "the next record verifies");
  assert.equal(report.records, 5, "five records before the damage");
  assert.equal(report.recordsAfterDamage, 4);
  assert.equal(report.open.action, "refuses");
  const human = await cli(["--db", path, "verify"]);
  assertExit(human, 4);
  assert.ok(human.text.includes(`corrupt at bytes ${record.toLocaleString("en-US")}-`), human.text);
  assert.match(human.text, /result\s+DAMAGED/);
  // The database agrees: an open refuses with CORRUPTED at that offset (exit 4 too).
  assertFailure(await cli(["--db", path, "get", "key-001"]), 4, `CORRUPTED: Cannot open "${path}"`);
  assertBytes(readBytes(path), bytes, "verify and the refused open wrote nothing");
});

test("verify explains that an open from a checkpoint does not see damage before it", async (t) => {
  const path = tempDbPath(t);
  const record = tenRecords(path, true);
  const bytes = readBytes(path);
  bytes[record + 30]! ^= 0x01;
  writeFileSync(path, bytes);
  const r = await cli(["--db", path, "verify", "--json"]);
  assertExit(r, 4);
  const report = JSON.parse(r.text);
  assert.equal(report.checkpoint.state, "usable");
  assert.equal(report.findings[0].offset, record);
  assert.equal(report.open.action, "opens");
  assert.match(report.open.text, /before the checkpoint/);
  assertFailure(await cli(["--db", path, "get", "key-005"]), 4, "CORRUPTED");
  assert.equal((await cli(["--db", path, "get", "key-004"])).text, "value-004\n");
});

test("verify reports a record that breaks the format's rules (an undeclared namespace) though its CRC is right", async (t) => {
  const path = tempDbPath(t);
  tenRecords(path, false);
  const size = statSync(path).size;
  const forged = new Uint8Array(24);
  const dv = new DataView(forged.buffer);
  forged.set([1, 4], 4); // PUT, key given as text
  dv.setUint16(6, 1, true);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, 9, true); // namespace 9 was never declared
  forged.set(utf8("ab"), 16);
  dv.setUint32(0, crc32c(forged, 4, 24), true);
  const first = readBytes(path).slice(256, 256 + 32); // a valid record after it
  appendFileSync(path, new Uint8Array([...forged, ...first]));
  const r = await cli(["--db", path, "verify", "--json"]);
  assertExit(r, 4);
  const report = JSON.parse(r.text);
  assert.deepEqual(report.findings, [{
    kind: "corrupt",
    offset: size,
    end: size + 24,
    reason: "record uses undeclared namespace 9",
  }]);
  assert.equal(report.recordsAfterDamage, 1);
  assert.equal(report.open.action, "refuses");
});

test("verify reports a torn tail and a crash gap (exit 4) and accepts a zero-filled tail (exit 0)", async (t) => {
  const gapped = tempDbPath(t, "gap.emdb");
  const record = tenRecords(gapped, false);
  const bytes = readBytes(gapped);
  bytes.fill(0, record, record + 32); // a page lost before a sync covered it: zeros, then valid records
  writeFileSync(gapped, bytes);
  const gap = JSON.parse((await cli(["--db", gapped, "verify", "--json"])).text);
  assert.deepEqual(gap.findings.map((f: { kind: string; offset: number }) => [f.kind, f.offset]), [["gap", record]]);
  assert.equal(gap.open.action, "cuts-gap");
  const path = tempDbPath(t);
  tenRecords(path, false);
  const size = statSync(path).size;
  appendFileSync(path, new Uint8Array(4096));
  const zeros = JSON.parse((await cli(["--db", path, "verify", "--json"])).text);
  assert.equal(zeros.damaged, false);
  assert.equal(zeros.zeroTailBytes, 4096);
  truncateSync(path, size - 4);
  const r = await cli(["--db", path, "verify", "--json"]);
  assertExit(r, 4);
  const report = JSON.parse(r.text);
  assert.equal(report.findings[0].kind, "torn-tail");
  assert.equal(report.findings[0].offset, size - 32, "the last record is torn");
  assert.equal(report.open.action, "cuts-tail");
  assert.equal(report.records, 9);
});

test("while another process holds the database: locked exit code, lock-holder, break-lock refused, verify works", async (t) => {
  const path = tempDbPath(t);
  const holder = new LiveChild("lock_child.ts", ["hold", path]);
  t.after(() => holder.kill());
  await holder.waitForLine((l) => l.startsWith("locked "));
  assertFailure(
    await cli(["--db", path, "get", "held-by"]),
    5,
    `LOCK_BUSY: Cannot open database "${path}": lock held by process ${holder.pid}`,
  );
  assertFailure(await cli(["--db", path, "set", "k", "v"]), 5, "LOCK_BUSY");
  const who = await cli(["--db", path, "lock-holder", "--json"]);
  assertExit(who, 0);
  const info = JSON.parse(who.text);
  assert.equal(info.held, true);
  assert.equal(info.pid, holder.pid);
  assert.ok(typeof info.version === "string" && Date.parse(info.since) > 0, who.text);
  assert.match((await cli(["--db", path, "lock-holder"])).text, new RegExp(`pid\\s+${holder.pid}`));
  assertFailure(await cli(["--db", path, "break-lock"]), 5, "LOCK_BUSY");
  const v = await cli(["--db", path, "verify"]);
  assertExit(v, 0);
  assert.match(v.text, new RegExp(`holder record names process ${holder.pid}`));
  await holder.kill();
  const stale = await cli(["--db", path, "lock-holder", "--json"]);
  assertExit(stale, 1);
  assert.equal(JSON.parse(stale.text).held, false);
  assert.equal(JSON.parse(stale.text).pid, holder.pid, "the stale record of the killed holder");
  const broke = await cli(["--db", path, "break-lock"]);
  assertExit(broke, 0);
  assert.match(broke.text, /removed the stale holder record/);
  assert.equal(JSON.parse((await cli(["--db", path, "lock-holder", "--json"])).text).pid, null);
  assert.equal((await cli(["--db", path, "get", "held-by"])).text, `${holder.pid}\n`);
});

test("without --db the default database is used ($XDG_DATA_HOME), and reads do not create it", async (t) => {
  const dir = tempDir(t);
  const env = { ...process.env, XDG_DATA_HOME: join(dir, "data"), HOME: join(dir, "home") } as Record<string, string>;
  const file = join(dir, "data", "emdb", "emdb-default.emdb");
  assertFailure(await cli(["get", "k"], { env }), 3, "the default database is created by the first write");
  assert.equal(existsSync(join(dir, "data")), false);
  assertExit(await cli(["set", "greeting", "hello"], { env }), 0);
  assert.ok(existsSync(file));
  assert.equal((await cli(["get", "greeting"], { env })).text, "hello\n");
  const stats = JSON.parse((await cli(["stats", "--json"], { env })).text);
  assert.equal(stats.path, file);
  assert.equal(stats.liveRecords, 1);
  assert.match((await cli(["stats"], { env })).text, /\(default database\)/);
});

test("compact shows the bytes before and after and keeps the data; backup writes an openable copy", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  const db = Emdb.open(path);
  for (let r = 0; r < 20; r++) db.setMany(Array.from({ length: 100 }, (_, i) => [`k${i}`, `round ${r}`] as const));
  db.close();
  const c = await cli(["--db", path, "compact", "--json"]);
  assertExit(c, 0);
  const result = JSON.parse(c.text);
  assert.ok(result.bytesAfter < result.bytesBefore / 5, c.text);
  assert.match((await cli(["--db", path, "compact"])).text, /^compacted: .* -> .* bytes, .*% smaller\) in \d+ ms\n$/);
  assert.equal((await cli(["--db", path, "get", "k7"])).text, "round 19\n");
  const copy = join(dir, "copy.emdb");
  const b = await cli(["--db", path, "backup", copy]);
  assertExit(b, 0);
  assert.match(b.text, /^backed up to .*copy\.emdb/);
  using opened = Emdb.open(copy);
  assert.equal(opened.size, 100);
  assert.equal(opened.getString("k99"), "round 19");
  assertFailure(await cli(["--db", path, "backup", path]), 3, "INVALID_CONFIG");
});

test("output closed early (emdb scan | head) ends quietly with exit code 0", async (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  db.setMany(Array.from({ length: 50_000 }, (_, i) => [`key:${i}`, "v".repeat(100)] as const));
  db.close();
  const [cmd, argv] = runtimeCommand(CLI, ["--db", path, "scan"]);
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (stderr += d));
  child.stdout.once("data", () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  assert.equal(stderr, "");
  assert.equal(code, 0);
});

test("every command has --help; --version, help, unknown commands and usage errors (in process)", async () => {
  const overview = await inProcess(["--help"]);
  assert.equal(overview.code, 0);
  const names = ["stats", "get", "set", "delete", "scan", "namespaces", "dump", "load", "verify", "compact", "backup"];
  for (const name of [...names, "lock-holder", "break-lock"]) {
    assert.ok(overview.stdout.includes(`\n  ${name} `), `overview lists ${name}`);
    for (const argv of [[name, "--help"], ["--help", name], ["help", name], [name, "-h"]]) {
      const r = await inProcess(argv);
      assert.equal(r.code, 0, argv.join(" "));
      assert.ok(r.stdout.startsWith(`Usage: emdb [--db <path>] ${name}`), r.stdout);
      assert.ok(r.stdout.includes("--db <path>"));
    }
  }
  assert.deepEqual(await inProcess(["--version"]), { code: 0, stdout: "emdb 0.1.0\n", stderr: "" });
  const none = await inProcess([]);
  assert.equal(none.code, 2);
  assert.ok(none.stderr.endsWith("emdb: no command given\n"));
  assert.equal((await inProcess(["frobnicate"])).code, 2);
  assert.match((await inProcess(["--nope", "get"])).stderr, /^emdb: unknown option --nope/);
  assert.equal((await inProcess(["dump", "--ns", "a", "--all"])).code, 2);
  assert.equal((await inProcess(["--db", "a", "get", "--db", "b", "k"])).stderr, "emdb: --db is given twice\n");
});

test("records: the JSON Lines form keeps key types and non-text values; progress draws only on a terminal", () => {
  assert.equal(
    entryLine("n", Uint8Array.of(104, 105), Uint8Array.of(0xff), 5),
    '{"ns":"n","key_b64":"aGk=","value_b64":"/w==","ttl":5}\n',
  );
  const back = parseEntryLine('{"ns":"n","key_b64":"aGk=","value_b64":"/w==","ttl":5}', 1);
  assert.deepEqual(back, { ns: "n", key: Uint8Array.of(104, 105), value: Uint8Array.of(0xff), ttl: 5 });
  assert.deepEqual(parseEntryLine('{"key":"k","value":"v"}', 1), { ns: "", key: "k", value: "v", ttl: undefined });
  let now = 0;
  const seen: string[] = [];
  const p = new Progress("load", { enabled: true, write: (s) => seen.push(s), clock: () => now });
  p.update("early");
  now = 400;
  p.update("first");
  now = 450;
  p.update("too soon");
  now = 500;
  p.update("second");
  p.done();
  assert.deepEqual(seen, ["\r\x1b[Kload: first (0.4 s)", "\r\x1b[Kload: second (0.5 s)", "\r\x1b[K"]);
  const quiet: string[] = [];
  const off = new Progress("load", { enabled: false, write: (s) => quiet.push(s), clock: () => (now += 1000) });
  off.update("x");
  off.done();
  assert.deepEqual(quiet, []);
});

test("under Deno without --allow-ffi the error names the missing permission", async (t) => {
  const deno = runtimeExecutable("deno");
  if (deno === undefined) return t.skip("deno is not installed in node_modules/.bin");
  const path = tempDbPath(t);
  assertExit(await cli(["--db", path, "set", "k", "v"]), 0);
  const child = spawnSync(
    deno,
    ["run", "--allow-read", "--allow-write", "--allow-env", CLI, "--db", path, "get", "k"],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  assert.equal(child.status, 3, child.stderr);
  assert.match(child.stderr, /^emdb: PERMISSION: .*--allow-ffi/);
});

test("a Bun-compiled emdb runs from another folder, and a second one gets the locked exit code", async (t) => {
  const bun = runtimeExecutable("bun");
  if (bun === undefined) return t.skip("bun is not installed in node_modules/.bin: cannot compile the CLI");
  const dir = tempDir(t);
  const exe = join(dir, "bin", "emdb");
  mkdirSync(join(dir, "bin"));
  const built = spawnSync(bun, ["build", "--compile", CLI, "--outfile", exe], { encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  const work = join(dir, "elsewhere");
  mkdirSync(work);
  const run = (args: string[]) => cli(args, { exe, cwd: work });
  assertExit(await run(["--db", "app.emdb", "set", "user:1", "Ada"]), 0, "compiled set");
  assertExit(await run(["--db", "app.emdb", "set", "user:2", "Grace"]), 0);
  assert.ok(existsSync(join(work, "app.emdb")), "the relative path is resolved in the working folder");
  assert.equal((await run(["--db", "app.emdb", "get", "user:2"])).text, "Grace\n");
  assert.equal((await run(["--db", "app.emdb", "scan", "--keys-only"])).text, "user:1\nuser:2\n");
  assert.equal(JSON.parse((await run(["--db", "app.emdb", "stats", "--json"])).text).liveRecords, 2);
  assert.equal((await run(["--version"])).text, "emdb 0.1.0\n");
  // A first compiled emdb holds the database: its dump waits on a pipe nobody reads yet.
  const db = Emdb.open(join(work, "app.emdb"));
  db.setMany(Array.from({ length: 5000 }, (_, i) => [`bulk:${i}`, "x".repeat(200)] as const));
  db.close();
  const first = spawn(exe, ["--db", "app.emdb", "dump"], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => first.kill("SIGKILL"));
  const firstDone = new Promise<number | null>((resolve) => first.on("close", (c) => resolve(c)));
  await new Promise((resolve) => first.stdout.once("readable", resolve));
  assertFailure(await run(["--db", "app.emdb", "get", "user:1"]), 5, "LOCK_BUSY");
  let lines = 0;
  first.stdout.on("data", (d: Uint8Array) => (lines += d.filter((b) => b === 0x0a).length));
  assert.equal(await firstDone, 0);
  assert.equal(lines, 5002, "the first one finished its dump once read");
});
