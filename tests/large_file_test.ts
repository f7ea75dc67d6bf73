/**
 * A journal larger than 1 GiB: frames that straddle the 1 GiB mark (big values
 * and small records alike) are written, read back in the same handle, and read
 * back after reopening from a checkpoint and from a full replay.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { test } from "node:test";
import { statSync } from "node:fs";
import { Emdb } from "../mod.ts";
import { tempDbPath } from "./_helpers.ts";

const GiB = 1024 * 1024 * 1024;

/** A value of `len` bytes whose content is a function of (seed, position). */
function fillValue(out: Uint8Array, seed: number): Uint8Array {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length >>> 2);
  let x = (seed * 0x9e3779b1) | 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  for (let i = words.length * 4; i < out.length; i++) out[i] = (seed + i) & 0xff;
  return out;
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return Buffer.compare(a, b) === 0;
}

test("a journal past 1 GiB with frames straddling the 1 GiB mark reads back, also after reopen", {
  timeout: 240_000,
}, (t) => {
  const path = tempDbPath(t);
  const BIG = 4 * 1024 * 1024 + 4; // not a multiple of 8: every frame has padding
  const scratch = new Uint8Array(BIG);
  const expect = new Uint8Array(BIG);
  const bigKeys: string[] = [];
  const smallKeys: string[] = [];
  const small = (i: number) => `small-${i}-${"s".repeat(i % 37)}`;
  const smallValue = (i: number) => fillValue(new Uint8Array(100 + (i % 900)), 1_000_000 + i);

  const check = (db: Emdb, what: string) => {
    bigKeys.forEach((k, i) => {
      fillValue(expect, i);
      assert.ok(same(db.get(k), expect), `${what}: ${k} is wrong`);
    });
    smallKeys.forEach((k, i) => assert.ok(same(db.get(k), smallValue(i)), `${what}: ${k} is wrong`));
    assert.equal(db.size, bigKeys.length + smallKeys.length, `${what}: size`);
  };

  let straddled = 0;
  let crossing = "";
  {
    using db = Emdb.open(path);
    let i = 0;
    // Big values up to a little before 1 GiB.
    while (db.stats().logicalSizeBytes + BIG + 1024 < GiB - 512 * 1024) {
      const key = `big-${i}`;
      db.set(key, fillValue(scratch, i));
      bigKeys.push(key);
      i++;
    }
    // Small records across the mark, so that some small frame straddles it or ends right at it.
    while (db.stats().logicalSizeBytes < GiB + 512 * 1024) {
      const before = db.stats().logicalSizeBytes;
      const j = smallKeys.length;
      db.set(small(j), smallValue(j));
      smallKeys.push(small(j));
      const after = db.stats().logicalSizeBytes;
      if (before < GiB && after >= GiB) {
        straddled++;
        crossing = `[${before - GiB}, ${after - GiB}) relative to 1 GiB`;
      }
    }
    assert.equal(straddled, 1, "exactly one small frame crosses or ends at the 1 GiB mark");
    // More big values, two of them in a setMany.
    db.setMany([[`big-${i}`, fillValue(scratch, i).slice()], [`big-${i + 1}`, fillValue(scratch, i + 1).slice()]]);
    bigKeys.push(`big-${i}`, `big-${i + 1}`);
    i += 2;
    while (db.stats().logicalSizeBytes < GiB + 80 * 1024 * 1024) {
      const key = `big-${i}`;
      db.set(key, fillValue(scratch, i));
      bigKeys.push(key);
      i++;
    }
    check(db, "in the writing handle");
  }
  assert.ok(statSync(path).size > GiB + 64 * 1024 * 1024);
  assert.ok(smallKeys.length > 100);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    assert.equal(db.stats().openedFrom, "checkpoint");
    check(db, "after reopen from the checkpoint");
  }
  {
    using db = Emdb.open(path, { useCheckpoint: false, checkpointOnClose: false });
    check(db, "after a full replay");
    // The unsafe view of a value that lies past 1 GiB equals its copy.
    const last = bigKeys.at(-1)!;
    assert.ok(same(db.getUnsafeView(last), db.get(last)!));
  }
  console.log(
    `large file: ${bigKeys.length} big values, ${smallKeys.length} small, the frame at the 1 GiB mark spans ${crossing}`,
  );
});

test("a 360 MB string is measured by its real UTF-8 size and stored, not refused by a 3x worst case", {
  timeout: 240_000,
}, (t) => {
  const path = tempDbPath(t);
  const s = "emdb".repeat(90_000_000); // 360,000,000 chars, 360,000,000 UTF-8 bytes (a 3x bound would be 1.08 GB)
  {
    using db = Emdb.open(path, { preallocateBytes: 0 });
    db.set("big", s);
    db.setMany([["big2", s.slice(0, 1000)]]);
    assert.equal(db.getUnsafeView("big")?.length, 360_000_000);
  }
  using db = Emdb.open(path);
  const v = db.getUnsafeView("big")!;
  assert.equal(v.length, 360_000_000);
  assert.equal(new TextDecoder().decode(v.subarray(v.length - 8)), "emdbemdb");
  assert.ok(statSync(path).size > 360_000_000);
});
