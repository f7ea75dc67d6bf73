/**
 * The benchmark workload shared by every engine: one seeded PRNG, the key/value stream,
 * the phase constants and the result record types.
 *
 * The shape follows the Rust emdb crate's `benches/lmdb_style.rs` (itself a mirror of
 * redb's `lmdb_benchmark.rs`): 24-byte random keys, 150-byte random values, one PRNG
 * stream seeded with 3 that continues across the write phases, so the key sequence is
 * bulk → individual → batch → nosync and every engine sees exactly the same bytes.
 *
 * The PRNG is xoshiro128** seeded through splitmix32: 32-bit integer arithmetic only
 * (`Math.imul`, shifts), so Deno and Bun produce the same sequence bit for bit.
 *
 * @module
 */

export const KEY_BYTES = 24;
export const VALUE_BYTES = 150;
export const SEED = 3;
export const SHUFFLE_SEED = 4;

export const DEFAULT_RECORDS = 1_000_000;
export const BULK_CHUNK = 50_000;
export const INDIVIDUAL_WRITES = 1_000;
export const BATCH_WRITES = 100;
export const BATCH_SIZE = 1_000;
export const NOSYNC_WRITES = 50_000;
export const NUM_READS = 1_000_000;
/** Row 11b: ranges of `limit: 10` over random 2-byte prefixes (~18 keys each at 1,201,000 keys). */
export const PREFIX_RANGES = 10_000;
export const PREFIX_BYTES = 2;
export const RANGE_LIMIT = 10;
/** Row 11c: ranges of this many consecutive keys, from random start keys. */
export const LONG_RANGES = 10;
export const LONG_RANGE_KEYS = 10_000;
/** Row 12: transactions of this many reads + writes (of the same keys), with checks. */
export const TXNS = 10_000;
export const TXN_KEYS = 10;

/** xoshiro128**, seeded with splitmix32. Deterministic across JS engines. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform integer in [0, n) for n ≤ 2^32 (multiply-shift, negligible bias here). */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** Fill `out` with random bytes, 4 per draw, little-endian. */
  fill(out: Uint8Array): void {
    let i = 0;
    const n = out.length;
    while (i + 4 <= n) {
      const r = this.nextU32();
      out[i] = r & 0xff;
      out[i + 1] = (r >>> 8) & 0xff;
      out[i + 2] = (r >>> 16) & 0xff;
      out[i + 3] = r >>> 24;
      i += 4;
    }
    if (i < n) {
      let r = this.nextU32();
      while (i < n) {
        out[i++] = r & 0xff;
        r >>>= 8;
      }
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A key/value pair as passed to the engines. */
export type Pair = [key: Uint8Array, value: Uint8Array];

/** Record counts of the workload for `records` bulk records. */
export interface StreamCounts {
  bulk: number;
  individual: number;
  batch: number;
  nosync: number;
  /** bulk + individual + batch + nosync (the Rust bench's `total`). */
  total: number;
  /** Removals: the first half of every key written, in stream order (as the Rust bench). */
  removals: number;
  /** Reads: gets of the first min(N, 1 M) bulk keys, all hits. */
  reads: number;
  /**
   * Transactions of row 12 (≤ 10,000), run last: they rewrite live keys [removals, removals + txns × 10) with
   * other values (emdb's extra atomic() row uses the next block).
   */
  txns: number;
}

/** Counts of the four write streams for `records` bulk records. */
export function streamCounts(records: number): StreamCounts {
  const total = records + INDIVIDUAL_WRITES + BATCH_WRITES * BATCH_SIZE + NOSYNC_WRITES;
  return {
    bulk: records,
    individual: INDIVIDUAL_WRITES,
    batch: BATCH_WRITES * BATCH_SIZE,
    nosync: NOSYNC_WRITES,
    total,
    removals: Math.floor(total / 2),
    reads: Math.min(records, NUM_READS),
    txns: Math.min(TXNS, Math.floor(Math.floor(total / 2) / (2 * TXN_KEYS))),
  };
}

/**
 * The whole key/value stream, generated once into one slab before any timing: record i is
 * 24 key bytes then 150 value bytes, drawn in that order from one PRNG stream.
 *
 * Only the slab lives for the whole run; each phase builds the arrays of views it needs
 * (`keys`, `values`, `pairs`) before its clock starts and drops them afterwards. So the
 * measured process never holds millions of long-lived objects or ArrayBuffers, which
 * would make every major GC slow and distort timings (notably reopen, which allocates
 * large tables). With `ownBuffers` every key and value handed out is a copy with its own
 * ArrayBuffer: Deno KV needs that, since V8 serialisation of a view copies its whole
 * backing buffer.
 */
export class Stream {
  readonly slab: Uint8Array;

  constructor(readonly total: number, readonly ownBuffers = false, seed = SEED) {
    const rng = new Prng(seed);
    const rec = KEY_BYTES + VALUE_BYTES;
    this.slab = new Uint8Array(total * rec);
    for (let i = 0; i < total; i++) rng.fill(this.slab.subarray(i * rec, (i + 1) * rec));
  }

  /** Key i (a view, or a copy with `ownBuffers`). */
  key(i: number): Uint8Array {
    const o = i * (KEY_BYTES + VALUE_BYTES);
    return this.ownBuffers ? this.slab.slice(o, o + KEY_BYTES) : this.slab.subarray(o, o + KEY_BYTES);
  }
  /** Value i (a view, or a copy with `ownBuffers`). */
  value(i: number): Uint8Array {
    const o = i * (KEY_BYTES + VALUE_BYTES) + KEY_BYTES;
    return this.ownBuffers ? this.slab.slice(o, o + VALUE_BYTES) : this.slab.subarray(o, o + VALUE_BYTES);
  }
  keys(from: number, to: number): Uint8Array[] {
    const out = new Array<Uint8Array>(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.key(i);
    return out;
  }
  values(from: number, to: number): Uint8Array[] {
    const out = new Array<Uint8Array>(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.value(i);
    return out;
  }
  pairs(from: number, to: number): Pair[] {
    const out = new Array<Pair>(to - from);
    for (let i = from; i < to; i++) out[i - from] = [this.key(i), this.value(i)];
    return out;
  }
  /**
   * Fresh copies of keys [from, to), so lookups never use the very objects that were
   * written: views into one new slab (own buffers with `ownBuffers`).
   */
  keyCopies(from: number, to: number): Uint8Array[] {
    if (this.ownBuffers) return this.keys(from, to);
    const out = new Array<Uint8Array>(to - from);
    const slab = new Uint8Array((to - from) * KEY_BYTES);
    for (let i = from; i < to; i++) {
      const o = (i - from) * KEY_BYTES;
      slab.set(this.key(i), o);
      out[i - from] = slab.subarray(o, o + KEY_BYTES);
    }
    return out;
  }
}

/** A deterministic Fisher–Yates permutation of 0..n-1. */
export function shuffledOrder(n: number, seed = SHUFFLE_SEED): Uint32Array {
  const rng = new Prng(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * The bounds of `count` random byte ranges (seeded): `[start, end)` where `start` has `bytes` random bytes
 * and `end` is the next prefix of that length (`undefined` after 0xff…ff). With `bytes` = 2 this is a
 * prefix range; with 3 it is a random start point for a run of consecutive keys.
 */
export function randomBounds(
  count: number,
  bytes: number,
  seed: number,
): { start: Uint8Array; end: Uint8Array | undefined }[] {
  const rng = new Prng(seed);
  const out: { start: Uint8Array; end: Uint8Array | undefined }[] = [];
  for (let i = 0; i < count; i++) {
    const start = new Uint8Array(bytes);
    rng.fill(start);
    const end = start.slice();
    let j = bytes - 1;
    while (j >= 0 && end[j] === 0xff) end[j--] = 0;
    if (j >= 0) end[j]!++;
    out.push({ start, end: j >= 0 ? end : undefined });
  }
  return out;
}

/** Byte order of two keys (negative, 0, positive), as every engine here sorts them. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Full byte comparison (used by the untimed verification pass). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One timed phase. */
export interface PhaseResult {
  /** Wall time in milliseconds, or null when the engine does not have the operation. */
  ms: number | null;
  /** Operations in the phase (records written, gets, removals). */
  ops: number;
  /** Free-form remark shown in the table (e.g. "n/a (later issue)"). */
  note?: string;
}

/** Percentiles of a set of latencies, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Row 7d: single `set`s from a 1 ms timer before, during and right after a compaction. */
export interface CompactionLatency {
  /** From the moment each write was due (1 ms after the previous one started) to its return. */
  idle: LatencySummary;
  during: LatencySummary;
  after: LatencySummary;
  /** The `set` call alone, during the compaction. */
  callDuring: LatencySummary;
  /** How long that compaction took (it yields to the writes). */
  compactionMs: number;
}

/**
 * What a job runs: the whole sequence (`main`), only the write phases with or without a range taken
 * first (`writes`, `ordered`: row 13), or the write and read phases on an encrypted database
 * (`aes`, `chacha`: rows 14).
 */
export type Variant = "main" | "writes" | "ordered" | "aes" | "chacha";

/** Everything one engine process reports, printed as one JSON line. */
export interface EngineResult {
  engine: string;
  /** Which sequence ran (absent in results of older runs: `main`). */
  variant?: Variant;
  runtime: "deno" | "bun";
  runtimeVersion: string;
  records: number;
  phases: Partial<Record<PhaseName, PhaseResult>>;
  /** Values that came back different from what was written. */
  wrong: number;
  /** Keys that should have been found but were not (or found after removal). */
  missing: number;
  /** Per-check breakdown of wrong/missing. */
  checks: Record<string, { wrong: number; missing: number; checked: number }>;
  sizes: {
    /** Bytes on disk before compaction (after close). */
    beforeCompaction: number;
    /** Bytes after compaction, or null. */
    afterCompaction: number | null;
    /** Which files were counted. */
    files: string[];
  };
  /** emdb only: index bytes per key from `stats()`. */
  indexBytesPerKey?: number;
  /** Live records at the end (engine's own count where it has one). */
  liveRecords?: number;
  /** Single figures of the new rows (B/key, byte counts, Argon2id parameters…), by name. */
  figures?: Record<string, number>;
  /** Row 7d (emdb). */
  compactionLatency?: CompactionLatency;
  /** Agreement digests of the ordered phases: every engine must report the same numbers. */
  digests?: Record<string, number>;
  notes: string[];
  error?: string;
}

export const PHASES = [
  "bulk",
  "individual",
  "policyAlways",
  "policyWriteThrough",
  "batch",
  "nosync",
  "nosyncBatched",
  "reads1",
  "reads2",
  "readsShuffled",
  "readsShuffledInto",
  "readsVerifying",
  "readsVerified",
  "iterateKeys",
  "rangeFirst",
  "rangePrefix",
  "rangeLong",
  "transactions",
  "atomics",
  "removals",
  "compaction",
  "backup",
  "copyFile",
  "reopenCheckpoint",
  "reopenReplay",
  "reopenOrdered",
  "rangeAfterReopen",
  "passphraseOpen",
] as const;
export type PhaseName = (typeof PHASES)[number];
