/**
 * emdb's phases of issues 7, 8 and 9 that peers have no counterpart for (their cells show "—" or
 * the peer's nearest row): flush policies (rows 2b, 2c), a reopen from the checkpoint with the
 * ordered index built and the reads that verify each record's CRC on first read (8c, 5e, 5f),
 * backup against copying the file (7e), single writes from a 1 ms timer around a compaction (7d)
 * and the passphrase open (14i).
 *
 * @module
 */

import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, rmSync } from "node:fs";
import type { Ctx } from "./context.ts";
import type { Engine } from "./engines/types.ts";
import { gc, now, readPassSync, summarize, timed } from "./harness.ts";
import { type CompactionLatency, INDIVIDUAL_WRITES, PREFIX_BYTES, randomBounds, RANGE_LIMIT } from "./workload.ts";

/** Rows 2b and 2c: the 1,000 keys and values of row 2 written again under each flush policy. */
export async function flushPolicyPhases(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  if (!engine.reopenWithPolicy) return;
  const ks = ctx.stream.keys(ctx.off.individual, ctx.off.batch);
  const vs = ctx.stream.values(ctx.off.individual, ctx.off.batch);
  for (const [policy, name] of [["always", "policyAlways"], ["writeThrough", "policyWriteThrough"]] as const) {
    ctx.say(`flushPolicy ${policy}`);
    const r = engine.reopenWithPolicy(policy);
    if (r) await r;
    const ms = await timed(() => {
      for (let i = 0; i < ks.length; i++) engine.putNoSync(ks[i]!, vs[i]!);
    });
    ctx.phase(name, ms, INDIVIDUAL_WRITES);
  }
  const r = engine.reopenWithPolicy("manual");
  if (r) await r;
}

/**
 * Row 8c (reopen from the checkpoint with the ordered index built, 1,201,000 keys at N = 1 M:
 * open + first get, then the first range alone) and rows 5e/5f (two insertion-order read passes:
 * the first checks each record's CRC, the second finds them verified).
 */
export async function checkpointReadPhases(ctx: Ctx, readKeys: Uint8Array[], expect: Uint8Array[]): Promise<void> {
  const engine = ctx.engine;
  if (!engine.hasReplay || !engine.range) return;
  ctx.say("reopen from the checkpoint with the ordered index built");
  await engine.close();
  const lastKey = ctx.stream.key(ctx.off.noSyncBatched - 1).slice();
  gc();
  const t0 = now();
  const o = engine.open(ctx.dir, "reopen");
  if (o) await o;
  const v = engine.get(lastKey) as Uint8Array | undefined;
  ctx.phase("reopenOrdered", now() - t0, 1);
  ctx.check("first get after the mid-run reopen", { wrong: 0, missing: v === undefined ? 1 : 0, checked: 1 });
  const st = engine.stats?.();
  if (st) ctx.figure("midRunOpenedFromCheckpoint", st.openedFrom === "checkpoint" ? 1 : 0);
  const b = randomBounds(1, PREFIX_BYTES, 14)[0]!;
  let n = 0;
  ctx.phase("rangeAfterReopen", await timed(() => engine.range!(b.start, b.end, true, RANGE_LIMIT, () => n++)), n);

  let wrong = 0;
  let missing = 0;
  for (const name of ["readsVerifying", "readsVerified"] as const) {
    ctx.say(`${name} (${ctx.readCount})`);
    const r = readPassSync(engine, readKeys, expect, null, ctx.readCount);
    ctx.phase(name, r.ms, ctx.readCount);
    wrong += r.wrong;
    missing += r.missing;
  }
  ctx.check("reads after the mid-run reopen (length + 3 sampled bytes)", {
    wrong,
    missing,
    checked: 2 * ctx.readCount,
  });
}

/** fsync of a file or folder through a read-only descriptor. */
function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Row 7e: `backupTo` of the benchmark's database (1 M written, removals done) against copying its
 * journal (`copyFileSync`, fsync of the copy and of its folder). The backup is then opened and
 * must hold as many live keys as the database.
 */
export async function backupPhase(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  if (!engine.backup) return;
  const dir = `${ctx.dir}/backup`;
  mkdirSync(dir, { recursive: true });
  ctx.say("backup");
  ctx.phase("backup", await timed(() => engine.backup!(`${dir}/bench.emdb`)), 1);
  const live = Number(engine.stats?.().liveRecords);
  const copy = ctx.makeEngine();
  await copy.open(dir, "reopen");
  const copied = Number(copy.stats?.().liveRecords);
  await copy.close();
  ctx.check("backup opens with every live key", { wrong: 0, missing: Math.abs(live - copied), checked: live });
  rmSync(dir, { recursive: true, force: true });

  const source = engine.files()[0]!;
  const target = `${ctx.dir}/copy-of-journal`;
  ctx.say("copy of the journal file");
  ctx.phase(
    "copyFile",
    await timed(() => {
      copyFileSync(source, target);
      fsyncPath(target);
      fsyncPath(ctx.dir);
    }),
    1,
  );
  rmSync(target, { force: true });
}

/** Sets issued by a 1 ms interval timer; each latency runs from when the write was due. */
class TimerWriter {
  #lat: number[] = [];
  #call: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #i = 0;

  constructor(
    private readonly engine: Engine,
    private readonly keys: Uint8Array[],
    private readonly values: Uint8Array[],
  ) {}

  start(): void {
    let prev = now();
    this.#timer = setInterval(() => {
      const t0 = now();
      // Due 1 ms after the previous write started: a timer held back by a long step shows it.
      const due = Math.min(t0, prev + 1);
      prev = t0;
      const i = this.#i++ % this.keys.length;
      this.engine.putNoSync(this.keys[i]!, this.values[i]!);
      const t1 = now();
      this.#lat.push(t1 - due);
      this.#call.push(t1 - t0);
    }, 1);
  }

  /** Hands over the latencies so far and starts new lists. */
  take(): { lat: number[]; call: number[] } {
    const out = { lat: this.#lat, call: this.#call };
    this.#lat = [];
    this.#call = [];
    return out;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Row 7d: on the compacted database (reopened), a `set` every ~1 ms from a timer for 300 ms
 * (idle), while `await compact()` runs, and for 300 ms after it. The keys are live ones written
 * again with their own values, so every later check still holds.
 */
export async function compactionLatencyPhase(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  if (!engine.backup) return;
  const from = ctx.counts.removals;
  const ks = ctx.stream.keyCopies(from, Math.min(from + 50_000, ctx.off.total));
  const vs = ctx.stream.values(from, Math.min(from + 50_000, ctx.off.total));
  ctx.say("writes from a 1 ms timer around a compaction");
  const w = new TimerWriter(engine, ks, vs);
  gc();
  w.start();
  await sleep(300);
  const idle = w.take();
  const t0 = now();
  await engine.compact();
  const compactionMs = now() - t0;
  const during = w.take();
  await sleep(300);
  w.stop();
  const after = w.take();
  const result: CompactionLatency = {
    idle: summarize(idle.lat),
    during: summarize(during.lat),
    after: summarize(after.lat),
    callDuring: summarize(during.call),
    compactionMs,
  };
  ctx.result.compactionLatency = result;
}

/**
 * Row 14i: open of a passphrase-protected database (Argon2id with the default parameters):
 * created once, then reopened three times; the median reopen is reported.
 */
export async function passphrasePhase(ctx: Ctx): Promise<void> {
  const dir = `${ctx.dir}/passphrase`;
  mkdirSync(dir, { recursive: true });
  const e = ctx.makeEngine();
  if (!e.configure) return;
  e.configure({ encryption: { passphrase: "correct horse battery staple" } });
  ctx.say("passphrase open");
  await e.open(dir, "create");
  await e.putDurable(new Uint8Array([1, 2, 3]), new Uint8Array([4]));
  await e.close();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    times.push(
      await timed(async () => {
        await e.open(dir, "reopen");
      }),
    );
    const v = await e.get(new Uint8Array([1, 2, 3]));
    ctx.check(`value after passphrase open ${i + 1}`, { wrong: v?.[0] === 4 ? 0 : 1, missing: v ? 0 : 1, checked: 1 });
    await e.close();
  }
  times.sort((a, b) => a - b);
  ctx.phase("passphraseOpen", times[1]!, 1);
  try {
    // The defaults as the engine resolves them (the table states them with the figure).
    const { resolveOptions } = await import("../src/options.ts");
    const kdf = resolveOptions(undefined).kdf;
    ctx.figure("argon2MemoryKiB", kdf.memoryKiB);
    ctx.figure("argon2Passes", kdf.passes);
    ctx.figure("argon2Lanes", kdf.parallelism);
  } catch {
    // an engine without these options: the figure goes without its parameters
  }
  rmSync(dir, { recursive: true, force: true });
}
