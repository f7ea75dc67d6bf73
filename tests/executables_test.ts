/**
 * Single-file executables of the sample app (`examples/app.ts`).
 *
 * - `bun build --compile`: built and run for real, from another folder: it opens,
 *   writes, reads back and closes a database, and a second copy started while the
 *   first holds the database exits with `LOCK_BUSY`.
 * - `deno compile`: the runtime it embeds (`denort`) is downloaded on first use, which
 *   this machine cannot do. What is tested: the compile step type-checks and embeds
 *   every module the app loads at run time (checked with a stand-in base binary via
 *   `DENORT_BIN`), and without a runtime it stops exactly at the download. Where a real
 *   runtime is available (`DENORT_BIN` set to a `denort`, or one cached by an earlier
 *   download) the Deno binary goes through the same checks as the Bun one.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { type CleanupContext, tempDir } from "./_helpers.ts";
import { REPO_ROOT, runCommand, startCommand, toolOf } from "./_commands.ts";

const APP = join(REPO_ROOT, "examples", "app.ts");
/**
 * Every test here runs real builds and binaries. The limit is given per test: Bun does
 * not apply the preload's default limit to a file with top-level await (this one has).
 */
const SLOW = { timeout: 300_000 };
const DENO_COMPILE_PERMISSIONS = ["--allow-ffi", "--allow-read", "--allow-write", "--allow-env"];

/**
 * The scenario every compiled app binary must pass, run from a folder that is neither
 * the repository nor the binary's own: two round trips (the second reopens from the
 * checkpoint), a holder that keeps the database open, a second copy refused with
 * `LOCK_BUSY` naming the holder, and a run after the holder closed.
 */
async function exerciseAppBinary(
  t: CleanupContext,
  exe: string,
  leadingArgs: (cwd: string) => string[] = () => [],
): Promise<void> {
  const cwd = tempDir(t);
  const dbFile = join(cwd, "app.emdb");
  const lead = leadingArgs(cwd);

  const first = await runCommand(exe, [...lead, "app.emdb"], { cwd });
  assert.equal(first.code, 0, `first run failed:\n${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, new RegExp(`^opened ${escape(dbFile)} \\(new\\)$`, "m"));
  assert.match(first.stdout, /^read back 100 records: ok; runs so far: 1$/m);
  assert.match(first.stdout, /^closed$/m);
  assert.ok(statSync(dbFile).size > 0, "the database file was written in the working folder");

  const second = await runCommand(exe, [...lead, "app.emdb"], { cwd });
  assert.equal(second.code, 0, `second run failed:\n${second.stdout}\n${second.stderr}`);
  assert.match(second.stdout, /\(checkpoint\)$/m);
  assert.match(second.stdout, /runs so far: 2$/m);

  const holder = startCommand(exe, [...lead, "app.emdb", "--hold"], { cwd });
  t.after(() => holder.kill());
  await holder.waitForLine((l) => l.startsWith("holding the database"));

  const refused = await runCommand(exe, [...lead, "app.emdb"], { cwd });
  assert.equal(refused.code, 1, `expected exit code 1, got ${refused.code}:\n${refused.stdout}\n${refused.stderr}`);
  assert.match(
    refused.stderr,
    new RegExp(
      `^emdb-app: LOCK_BUSY: Cannot open database "${escape(dbFile)}": lock held by process ${holder.pid}`,
      "m",
    ),
  );
  assert.equal(refused.stdout, "", "the refused copy printed nothing on stdout (it never opened the database)");

  const held = await holder.finish();
  assert.equal(held.code, 0, `the holder failed:\n${held.stdout}\n${held.stderr}`);
  assert.match(held.stdout, /runs so far: 3$/m);
  assert.match(held.stdout, /^closed$/m);

  const after = await runCommand(exe, [...lead, "app.emdb"], { cwd });
  assert.equal(after.code, 0, `run after the holder closed failed:\n${after.stdout}\n${after.stderr}`);
  assert.match(after.stdout, /runs so far: 4$/m, "the refused run wrote nothing");
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

test(
  "a bun build --compile binary of the sample app, run from another folder, writes, reads and closes its database, and a second copy gets LOCK_BUSY",
  SLOW,
  async (t) => {
    const binDir = tempDir(t);
    const exe = join(binDir, "emdb-app");
    const built = await runCommand(toolOf("bun"), ["build", "--compile", APP, "--outfile", exe]);
    assert.equal(built.code, 0, `bun build --compile failed:\n${built.stdout}\n${built.stderr}`);
    assert.ok(existsSync(exe), "the executable exists");
    await exerciseAppBinary(t, exe);
  },
);

test(
  "the compiled sample app reports usage with exit code 2 and a missing folder as an EmdbError with exit code 1",
  SLOW,
  async (t) => {
    const binDir = tempDir(t);
    const exe = join(binDir, "emdb-app");
    const built = await runCommand(toolOf("bun"), ["build", "--compile", APP, "--outfile", exe]);
    assert.equal(built.code, 0, built.stderr);
    const cwd = tempDir(t);

    const usage = await runCommand(exe, [], { cwd });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^usage: emdb-app <database-path> \[--hold\]$/m);

    const missing = await runCommand(exe, [join(cwd, "no-such-folder", "app.emdb")], { cwd });
    assert.equal(missing.code, 1, `${missing.stdout}\n${missing.stderr}`);
    assert.match(missing.stderr, /^emdb-app: [A-Z_]+: /m);
    assert.equal(existsSync(join(cwd, "no-such-folder")), false, "nothing was created");
  },
);

test(
  "under deno run with only --allow-ffi and read/write scoped to the database folder, the sample app passes the same checks",
  SLOW,
  async (t) => {
    const deno = toolOf("deno");
    await exerciseAppBinary(
      t,
      deno,
      (cwd) => ["run", "--allow-ffi", `--allow-read=${cwd}`, `--allow-write=${cwd}`, APP],
    );
  },
);

/** Local files of the app's module graph that are loaded at run time (type-only imports left out). */
async function runtimeModules(): Promise<string[]> {
  const info = await runCommand(toolOf("deno"), ["info", "--json", APP]);
  assert.equal(info.code, 0, `deno info failed:\n${info.stderr}`);
  const graph = JSON.parse(info.stdout) as {
    modules: Array<{
      specifier: string;
      error?: string;
      dependencies?: Array<{ specifier: string; code?: { specifier: string; error?: string } }>;
    }>;
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  for (const m of graph.modules) {
    assert.equal(m.error, undefined, `${m.specifier} cannot be loaded: ${m.error}`);
    for (const d of m.dependencies ?? []) {
      assert.equal(d.code?.error, undefined, `${m.specifier} imports ${d.specifier}, which cannot be resolved`);
    }
  }
  const root = pathToFileURL(APP).href;
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const m = bySpecifier.get(queue.pop()!);
    for (const d of m?.dependencies ?? []) {
      const s = d.code?.specifier;
      if (s === undefined || !s.startsWith("file:") || seen.has(s)) continue;
      seen.add(s);
      queue.push(s);
    }
  }
  return [...seen].map((s) => relative(REPO_ROOT, new URL(s).pathname).split("\\").join("/")).sort();
}

/** Parses the "Embedded Files" tree `deno compile` prints into paths; a collapsed folder ends in `/*`. */
function embeddedEntries(report: string): string[] {
  const lines = report.split("\n");
  const start = lines.findIndex((l) => l.trim() === "Embedded Files");
  assert.ok(start >= 0, `no "Embedded Files" report in:\n${report}`);
  const entries: string[] = [];
  const stack: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^((?:[│ ] )*)[├└]─[─┬] (.+?) \(/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 2;
    stack.length = depth;
    stack.push(m[2]!);
    entries.push(stack.join("/"));
  }
  return entries;
}

test(
  "deno compile type-checks the sample app and embeds every module it loads at run time, both binders included",
  SLOW,
  async (t) => {
    const modules = await runtimeModules();
    for (const needed of ["mod.ts", "ffi/deno.ts", "ffi/bun.ts", "src/io/posix_io.ts", "src/io/win32_io.ts"]) {
      assert.ok(modules.includes(needed), `${needed} is in the run-time graph (${modules.join(", ")})`);
    }

    // The real base binary (denort) cannot be downloaded here. DENORT_BIN makes deno compile
    // use the given file as the base instead; the Deno CLI itself stands in for it, so the
    // result is not a working app, but everything deno compile embeds is in it.
    const outDir = tempDir(t);
    const out = join(outDir, "emdb-app");
    const deno = toolOf("deno");
    // --no-config: this checkout's package.json would make deno compile embed all of
    // node_modules/ (the dev runtimes, hundreds of MB); the app needs no configuration.
    const compiled = await runCommand(
      deno,
      ["compile", "--no-config", ...DENO_COMPILE_PERMISSIONS, "--output", out, APP],
      // A fresh DENO_DIR: no type-check cache, so the check really runs (and prints "Check").
      { env: { ...process.env, NO_COLOR: "1", DENORT_BIN: deno, DENO_DIR: join(outDir, "deno_dir") } },
    );
    assert.equal(compiled.code, 0, `deno compile failed:\n${compiled.stdout}\n${compiled.stderr}`);
    const report = compiled.stdout + compiled.stderr;
    assert.match(report, /^Check .*examples\/app\.ts$/m, "the app was type-checked");

    const entries = embeddedEntries(report);
    for (const file of modules) {
      const covered = entries.includes(file) ||
        entries.some((e) => e.endsWith("/*") && file.startsWith(e.slice(0, -1)));
      assert.ok(covered, `${file} is in the Embedded Files report:\n${entries.join("\n")}`);
    }
    assert.ok(!entries.some((e) => e.startsWith("node_modules")), "no node_modules embedded");

    // Each embedded TypeScript module carries its source map (JavaScript ones, the vendored libraries, are
    // embedded as they are); find one per module in the binary.
    const binary = readFileSync(out).toString("latin1");
    const perName = new Map<string, number>();
    for (const file of modules.filter((f) => f.endsWith(".ts"))) {
      perName.set(basename(file), (perName.get(basename(file)) ?? 0) + 1);
    }
    for (const [name, count] of perName) {
      const found = binary.split(`"sources":["${name}"]`).length - 1;
      assert.ok(found >= count, `${count} embedded module(s) named ${name}, found ${found} in the binary`);
    }
  },
);

/**
 * Whether deno compile can get a real runtime here (none on this machine): probed once,
 * while the tests are registered, so the test that needs one can be marked skipped.
 * The probe's output folder is removed at once.
 */
const probeDir = mkdtempSync(join(tmpdir(), "emdb-deno-compile-"));
const realDenoBuild = await runCommand(
  toolOf("deno"),
  ["compile", "--no-config", ...DENO_COMPILE_PERMISSIONS, "--output", join(probeDir, "emdb-app"), APP],
  { timeoutMs: 300_000 },
);
const probeLeftBinary = existsSync(join(probeDir, "emdb-app"));
rmSync(probeDir, { recursive: true, force: true });
const realDenoBuilt = realDenoBuild.code === 0;

test(
  "deno compile without a runtime at hand gets through the module graph and compiling and stops at the runtime download",
  SLOW,
  () => {
    const report = realDenoBuild.stdout + realDenoBuild.stderr;
    if (realDenoBuilt) {
      // A runtime was available (DENORT_BIN or a cached download): the build must be complete.
      assert.ok(probeLeftBinary, "the executable was written");
      return;
    }
    assert.match(report, /^Compile .*examples\/app\.ts to /m, `compiling started:\n${report}`);
    assert.match(report, /Download .*denort-[\w.-]+\.zip/, `the runtime download was attempted:\n${report}`);
    assert.match(report, /error sending request|dns error|Connect|timed out/i, report);
    assert.equal(probeLeftBinary, false, "no partial executable was left behind");
  },
);

// Registered only where deno compile can get a real runtime: Bun's node:test ignores
// { skip } before 1.4, so a skipped test would still run there.
if (realDenoBuilt) {
  test("a deno compile binary of the sample app passes the same checks as the Bun one", SLOW, async (t) => {
    const exe = join(tempDir(t), "emdb-app");
    const built = await runCommand(
      toolOf("deno"),
      ["compile", "--no-config", ...DENO_COMPILE_PERMISSIONS, "--output", exe, APP],
      { timeoutMs: 300_000 },
    );
    assert.equal(built.code, 0, `deno compile failed:\n${built.stdout}\n${built.stderr}`);
    await exerciseAppBinary(t, exe);
  });
}
