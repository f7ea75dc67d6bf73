/**
 * Micro-benchmark of the ordered index (src/index/ordered_index.ts) over a fake journal:
 * N (default 1,000,000) records of 192 bytes (`[u16 key length][key][filler]`) in one big
 * Uint8Array, each key at a random record slot, keys compared by reading the buffer.
 * Two key sets: 24 random bytes, and `user:00000001`-style keys sharing a long prefix.
 *
 *   deno run -A --v8-flags=--expose-gc bench/ordered_micro.ts [--records N] [--only random|user] [--json]
 *   bun bench/ordered_micro.ts [--records N] [--only random|user] [--json]
 *
 * (without `--expose-gc`, Deno skips the measured-heap figure; `deno run -A` alone works).
 *
 * Each figure is the median of several repetitions in one process, after a warm-up run.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { OrderedIndex, type OrderedKeySource, type OrderedSnapshot } from "../src/index/ordered_index.ts";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const isBun = typeof G.Bun !== "undefined";
const args: string[] = isBun ? G.process.argv.slice(2) : G.Deno.args;
const at = args.indexOf("--records");
const N = at >= 0 ? Number(args[at + 1]) : 1_000_000;
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined; // "random" or "user"
const runtime = isBun ? `bun ${G.Bun.version}` : `deno ${G.Deno.version.deno}`;

const RECORD = 192;
const EXTRA = 200_000; // records beyond the N built ones, for the pending-insert runs

/** sfc32, seeded: the same stream on both runtimes. */
class Rand {
  #a = 0x9e3779b9;
  #b = 0x243f6a88;
  #c = 0xb7e15162;
  #d: number;
  constructor(seed: number) {
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }
}

/** A journal of fixed 192-byte records; `slot[i]` is the offset of the record holding key i. */
class FakeJournal implements OrderedKeySource {
  readonly buf: Uint8Array;
  readonly slot: Float64Array;

  constructor(count: number, makeKey: (i: number, out: Uint8Array) => number, seed: number) {
    this.buf = new Uint8Array(count * RECORD + RECORD);
    const rnd = new Rand(seed);
    // Record slots in random order: consecutive keys live far apart, as in a real journal.
    this.slot = new Float64Array(count);
    for (let i = 0; i < count; i++) this.slot[i] = RECORD + i * RECORD;
    for (let i = count - 1; i > 0; i--) {
      const k = rnd.int(i + 1);
      const t = this.slot[i]!;
      this.slot[i] = this.slot[k]!;
      this.slot[k] = t;
    }
    const key = new Uint8Array(64);
    for (let i = 0; i < count; i++) {
      const len = makeKey(i, key);
      const o = this.slot[i]!;
      this.buf[o] = len & 0xff;
      this.buf[o + 1] = len >>> 8;
      this.buf.set(key.subarray(0, len), o + 2);
      for (let f = o + 2 + len; f < o + RECORD; f += 16) this.buf[f] = f & 0xff; // value bytes
    }
  }

  compareRecords(a: number, b: number): number {
    const buf = this.buf;
    const la = buf[a]! | (buf[a + 1]! << 8);
    const lb = buf[b]! | (buf[b + 1]! << 8);
    const n = la < lb ? la : lb;
    for (let i = 2, end = n + 2; i < end; i++) {
      const d = buf[a + i]! - buf[b + i]!;
      if (d !== 0) return d;
    }
    return la - lb;
  }

  compareRecordTo(o: number, key: Uint8Array, start: number, len: number): number {
    const buf = this.buf;
    const lo = buf[o]! | (buf[o + 1]! << 8);
    const n = lo < len ? lo : len;
    for (let i = 0; i < n; i++) {
      const d = buf[o + 2 + i]! - key[start + i]!;
      if (d !== 0) return d;
    }
    return lo - len;
  }

  /** Writes the key of the record at `from` into the record at `to` (a new version of the same key). */
  copyKey(from: number, to: number): void {
    const len = this.buf[from]! | (this.buf[from + 1]! << 8);
    this.buf.copyWithin(to, from, from + 2 + len);
  }

  keyAt(o: number, out: Int32Array): Uint8Array {
    out[0] = o + 2;
    out[1] = this.buf[o]! | (this.buf[o + 1]! << 8);
    return this.buf;
  }
}

/** A full collection, when the runtime offers one (Deno: `--v8-flags=--expose-gc`; Bun: always). */
const collect: (() => void) | undefined = isBun
  ? () => G.Bun.gc(true)
  : typeof G.gc === "function"
  ? () => G.gc()
  : undefined;

/** Overwrites stack slots that may still point at dead arrays (Bun's collector scans the stack conservatively). */
function clobberStack(depth: number): number {
  const a = [depth, depth + 1, depth + 2, depth + 3];
  return depth > 0 ? clobberStack(depth - 1) + a[depth & 3]! : 0;
}

/**
 * Bytes in use after a full collection: JS heap plus memory outside it (Deno counts typed-array storage in
 * `external`, Bun in `heapUsed`), or NaN without a way to collect.
 */
function heldBytes(): number {
  if (collect === undefined) return NaN;
  clobberStack(200);
  collect();
  collect();
  const m = G.process.memoryUsage();
  return m.heapUsed + m.external;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The best of the repetitions (the least disturbed by other processes), set by measure(). */
let best = 0;

/**
 * Runs `fn` once to warm up, then `reps` times; returns the median of what it returns (ms or another figure) and
 * leaves the best one (lowest, or highest when `higherIsBetter`) in `best`.
 */
function measure(reps: number, fn: () => number, higherIsBetter = false): number {
  fn();
  const xs: number[] = [];
  for (let r = 0; r < reps; r++) xs.push(fn());
  best = higherIsBetter ? Math.max(...xs) : Math.min(...xs);
  return median(xs);
}

function timed(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const results: Record<string, number> = {};
function fmt(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Prints one figure; with `bestOf`, also the best repetition. */
function report(name: string, value: number, unit: string, bestOf?: number): void {
  results[`${name} (${unit})`] = Number(value.toPrecision(4));
  if (bestOf !== undefined) results[`${name} (${unit}, best)`] = Number(bestOf.toPrecision(4));
  const extra = bestOf === undefined ? "" : `  (best ${fmt(bestOf)})`;
  console.log(`${name.padEnd(60)} ${fmt(value).padStart(9)} ${unit}${extra}`);
}

/** The live offsets in "hash slot" order: a shuffled copy of the first `count` slots. */
function shuffled(j: FakeJournal, count: number, seed: number): Float64Array {
  const a = j.slot.slice(0, count);
  const rnd = new Rand(seed);
  for (let i = count - 1; i > 0; i--) {
    const k = rnd.int(i + 1);
    const t = a[i]!;
    a[i] = a[k]!;
    a[k] = t;
  }
  return a;
}

function scanAll(snap: OrderedSnapshot): number {
  const c = snap.seek(new Uint8Array(0), 0, -1, false);
  let n = 0;
  while (c.next() !== -1) n++;
  return n;
}

function suite(label: string, j: FakeJournal, seekKey: (rnd: Rand, out: Uint8Array) => number): void {
  console.log(`\n${label}: ${N.toLocaleString("en-US")} keys in a ${(j.buf.length / 2 ** 20).toFixed(0)} MiB journal`);
  const live = shuffled(j, N, 5);
  const index = new OrderedIndex(j);

  // Memory, measured first (before the timed runs leave garbage): heap + array buffers around a build.
  let measured = NaN;
  {
    const before = heldBytes();
    let first: OrderedIndex | undefined = new OrderedIndex(j);
    first.build(live, N);
    const after = heldBytes();
    measured = (after - before) / N;
    first = undefined;
  }

  // Build from the live set in hash-slot order.
  const buildMs = measure(5, () => timed(() => index.build(live, N)));
  report(`${label}: build`, buildMs, "ms", best);
  report(`${label}: memory after build (byteSize)`, index.byteSize() / index.size, "B/key");
  if (!Number.isNaN(measured)) report(`${label}: memory after build (measured heap)`, measured, "B/key");
  const sorted = index.export();

  // Seek + 10 × next at random keys (half existing keys, half random bytes).
  const snap = index.snapshot();
  const SEEKS = 200_000;
  const key = new Uint8Array(64);
  const seekUs = measure(5, () => {
    const rnd = new Rand(9);
    let sink = 0;
    const t = performance.now();
    for (let s = 0; s < SEEKS; s++) {
      const len = seekKey(rnd, key);
      const c = snap.seek(key, 0, len, false);
      for (let k = 0; k < 10; k++) sink += c.next();
    }
    const us = ((performance.now() - t) * 1000) / SEEKS;
    if (sink === 0.5) console.log(sink);
    return us;
  });
  report(`${label}: seek + 10 × next (random)`, seekUs, "µs", best);
  const backUs = measure(3, () => {
    const rnd = new Rand(10);
    let sink = 0;
    const t = performance.now();
    for (let s = 0; s < SEEKS; s++) {
      const len = seekKey(rnd, key);
      const c = snap.seekBack(key, 0, len, true);
      for (let k = 0; k < 10; k++) sink += c.next();
    }
    if (sink === 0.5) console.log(sink);
    return ((performance.now() - t) * 1000) / SEEKS;
  });
  report(`${label}: seekBack + 10 × next (random)`, backUs, "µs", best);
  const scanRate = measure(5, () => {
    let n = 0;
    const ms = timed(() => (n = scanAll(snap)));
    if (n !== N) throw new Error(`scan saw ${n}`);
    return n / ms / 1000;
  }, true);
  report(`${label}: full forward scan`, scanRate, "M offsets/s", best);
  snap.release();

  // Taking and releasing a snapshot with nothing pending (O(1): no copy until a later write).
  const snapNs = measure(5, () => {
    const t = performance.now();
    for (let i = 0; i < 100_000; i++) index.snapshot().release();
    return ((performance.now() - t) * 1e6) / 100_000;
  });
  report(`${label}: snapshot() + release(), nothing pending`, snapNs, "ns", best);

  // Applying pending random inserts (records not yet indexed), into a freshly loaded index each time.
  for (const k of [1_000, 100_000]) {
    let extra = 0;
    const ms = measure(5, () => {
      index.load(sorted, N);
      const base = N + ((extra++ * k) % (EXTRA - k));
      for (let i = 0; i < k; i++) index.noteInsert(j.slot[base + i]!);
      const t = performance.now();
      index.snapshot().release();
      return performance.now() - t;
    });
    report(
      `${label}: apply ${k.toLocaleString("en-US")} pending inserts into ${N.toLocaleString("en-US")}`,
      ms,
      "ms",
      best,
    );
  }

  // A replace-heavy stream (each write moves a random key to a new record) with a snapshot taken and released
  // after every 100 writes, and one snapshot held for the whole run (so copy-on-write is paid).
  index.load(sorted, N);
  const REPL = Math.min(100_000, EXTRA);
  const current = sorted.slice();
  const victims = new Int32Array(REPL);
  {
    const rnd = new Rand(12);
    for (let i = 0; i < REPL; i++) {
      const v = rnd.int(N);
      victims[i] = v;
      j.copyKey(current[v]!, j.slot[N + i]!);
    }
  }
  const held = index.snapshot();
  const copiedBefore = index.copiedNodes;
  const replMs = timed(() => {
    for (let i = 0; i < REPL; i++) {
      const v = victims[i]!;
      const next = j.slot[N + i]!;
      index.noteReplace(current[v]!, next);
      current[v] = next;
      if (i % 100 === 99) index.snapshot().release();
    }
    index.snapshot().release();
  });
  report(`${label}: replace + snapshot per 100 writes, one held (1 run)`, (replMs * 1000) / REPL, "µs/write");
  report(`${label}: nodes copied for snapshots in that run`, index.copiedNodes - copiedBefore, "nodes");
  held.release();
  if (index.validate() !== undefined) throw new Error(`invalid after replaces: ${index.validate()}`);

  // Cost of logging a write (no apply inside: the log limit is the index size).
  index.load(sorted, N);
  const noteNs = measure(5, () => {
    const t = performance.now();
    for (let i = 0; i < 100_000; i++) index.noteInsert(j.slot[N + i]!);
    const ns = ((performance.now() - t) * 1e6) / 100_000;
    index.clear();
    index.load(sorted, N);
    return ns;
  });
  report(`${label}: noteInsert (logging only)`, noteNs, "ns", best);

  // Random inserts from empty to N, applied in batches of 1,000 (as frequent snapshots would).
  index.build(new Float64Array(0), 0);
  const rnd = new Rand(13);
  const order = shuffled(j, N, 14);
  const insMs = timed(() => {
    for (let i = 0; i < N; i++) {
      index.noteInsert(order[i]!);
      if (i % 1000 === 999) index.snapshot().release();
    }
    index.snapshot().release();
  });
  if (rnd.int(2) === 2 || index.size !== N) throw new Error("size mismatch");
  report(`${label}: ${N.toLocaleString("en-US")} random inserts, applied per 1,000`, insMs, "ms");
  report(`${label}: memory after random inserts (byteSize)`, index.byteSize() / index.size, "B/key");
  const problem = N <= 1_000_000 ? index.validate() : undefined;
  if (problem !== undefined) throw new Error(`invalid after inserts: ${problem}`);
}

if (only === undefined) {
  // Each key set in a fresh process of the same runtime (same flags), so that one set's JIT state and garbage do
  // not weigh on the other's figures.
  console.log(`ordered index micro-benchmark (${runtime}), 192-byte records, median of 5 (best in brackets)`);
  const argv: string[] = isBun ? [] : ["run", "-A", ...(collect === undefined ? [] : ["--v8-flags=--expose-gc"])];
  const script = fileURLToPath(import.meta.url);
  const all: Record<string, number> = {};
  for (const set of ["random", "user"]) {
    const child = spawnSync(G.process.execPath, [...argv, script, ...args, "--only", set, "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (child.status !== 0) throw new Error(`the ${set} run failed (status ${child.status})`);
    const lines = child.stdout.trimEnd().split("\n");
    const json = JSON.parse(lines.pop()!);
    Object.assign(all, json.results);
    console.log(lines.filter((l) => !l.startsWith("ordered index micro-benchmark")).join("\n"));
  }
  if (args.includes("--json")) console.log(JSON.stringify({ runtime, records: N, results: all }));
} else {
  console.log(`ordered index micro-benchmark (${runtime}), 192-byte records, median of 5 (best in brackets)`);
}

if (only === "random") {
  const rnd = new Rand(1);
  const j = new FakeJournal(N + EXTRA, (_i, out) => {
    for (let b = 0; b < 24; b += 4) {
      const v = rnd.u32();
      out[b] = v >>> 24;
      out[b + 1] = (v >>> 16) & 255;
      out[b + 2] = (v >>> 8) & 255;
      out[b + 3] = v & 255;
    }
    return 24;
  }, 2);
  suite("random 24 B", j, (r, out) => {
    if (r.int(2) === 0) {
      const o = j.slot[r.int(N)]!;
      out.set(j.buf.subarray(o + 2, o + 26));
    } else {
      for (let b = 0; b < 24; b++) out[b] = r.int(256);
    }
    return 24;
  });
}

if (only === "user") {
  // user:00000000 … in numeric order, with the pending-insert keys interleaved (user:00000000a …).
  const enc = new TextEncoder();
  const j = new FakeJournal(N + EXTRA, (i, out) => {
    const n = i < N ? i : (i - N) * Math.floor(N / EXTRA);
    const s = `user:${String(n).padStart(8, "0")}${i < N ? "" : "a"}`;
    return enc.encodeInto(s, out).written;
  }, 3);
  suite("user:%08d", j, (r, out) => enc.encodeInto(`user:${String(r.int(N)).padStart(8, "0")}`, out).written);
}

if (only !== undefined && args.includes("--json")) console.log(JSON.stringify({ runtime, records: N, results }));
