/**
 * Damaged files: torn tails at every byte length, garbage after valid data, bit
 * flips in the middle (refused with the exact offset, or salvaged), foreign
 * files, and a fuzz run over hundreds of random files in a child process.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Emdb } from "../mod.ts";
import {
  assertBytes,
  assertEmdbError,
  bytesEqual,
  crc32c,
  FRAME_HEADER_BYTES,
  HEADER_BYTES,
  indexOfBytes,
  putFrameBytes,
  readBytes,
  Rng,
  runFixture,
  tempDir,
  testSeed,
  utf8,
  withSeed,
} from "./_helpers.ts";

const RECORDS = 300;
const FRAME = putFrameBytes(24, 150); // 192

function keyOf(i: number): Uint8Array {
  return utf8(`corruption-key-${String(i).padStart(9, "0")}`); // 24 bytes
}

function valueOf(i: number): Uint8Array {
  const v = new Uint8Array(150);
  for (let j = 0; j < v.length; j++) v[j] = (i * 31 + j * 7 + 1) & 0xff;
  return v;
}

/**
 * Builds a journal of RECORDS plain put frames (one set() each) and returns its
 * bytes, after checking the layout: frame i starts at 256 + 192 i.
 */
function buildJournal(dir: string): Uint8Array {
  const path = join(dir, "source.emdb");
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    for (let i = 0; i < RECORDS; i++) db.set(keyOf(i), valueOf(i));
  }
  const bytes = readBytes(path);
  assert.equal(bytes.length, HEADER_BYTES + RECORDS * FRAME, "journal length after close");
  for (const i of [0, 1, RECORDS >> 1, RECORDS - 1]) {
    assert.equal(
      indexOfBytes(bytes, keyOf(i)),
      frameStart(i) + FRAME_HEADER_BYTES,
      `key ${i} follows its frame header`,
    );
  }
  return bytes;
}

function frameStart(i: number): number {
  return HEADER_BYTES + i * FRAME;
}

/**
 * Asserts that records [0, present) are there with their values and the rest are
 * absent; `extra` other keys may exist.
 */
function assertPrefix(db: Emdb, present: number, what: string, extra = 0): void {
  assert.equal(db.size, present + extra, `${what}: size`);
  for (let i = 0; i < RECORDS; i++) {
    const v = db.get(keyOf(i));
    if (i < present) assertBytes(v, valueOf(i), `${what}: record ${i}`);
    else assert.equal(v, undefined, `${what}: record ${i} should be absent`);
  }
}

function corruptFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.includes(".corrupt-"));
}

test(
  "a journal cut at any byte of its last three frames opens with exactly the complete frames, and later writes survive reopen",
  {
    timeout: 240_000,
  },
  (t) => {
    const dir = tempDir(t);
    const full = buildJournal(dir);
    const path = join(dir, "cut.emdb");
    const after = utf8("written-after-the-cut");
    for (let len = full.length - 3 * FRAME; len <= full.length; len++) {
      writeFileSync(path, full.subarray(0, len));
      const complete = Math.min(RECORDS, Math.floor((len - HEADER_BYTES) / FRAME));
      {
        using db = Emdb.open(path, { checkpointOnClose: false, preallocateBytes: 64 * 1024 });
        assertPrefix(db, complete, `cut at ${len}`);
        db.set(after, "new");
      }
      assert.equal(
        statSync(path).size,
        frameStart(complete) + putFrameBytes(after.length, 3),
        `cut at ${len}: the torn bytes were not cut before the new write`,
      );
      {
        using db = Emdb.open(path, { checkpointOnClose: false, preallocateBytes: 64 * 1024 });
        assert.equal(db.getString(after), "new", `cut at ${len}: the write after recovery is lost`);
        assert.equal(db.size, complete + 1, `cut at ${len}: size after the second reopen`);
        assertBytes(db.get(keyOf(complete - 1)), valueOf(complete - 1), `cut at ${len}: last complete record`);
      }
    }
  },
);

test("a torn tail is also cut with the default preallocation", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "cut.emdb");
  writeFileSync(path, full.subarray(0, full.length - 77));
  {
    using db = Emdb.open(path);
    assertPrefix(db, RECORDS - 1, "torn last frame");
    db.set("after", "1");
    db.flush();
  }
  using db = Emdb.open(path, { useCheckpoint: false });
  assert.equal(db.getString("after"), "1");
  assert.equal(db.size, RECORDS);
});

test("garbage and zeros appended after valid data are ignored and cut", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const rng = new Rng(7);
  const tails: [string, Uint8Array][] = [
    ["1 random byte", rng.bytes(1)],
    ["7 random bytes", rng.bytes(7)],
    ["100 random bytes", rng.bytes(100)],
    ["5000 random bytes", rng.bytes(5000)],
    ["8 zeros", new Uint8Array(8)],
    ["4 KiB of zeros", new Uint8Array(4096)],
    ["1 MiB of zeros", new Uint8Array(1024 * 1024)],
    ["zeros then random bytes", Uint8Array.from([...new Uint8Array(64), ...rng.bytes(64)])],
    ["half a copy of the last frame", full.slice(full.length - FRAME, full.length - FRAME / 2)],
  ];
  for (const [what, tail] of tails) {
    const path = join(dir, "tail.emdb");
    const bytes = new Uint8Array(full.length + tail.length);
    bytes.set(full, 0);
    bytes.set(tail, full.length);
    writeFileSync(path, bytes);
    {
      using db = Emdb.open(path, { checkpointOnClose: false, preallocateBytes: 64 * 1024 });
      assertPrefix(db, RECORDS, what);
      db.set("after-garbage", what);
    }
    assert.equal(statSync(path).size, full.length + putFrameBytes(13, utf8(what).length), `${what}: file length`);
    {
      using db = Emdb.open(path, { checkpointOnClose: false });
      assert.equal(db.getString("after-garbage"), what, `${what}: write after the garbage lost`);
      assert.equal(db.size, RECORDS + 1);
    }
    assert.deepEqual(corruptFiles(dir), [], `${what}: a side file was written for a plain torn tail`);
  }
});

/** Byte positions inside frame 150 to damage, with a description. */
const FLIPS: [string, number, number][] = [
  ["value byte", 16 + 24 + 10, 0x01],
  ["last value byte", 16 + 24 + 149, 0x80],
  ["key byte", 16 + 3, 0x04],
  ["crc byte", 1, 0x10],
  ["kind", 4, 0x02],
  ["flags", 5, 0x01],
  ["key length", 6, 0x01],
  ["value length (low bit)", 8, 0x08],
  ["value length (high bit)", 11, 0x40],
  ["namespace id", 12, 0x01],
  ["padding", 191, 0x01],
];

test("a flipped bit in a frame in the middle is refused with CORRUPTED at that frame's offset and the file is unchanged", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const target = 150;
  for (const [what, at, mask] of FLIPS) {
    const path = join(dir, `flip-${at}.emdb`);
    const damaged = full.slice();
    damaged[frameStart(target) + at]! ^= mask;
    writeFileSync(path, damaged);
    const e = assertEmdbError(() => Emdb.open(path), "CORRUPTED");
    assert.equal(e.offset, frameStart(target), `${what}: offset of the damaged frame`);
    assert.ok(bytesEqual(readBytes(path), damaged), `${what}: the refused file was modified`);
    assert.equal(existsSync(`${path}.hint`), false, `${what}: a hint was written for a refused file`);
    // Refusing twice gives the same answer, and the lock was released by the failed open.
    const again = assertEmdbError(() => Emdb.open(path, { useCheckpoint: false }), "CORRUPTED");
    assert.equal(again.offset, frameStart(target));
  }
  assert.deepEqual(corruptFiles(dir), [], "a refusing open wrote a side file");
});

test('onCorruption: "salvage" keeps the records before a flipped bit and saves the cut bytes in <path>.corrupt-<offset>', (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const target = 150;
  for (const [what, at, mask] of FLIPS) {
    const sub = join(dir, `salvage-${at}`);
    const path = `${sub}.emdb`;
    const damaged = full.slice();
    damaged[frameStart(target) + at]! ^= mask;
    writeFileSync(path, damaged);
    {
      using db = Emdb.open(path, { onCorruption: "salvage" });
      assertPrefix(db, target, `${what}: salvaged`);
      db.set("after-salvage", "yes");
    }
    const side = `${path}.corrupt-${frameStart(target)}`;
    assert.ok(existsSync(side), `${what}: ${side} missing (found ${corruptFiles(dir).join(", ")})`);
    assert.ok(bytesEqual(readBytes(side), damaged.subarray(frameStart(target))), `${what}: side file content`);
    using db = Emdb.open(path);
    assertPrefix(db, target, `${what}: reopened after salvage`, 1);
    assert.equal(db.getString("after-salvage"), "yes");
  }
});

/** Frame-150 forgeries whose CRC is recomputed, so only the content is wrong. */
const FORGERIES: [string, (dv: DataView, start: number) => void][] = [
  ["an unknown kind", (dv, s) => dv.setUint8(s + 4, 9)],
  ["unknown flag bits", (dv, s) => dv.setUint8(s + 5, 0x80)],
  ["an undeclared namespace id", (dv, s) => dv.setUint32(s + 12, 7, true)],
  ["a DELETE kind with a value length", (dv, s) => dv.setUint8(s + 4, 2)],
];

test("a checksum-valid frame with impossible content in the middle is CORRUPTED at its offset, and salvage keeps the prefix", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const target = 150;
  const start = frameStart(target);
  for (const [what, forge] of FORGERIES) {
    const path = join(dir, `forged-${what.replace(/\W+/g, "-")}.emdb`);
    const forged = full.slice();
    const dv = new DataView(forged.buffer);
    forge(dv, start);
    dv.setUint32(start, crc32c(forged, start + 4, start + FRAME), true);
    writeFileSync(path, forged);
    const e = assertEmdbError(() => Emdb.open(path), "CORRUPTED");
    assert.equal(e.offset, start, `${what}: offset`);
    assert.ok(bytesEqual(readBytes(path), forged), `${what}: the refused file was modified`);
    let salvaged: Emdb;
    try {
      salvaged = Emdb.open(path, { onCorruption: "salvage" });
    } catch (e2) {
      assert.fail(`${what}: onCorruption "salvage" did not open: ${(e2 as Error).message}`);
    }
    try {
      assertPrefix(salvaged, target, `${what}: salvaged`);
    } finally {
      salvaged.close();
    }
    assert.ok(bytesEqual(readBytes(`${path}.corrupt-${start}`), forged.subarray(start)), `${what}: side file`);
  }
});

test("zeros in the middle followed by valid frames (a crash gap) are cut and the bytes after them kept in a side file", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "gap.emdb");
  const gapped = full.slice();
  gapped.fill(0, frameStart(100), frameStart(110));
  writeFileSync(path, gapped);
  {
    using db = Emdb.open(path);
    assertPrefix(db, 100, "crash gap");
    db.set("after-gap", "1");
  }
  const side = `${path}.corrupt-${frameStart(100)}`;
  assert.ok(existsSync(side), `missing ${side}; found ${corruptFiles(dir).join(", ")}`);
  assert.ok(bytesEqual(readBytes(side), gapped.subarray(frameStart(100))), "side file content");
  using db = Emdb.open(path);
  assertPrefix(db, 100, "after reopen", 1);
});

test("damage after the checkpoint offset is still detected when opening from the checkpoint", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    for (let i = 0; i < 100; i++) db.set(keyOf(i), valueOf(i));
    db.checkpoint();
    for (let i = 100; i < RECORDS; i++) db.set(keyOf(i), valueOf(i));
  }
  const bytes = readBytes(path);
  // The checkpoint appended its 32-byte marker record after record 99.
  const MARKER = 32;
  const at = (i: number) => frameStart(i) + (i >= 100 ? MARKER : 0);
  assert.equal(bytes.length, HEADER_BYTES + RECORDS * FRAME + MARKER);
  const damaged = bytes.slice();
  damaged[at(200) + 70]! ^= 0x08;
  writeFileSync(path, damaged);
  const e = assertEmdbError(() => Emdb.open(path), "CORRUPTED");
  assert.equal(e.offset, at(200));
  assert.ok(bytesEqual(readBytes(path), damaged));
  // A torn tail after the checkpoint is cut, and the checkpoint still serves the prefix.
  writeFileSync(path, bytes.subarray(0, at(250) + 100));
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    assert.equal(db.stats().openedFrom, "checkpoint");
    assertPrefix(db, 250, "torn tail behind a checkpoint");
    db.set("after", "1");
  }
  using db = Emdb.open(path, { useCheckpoint: false });
  assertPrefix(db, 250, "full replay afterwards", 1);
});

test("a flipped bit in the last frame is a torn tail: the frame is cut and the rest opens", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "last.emdb");
  const damaged = full.slice();
  damaged[frameStart(RECORDS - 1) + 100]! ^= 0x20;
  writeFileSync(path, damaged);
  using db = Emdb.open(path);
  assertPrefix(db, RECORDS - 1, "damaged last frame");
});

test("a damaged header with data after it is CORRUPTED at offset 0 and the file is unchanged", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "header.emdb");
  const damaged = full.slice();
  damaged[40]! ^= 0x01; // a reserved byte: the magic still matches, the header CRC does not
  writeFileSync(path, damaged);
  const e = assertEmdbError(() => Emdb.open(path), "CORRUPTED");
  assert.equal(e.offset, 0);
  assert.ok(bytesEqual(readBytes(path), damaged));
});

test("a header with another format version is VERSION_MISMATCH and the file is unchanged", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "v3.emdb");
  const v2 = full.slice();
  new DataView(v2.buffer).setUint32(8, 3, true);
  new DataView(v2.buffer).setUint32(252, crc32c(v2, 0, 252), true);
  writeFileSync(path, v2);
  assertEmdbError(() => Emdb.open(path), "VERSION_MISMATCH");
  assert.ok(bytesEqual(readBytes(path), v2));
});

test("an empty file or a header torn while the file was created opens as a new database", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const cases: [string, Uint8Array][] = [
    ["an empty file", new Uint8Array(0)],
    ["3 bytes of the magic", full.slice(0, 3)],
    ["the whole magic", full.slice(0, 8)],
    ["60 bytes of the header", full.slice(0, 60)],
  ];
  for (const [what, bytes] of cases) {
    const path = join(dir, "torn-header.emdb");
    writeFileSync(path, bytes);
    {
      using db = Emdb.open(path);
      assert.equal(db.size, 0, what);
      db.set("k", what);
    }
    using db = Emdb.open(path);
    assert.equal(db.getString("k"), what, `${what}: write after re-initialisation`);
  }
});

test("files that are not emdb journals are refused with NOT_EMDB and left unchanged", (t) => {
  const dir = tempDir(t);
  const png = Uint8Array.of(
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0x00,
    0x00,
    0x00,
    0x0d,
    0x49,
    0x48,
    0x44,
    0x52,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x08,
    0x06,
    0x00,
    0x00,
    0x00,
    0x1f,
    0x15,
    0xc4,
    0x89,
  );
  const foreign: [string, Uint8Array][] = [
    ["a text file", utf8("Dear diary,\nthis is not a database.\n".repeat(20))],
    ["64 bytes of 0xFF", new Uint8Array(64).fill(0xff)],
    ["a short file", utf8("hello")],
    ["one byte", Uint8Array.of(0x42)],
    ["a PNG", png],
    ["a JSON file", utf8(JSON.stringify({ emdb: true, records: [1, 2, 3] }))],
    ["4 KiB of 0xFF", new Uint8Array(4096).fill(0xff)],
  ];
  for (const [what, bytes] of foreign) {
    const path = join(dir, "foreign.bin");
    writeFileSync(path, bytes);
    const e = assertEmdbError(() => Emdb.open(path), "NOT_EMDB");
    assert.ok(e.message.includes(path), `${what}: the message names the file: ${e.message}`);
    assert.ok(bytesEqual(readBytes(path), bytes), `${what}: the foreign file was modified`);
    assertEmdbError(() => Emdb.open(path, { onCorruption: "salvage" }), "NOT_EMDB");
    assert.ok(bytesEqual(readBytes(path), bytes), `${what}: the foreign file was modified by a salvaging open`);
  }
});

/** Makes the fuzz corpus: random files, valid headers with random bodies, damaged real journals. */
function makeCorpus(dir: string, rng: Rng): number {
  // A real journal with a mix of frames: puts, deletes, batches, clear, more puts.
  const basePath = join(dir, "base.emdb");
  {
    using db = Emdb.open(basePath, { checkpointOnClose: false });
    for (let i = 0; i < 40; i++) db.set(keyOf(i), valueOf(i));
    for (let i = 0; i < 40; i += 4) db.delete(keyOf(i));
    db.setMany([[keyOf(100), valueOf(100)], [keyOf(101), "x"], [keyOf(100), valueOf(102)]]);
    db.clear();
    for (let i = 40; i < 80; i++) db.set(keyOf(i), valueOf(i));
    db.setMany(Array.from({ length: 30 }, (_, j) => [keyOf(200 + j), valueOf(j)] as [Uint8Array, Uint8Array]));
  }
  const base = readBytes(basePath);
  // A journal of plain put frames only, so that frame boundaries are known.
  const plainPath = join(dir, "plain.emdb");
  {
    using db = Emdb.open(plainPath, { checkpointOnClose: false });
    for (let i = 0; i < 60; i++) db.set(keyOf(i), valueOf(i));
  }
  const plain = readBytes(plainPath);
  const header = base.subarray(0, HEADER_BYTES);

  const files: Uint8Array[] = [];
  // 60 files of random bytes of random size (up to 64 KiB), some starting with the magic.
  for (let i = 0; i < 60; i++) {
    const f = rng.bytes(rng.int(65537));
    if (i % 3 === 0 && f.length >= 8) f.set(header.subarray(0, 8), 0);
    files.push(f);
  }
  // 50 valid headers followed by random bytes.
  for (let i = 0; i < 50; i++) {
    const body = rng.bytes(rng.int(65536));
    const f = new Uint8Array(HEADER_BYTES + body.length);
    f.set(header, 0);
    f.set(body, HEADER_BYTES);
    files.push(f);
  }
  // 50 real journals with 1–10 random bit flips, some also truncated.
  for (let i = 0; i < 50; i++) {
    const f = base.slice(0, i % 4 === 0 ? rng.range(HEADER_BYTES, base.length) : base.length);
    const flips = rng.range(1, 10);
    for (let k = 0; k < flips; k++) {
      const at = rng.range(i % 5 === 0 ? 0 : HEADER_BYTES, f.length - 1);
      f[at]! ^= 1 << rng.int(8);
    }
    files.push(f);
  }
  // 50 journals with forged frames: random bytes changed inside a frame whose CRC is then recomputed,
  // so the reader sees a checksum-valid frame with nonsense in it.
  for (let i = 0; i < 50; i++) {
    const f = plain.slice();
    const frames = rng.range(1, 3);
    for (let k = 0; k < frames; k++) {
      const start = HEADER_BYTES + rng.int(60) * FRAME;
      const changes = rng.range(1, 4);
      for (let c = 0; c < changes; c++) {
        // Mostly the header fields (kind, flags, lengths, namespace), sometimes the body.
        const at = start + (rng.int(3) === 0 ? rng.range(4, FRAME - 1) : rng.range(4, 15));
        f[at] = rng.int(4) === 0 ? 0xff : rng.u32() & 0xff;
      }
      new DataView(f.buffer).setUint32(start, crc32c(f, start + 4, start + FRAME), true);
    }
    files.push(f);
  }
  // 20 journals with zero holes, some followed by valid frames.
  for (let i = 0; i < 20; i++) {
    const f = plain.slice();
    const start = HEADER_BYTES + rng.int(f.length - HEADER_BYTES);
    f.fill(0, start, Math.min(f.length, start + rng.range(1, 3000)));
    files.push(f);
  }
  // 10 short files: prefixes of a valid header and of the first frame.
  for (let i = 0; i < 10; i++) files.push(plain.slice(0, rng.range(1, HEADER_BYTES + FRAME)));
  files.forEach((f, i) => writeFileSync(join(dir, `f-${i}.emdb`), f));
  return files.length;
}

test("opening hundreds of random and damaged files never hangs or crashes: it opens or throws EmdbError", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, async () => {
    const dir = tempDir(t);
    const count = makeCorpus(dir, new Rng(seed));
    assert.ok(count >= 200);
    const r = await runFixture("fuzz_open.ts", [dir, String(count)], { timeoutMs: 180_000 });
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    const lastOpen = [...lines].reverse().find((l) => l.startsWith("open "));
    assert.ok(!r.timedOut, `the fuzz child hung; last line: ${lastOpen}`);
    assert.equal(r.signal, null, `the fuzz child died from ${r.signal} at ${lastOpen}:\n${r.stderr}`);
    assert.equal(r.code, 0, `the fuzz child failed at ${lastOpen}:\n${r.stderr}`);
    assert.equal(lines.at(-1), "done");
    const bad = lines.filter((l) => l.startsWith("bad "));
    assert.deepEqual(bad, [], "files whose open misbehaved");
    const outcomes = new Map<string, number>();
    for (const l of lines) {
      const [kind, , code] = l.split(" ");
      if (kind === "open" || kind === "done") continue;
      const key = kind === "err" ? `err ${code}` : kind!;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    const answered = lines.filter((l) => l.startsWith("ok ") || l.startsWith("err ")).length;
    assert.equal(answered, count, "every file got an answer");
    console.log(`fuzz (${count} files):`, Object.fromEntries(outcomes));
  });
});

test("a salvaged database can be salvaged again and the side files do not clash", (t) => {
  const dir = tempDir(t);
  const full = buildJournal(dir);
  const path = join(dir, "twice.emdb");
  const damaged = full.slice();
  damaged[frameStart(200) + 50]! ^= 1;
  writeFileSync(path, damaged);
  {
    using db = Emdb.open(path, { onCorruption: "salvage", checkpointOnClose: false });
    assertPrefix(db, 200, "first salvage");
  }
  // Damage the salvaged journal again, earlier, with valid frames behind the damage.
  const again = readBytes(path);
  again[frameStart(100) + 60]! ^= 1;
  writeFileSync(path, again);
  {
    using db = Emdb.open(path, { onCorruption: "salvage" });
    assertPrefix(db, 100, "second salvage");
  }
  assert.ok(existsSync(`${path}.corrupt-${frameStart(200)}`));
  assert.ok(existsSync(`${path}.corrupt-${frameStart(100)}`));
});
