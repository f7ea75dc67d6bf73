/**
 * The README's first command: `demo.ts` on the embedded default database
 * (here inside a temporary `XDG_DATA_HOME`), run three times so the later runs
 * reopen it, find the garbage of the earlier ones and compact it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeCommand, tempDir } from "./_helpers.ts";
import { test } from "node:test";

const DEMO = fileURLToPath(new URL("../demo.ts", import.meta.url));

test("the demo runs on the default database, reopens it, and keeps it from growing", { timeout: 60_000 }, (t) => {
  const home = tempDir(t);
  const [cmd, args] = runtimeCommand(DEMO);
  const sizes: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const r = spawnSync(cmd, args, { env: { ...process.env, XDG_DATA_HOME: home }, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /read back +all records, the range, the conflict and the TTL correct/);
    assert.match(r.stdout, new RegExp(`runs so far +${run}\\n`));
    assert.match(r.stdout, run === 1 ? /opened from +new/ : /opened from +checkpoint/);
    if (run > 1) assert.match(r.stdout, /compacted \d+ → \d+ bytes/);
    sizes.push(statSync(join(home, "emdb", "emdb-default.emdb")).size);
  }
  assert.ok(sizes[2]! <= sizes[1]! + 1024, `the journal stays the same size from run to run: ${sizes.join(", ")}`);
});
