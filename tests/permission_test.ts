/**
 * Deno permissions: a missing `--allow-*` flag gives one `PERMISSION` error
 * that names the flag, a terminal sees at most one prompt for FFI, and a
 * refused open leaves no file behind. Each case runs a Deno child with a
 * reduced set of flags (from either test runner: the pinned `deno` is used).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixture, tempDir } from "./_helpers.ts";

// The pinned binary by its node_modules path, never `process.execPath`: Deno's
// node:child_process runs its own executable with every permission granted.
const denoPath = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
const deno = existsSync(denoPath) ? denoPath : undefined;
const skipNoDeno = deno === undefined && "the pinned deno is not installed";
// Children that get another HOME keep using the usual Deno cache.
const denoDir = process.env.DENO_DIR ?? join(homedir(), ".cache", "deno");

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
}

interface Run {
  outcome: Outcome;
  prompts: number;
  output: string;
}

/** Runs `permission_child.ts` under Deno with `flags`; with `answer`, inside a terminal (`script`) that answers every prompt. */
function runChild(
  flags: string[],
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; answer?: "y" | "n" } = {},
): Promise<Run> {
  const argv = [deno!, "run", "--no-lock", ...flags, fixture("permission_child.ts"), ...args];
  const env = { ...process.env, NO_COLOR: "1", DENO_DIR: denoDir, ...options.env } as Record<string, string>;
  const quoted = argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  const child = options.answer === undefined
    ? spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    : spawn("script", ["-qfec", quoted, "/dev/null"], { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  const count = (s: string) => output.split(s).length - 1;
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  // Deno drops what was typed before it reads an answer, so the answer is
  // repeated until Deno reports it (Granted/Denied) for every prompt shown.
  const answering = options.answer === undefined ? undefined : setInterval(() => {
    if (count("Allow?") > count("Granted") + count("Denied")) child.stdin!.write(`${options.answer}\r`);
  }, 250);
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (output += d));
  child.stdout!.on("data", (d: string) => (output += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      clearInterval(answering);
      const prompts = count("Allow?");
      const line = output.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{"ok"')).at(-1);
      if (line === undefined) return reject(new Error(`no outcome from the child; output:\n${output}`));
      resolve({ outcome: JSON.parse(line) as Outcome, prompts, output });
    });
  });
}

function assertPermission(r: Run, flag: string): void {
  assert.equal(r.outcome.ok, false, `the open succeeded: ${r.output}`);
  assert.equal(r.outcome.code, "PERMISSION", r.outcome.message);
  assert.ok(r.outcome.message?.includes(flag), `the message names ${flag}: ${r.outcome.message}`);
}

test(
  "without --allow-ffi, open() is PERMISSION naming --allow-ffi and creates nothing",
  { skip: skipNoDeno },
  async (t) => {
    const dir = tempDir(t);
    const r = await runChild(["--allow-read", "--allow-write", "--allow-env"], ["open", join(dir, "db.emdb")]);
    assertPermission(r, "--allow-ffi");
    assert.deepEqual(readdirSync(dir), []);
  },
);

test(
  "without --allow-read and --allow-write, open() is PERMISSION naming --allow-read",
  { skip: skipNoDeno },
  async (t) => {
    const dir = tempDir(t);
    const r = await runChild(["--allow-ffi", "--allow-env"], ["open", join(dir, "db.emdb")]);
    assertPermission(r, "--allow-read");
    assert.deepEqual(readdirSync(dir), []);
  },
);

test(
  "without --allow-write, open() is PERMISSION naming --allow-write and creates nothing",
  { skip: skipNoDeno },
  async (t) => {
    const dir = tempDir(t);
    const r = await runChild(["--allow-ffi", "--allow-read", "--allow-env"], ["open", join(dir, "db.emdb")]);
    assertPermission(r, "--allow-write");
    assert.deepEqual(readdirSync(dir), []);
  },
);

test("--allow-ffi with read and write scoped to the database folder is enough", { skip: skipNoDeno }, async (t) => {
  const dir = tempDir(t);
  const r = await runChild(["--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`], [
    "open",
    join(dir, "db.emdb"),
  ]);
  assert.deepEqual(r.outcome, { ok: true }, r.output);
  assert.ok(readdirSync(dir).includes("db.emdb"));
});

test("--allow-ffi scoped to the C library is PERMISSION naming --allow-ffi, not a bare NotCapable", {
  skip: skipNoDeno,
}, async (t) => {
  const dir = tempDir(t);
  const libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find((p) => existsSync(p));
  if (libc === undefined) return t.skip?.("no glibc at a known path");
  const r = await runChild([`--allow-ffi=${libc}`, "--allow-read", "--allow-write"], ["open", join(dir, "db.emdb")]);
  assertPermission(r, "--allow-ffi");
  assert.deepEqual(readdirSync(dir), []);
});

test("without --allow-env, openDefault() is PERMISSION naming --allow-env and creates nothing", {
  skip: skipNoDeno,
}, async (t) => {
  const home = tempDir(t);
  const cwd = tempDir(t);
  const r = await runChild(["--allow-ffi", "--allow-read", "--allow-write"], ["default"], {
    cwd,
    env: { HOME: home, XDG_DATA_HOME: join(home, "xdg") },
  });
  assertPermission(r, "--allow-env");
  assert.ok(r.outcome.message?.includes("dataRoot"), r.outcome.message);
  assert.deepEqual(readdirSync(cwd), [], "nothing is created in the current folder");
  assert.deepEqual(readdirSync(home), [], "nothing is created in the data folder");
});

test("with --allow-env=XDG_DATA_HOME, openDefault() opens under $XDG_DATA_HOME", { skip: skipNoDeno }, async (t) => {
  const home = tempDir(t);
  const cwd = tempDir(t);
  const xdg = join(home, "xdg");
  mkdirSync(xdg);
  const r = await runChild(["--allow-ffi", "--allow-read", "--allow-write", "--allow-env=XDG_DATA_HOME"], ["default"], {
    cwd,
    env: { HOME: home, XDG_DATA_HOME: xdg },
  });
  assert.deepEqual(r.outcome, { ok: true }, r.output);
  assert.ok(existsSync(join(xdg, "emdb", "emdb-default.emdb")));
  assert.deepEqual(readdirSync(cwd), []);
});

test(
  "assertSystemAccess() names every missing flag in one error and creates nothing",
  { skip: skipNoDeno },
  async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "new-folder", "db.emdb");
    const none = await runChild([], ["access", path]);
    assertPermission(none, "--allow-ffi");
    for (const flag of ["--allow-read", "--allow-write"]) assert.ok(none.outcome.message?.includes(flag), flag);
    assert.ok(none.outcome.message?.includes(path), none.outcome.message);
    const ffiOnly = await runChild(["--allow-ffi"], ["access", path]);
    assertPermission(ffiOnly, "--allow-write");
    assert.ok(!ffiOnly.outcome.message?.includes("--allow-ffi"), ffiOnly.outcome.message);
    const all = await runChild(["--allow-ffi", `--allow-read=${dir}`, `--allow-write=${dir}`], ["access", path]);
    assert.deepEqual(all.outcome, { ok: true }, all.output);
    assert.deepEqual(readdirSync(dir), []);
  },
);

const skipNoTerminal = skipNoDeno ||
  (process.platform !== "linux" || !["/usr/bin/script", "/bin/script"].some((p) => existsSync(p))) &&
    "needs util-linux script(1) for a terminal";

test("in a terminal without --allow-ffi, Deno prompts once; refused, open() is PERMISSION and creates nothing", {
  skip: skipNoTerminal,
}, async (t) => {
  const dir = tempDir(t);
  const r = await runChild(["--allow-read", "--allow-write", "--allow-env"], ["open", join(dir, "db.emdb")], {
    answer: "n",
  });
  assert.equal(r.prompts, 1, `expected one prompt, saw ${r.prompts}:\n${r.output}`);
  assertPermission(r, "--allow-ffi");
  assert.deepEqual(readdirSync(dir), []);
});

test("in a terminal without --allow-ffi, allowing the one prompt opens the database", {
  skip: skipNoTerminal,
}, async (t) => {
  const dir = tempDir(t);
  const r = await runChild(["--allow-read", "--allow-write", "--allow-env"], ["open", join(dir, "db.emdb")], {
    answer: "y",
  });
  assert.equal(r.prompts, 1, `expected one prompt, saw ${r.prompts}:\n${r.output}`);
  assert.deepEqual(r.outcome, { ok: true }, r.output);
});
