/**
 * Crash tests: a child process writes and is killed with SIGKILL at a random
 * moment; the parent reopens the database and checks that every acknowledged
 * (flushed) write survived, that nothing is torn or garbage, that every setMany
 * is all or nothing, and that the database keeps working after recovery.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Emdb } from "../mod.ts";
import { bytesEqual, LiveChild, Rng, sleep, tempDir, testSeed, withSeed } from "./_helpers.ts";
import {
  applyToModel,
  checkValue,
  describeValue,
  firstGroups,
  type Op,
  valueFor,
  workloadKeys,
} from "./fixtures/crash_workload.ts";

const ROUNDS = 25;

/** Reads every key of `universe` from the database. */
function snapshot(db: Emdb, universe: readonly string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const k of universe) {
    const v = db.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

/** Keys on which two states differ (up to `max`). */
function differences(
  actual: Map<string, Uint8Array>,
  expected: Map<string, Uint8Array>,
  keys: Iterable<string>,
  max = 8,
): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (!bytesEqual(actual.get(k), expected.get(k))) {
      out.push(`${k}: expected ${describeValue(expected.get(k))}, found ${describeValue(actual.get(k))}`);
      if (out.length >= max) break;
    }
  }
  return out;
}

/**
 * Finds the cut point: the database must equal the model after every acknowledged
 * group plus some prefix of the group that was in flight (each op whole).
 *
 * @returns The model state that matched and how many in-flight ops it includes.
 */
function matchPrefix(
  db: Emdb,
  before: Map<string, Uint8Array>,
  acked: readonly Op[][],
  inFlight: readonly Op[],
  universe: readonly string[],
  round: number,
): { state: Map<string, Uint8Array>; cut: number } {
  const actual = snapshot(db, universe);
  // No value may be torn or made of foreign bytes, whatever else happened.
  for (const [k, v] of actual) {
    const problem = checkValue(k, v);
    if (problem !== undefined) assert.fail(`round ${round}: ${problem}`);
  }
  const state = new Map(before);
  for (const ops of acked) for (const op of ops) applyToModel(state, op);
  const tried: string[] = [];
  for (let i = 0; i <= inFlight.length; i++) {
    if (i > 0) applyToModel(state, inFlight[i - 1]!);
    const sizeOk = db.size === state.size;
    const diff = differences(actual, state, universe);
    if (sizeOk && diff.length === 0) return { state, cut: i };
    tried.push(
      `  after ${i} of ${inFlight.length} in-flight ops (size ${db.size} vs model ${state.size}):\n    ${
        diff.join("\n    ")
      }`,
    );
  }
  const ackedOps = acked.reduce((n, g) => n + g.length, 0);
  assert.fail(
    `round ${round}: the reopened database is not the state after the ${acked.length} acknowledged groups ` +
      `(${ackedOps} ops) plus any whole prefix of the in-flight group [${inFlight.map((o) => o.kind).join(", ")}]:\n` +
      tried.join("\n"),
  );
}

test("every flushed write survives SIGKILL at a random moment, nothing is torn, and setMany is all or nothing", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, async () => {
    const rng = new Rng(seed);
    const path = join(tempDir(t), "crash.emdb");
    const universe = workloadKeys();
    for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < 20; i++) universe.push(`p:${r}:${i}`);
    let model = new Map<string, Uint8Array>();
    let inFlightSurvived = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const childSeed = rng.u32();
      const startSeq = (round + 1) * 10_000_000;
      const prealloc = rng.pick(["default", "0", "65536", "1048576"]);
      const args = ["workload", path, String(childSeed), String(startSeq)];
      const child = new LiveChild("crash_writer.ts", prealloc === "default" ? args : [...args, prealloc]);
      try {
        await child.waitForLine((l) => l === "ack 0");
      } catch (e) {
        await child.kill();
        throw e;
      }
      await sleep(rng.range(20, 400));
      const exit = await child.kill();
      assert.equal(exit.signal, "SIGKILL", `round ${round}: the writer ended by itself: ${child.stderr}`);

      let lastAck = -1;
      for (const line of child.lines) {
        const m = /^ack (\d+)$/.exec(line);
        if (m) lastAck = Number(m[1]);
      }
      assert.ok(lastAck >= 0, `round ${round}: no acknowledgement read`);
      const groups = firstGroups(childSeed, startSeq, lastAck + 2);
      const acked = groups.slice(0, lastAck + 1);
      const inFlight = groups[lastAck + 1] ?? [];

      // Reopen after the crash and find the cut point.
      {
        using db = Emdb.open(path, { useCheckpoint: rng.int(2) === 0 });
        const found = matchPrefix(db, model, acked, inFlight, universe, round);
        model = found.state;
        if (found.cut > 0) inFlightSurvived++;

        // The database keeps working after recovery: write more, then close.
        const seq = startSeq + 9_000_000;
        for (let i = 0; i < 20; i++) {
          const key = `p:${round}:${i}`;
          const v = valueFor(key, seq + i, 0);
          db.set(key, v);
          model.set(key, v);
        }
        for (let i = 0; i < 5; i++) {
          const key = `k:${rng.int(400)}`;
          assert.equal(db.delete(key), model.delete(key), `round ${round}: delete(${key}) result`);
        }
        const marker = `batch:${(seq + 100) % 64}`;
        const entries: [string, Uint8Array][] = [[marker, valueFor(marker, seq + 100, 0)]];
        for (let j = 1; j <= 10; j++) {
          const key = `k:${rng.int(400)}`;
          entries.push([key, valueFor(key, seq + 100, j)]);
        }
        db.setMany(entries);
        for (const [k, v] of entries) model.set(k, v);
      }

      // ... and those writes are there after another reopen.
      {
        using db = Emdb.open(path, { useCheckpoint: rng.int(2) === 0 });
        const actual = snapshot(db, universe);
        const diff = differences(actual, model, universe);
        assert.deepEqual(diff, [], `round ${round}: writes made after recovery are not all there after reopen`);
        assert.equal(db.size, model.size, `round ${round}: size after the second reopen`);
      }
    }
    console.log(`crash rounds: ${ROUNDS}, rounds where unflushed in-flight ops survived: ${inFlightSurvived}`);
  });
});

test("a huge setMany killed mid-write is entirely absent or entirely present after reopen", {
  timeout: 240_000,
}, async (t) => {
  const seed = testSeed();
  await withSeed(seed, async () => {
    const rng = new Rng(seed);
    const dir = tempDir(t);
    const COUNT = 50_000;

    // Calibration: how long the setMany takes when it is not interrupted.
    const calibrationPath = join(dir, "calibration.emdb");
    const calibration = new LiveChild("crash_writer.ts", ["huge", calibrationPath, String(COUNT)]);
    const doneLine = await calibration.waitForLine((l) => l.startsWith("done "), 120_000).catch(async (e) => {
      await calibration.kill();
      throw e;
    });
    await calibration.exited;
    const duration = Math.max(5, Number(doneLine.slice(5)));

    const outcomes = { absent: 0, present: 0 };
    const ATTEMPTS = 8;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const sub = join(dir, `attempt-${attempt}`);
      mkdirSync(sub);
      const path = join(sub, "huge.emdb");
      const child = new LiveChild("crash_writer.ts", ["huge", path, String(COUNT)]);
      try {
        await child.waitForLine((l) => l === "start", 120_000);
      } catch (e) {
        await child.kill();
        throw e;
      }
      // Spread the kills over the time the setMany takes (and a little beyond).
      await sleep(Math.floor((duration * 2 * attempt) / (ATTEMPTS - 1)) + rng.int(5));
      await child.kill();

      {
        using db = Emdb.open(path);
        for (let i = 0; i < 100; i++) {
          const v = db.get(`base:${i}`);
          assert.ok(
            bytesEqual(v, valueFor(`base:${i}`, 1, 0)),
            `attempt ${attempt}: flushed key base:${i} is ${describeValue(v)}`,
          );
        }
        let present = 0;
        for (let i = 0; i < COUNT; i++) {
          const v = db.get(`h:${i}`);
          if (v === undefined) continue;
          present++;
          assert.ok(bytesEqual(v, valueFor(`h:${i}`, 2, i % 7)), `attempt ${attempt}: h:${i} has a wrong value`);
        }
        assert.ok(
          present === 0 || present === COUNT,
          `attempt ${attempt}: the killed setMany is partly visible: ${present} of ${COUNT} entries`,
        );
        assert.equal(db.size, 100 + present, `attempt ${attempt}: size`);
        if (present === 0) outcomes.absent++;
        else outcomes.present++;
        db.set("after-crash", "still writable");
      }
      {
        using db = Emdb.open(path);
        assert.equal(db.getString("after-crash"), "still writable", `attempt ${attempt}: write after recovery lost`);
        const present = db.has("h:0") ? COUNT : 0;
        assert.equal(db.size, 101 + present, `attempt ${attempt}: size after the second reopen`);
        assert.equal(
          db.has(`h:${COUNT - 1}`),
          present === COUNT,
          `attempt ${attempt}: batch state changed across reopen`,
        );
      }
    }
    console.log(`huge setMany (${duration} ms uninterrupted): absent ${outcomes.absent}, present ${outcomes.present}`);
  });
});
