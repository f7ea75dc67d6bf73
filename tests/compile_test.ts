/**
 * Bun single-file executables: `bun build --compile --bytecode` of an app
 * that opens a database builds (no top-level `await` in emdb's module graph),
 * and the binary, run from another folder, writes and reads a database.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixture, tempDir } from "./_helpers.ts";

const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));

test("bun build --compile --bytecode of an app that opens a database works, run from another folder", {
  skip: !existsSync(bun) && "the pinned bun is not installed",
}, (t) => {
  const build = tempDir(t);
  const exe = join(build, "app");
  const b = spawnSync(bun, ["build", "--compile", "--bytecode", fixture("compiled_app.ts"), "--outfile", exe], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(b.status, 0, `bun build --compile --bytecode failed:\n${b.stdout}\n${b.stderr}`);
  const elsewhere = tempDir(t);
  const db = join(tempDir(t), "compiled.emdb");
  const run = (value: string) => {
    const r = spawnSync(exe, [db, value], { cwd: elsewhere, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, `the binary failed (${r.signal}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout.trim();
  };
  assert.equal(run("first"), "before=-");
  assert.equal(run("second"), "before=first");
});
