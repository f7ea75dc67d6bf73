/**
 * Runs the benchmark phases for ONE engine in this process and prints one line
 * `RESULT {json}` (an {@linkcode EngineResult}) on stdout. Progress goes to stderr.
 *
 *   deno run -A --unstable-kv --v8-flags=--expose-gc bench/run_engine.ts --engine lmdb --records 1000000
 *   bun bench/run_engine.ts --engine bun_sqlite --records 20000
 *   bun bench/run_engine.ts --engine emdb --variant aes --records 20000
 *
 * Options: `--engine emdb|lmdb|bun_sqlite|node_sqlite|deno_kv` (required),
 * `--variant main|writes|ordered|aes|chacha` (default `main`; the others are emdb's:
 * `writes` = only the write phases, `ordered` = the same with a range taken first, `aes` /
 * `chacha` = the write and read phases on an encrypted database),
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

import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Ctx } from "./context.ts";
import { offsetsOf } from "./context.ts";
import type { Engine } from "./engines/types.ts";
import { argv, env, G, gc, isBun, listDir, log, now, runtime, runtimeVersion, sizeOf, verify } from "./harness.ts";
import { backupPhase, checkpointReadPhases, compactionLatencyPhase, passphrasePhase } from "./phases_maintenance.ts";
import { iterationPhase, rangePhases, transactionPhases } from "./phases_ordered.ts";
import { readPhases, removalPhase, writePhases } from "./phases_core.ts";
import {
  DEFAULT_RECORDS,
  type EngineResult,
  equalBytes,
  type PhaseName,
  Stream,
  streamCounts,
  type Variant,
} from "./workload.ts";

const ENGINE_FILES: Record<string, string> = {
  emdb: "./engines/emdb.ts",
  lmdb: "./engines/lmdb.ts",
  bun_sqlite: "./engines/bun_sqlite.ts",
  node_sqlite: "./engines/node_sqlite.ts",
  deno_kv: "./engines/deno_kv.ts",
};
const VARIANTS: Variant[] = ["main", "writes", "ordered", "aes", "chacha"];
/** The raw key of the encrypted variants (fixed: the runs are reproducible). */
const ENCRYPTION_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

function parseArgs() {
  const args = argv();
  const opts = {
    engine: "",
    variant: "main" as Variant,
    records: Number(env("EMDB_BENCH_RECORDS") ?? DEFAULT_RECORDS),
    reads: -1,
    dir: "",
    keep: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--engine") opts.engine = args[++i]!;
    else if (a === "--variant") opts.variant = args[++i] as Variant;
    else if (a === "--records") opts.records = Number(args[++i]);
    else if (a === "--reads") opts.reads = Number(args[++i]);
    else if (a === "--dir") opts.dir = args[++i]!;
    else if (a === "--keep") opts.keep = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!ENGINE_FILES[opts.engine]) throw new Error(`--engine must be one of ${Object.keys(ENGINE_FILES).join(", ")}`);
  if (!VARIANTS.includes(opts.variant)) throw new Error(`--variant must be one of ${VARIANTS.join(", ")}`);
  if (opts.variant !== "main" && opts.engine !== "emdb") throw new Error("--variant is for --engine emdb only");
  if (!Number.isInteger(opts.records) || opts.records < 1) throw new Error("--records must be a positive integer");
  return opts;
}

/** The whole sequence: every row of the table this engine has. */
async function mainSequence(ctx: Ctx): Promise<void> {
  const { engine, stream, counts, off } = ctx;
  const result = ctx.result;
  await engine.open(ctx.dir, "create");
  await writePhases(ctx, true);

  const readKeys = stream.keyCopies(0, ctx.readCount);
  const expect = stream.values(0, ctx.readCount);
  await readPhases(ctx, readKeys, expect);
  ctx.say("verifying every byte of every value written");
  ctx.check("all records, every byte, before removals", await verify(engine, stream, 0, off.total, 0, ctx.stride));

  await iterationPhase(ctx, off.total);
  await rangePhases(ctx);
  await checkpointReadPhases(ctx, readKeys, expect);
  if (engine.hasReplay) {
    // Untimed: reopen by replay, which leaves the ordered index unbuilt, so that the rows from 6 on
    // measure a handle that never used ordered access, as rows 1–5 do (rows 13 measure the other case).
    await engine.close();
    ctx.say("reopen by replay (untimed: the ordered index is not built again)");
    await engine.open(ctx.dir, "replay");
  }
  await removalPhase(ctx);

  if (engine.stats) {
    const st = engine.stats();
    if (st.indexBytesPerKey !== undefined) result.indexBytesPerKey = st.indexBytesPerKey;
    if (st.liveRecords !== undefined) result.liveRecords = st.liveRecords;
    // deno-lint-ignore no-explicit-any
    (result as any).statsAfterRemovals = st;
  }
  const lastKey = stream.key(off.total - 1).slice();
  const lastValue = stream.value(off.total - 1);

  // 7a. size before compaction (after close)
  await engine.close();
  {
    const s = sizeOf(engine.files());
    result.sizes.beforeCompaction = s.bytes;
    result.sizes.files = s.present;
    // deno-lint-ignore no-explicit-any
    (result as any).dirListing = listDir(ctx.dir);
  }

  // 8. reopen (with checkpoint / plain open), then by full replay; open + one get is timed
  const reopen = async (mode: "reopen" | "replay"): Promise<number> => {
    gc();
    const t0 = now();
    const o = engine.open(ctx.dir, mode);
    if (o) await o;
    let v = engine.get(lastKey);
    if (v instanceof Promise) v = await v;
    const ms = now() - t0;
    const ok = v !== undefined && equalBytes(v, lastValue);
    ctx.check(`first get after ${mode}`, {
      wrong: v !== undefined && !ok ? 1 : 0,
      missing: v === undefined ? 1 : 0,
      checked: 1,
    });
    return ms;
  };
  ctx.say("reopen");
  ctx.phase("reopenCheckpoint", await reopen("reopen"), 1);
  if (engine.stats) {
    // deno-lint-ignore no-explicit-any
    (result as any).statsAfterReopen = engine.stats();
  }
  ctx.check("after reopen", await verify(engine, stream, 0, off.total, counts.removals, ctx.stride));
  if (engine.hasReplay) {
    await engine.close();
    ctx.say("reopen by full replay");
    ctx.phase("reopenReplay", await reopen("replay"), 1);
    if (engine.stats) {
      // deno-lint-ignore no-explicit-any
      (result as any).statsAfterReplay = engine.stats();
    }
    ctx.check("after replay", await verify(engine, stream, 0, off.total, counts.removals, ctx.stride));
  } else {
    ctx.phase("reopenReplay", null, 0, "n/a");
  }

  await backupPhase(ctx);

  // 7b, 7c. compaction, size after
  ctx.say("compaction");
  gc();
  const t0 = now();
  let did = engine.compact();
  if (did instanceof Promise) did = await did;
  const ms = now() - t0;
  if (did) {
    ctx.phase("compaction", ms, counts.total - counts.removals);
    ctx.check("after compaction", await verify(engine, stream, 0, off.total, counts.removals, ctx.stride));
  } else {
    ctx.phase("compaction", null, 0, "n/a (none)");
  }
  await engine.close();
  if (did) {
    result.sizes.afterCompaction = sizeOf(engine.compactedFiles ? engine.compactedFiles() : engine.files()).bytes;
  }

  // 7d. writes from a timer around a second compaction (emdb)
  if (engine.backup) {
    await engine.open(ctx.dir, "reopen");
    await compactionLatencyPhase(ctx);
    ctx.check("after writes around a compaction", await verify(engine, stream, 0, off.total, counts.removals, 1));
    await engine.close();
  }

  // 12. transactions, last: they rewrite live keys, and rows 7a–7c measure the benchmark's database as it was.
  if (engine.transaction) {
    await engine.open(ctx.dir, "reopen");
    await transactionPhases(ctx);
    await engine.close();
  }
}

/** `writes` / `ordered`: rows 1–4b and 6 only, with (`ordered`) a range taken on the empty database first. */
async function writeSequence(ctx: Ctx, ordered: boolean): Promise<void> {
  await ctx.engine.open(ctx.dir, "create");
  if (ordered) ctx.engine.useOrderedAccess?.();
  await writePhases(ctx, false);
  await removalPhase(ctx);
  await ctx.engine.close();
}

/**
 * `aes` / `chacha`: rows 1–5d on an encrypted database (and, once, the passphrase open). `bench/run.ts`
 * caps their read passes with `--reads` (a get costs 7–40 µs there, against < 1 µs in plaintext).
 */
async function encryptedSequence(ctx: Ctx, cipher: "aes-256-gcm" | "chacha20-poly1305"): Promise<void> {
  ctx.engine.configure?.({ encryption: { key: ENCRYPTION_KEY }, cipher });
  await ctx.engine.open(ctx.dir, "create");
  await writePhases(ctx, false);
  // With fewer gets than keys (`--reads`), the gets are spread evenly over the bulk keys, in
  // insertion order, so that they touch as much of the journal as the plaintext passes do.
  const step = Math.max(1, Math.floor(ctx.counts.reads / ctx.readCount));
  const readKeys: Uint8Array[] = [];
  const expect: Uint8Array[] = [];
  for (let i = 0; i < ctx.readCount; i++) {
    readKeys.push(ctx.stream.key(i * step).slice());
    expect.push(ctx.stream.value(i * step));
  }
  await readPhases(ctx, readKeys, expect);
  const stride = Math.max(1, Math.floor(ctx.off.total / 100_000));
  ctx.check(
    "every record (a sample of ~100,000), every byte",
    await verify(ctx.engine, ctx.stream, 0, ctx.off.total, 0, stride),
  );
  const st = ctx.engine.stats?.();
  if (st) ctx.figure("encrypted", st.encrypted ? 1 : 0);
  await ctx.engine.close();
  if (cipher === "aes-256-gcm") await passphrasePhase(ctx);
}

async function main(): Promise<void> {
  const opts = parseArgs();
  const N = opts.records;
  const counts = streamCounts(N);
  const readCount = opts.reads > 0 ? Math.min(opts.reads, counts.reads) : counts.reads;
  const here = dirname(fileURLToPath(import.meta.url));
  const pid = isBun ? G.process.pid : G.Deno.pid;
  const dir = opts.dir || `${here}/.data/${opts.engine}-${opts.variant}-${runtime}-${pid}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const mod = await import(ENGINE_FILES[opts.engine]!);
  const engine: Engine = new mod.default();
  // Verification of async engines (Deno KV) is sampled to keep the run bounded.
  const stride = engine.asyncGet ? Math.max(1, Math.floor(counts.total / 100_000)) : 1;
  const label = `${engine.name}${opts.variant === "main" ? "" : ` ${opts.variant}`}/${runtime}`;

  const result: EngineResult = {
    engine: engine.name,
    variant: opts.variant,
    runtime,
    runtimeVersion,
    records: N,
    phases: {},
    wrong: 0,
    missing: 0,
    checks: {},
    sizes: { beforeCompaction: 0, afterCompaction: null, files: [] },
    notes: [...engine.notes],
    figures: {},
    digests: {},
  };
  const off = offsetsOf(N);
  log(`[${label}] generating ${off.total} records`);
  const ctx: Ctx = {
    engine,
    makeEngine: () => new mod.default(),
    stream: new Stream(off.total, engine.ownBuffers === true),
    counts,
    off,
    dir,
    readCount,
    stride,
    result,
    phase: (name: PhaseName, ms: number | null, ops: number, note?: string) => {
      result.phases[name] = note === undefined ? { ms, ops } : { ms, ops, note };
    },
    check: (name, c) => {
      result.checks[name] = c;
      result.wrong += c.wrong;
      result.missing += c.missing;
    },
    figure: (name, value) => {
      result.figures![name] = value;
    },
    digest: (name, value) => {
      result.digests![name] = value;
    },
    say: (msg) => log(`[${label}] ${msg}`),
  };

  try {
    if (opts.variant === "main") await mainSequence(ctx);
    else if (opts.variant === "writes" || opts.variant === "ordered") {
      await writeSequence(ctx, opts.variant === "ordered");
    } else await encryptedSequence(ctx, opts.variant === "aes" ? "aes-256-gcm" : "chacha20-poly1305");
    ctx.say("done");
  } catch (err) {
    result.error = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    ctx.say(`FAILED: ${result.error}`);
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
  (isBun ? G.process : G.Deno).exit(result.error ? 1 : 0);
}

await main();
