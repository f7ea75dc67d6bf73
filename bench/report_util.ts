/**
 * What the report's renderers share: the run's record types, number formats and lookups of a
 * run's results (the main column of an engine, emdb's variant runs, per-operation times).
 *
 * @module
 */

import type { EngineResult, PhaseName, StreamCounts, Variant } from "./workload.ts";

/** One engine process's result as the orchestrator saw it. */
export type JobResult = EngineResult & { command: string; exitCode: number; id?: string };

/** Everything `bench/run.ts` saves in `latest.json`. */
export interface RunReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  records: number;
  counts: StreamCounts;
  kvReads: number;
  machine: {
    nproc: number;
    cpu: string;
    ramGiB: number;
    kernel: string;
    os: string;
    deno: string;
    bun: string;
    lmdb: string;
    hyperfine: string;
    filesystem: string;
    /** /proc/loadavg when the run started and when it ended. */
    loadStart?: string;
    loadEnd?: string;
  };
  results: JobResult[];
  hyperfine: { label: string; command: string; meanMs: number; stddevMs: number; minMs: number; runs: number }[];
  hyperfineNotes: string[];
  /** `bench/index_memory.ts` on each runtime (1,000,000 keys of 24 bytes). */
  indexMemory?: { runtime: string; keys?: number; indexBytes?: number; indexBytesPerKey?: number; error?: string }[];
}

export const ENGINE_LABEL: Record<string, string> = {
  emdb: "emdb",
  lmdb: "lmdb-js",
  node_sqlite: "node:sqlite",
  bun_sqlite: "bun:sqlite",
  deno_kv: "Deno KV",
  "node:sqlite": "node:sqlite",
  "bun:sqlite": "bun:sqlite",
  "Deno KV": "Deno KV",
};
export const RT_LABEL = { deno: "Deno", bun: "Bun" } as const;
export const RUNTIMES = ["deno", "bun"] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** An integer with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US");

/** Milliseconds with 3 significant digits. */
export function fmtMs(ms: number): string {
  if (ms >= 100) return `${int(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Microseconds with 3 significant digits. */
export function fmtUs(us: number): string {
  if (Math.abs(us) >= 100) return `${int(us)} µs`;
  if (Math.abs(us) >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}

/** A signed number of microseconds ("+0.45 µs", "−0.10 µs"). */
export const fmtSignedUs = (us: number): string => `${us >= 0 ? "+" : "−"}${fmtUs(Math.abs(us))}`;

/** Operations per second from a count and milliseconds. */
export function fmtRate(ops: number, ms: number): string {
  const r = ops / (ms / 1000);
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} K/s`;
  return `${r.toFixed(0)}/s`;
}

/** A ratio: 2 significant digits below 10, none above. */
export function fmtRatio(x: number): string {
  if (x >= 10) return `${x.toFixed(0)}×`;
  if (x >= 0.1) return `${x.toFixed(1)}×`;
  return `${x.toPrecision(1)}×`;
}

/** A signed percentage. */
export const fmtPct = (x: number): string => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}%`;

export const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

/** The engine id of a result (`emdb`, `lmdb`, `node_sqlite`, …). */
export function idOf(r: JobResult): string {
  if (r.id) return r.id;
  const map: Record<string, string> = {
    "node:sqlite": "node_sqlite",
    "bun:sqlite": "bun_sqlite",
    "Deno KV": "deno_kv",
  };
  return map[r.engine] ?? r.engine;
}

/** The sequence a result ran (`main` for results of runs before variants existed). */
export const variantOf = (r: JobResult): Variant => r.variant ?? "main";

/** Lookups over one run's results. */
export class Results {
  /** The columns of the main table: every engine's main run. */
  readonly cols: JobResult[];

  constructor(readonly rep: RunReport) {
    this.cols = rep.results.filter((r) => variantOf(r) === "main");
  }

  /** emdb's main run on a runtime, if it succeeded. */
  emdb(rt: string): JobResult | undefined {
    return this.cols.find((c) => idOf(c) === "emdb" && c.runtime === rt && !c.error);
  }

  /** The successful peers' main runs on a runtime. */
  peers(rt: string): JobResult[] {
    return this.cols.filter((r) => r.runtime === rt && idOf(r) !== "emdb" && !r.error);
  }

  /** emdb's successful runs of a variant on a runtime (several for the repeated ones). */
  variants(rt: string, v: Variant): JobResult[] {
    return this.rep.results.filter((r) => idOf(r) === "emdb" && variantOf(r) === v && r.runtime === rt && !r.error);
  }

  /** The best (lowest) time of a phase over runs, with how many runs had it. */
  best(runs: JobResult[], p: PhaseName): { ms: number; ops: number; runs: number[] } | undefined {
    const times = runs.map((r) => r.phases?.[p]).filter((ph) => ph && ph.ms !== null) as { ms: number; ops: number }[];
    if (!times.length) return undefined;
    const ms = Math.min(...times.map((t) => t.ms));
    return { ms, ops: times[0]!.ops, runs: times.map((t) => t.ms) };
  }
}

/** Milliseconds per operation of a phase, or null. */
export function perOp(r: JobResult | undefined, p: PhaseName): number | null {
  const ph = r?.phases?.[p];
  return ph && ph.ms !== null && ph.ops > 0 ? ph.ms / ph.ops : null;
}

/** Milliseconds of a phase, or null. */
export function msOf(r: JobResult | undefined, p: PhaseName): number | null {
  const ph = r?.phases?.[p];
  return ph && ph.ms !== null ? ph.ms : null;
}
