/**
 * Runs every benchmark phase for ONE engine in this process and prints one line
 * `RESULT {json}` (an {@linkcode EngineResult}) on stdout. Progress goes to stderr.
 *
 *   deno run -A --unstable-kv --v8-flags=--expose-gc bench/run_engine.ts --engine lmdb --records 1000000
 *   bun bench/run_engine.ts --engine bun_sqlite --records 20000
 *
 * Options: `--engine emdb|lmdb|bun_sqlite|node_sqlite|deno_kv` (required),
 * `--records N` (or env `EMDB_BENCH_RECORDS`; default 1,000,000), `--reads N` (cap on the
 * gets per read pass; default min(N, 1,000,000)), `--dir D` (data directory; default a
 * fresh `bench/.data/<engine>-<runtime>-<pid>`), `--keep` (leave the data directory).
 *
 * Timed code only calls the engine: keys, values, batches and the shuffled order are all
 * built before each phase's clock starts, and a full GC runs before each phase where the
 * runtime exposes one (Bun always; Deno with `--v8-flags=--expose-gc`).
 *
 * @module
 */

import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Engine, Maybe } from "./engines/types.ts";
import {
  BATCH_SIZE,
  BATCH_WRITES,
  BULK_CHUNK,
  DEFAULT_RECORDS,
  type EngineResult,
  equalBytes,
  INDIVIDUAL_WRITES,
  NOSYNC_WRITES,
  type Pair,
  type PhaseName,
  type PhaseResult,
  shuffledOrder,
  Stream,
  streamCounts,
  VALUE_BYTES,
} from "./workload.ts";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const isBun = typeof G.Bun !== "undefined";
const runtime: "deno" | "bun" = isBun ? "bun" : "deno";
const runtimeVersion: string = isBun ? G.Bun.version : G.Deno.version.deno;

function argv(): string[] {
  return isBun ? G.process.argv.slice(2) : G.Deno.args;
}
function env(name: string): string | undefined {
  return isBun ? G.process.env[name] : G.Deno.env.get(name);
}

const ENGINE_FILES: Record<string, string> = {
  emdb: "./engines/emdb.ts",
  lmdb: "./engines/lmdb.ts",
  bun_sqlite: "./engines/bun_sqlite.ts",
  node_sqlite: "./engines/node_sqlite.ts",
  deno_kv: "./engines/deno_kv.ts",
};

function parseArgs() {
  const args = argv();
  const opts = {
    engine: "",
    records: Number(env("EMDB_BENCH_RECORDS") ?? DEFAULT_RECORDS),
    reads: -1,
    dir: "",
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--engine") opts.engine = args[++i]!;
    else if (a === "--records") opts.records = Number(args[++i]);
    else if (a === "--reads") opts.reads = Number(args[++i]);
    else if (a === "--dir") opts.dir = args[++i]!;
    else if (a === "--keep") opts.keep = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!ENGINE_FILES[opts.engine]) throw new Error(`--engine must be one of ${Object.keys(ENGINE_FILES).join(", ")}`);
  if (!Number.isInteger(opts.records) || opts.records < 1) throw new Error("--records must be a positive integer");
  return opts;
}

function log(msg: string): void {
  // stderr, so stdout carries only the RESULT line
  if (isBun) G.process.stderr.write(msg + "\n");
  else G.Deno.stderr.writeSync(new TextEncoder().encode(msg + "\n"));
}

function gc(): void {
  if (isBun) G.Bun.gc(true);
  else if (typeof G.gc === "function") G.gc();
}

const now = () => performance.now();

async function timed(fn: () => Maybe<void>): Promise<number> {
  gc();
  const t0 = now();
  const r = fn();
  if (r) await r;
  return now() - t0;
}

function sizeOf(files: string[]): { bytes: number; allocated: number; present: string[] } {
  let bytes = 0;
  let allocated = 0;
  const present: string[] = [];
  for (const f of files) {
    try {
      const st = statSync(f);
      bytes += st.size;
      allocated += Number(st.blocks ?? 0) * 512;
      present.push(`${f.split("/").pop()}=${st.size} (allocated ${Number(st.blocks ?? 0) * 512})`);
    } catch {
      // absent (e.g. the WAL after a clean close)
    }
  }
  return { bytes, allocated, present };
}

function listDir(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d)) {
      const p = `${d}/${name}`;
      const st = statSync(p);
      if (st.isDirectory()) walk(p, `${prefix}${name}/`);
      else out.push(`${prefix}${name}=${st.size}`);
    }
  };
  walk(dir, "");
  return out;
}

/** Timed read pass. Each value gets a cheap inline check (presence, length, 3 sampled bytes). */
function readPassSync(
  engine: Engine,
  keys: Uint8Array[],
  expect: Uint8Array[],
  order: Uint32Array | null,
  count: number,
): { ms: number; wrong: number; missing: number } {
  let wrong = 0;
  let missing = 0;
  gc();
  const t0 = now();
  if (order === null) {
    for (let i = 0; i < count; i++) {
      const v = engine.get(keys[i]!) as Uint8Array | undefined;
      const e = expect[i]!;
      if (v === undefined) missing++;
      else if (v.length !== VALUE_BYTES || v[0] !== e[0] || v[75] !== e[75] || v[149] !== e[149]) wrong++;
    }
  } else {
    for (let j = 0; j < count; j++) {
      const i = order[j]!;
      const v = engine.get(keys[i]!) as Uint8Array | undefined;
      const e = expect[i]!;
      if (v === undefined) missing++;
      else if (v.length !== VALUE_BYTES || v[0] !== e[0] || v[75] !== e[75] || v[149] !== e[149]) wrong++;
    }
  }
  return { ms: now() - t0, wrong, missing };
}

async function readPassAsync(
  engine: Engine,
  keys: Uint8Array[],
  expect: Uint8Array[],
  order: Uint32Array | null,
  count: number,
): Promise<{ ms: number; wrong: number; missing: number }> {
  let wrong = 0;
  let missing = 0;
  gc();
  const t0 = now();
  for (let j = 0; j < count; j++) {
    const i = order === null ? j : order[j]!;
    const v = await engine.get(keys[i]!);
    const e = expect[i]!;
    if (v === undefined) missing++;
    else if (v.length !== VALUE_BYTES || v[0] !== e[0] || v[75] !== e[75] || v[149] !== e[149]) wrong++;
  }
  return { ms: now() - t0, wrong, missing };
}

/**
 * Untimed full check: every index in `indices` compared byte for byte. For a removed key,
 * any value found counts as wrong.
 */
async function verify(
  engine: Engine,
  stream: Stream,
  from: number,
  to: number,
  removedBelow: number,
  stride: number,
): Promise<{ wrong: number; missing: number; checked: number }> {
  let wrong = 0;
  let missing = 0;
  let checked = 0;
  for (let i = from; i < to; i += stride) {
    let v = engine.get(stream.key(i).slice());
    if (v instanceof Promise) v = await v;
    checked++;
    if (i < removedBelow) {
      if (v !== undefined) wrong++;
    } else if (v === undefined) missing++;
    else if (!equalBytes(v, stream.value(i))) wrong++;
  }
  return { wrong, missing, checked };
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const N = opts.records;
  const counts = streamCounts(N);
  const readCount = opts.reads > 0 ? Math.min(opts.reads, counts.reads) : counts.reads;
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = opts.dir || `${here}/.data/${opts.engine}-${runtime}-${isBun ? G.process.pid : G.Deno.pid}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const mod = await import(ENGINE_FILES[opts.engine]!);
  const engine: Engine = new mod.default();
  const asyncGet = engine.asyncGet;
  // Verification of async engines (Deno KV) is sampled to keep the run bounded.
  const stride = asyncGet ? Math.max(1, Math.floor(counts.total / 100_000)) : 1;

  const phases = {} as Record<PhaseName, PhaseResult>;
  const checks: EngineResult["checks"] = {};
  const notes = [...engine.notes];
  const result: EngineResult = {
    engine: engine.name,
    runtime,
    runtimeVersion,
    records: N,
    phases,
    wrong: 0,
    missing: 0,
    checks,
    sizes: { beforeCompaction: 0, afterCompaction: null, files: [] },
    notes,
  };
  const addCheck = (name: string, c: { wrong: number; missing: number; checked: number }) => {
    checks[name] = c;
    result.wrong += c.wrong;
    result.missing += c.missing;
  };

  try {
    log(`[${engine.name}/${runtime}] generating ${counts.total + NOSYNC_WRITES} records`);
    // The stream: bulk → individual → batch → nosync (as the Rust bench), then 50,000
    // more for the batched-nosync row.
    const total = counts.total + NOSYNC_WRITES;
    const own = engine.ownBuffers === true;
    const stream = new Stream(total, own);
    const offIndividual = N;
    const offBatch = offIndividual + INDIVIDUAL_WRITES;
    const offNoSync = offBatch + BATCH_WRITES * BATCH_SIZE;
    const offNoSyncBatched = offNoSync + NOSYNC_WRITES;

    await engine.open(dir, "create");

    // 1. bulk load
    {
      const chunks: Pair[][] = [];
      for (let c = 0; c < N; c += BULK_CHUNK) chunks.push(stream.pairs(c, Math.min(N, c + BULK_CHUNK)));
      log(`[${engine.name}/${runtime}] bulk load`);
      const ms = await timed(async () => {
        for (const chunk of chunks) {
          const r = engine.bulkChunk(chunk);
          if (r) await r;
        }
        const s = engine.sync();
        if (s) await s;
      });
      phases.bulk = { ms, ops: N };
    }

    // 2. individual durable writes
    {
      const ks = stream.keys(offIndividual, offBatch);
      const vs = stream.values(offIndividual, offBatch);
      log(`[${engine.name}/${runtime}] individual writes`);
      const ms = await timed(async () => {
        for (let i = 0; i < ks.length; i++) {
          const r = engine.putDurable(ks[i]!, vs[i]!);
          if (r) await r;
        }
      });
      phases.individual = { ms, ops: INDIVIDUAL_WRITES };
    }

    // 3. batch writes
    {
      const batches: Pair[][] = [];
      for (let b = 0; b < BATCH_WRITES; b++) {
        batches.push(stream.pairs(offBatch + b * BATCH_SIZE, offBatch + (b + 1) * BATCH_SIZE));
      }
      log(`[${engine.name}/${runtime}] batch writes`);
      const ms = await timed(async () => {
        for (const batch of batches) {
          const r = engine.batchDurable(batch);
          if (r) await r;
        }
      });
      phases.batch = { ms, ops: BATCH_WRITES * BATCH_SIZE };
    }

    // 4. nosync writes (individual), then the batched variant
    {
      log(`[${engine.name}/${runtime}] nosync writes`);
      const b = engine.beginNoSync();
      if (b) await b;
      const ks = stream.keys(offNoSync, offNoSyncBatched);
      const vs = stream.values(offNoSync, offNoSyncBatched);
      const ms = await timed(async () => {
        for (let i = 0; i < ks.length; i++) {
          const r = engine.putNoSync(ks[i]!, vs[i]!);
          if (r) await r;
        }
        const s = engine.settleNoSync();
        if (s) await s;
      });
      phases.nosync = { ms, ops: NOSYNC_WRITES };
      const batch = stream.pairs(offNoSyncBatched, total);
      const msB = await timed(() => engine.batchNoSync(batch));
      phases.nosyncBatched = { ms: msB, ops: NOSYNC_WRITES };
      const e = engine.endNoSync();
      if (e) await e;
    }

    // 5. random reads: insertion order ×2, then shuffled
    {
      const readKeys = stream.keyCopies(0, readCount);
      const expect = stream.values(0, readCount);
      const order = shuffledOrder(readCount);
      let wrong = 0;
      let missing = 0;
      const names = ["reads1", "reads2", "readsShuffled"] as const;
      for (const name of names) {
        log(`[${engine.name}/${runtime}] ${name} (${readCount})`);
        const o = name === "readsShuffled" ? order : null;
        const r = asyncGet
          ? await readPassAsync(engine, readKeys, expect, o, readCount)
          : readPassSync(engine, readKeys, expect, o, readCount);
        phases[name] = { ms: r.ms, ops: readCount };
        wrong += r.wrong;
        missing += r.missing;
      }
      if (engine.getInto) {
        // Extra row: the same shuffled pass through getInto (the value lands in a reused buffer).
        log(`[${engine.name}/${runtime}] readsShuffledInto (${readCount})`);
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
        phases.readsShuffledInto = { ms: now() - t0, ops: readCount };
      }
      addCheck("timed reads (length + 3 sampled bytes)", {
        wrong,
        missing,
        checked: readCount * (engine.getInto ? 4 : 3),
      });
      log(`[${engine.name}/${runtime}] verifying every byte of every value written`);
      addCheck("all records, every byte, before removals", await verify(engine, stream, 0, total, 0, stride));
    }

    // 6. removals: first half of the Rust stream (bulk → individual → batch → nosync)
    {
      const removeKeys = stream.keyCopies(0, counts.removals);
      log(`[${engine.name}/${runtime}] removals (${counts.removals})`);
      const ms = await timed(async () => {
        const r = engine.removeAll(removeKeys);
        if (r) await r;
        const s = engine.sync();
        if (s) await s;
      });
      phases.removals = { ms, ops: counts.removals };
      addCheck("after removals", await verify(engine, stream, 0, total, counts.removals, stride));
    }

    if (engine.stats) {
      const st = engine.stats();
      if (st.indexBytesPerKey !== undefined) result.indexBytesPerKey = st.indexBytesPerKey;
      if (st.liveRecords !== undefined) result.liveRecords = st.liveRecords;
      // deno-lint-ignore no-explicit-any
      (result as any).statsAfterRemovals = st;
    }
    const lastKey = stream.key(total - 1).slice();
    const lastValue = stream.value(total - 1);

    // 7. size before compaction (after close)
    await engine.close();
    {
      const s = sizeOf(engine.files());
      result.sizes.beforeCompaction = s.bytes;
      result.sizes.files = s.present;
      // deno-lint-ignore no-explicit-any
      (result as any).dirListing = listDir(dir);
    }

    // 8. reopen (with checkpoint / plain open), then by full replay; open + one get is timed
    const reopen = async (mode: "reopen" | "replay"): Promise<number> => {
      gc();
      const t0 = now();
      const o = engine.open(dir, mode);
      if (o) await o;
      let v = engine.get(lastKey);
      if (v instanceof Promise) v = await v;
      const ms = now() - t0;
      const ok = v !== undefined && equalBytes(v, lastValue);
      addCheck(`first get after ${mode}`, {
        wrong: v !== undefined && !ok ? 1 : 0,
        missing: v === undefined ? 1 : 0,
        checked: 1,
      });
      return ms;
    };
    log(`[${engine.name}/${runtime}] reopen`);
    phases.reopenCheckpoint = { ms: await reopen("reopen"), ops: 1 };
    if (engine.stats) {
      // deno-lint-ignore no-explicit-any
      (result as any).statsAfterReopen = engine.stats();
    }
    addCheck("after reopen", await verify(engine, stream, 0, total, counts.removals, stride));
    if (engine.hasReplay) {
      await engine.close();
      log(`[${engine.name}/${runtime}] reopen by full replay`);
      phases.reopenReplay = { ms: await reopen("replay"), ops: 1 };
      if (engine.stats) {
        // deno-lint-ignore no-explicit-any
        (result as any).statsAfterReplay = engine.stats();
      }
      addCheck("after replay", await verify(engine, stream, 0, total, counts.removals, stride));
    } else {
      phases.reopenReplay = { ms: null, ops: 0, note: "n/a" };
    }

    // 7 (cont.). compaction, size after
    log(`[${engine.name}/${runtime}] compaction`);
    {
      gc();
      const t0 = now();
      let did = engine.compact();
      if (did instanceof Promise) did = await did;
      const ms = now() - t0;
      if (did) {
        phases.compaction = { ms, ops: counts.total - counts.removals };
        addCheck("after compaction", await verify(engine, stream, 0, total, counts.removals, stride));
      } else {
        phases.compaction = {
          ms: null,
          ops: 0,
          note: engine.name === "emdb" ? "n/a (later issue)" : "n/a (none)",
        };
      }
      await engine.close();
      if (did) {
        const s = sizeOf(engine.compactedFiles ? engine.compactedFiles() : engine.files());
        result.sizes.afterCompaction = s.bytes;
      }
    }
    log(`[${engine.name}/${runtime}] done`);
  } catch (err) {
    result.error = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    log(`[${engine.name}/${runtime}] FAILED: ${result.error}`);
    try {
      await engine.close();
    } catch {
      // already closed or never opened
    }
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
  if (isBun) G.process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  else G.Deno.stdout.writeSync(new TextEncoder().encode(`RESULT ${JSON.stringify(result)}\n`));
  if (result.error) (isBun ? G.process : G.Deno).exit(1);
  else (isBun ? G.process : G.Deno).exit(0);
}

await main();
