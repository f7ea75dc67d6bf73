/**
 * Issue 9's reliability items that live in the engine: a damaged record is
 * never returned as data, re-entrant writes cannot corrupt a batch, a
 * checkpoint must prove it describes this journal's history and must not be
 * trusted when forged, a torn record's own extent is not evidence of damage,
 * unknown header flags refuse the open, and the true size limits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Emdb } from "../mod.ts";
import {
  assertEmdbError,
  bytesEqual,
  crc32c,
  HEADER_BYTES,
  indexOfBytes,
  readBytes,
  runFixture,
  tempDbPath,
  utf8,
} from "./_helpers.ts";

/** Writes `n` keys k0..k(n-1) with values "value-of-k<i>-padding…" and closes (with a checkpoint). */
function build(path: string, n: number): void {
  using db = Emdb.open(path);
  for (let i = 0; i < n; i++) db.set(`k${i}`, `value-of-k${i}-${"p".repeat(40)}`);
}

test("a bit flipped in an old value after a checkpoint is CORRUPTED on every read path; other keys still read", (t) => {
  const path = tempDbPath(t);
  build(path, 200);
  const bytes = readBytes(path);
  const at = indexOfBytes(bytes, utf8("value-of-k77-"));
  assert.ok(at > 0);
  bytes[at + 3]! ^= 0x01; // "value" → "vamue": inside the value, the key is intact
  writeFileSync(path, bytes);
  using db = Emdb.open(path);
  assert.equal(db.stats().openedFrom, "checkpoint", "the checkpoint covers the damaged record: no replay read it");
  const reads: [string, () => unknown][] = [
    ["get", () => db.get("k77")],
    ["getString", () => db.getString("k77")],
    ["getInto", () => db.getInto("k77", new Uint8Array(100))],
    ["getUnsafeView", () => db.getUnsafeView("k77")],
    ["getEntry", () => db.getEntry("k77")],
    ["has", () => db.has("k77")],
    ["entries", () => [...db.entries()]],
    ["range", () => [...db.range({ start: "k7" })]],
    ["transaction", () => db.transaction((tx) => tx.get("k77"))],
  ];
  for (const [what, read] of reads) {
    const e = assertEmdbError(read, "CORRUPTED");
    assert.ok(e.offset !== undefined && e.offset < at && at - e.offset < 64, `${what}: offset ${e.offset}`);
  }
  assert.equal(db.getString("k76"), `value-of-k76-${"p".repeat(40)}`);
  assert.equal(db.getString("k78"), `value-of-k78-${"p".repeat(40)}`);
  assert.equal(db.size, 200);
});

test("a set() or delete() from inside setMany's iterable is refused with BUSY and nothing is corrupted", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path);
    const entries = function* () {
      yield ["a", "1"] as const;
      db.set("progress", "half"); // a progress write: refused, the batch is untouched
      yield ["b", "2"] as const;
    };
    assertEmdbError(() => db.setMany(entries()), "BUSY");
    assert.equal(db.has("a"), false, "the batch was not written");
    const quiet = function* () {
      yield ["a", "1"] as const;
      try {
        db.delete("a");
      } catch (e) {
        assert.equal((e as { code?: string }).code, "BUSY");
      }
      assert.equal(db.getString("zzz"), undefined, "reads are fine meanwhile");
      yield ["b", "2"] as const;
    };
    assert.equal(db.setMany(quiet()), 2);
    db.set("after", "3");
  }
  using db = Emdb.open(path, { useCheckpoint: false });
  assert.deepEqual([...db.rangeKeys()], ["a", "after", "b"]);
});

test("close() from inside setMany's iterable closes the database and setMany throws CLOSED", (t) => {
  const path = tempDbPath(t);
  const db = Emdb.open(path);
  db.set("before", "1");
  function* entries() {
    yield ["a", "1"] as const;
    db.close();
    yield ["b", "2"] as const;
  }
  assertEmdbError(() => db.setMany(entries()), "CLOSED");
  using again = Emdb.open(path);
  assert.deepEqual([...again.rangeKeys()], ["before"]);
});

test("a checkpoint is not trusted for a journal restored from an older copy and written again", (t) => {
  const path = tempDbPath(t);
  const copy = `${path}.copy`;
  {
    using db = Emdb.open(path);
    db.set("a", "1");
    db.checkpoint();
    copyFileSync(path, copy); // a backup taken here
    db.set("b", "2");
    db.set("c", "3");
  } // close() writes a checkpoint covering a, b, c
  // Restore the journal from the copy and write records of the same sizes: the restored journal then
  // holds, at the place where the checkpoint saw its last record, an identical record ("c" = "3").
  copyFileSync(copy, path);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    db.set("x", "2");
    db.set("c", "3");
  }
  using db = Emdb.open(path);
  assert.equal(db.stats().openedFrom, "replay", "the checkpoint did not describe this history");
  assert.deepEqual([...db.rangeKeys()], ["a", "c", "x"], "x (written after the restore) is there, b is not");
});

/** A hint whose CRC is recomputed after `edit` changes it. */
function forgeHint(path: string, edit: (b: Uint8Array, dv: DataView) => void): void {
  const b = new Uint8Array(readFileSync(`${path}.hint`));
  const dv = new DataView(b.buffer);
  edit(b, dv);
  dv.setUint32(b.length - 4, crc32c(b, 0, b.length - 4), true);
  writeFileSync(`${path}.hint`, b);
}

test("a forged checkpoint with a valid CRC (counts, offsets, hash key) is rejected, never trusted or hung on", (t) => {
  const forgeries: [string, (b: Uint8Array, dv: DataView) => void][] = [
    ["hash key changed", (_b, dv) => dv.setUint32(64, dv.getUint32(64, true) ^ 1, true)],
    ["an entry's offset points at another record", (_b, dv) => dv.setUint32(80 + 8 + 24 + 4, 256, true)],
    ["an entry's offset is not 8-aligned", (_b, dv) => dv.setUint32(80 + 8 + 24 + 4, 259, true)],
    ["an entry's offset is past the journal", (_b, dv) => dv.setUint32(80 + 8 + 24 + 8, 1, true)],
    [
      "two entries share an offset",
      (_b, dv) => dv.setUint32(80 + 8 + 24 + 16, dv.getUint32(80 + 8 + 24 + 4, true), true),
    ],
    ["the entry count is too big", (_b, dv) => dv.setUint32(80 + 8 + 8, 0x7fffffff, true)],
    ["the live-byte count is absurd", (_b, dv) => dv.setUint32(80 + 8 + 4, 0x7fffffff, true)],
    ["the covered offset moved", (_b, dv) => dv.setUint32(32, dv.getUint32(32, true) - 8, true)],
  ];
  for (const [what, edit] of forgeries) {
    const path = tempDbPath(t, `${what.replace(/\W/g, "_")}.emdb`);
    build(path, 300);
    forgeHint(path, edit);
    using db = Emdb.open(path);
    assert.equal(db.stats().openedFrom, "replay", `${what}: the checkpoint was rejected`);
    assert.equal(db.size, 300, what);
    for (let i = 0; i < 300; i += 7) assert.equal(db.has(`k${i}`), true, `${what}: k${i}`);
  }
});

test("a FIFO at <path>.hint does not hang the open", { skip: process.platform === "win32" }, async (t) => {
  const path = tempDbPath(t);
  build(path, 10);
  execFileSync("rm", [`${path}.hint`]);
  execFileSync("mkfifo", [`${path}.hint`]);
  const r = await runFixture("open_count.ts", [path], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false, "the open hung on the FIFO");
  assert.equal(r.stdout.trim(), "10", r.stderr);
});

test("a FIFO at <path>.lock-meta does not hang lockHolder(): it is IO, not a holder", {
  skip: process.platform === "win32",
}, async (t) => {
  const path = tempDbPath(t);
  build(path, 1);
  execFileSync("mkfifo", [`${path}.lock-meta`]);
  const r = await runFixture("lock_holder.ts", [path], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false, "lockHolder() hung on the FIFO");
  assert.equal(r.stdout.trim(), "IO", r.stderr);
});

test("a torn large value that contains bytes of a valid record is a torn tail, not damage", (t) => {
  const path = tempDbPath(t);
  // A value holding a copy of a whole journal: valid-looking records inside it.
  const inner = tempDbPath(t, "inner.emdb");
  build(inner, 20);
  const payload = readBytes(inner);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    db.set("first", "1");
    db.set("big", payload);
  }
  const full = readBytes(path);
  const bigStart = indexOfBytes(full, utf8("big")) - 16;
  // The crash wrote the big record's header and the first 40% of its value, then zeros (preallocated space).
  const torn = full.slice();
  torn.fill(0, bigStart + 16 + 3 + Math.floor(payload.length * 0.4));
  writeFileSync(path, torn);
  using db = Emdb.open(path);
  assert.equal(db.getString("first"), "1");
  assert.equal(db.has("big"), false);
  assert.equal(db.stats().logicalSizeBytes, bigStart, "the torn record was cut");
  assert.equal(existsSync(`${path}.corrupt-${bigStart}`), false, "nothing was treated as damage");
});

test("a damaged length field followed by valid records is CORRUPTED, not a torn tail", (t) => {
  const path = tempDbPath(t);
  {
    using db = Emdb.open(path, { checkpointOnClose: false });
    for (let i = 0; i < 50; i++) db.set(`k${i}`, "x".repeat(100));
  }
  const bytes = readBytes(path);
  const at = indexOfBytes(bytes, utf8("k10")) - 16;
  const damaged = bytes.slice();
  damaged[at + 10]! ^= 0x01; // value length grows by 65,536: its extent swallows every later record
  writeFileSync(path, damaged);
  const e = assertEmdbError(() => Emdb.open(path), "CORRUPTED");
  assert.equal(e.offset, at);
  assert.ok(bytesEqual(readBytes(path), damaged), "the file is unchanged");
});

test("a header with an unknown flag refuses the open and changes nothing", (t) => {
  const path = tempDbPath(t);
  build(path, 5);
  const bytes = readBytes(path);
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  dv.setUint32(12, dv.getUint32(12, true) | 0x100, true);
  dv.setUint32(252, crc32c(bytes, 0, 252), true);
  writeFileSync(path, bytes);
  assertEmdbError(() => Emdb.open(path), "VERSION_MISMATCH");
  assert.ok(bytesEqual(readBytes(path), bytes), "the file was not truncated or written");
  assert.equal(bytes.length > HEADER_BYTES, true);
});

test("a value over the record limit is refused as 'Value too large' with its real size, also in setMany", () => {
  using db = Emdb.openInMemory();
  const value = new Uint8Array(1024 * 1024 * 1024 - 20);
  assert.throws(() => db.set("k", value), (e: unknown) => e instanceof RangeError && /Value too large/.test(e.message));
  assert.throws(
    () => db.setMany([["k", value]]),
    (e: unknown) => e instanceof RangeError && /Value too large: 1073741804 bytes/.test(e.message),
  );
  assert.equal(db.size, 0);
});
