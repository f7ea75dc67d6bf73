/**
 * A full file system: reopening after `ENOSPC` and a crash must not fault on
 * the sparse tail (reading a hole of a full tmpfs through a mapping is
 * SIGBUS), and an open that cannot write its lock holder reports `ENOSPC` and
 * leaves no temp file. Runs on a 4 MiB tmpfs mounted in a private mount
 * namespace (`unshare -rm`, no root needed where user namespaces are allowed);
 * skipped where that is not possible.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { fixture, runtimeCommand, tempDir } from "./_helpers.ts";

function canMountTmpfs(dir: string): boolean {
  if (process.platform !== "linux") return false;
  const r = spawnSync("unshare", ["-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1"', "sh", dir], {
    stdio: "ignore",
  });
  return r.status === 0;
}

const probe = tempDir({ after: () => {} });
const skip = !canMountTmpfs(probe) && "cannot mount a tmpfs in a private namespace (unshare -rm) here";

interface StepResult {
  exit: number;
  json: Record<string, unknown> | undefined;
}

/** Runs `steps` (fixture steps with arguments) in order, in one namespace, on a fresh 4 MiB tmpfs at `mnt`. */
function onFullDisk(mnt: string, steps: string[][]): { results: StepResult[]; output: string } {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const lines = ["set -u", `mount -t tmpfs -o size=4m tmpfs ${q(mnt)} || exit 90`];
  for (const [i, s] of steps.entries()) {
    const [cmd, argv] = runtimeCommand(fixture("full_disk_child.ts"), [s[0]!, mnt, ...s.slice(1)]);
    lines.push(`${[cmd, ...argv].map(q).join(" ")}; echo "@@step ${i} exit $?"`);
  }
  const r = spawnSync("unshare", ["-rm", "sh", "-c", lines.join("\n")], { encoding: "utf8", timeout: 120_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  assert.notEqual(r.status, 90, `mount failed: ${output}`);
  const results: StepResult[] = [];
  let json: Record<string, unknown> | undefined;
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("{")) json = JSON.parse(line) as Record<string, unknown>;
    const m = /^@@step (\d+) exit (\d+)$/.exec(line);
    if (m) {
      results.push({ exit: Number(m[2]), json });
      json = undefined;
    }
  }
  assert.equal(results.length, steps.length, output);
  return { results, output };
}

const SIGBUS_EXIT = 128 + 7;

test("reopening a journal with a sparse tail on a full tmpfs does not fault and keeps every key", { skip }, (t) => {
  const mnt = tempDir(t);
  const { results, output } = onFullDisk(mnt, [["sparse"], ["fill", "16"], ["reopen"]]);
  assert.equal(results[0]!.exit, 0, output);
  assert.equal(results[1]!.exit, 0, output);
  const reopen = results[2]!;
  assert.notEqual(reopen.exit, SIGBUS_EXIT, `the reopen died of SIGBUS:\n${output}`);
  assert.equal(reopen.exit, 0, output);
  assert.equal(reopen.json?.ok, true, output);
  assert.equal(reopen.json?.keys, 100);
  assert.ok((reopen.json?.fileBytes as number) < (results[0]!.json?.fileBytes as number), "the zero tail was cut");
});

test("after ENOSPC and a crash on a full tmpfs, reopening does not fault and keeps what was written", { skip }, (t) => {
  const mnt = tempDir(t);
  const { results, output } = onFullDisk(mnt, [["enospc"], ["reopen"]]);
  const crash = results[0]!.json as { written: number; failure: { code?: string; errno?: string } };
  assert.ok(crash.written > 0 && crash.written < 1000, output);
  assert.equal(crash.failure.code, "IO", output);
  assert.equal(crash.failure.errno, "ENOSPC", output);
  const reopen = results[1]!;
  assert.notEqual(reopen.exit, SIGBUS_EXIT, `the reopen died of SIGBUS:\n${output}`);
  assert.equal(reopen.exit, 0, output);
  assert.equal(reopen.json?.ok, true, output);
  assert.equal(reopen.json?.keys, crash.written, output);
  assert.equal(reopen.json?.last, 64 * 1024);
});

test("an open that cannot write its lock holder on a full disk is IO ENOSPC and leaves no temp file", { skip }, (t) => {
  const mnt = tempDir(t);
  const { results, output } = onFullDisk(mnt, [["fill", "0"], ["open-new"]]);
  const r = results[1]!.json as { ok: boolean; code: string; errno: string; message: string; files: string[] };
  assert.equal(r.ok, false, output);
  assert.equal(r.code, "IO", r.message);
  assert.equal(r.errno, "ENOSPC", r.message);
  assert.ok(r.message.includes("ENOSPC"), r.message);
  assert.deepEqual(r.files.filter((f) => f.endsWith(".tmp")), [], `a temp file was left: ${r.files}`);
  assert.ok(!r.files.includes("new.emdb"), "the journal was not created");
});
