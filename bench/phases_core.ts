/**
 * The phases every engine runs, as in issue 3's benchmark: the write phases (rows 1–4b, with
 * emdb's flush-policy rows 2b/2c in the main run), the read passes (5a–5d) and the removals (6).
 *
 * @module
 */

import type { Ctx } from "./context.ts";
import { gc, now, readPassAsync, readPassSync, timed, verify } from "./harness.ts";
import { flushPolicyPhases } from "./phases_maintenance.ts";
import {
  BATCH_SIZE,
  BATCH_WRITES,
  BULK_CHUNK,
  INDIVIDUAL_WRITES,
  NOSYNC_WRITES,
  type Pair,
  shuffledOrder,
  VALUE_BYTES,
} from "./workload.ts";

/** Rows 1–4b (and, for emdb's main run, 2b/2c between 2 and 3). */
export async function writePhases(ctx: Ctx, policies: boolean): Promise<void> {
  const { engine, stream, off } = ctx;
  const N = ctx.result.records;
  {
    const chunks: Pair[][] = [];
    for (let c = 0; c < N; c += BULK_CHUNK) chunks.push(stream.pairs(c, Math.min(N, c + BULK_CHUNK)));
    ctx.say("bulk load");
    const ms = await timed(async () => {
      for (const chunk of chunks) {
        const r = engine.bulkChunk(chunk);
        if (r) await r;
      }
      const s = engine.sync();
      if (s) await s;
    });
    ctx.phase("bulk", ms, N);
  }
  {
    const ks = stream.keys(off.individual, off.batch);
    const vs = stream.values(off.individual, off.batch);
    ctx.say("individual writes");
    const ms = await timed(async () => {
      for (let i = 0; i < ks.length; i++) {
        const r = engine.putDurable(ks[i]!, vs[i]!);
        if (r) await r;
      }
    });
    ctx.phase("individual", ms, INDIVIDUAL_WRITES);
  }
  if (policies) await flushPolicyPhases(ctx);
  {
    const batches: Pair[][] = [];
    for (let b = 0; b < BATCH_WRITES; b++) {
      batches.push(stream.pairs(off.batch + b * BATCH_SIZE, off.batch + (b + 1) * BATCH_SIZE));
    }
    ctx.say("batch writes");
    const ms = await timed(async () => {
      for (const batch of batches) {
        const r = engine.batchDurable(batch);
        if (r) await r;
      }
    });
    ctx.phase("batch", ms, BATCH_WRITES * BATCH_SIZE);
  }
  {
    ctx.say("nosync writes");
    const b = engine.beginNoSync();
    if (b) await b;
    const ks = stream.keys(off.noSync, off.noSyncBatched);
    const vs = stream.values(off.noSync, off.noSyncBatched);
    const ms = await timed(async () => {
      for (let i = 0; i < ks.length; i++) {
        const r = engine.putNoSync(ks[i]!, vs[i]!);
        if (r) await r;
      }
      const s = engine.settleNoSync();
      if (s) await s;
    });
    ctx.phase("nosync", ms, NOSYNC_WRITES);
    const batch = stream.pairs(off.noSyncBatched, off.total);
    ctx.phase("nosyncBatched", await timed(() => engine.batchNoSync(batch)), NOSYNC_WRITES);
    const e = engine.endNoSync();
    if (e) await e;
  }
}

/** Rows 5a–5d: insertion order ×2, shuffled, and (emdb) shuffled into a reused buffer. */
export async function readPhases(ctx: Ctx, readKeys: Uint8Array[], expect: Uint8Array[]): Promise<void> {
  const { engine, readCount } = ctx;
  const order = shuffledOrder(readCount);
  let wrong = 0;
  let missing = 0;
  for (const name of ["reads1", "reads2", "readsShuffled"] as const) {
    ctx.say(`${name} (${readCount})`);
    const o = name === "readsShuffled" ? order : null;
    const r = engine.asyncGet
      ? await readPassAsync(engine, readKeys, expect, o, readCount)
      : readPassSync(engine, readKeys, expect, o, readCount);
    ctx.phase(name, r.ms, readCount);
    wrong += r.wrong;
    missing += r.missing;
  }
  if (engine.getInto) {
    ctx.say(`readsShuffledInto (${readCount})`);
    const target = new Uint8Array(4096);
    gc();
    const t0 = now();
    for (let j = 0; j < readCount; j++) {
      const i = order[j]!;
      const n = engine.getInto(readKeys[i]!, target);
      const e = expect[i]!;
      if (n < 0) missing++;
      else if (n !== VALUE_BYTES || target[0] !== e[0] || target[75] !== e[75] || target[149] !== e[149]) wrong++;
    }
    ctx.phase("readsShuffledInto", now() - t0, readCount);
  }
  ctx.check("timed reads (length + 3 sampled bytes)", {
    wrong,
    missing,
    checked: readCount * (engine.getInto ? 4 : 3),
  });
}

/** Row 6: the first half of the stream removed, then one durable flush. */
export async function removalPhase(ctx: Ctx): Promise<void> {
  const { engine, counts } = ctx;
  const removeKeys = ctx.stream.keyCopies(0, counts.removals);
  ctx.say(`removals (${counts.removals})`);
  const ms = await timed(async () => {
    const r = engine.removeAll(removeKeys);
    if (r) await r;
    const s = engine.sync();
    if (s) await s;
  });
  ctx.phase("removals", ms, counts.removals);
  ctx.check("after removals", await verify(engine, ctx.stream, 0, ctx.off.total, counts.removals, ctx.stride));
}
