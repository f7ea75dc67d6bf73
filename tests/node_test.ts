/**
 * Node: importing emdb works, a file database is refused with `UNSUPPORTED`
 * naming the supported runtimes (and nothing is created), an in-memory
 * database works. Node 20 cannot run TypeScript, so the fixture is bundled
 * to JavaScript with the pinned Bun first (`bun build --target=node`).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fixture, tempDir } from "./_helpers.ts";

const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));

function nodeBinary(): string | undefined {
  try {
    execFileSync("node", ["--version"], { stdio: "ignore" });
    return "node";
  } catch {
    return undefined;
  }
}

const node = nodeBinary();
const skip = (node === undefined && "node is not on PATH") || (!existsSync(bun) && "the pinned bun is not installed");

test("under Node, importing works, open() is UNSUPPORTED naming Deno and Bun, openInMemory() works", { skip }, (t) => {
  const build = tempDir(t);
  const out = join(build, "node_child.mjs");
  const b = spawnSync(bun, ["build", "--target=node", fixture("node_child.ts"), "--outfile", out], {
    encoding: "utf8",
  });
  assert.equal(b.status, 0, `bun build failed: ${b.stderr}`);
  const dir = tempDir(t);
  const r = spawnSync(node!, [out, dir], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `node failed (${r.signal}): ${r.stderr}`);
  const report = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
    imported: boolean;
    open: { code?: string; message?: string };
    memory: unknown;
    closed?: boolean;
  };
  assert.equal(report.imported, true);
  assert.equal(report.open.code, "UNSUPPORTED", JSON.stringify(report.open));
  for (const word of ["Deno", "--allow-ffi", "Bun", "Node", "openInMemory"]) {
    assert.ok(report.open.message?.includes(word), `the message names ${word}: ${report.open.message}`);
  }
  assert.deepEqual(readdirSync(dir), [], "the refused open created nothing");
  assert.equal(report.memory, "in memory");
  assert.equal(report.closed, true);
});
