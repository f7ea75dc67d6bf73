/**
 * Whole-file reads of the OS backends (`NodeFiles.readFile`, used for
 * checkpoints and lock holder files): exact contents at every size around the
 * read sizes, missing files, and files whose reported size is wrong.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { systemIo } from "../src/io/system_io.ts";
import { tempDir } from "./_helpers.ts";

test("readFile returns every byte of files of many sizes, and undefined for a missing one", (t) => {
  const dir = tempDir(t);
  const io = systemIo();
  for (const size of [0, 1, 4095, 4096, 65535, 65536, 65537, 3 * 1024 * 1024 + 7]) {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 131 + size) & 0xff;
    const path = join(dir, `f${size}`);
    writeFileSync(path, data);
    const got = io.readFile(path);
    assert.ok(got !== undefined);
    assert.equal(got.length, size, `size ${size}`);
    assert.deepEqual(got, data, `content of ${size} bytes`);
  }
  assert.equal(io.readFile(join(dir, "missing")), undefined);
});

if (process.platform === "linux") {
  test("readFile reads on past a reported size of 0 (a /proc file)", () => {
    const got = systemIo().readFile("/proc/self/status");
    assert.ok(got !== undefined && got.length > 0);
    assert.match(new TextDecoder().decode(got), /^Name:/);
  });
}
