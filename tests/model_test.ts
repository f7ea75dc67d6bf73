/**
 * Model-based tests: a seeded random workload over namespaces, TTLs under the
 * injected clock, transactions with checks and rollbacks, clears and drops,
 * iterators held open across later writes, reopens (from the checkpoint and
 * by replay) and SIGKILL, checked against a plain in-memory model.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Emdb, type Entry } from "../mod.ts";
import { diff, generate, Model, run, SPACES, store } from "./fixtures/model_workload.ts";
import { LiveChild, Rng, tempDbPath, testSeed, withSeed } from "./_helpers.ts";

const T0 = 1_700_000_000_000;
const text = (v: Uint8Array) => new TextDecoder().decode(v);

interface Held {
  it: IterableIterator<Entry>;
  want: [string, string][];
  at: number;
}

function runModel(seed: number, path: string | undefined): void {
  const rng = new Rng(seed ^ 0x5eed);
  const clock = { now: T0 };
  const model = new Model(T0);
  const open = () =>
    path === undefined ? Emdb.openInMemory({ clock: () => clock.now }) : Emdb.open(path, {
      clock: () => clock.now,
      useCheckpoint: rng.int(3) !== 0,
      checkpointOnClose: rng.int(2) === 0,
    });
  let db = open();
  const held: Held[] = [];
  const ops = generate(seed, 1500);
  const settle = () => {
    for (const h of held.splice(0)) {
      const got = [...h.it].map(([k, v]) => [k as string, text(v)]);
      assert.deepEqual(got, h.want, `seed ${seed}: iterator started at op ${h.at} saw another state`);
    }
  };
  try {
    ops.forEach((op, i) => {
      run(db, op, clock);
      model.apply(op);
      if (rng.int(40) === 0) {
        const ns = SPACES[rng.int(SPACES.length)]!;
        if (ns === "" || db.namespaces().includes(ns)) {
          held.push({ it: store(db, ns).range(), want: model.entries(ns), at: i });
        }
      }
      if (i % 100 === 99) {
        const problems = diff(db, model);
        assert.deepEqual(problems, [], `seed ${seed}, after op ${i} (${JSON.stringify(op)})`);
      }
      if (path !== undefined && rng.int(150) === 0) {
        settle();
        db.close();
        db = open();
      }
    });
    settle();
    assert.deepEqual(diff(db, model), [], `seed ${seed}: final state`);
  } finally {
    db.close();
  }
}

test("a random workload matches the model, in memory", () => {
  const seed = testSeed();
  return withSeed(seed, () => {
    for (let k = 0; k < 3; k++) runModel(seed + k, undefined);
  });
});

test("a random workload matches the model on a file, across reopens from checkpoints and by replay", (t) => {
  const seed = testSeed();
  return withSeed(seed, () => {
    for (let k = 0; k < 3; k++) runModel(seed + k, tempDbPath(t, `m${k}.emdb`));
  });
});

test("SIGKILL at a random point of the workload leaves the state after the last completed operation", async (t) => {
  const seed = testSeed();
  await withSeed(seed, async () => {
    for (let round = 0; round < 3; round++) {
      const path = tempDbPath(t);
      const child = new LiveChild("model_child.ts", [path, String(seed + round)]);
      const stopAt = 50 + new Rng(seed + round).int(1200);
      await child.waitForLine((l) => l === `done ${stopAt}` || l === "finished", 60_000);
      await child.kill();
      const done = child.lines.filter((l) => l.startsWith("done ")).map((l) => Number(l.slice(5)));
      const last = done.length === 0 ? -1 : Math.max(...done);
      // Every operation up to `last` completed (and is in the page cache, which a killed process keeps);
      // the kill may also have landed after op last + 1 completed but before it was reported.
      const ops = generate(seed + round, 1500);
      const model = new Model(T0);
      for (let i = 0; i <= last; i++) model.apply(ops[i]!);
      const candidates = [model];
      if (last + 1 < ops.length) {
        const next = new Model(T0);
        for (let i = 0; i <= last + 1; i++) next.apply(ops[i]!);
        candidates.push(next);
      }
      const clock = { now: Math.max(...candidates.map((m) => m.now)) };
      for (const m of candidates) m.now = clock.now;
      using db = Emdb.open(path, { clock: () => clock.now });
      const problems = candidates.map((m) => diff(db, m));
      assert.ok(
        problems.some((p) => p.length === 0),
        `seed ${seed + round}, killed after op ${last}: ${JSON.stringify(problems[0]?.slice(0, 3))}`,
      );
    }
  });
});
