/**
 * Checkpoints (`<path>.hint`): a reopen from a checkpoint gives exactly the same
 * content as a full replay, writes after the checkpoint are replayed on top, and
 * a hint that does not match its journal (stale, foreign, damaged) is ignored.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { copyFileSync, existsSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Emdb } from "../mod.ts";
import { assertBytes, indexOfBytes, putFrameBytes, readBytes, Rng, tempDir, utf8 } from "./_helpers.ts";

type Options = Parameters<typeof Emdb.open>[1];
type Model = Map<string, Uint8Array>;

function keyOf(i: number): string {
  return `ckpt-key-${String(i).padStart(6, "0")}`;
}

function valueOf(i: number, version: number): Uint8Array {
  const out = new Uint8Array(20 + ((i * 37 + version * 11) % 200));
  out.fill((i + version) & 0xff);
  out.set(utf8(`${i}/${version}`), 0);
  return out;
}

/** Writes keys [from, to) with `version` into db and model. */
function fill(db: Emdb, model: Model, from: number, to: number, version: number): void {
  for (let i = from; i < to; i++) {
    const v = valueOf(i, version);
    db.set(keyOf(i), v);
    model.set(keyOf(i), v);
  }
}

/** Asserts that the database holds exactly the model (keys from a known range). */
function assertContent(db: Emdb, model: Model, keyRange: number, what: string): void {
  assert.equal(db.size, model.size, `${what}: size`);
  for (let i = 0; i < keyRange; i++) assertBytes(db.get(keyOf(i)), model.get(keyOf(i)), `${what}: ${keyOf(i)}`);
}

function reopen(path: string, options?: Options): Emdb {
  return Emdb.open(path, options);
}

test("checkpoint() then reopen opens from the checkpoint with identical content", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  const db = reopen(path, { checkpointOnClose: false });
  fill(db, model, 0, 2000, 1);
  for (let i = 0; i < 2000; i += 5) {
    db.delete(keyOf(i));
    model.delete(keyOf(i));
  }
  db.checkpoint();
  const s = db.stats();
  assert.equal(s.checkpointOffset, s.logicalSizeBytes, "the checkpoint covers the whole journal");
  assert.ok(existsSync(`${path}.hint`), "checkpoint() wrote <path>.hint");
  db.close();

  using again = reopen(path);
  const s2 = again.stats();
  assert.equal(s2.openedFrom, "checkpoint");
  assert.ok(s2.replayedBytes < 1024, `replayedBytes ${s2.replayedBytes} after a checkpoint at the very end`);
  assert.equal(s2.checkpointOffset, s.checkpointOffset);
  assertContent(again, model, 2000, "after reopen from the checkpoint");
});

test("writes, overwrites and deletes made after a checkpoint are there after reopen", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  const db = reopen(path, { checkpointOnClose: false });
  fill(db, model, 0, 1000, 1);
  db.checkpoint();
  const checkpointOffset = db.stats().checkpointOffset;
  fill(db, model, 500, 1500, 2); // overwrites 500..999, adds 1000..1499
  for (let i = 0; i < 1500; i += 7) {
    assert.equal(db.delete(keyOf(i)), model.delete(keyOf(i)));
  }
  db.setMany([[keyOf(3), valueOf(3, 9)], [keyOf(1499), valueOf(1499, 9)]]);
  model.set(keyOf(3), valueOf(3, 9));
  model.set(keyOf(1499), valueOf(1499, 9));
  const logical = db.stats().logicalSizeBytes;
  db.close();

  using again = reopen(path);
  const s = again.stats();
  assert.equal(s.openedFrom, "checkpoint");
  assert.equal(s.checkpointOffset, checkpointOffset);
  assert.ok(s.replayedBytes > 0, "the tail after the checkpoint was replayed");
  assert.ok(s.replayedBytes <= logical - checkpointOffset + 64, `replayedBytes ${s.replayedBytes}`);
  assertContent(again, model, 1500, "after reopen from an older checkpoint");
});

test("close() writes a checkpoint by default and the next open uses it", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path);
    fill(db, model, 0, 300, 1);
  }
  assert.ok(existsSync(`${path}.hint`));
  using db = reopen(path);
  assert.equal(db.stats().openedFrom, "checkpoint");
  assertContent(db, model, 300, "after a default close");
});

test("checkpointOnClose: false writes no hint and the next open replays", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 300, 1);
  }
  assert.equal(existsSync(`${path}.hint`), false);
  using db = reopen(path);
  assert.equal(db.stats().openedFrom, "replay");
  assertContent(db, model, 300, "after a replay");
});

test("useCheckpoint: false ignores an existing hint and gives the same content", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path);
    fill(db, model, 0, 500, 1);
    db.checkpoint();
  }
  using db = reopen(path, { useCheckpoint: false });
  const s = db.stats();
  assert.equal(s.openedFrom, "replay");
  assert.equal(s.replayedBytes, s.logicalSizeBytes - 256, "the whole journal after the header was replayed");
  assertContent(db, model, 500, "with useCheckpoint: false");
});

test("a hint whose journal got deletes, overwrites and clear() after the checkpoint still yields the right content", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 400, 1);
    db.checkpoint();
    db.clear();
    model.clear();
    fill(db, model, 390, 410, 2);
    db.delete(keyOf(395));
    model.delete(keyOf(395));
  }
  {
    using db = reopen(path);
    assertContent(db, model, 410, "after clear() behind a checkpoint");
  }
  // And once more after a default close, which checkpoints again.
  using db = reopen(path);
  assertContent(db, model, 410, "after a second reopen");
});

test("a hint copied from another database is ignored", (t) => {
  const dir = tempDir(t);
  const a = join(dir, "a.emdb");
  const b = join(dir, "b.emdb");
  const modelB: Model = new Map();
  {
    using dbA = reopen(a);
    fill(dbA, new Map(), 0, 300, 1);
    dbA.checkpoint();
  }
  {
    using dbB = reopen(b, { checkpointOnClose: false });
    fill(dbB, modelB, 0, 300, 2);
  }
  copyFileSync(`${a}.hint`, `${b}.hint`);
  using db = reopen(b);
  assert.equal(db.stats().openedFrom, "replay");
  assertContent(db, modelB, 300, "with a foreign hint");
});

test("a hint is ignored when the journal was truncated below the checkpoint", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 200, 1);
    db.checkpoint();
  }
  // Cut the journal at the start of the frame holding key 150.
  const bytes = readBytes(path);
  const at = indexOfBytes(bytes, utf8(keyOf(150)));
  assert.ok(at > 0, "key 150 found in the journal");
  const frameStart = at - 16;
  truncateSync(path, frameStart);
  for (let i = 150; i < 200; i++) model.delete(keyOf(i));
  {
    using db = reopen(path);
    assert.notEqual(db.stats().openedFrom, "checkpoint", "a hint pointing past the end of the journal was used");
    assertContent(db, model, 200, "after truncation below the checkpoint");
    fill(db, model, 200, 210, 3);
  }
  using db = reopen(path);
  assertContent(db, model, 210, "writes after the truncation survive reopen");
});

test("a hint is ignored when the journal was replaced by an older copy of itself", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  const backup = join(dir, "backup.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 100, 1);
    db.flush();
  }
  copyFileSync(path, backup);
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, new Map(), 0, 200, 2);
    db.checkpoint();
  }
  // The old journal comes back (same file id, shorter than the checkpoint) next to the newer hint.
  copyFileSync(backup, path);
  using db = reopen(path);
  assertContent(db, model, 200, "old journal with a newer hint");
});

test("a damaged, truncated or empty hint is ignored", (t) => {
  const dir = tempDir(t);
  const path = join(dir, "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path);
    fill(db, model, 0, 300, 1);
    db.checkpoint();
  }
  const hint = readBytes(`${path}.hint`);
  assert.ok(hint.length > 0);
  const rng = new Rng(1234);
  const variants: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["first half", hint.slice(0, hint.length >> 1)],
    ["all but the last byte", hint.slice(0, hint.length - 1)],
    ["random bytes", rng.bytes(hint.length)],
    ["zeros", new Uint8Array(hint.length)],
  ];
  for (const at of [0, 8, 16, hint.length >> 1, hint.length - 1]) {
    const flipped = hint.slice();
    flipped[at]! ^= 0x10;
    variants.push([`byte ${at} flipped`, flipped]);
  }
  for (const [what, bytes] of variants) {
    writeFileSync(`${path}.hint`, bytes);
    const db = reopen(path, { checkpointOnClose: false });
    try {
      assert.notEqual(db.stats().openedFrom, "checkpoint", `${what}: the damaged hint was used`);
      assertContent(db, model, 300, `hint ${what}`);
    } finally {
      db.close();
    }
  }
  rmSync(`${path}.hint`);
  using db = reopen(path);
  assertContent(db, model, 300, "no hint at all");
});

test("a leftover <path>.hint.tmp from an interrupted checkpoint is ignored", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 100, 1);
  }
  writeFileSync(`${path}.hint.tmp`, new Rng(5).bytes(5000));
  {
    using db = reopen(path);
    assertContent(db, model, 100, "with a stray hint.tmp");
    fill(db, model, 100, 120, 2);
    db.checkpoint();
  }
  using db = reopen(path);
  assert.equal(db.stats().openedFrom, "checkpoint");
  assertContent(db, model, 120, "after a checkpoint over a stray hint.tmp");
});

test("a hint left behind by a deleted journal is not applied to the new, empty journal", (t) => {
  const path = join(tempDir(t), "db.emdb");
  {
    using db = reopen(path);
    fill(db, new Map(), 0, 100, 1);
  }
  assert.ok(existsSync(`${path}.hint`));
  rmSync(path);
  {
    using db = reopen(path);
    assert.equal(db.size, 0);
    assert.equal(db.get(keyOf(1)), undefined);
    db.set(keyOf(1), "new");
  }
  using db = reopen(path);
  assert.equal(db.size, 1);
  assert.equal(db.getString(keyOf(1)), "new");
});

test("a second checkpoint replaces the first", (t) => {
  const path = join(tempDir(t), "db.emdb");
  const model: Model = new Map();
  let second = 0;
  {
    using db = reopen(path, { checkpointOnClose: false });
    fill(db, model, 0, 100, 1);
    db.checkpoint();
    const first = db.stats().checkpointOffset;
    fill(db, model, 50, 150, 2);
    db.checkpoint();
    second = db.stats().checkpointOffset;
    assert.ok(second > first);
    fill(db, model, 140, 160, 3);
  }
  using db = reopen(path);
  assert.equal(db.stats().openedFrom, "checkpoint");
  assert.equal(db.stats().checkpointOffset, second);
  assertContent(db, model, 160, "after two checkpoints");
});

test("a checkpoint of an empty database reopens empty", (t) => {
  const path = join(tempDir(t), "db.emdb");
  {
    using db = reopen(path);
    db.checkpoint();
  }
  using db = reopen(path);
  assert.equal(db.size, 0);
  db.set("k", "v");
  assert.equal(db.getString("k"), "v");
});

test("a checkpoint taken right after clear() reopens empty", (t) => {
  const path = join(tempDir(t), "db.emdb");
  {
    using db = reopen(path);
    fill(db, new Map(), 0, 100, 1);
    db.clear();
    db.checkpoint();
  }
  using db = reopen(path);
  assert.equal(db.size, 0);
  assert.equal(db.get(keyOf(5)), undefined);
});

test("frame layout: a 24-byte key with a 150-byte value takes 192 bytes", (t) => {
  const path = join(tempDir(t), "db.emdb");
  let before = 0;
  let after = 0;
  {
    using db = reopen(path);
    before = db.stats().logicalSizeBytes;
    db.set("k".repeat(24), new Uint8Array(150));
    after = db.stats().logicalSizeBytes;
  }
  assert.equal(putFrameBytes(24, 150), 192);
  assert.equal(after - before, 192);
});
