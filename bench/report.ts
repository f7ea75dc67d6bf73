/**
 * Renders the collected engine results as markdown: the phase table (rows = phases,
 * columns = engine × runtime; milliseconds, ops/s and each peer's ratio to emdb in the
 * same runtime), the targets of issue 3 per runtime, hyperfine rows, correctness checks,
 * how each engine was driven, and the machine.
 *
 * `deno run -A bench/report.ts bench/results/latest.json` re-renders a saved run.
 *
 * @module
 */

import type { EngineResult, PhaseName, PhaseResult, StreamCounts } from "./workload.ts";

export type JobResult = EngineResult & { command: string; exitCode: number; id?: string };

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
  };
  results: JobResult[];
  hyperfine: { label: string; command: string; meanMs: number; stddevMs: number; minMs: number; runs: number }[];
  hyperfineNotes: string[];
  /** `bench/index_memory.ts` on each runtime (1,000,000 keys of 24 bytes). */
  indexMemory?: { runtime: string; keys?: number; indexBytes?: number; indexBytesPerKey?: number; error?: string }[];
}

const ENGINE_LABEL: Record<string, string> = {
  emdb: "emdb",
  lmdb: "lmdb-js",
  node_sqlite: "node:sqlite",
  bun_sqlite: "bun:sqlite",
  deno_kv: "Deno KV",
  "node:sqlite": "node:sqlite",
  "bun:sqlite": "bun:sqlite",
  "Deno KV": "Deno KV",
};
const RT_LABEL = { deno: "Deno", bun: "Bun" } as const;

const int = (n: number) => Math.round(n).toLocaleString("en-US");

function fmtMs(ms: number): string {
  if (ms >= 100) return `${int(ms)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
function fmtRate(ops: number, ms: number): string {
  const r = ops / (ms / 1000);
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)} M/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)} K/s`;
  return `${r.toFixed(0)}/s`;
}
function fmtRatio(x: number): string {
  if (x >= 10) return `${x.toFixed(0)}×`;
  if (x >= 0.1) return `${x.toFixed(1)}×`;
  return `${x.toPrecision(1)}×`;
}
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

function idOf(r: JobResult): string {
  if (r.id) return r.id;
  const map: Record<string, string> = {
    "node:sqlite": "node_sqlite",
    "bun:sqlite": "bun_sqlite",
    "Deno KV": "deno_kv",
  };
  return map[r.engine] ?? r.engine;
}

const ROWS: { phase: PhaseName; label: string; rate: boolean }[] = [
  { phase: "bulk", label: "1. bulk load (N records, batches of 50,000, one durable flush)", rate: true },
  { phase: "individual", label: "2. individual writes (1,000 × set + durable flush)", rate: true },
  { phase: "batch", label: "3. batch writes (100 × 1,000 records + durable flush)", rate: true },
  { phase: "nosync", label: "4. nosync writes (50,000 single sets, not flushed)", rate: true },
  { phase: "nosyncBatched", label: "4b. nosync writes batched (50,000 in one batch/txn; extra row)", rate: true },
  { phase: "reads1", label: "5a. random reads, insertion order, pass 1", rate: true },
  { phase: "reads2", label: "5b. random reads, insertion order, pass 2", rate: true },
  { phase: "readsShuffled", label: "5c. random reads, shuffled order", rate: true },
  {
    phase: "readsShuffledInto",
    label: "5d. shuffled reads into a reused buffer (emdb getInto: no allocation per value; extra row)",
    rate: true,
  },
  { phase: "removals", label: "6. removals (first half of the keys + one durable flush)", rate: true },
];

export function renderMarkdown(rep: RunReport): string {
  const cols = rep.results;
  const emdbOf = (rt: string) => cols.find((c) => idOf(c) === "emdb" && c.runtime === rt && !c.error);
  const out: string[] = [];
  const c = rep.counts;
  out.push(`# emdb benchmark — ${int(rep.records)} records`);
  out.push("");
  out.push(
    `24-byte random keys, 150-byte random values, one seeded PRNG (xoshiro128**, seed 3) shared by every engine; ` +
      `each engine × runtime in its own process, started after a \`sync\` and a 3 s pause; data on ${
        rep.machine.filesystem || "disk"
      } under \`bench/.data/\`. ` +
      `Stream: ${int(c.bulk)} bulk + ${int(c.individual)} individual + ${int(c.batch)} batch + ${
        int(c.nosync)
      } nosync ` +
      `(+ ${int(c.nosync)} for row 4b); reads: ${int(c.reads)} gets per pass; removals: first ${int(c.removals)} keys.`,
  );
  out.push("");
  out.push(
    "Each cell: time · throughput · **peer time ÷ emdb time in the same runtime** (> 1× means emdb is faster). " +
      "Single run on a noisy 2-core VM: read ratios, not absolute numbers.",
  );
  out.push("");
  const header = ["phase", ...cols.map((r) => `${ENGINE_LABEL[idOf(r)] ?? r.engine} (${RT_LABEL[r.runtime]})`)];
  out.push(`| ${header.join(" | ")} |`);
  out.push(`|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);

  const cell = (r: JobResult, p: PhaseName, rate: boolean): string => {
    if (r.error && !r.phases?.[p]) return "failed";
    const ph: PhaseResult | undefined = r.phases?.[p];
    if (!ph) return "—";
    if (ph.ms === null) return ph.note ?? "n/a";
    let s = fmtMs(ph.ms);
    if (rate && ph.ops > 0) s += ` · ${fmtRate(ph.ops, ph.ms)}`;
    const e = emdbOf(r.runtime);
    const eph = e?.phases?.[p];
    if (idOf(r) !== "emdb" && eph && eph.ms !== null && eph.ms > 0) {
      // Compare per-operation time when the peer ran fewer operations (Deno KV reads).
      const ratio = ph.ops !== eph.ops && ph.ops > 0 ? (ph.ms / ph.ops) / (eph.ms / eph.ops) : ph.ms / eph.ms;
      s += ` · **${fmtRatio(ratio)}**`;
    }
    if (rate && eph && ph.ops !== eph.ops && ph.ops > 0) s += ` (${int(ph.ops)} ops)`;
    return s;
  };
  for (const row of ROWS) {
    out.push(`| ${row.label} | ${cols.map((r) => cell(r, row.phase, row.rate)).join(" | ")} |`);
  }
  // sizes
  const sizeCell = (r: JobResult, which: "before" | "after"): string => {
    if (r.error && !r.sizes?.beforeCompaction) return "failed";
    const b = which === "before" ? r.sizes.beforeCompaction : r.sizes.afterCompaction;
    if (b === null || b === undefined || b === 0) {
      return which === "after" ? (r.phases?.compaction?.note ?? "n/a") : "—";
    }
    let s = mib(b);
    const e = emdbOf(r.runtime);
    const eb = e?.sizes.beforeCompaction;
    if (idOf(r) !== "emdb" && eb) s += ` · **${fmtRatio(b / eb)}**`;
    return s;
  };
  out.push(`| 7a. file size before compaction (after close) | ${cols.map((r) => sizeCell(r, "before")).join(" | ")} |`);
  out.push(`| 7b. compaction | ${cols.map((r) => cell(r, "compaction", false)).join(" | ")} |`);
  out.push(`| 7c. file size after compaction | ${cols.map((r) => sizeCell(r, "after")).join(" | ")} |`);
  out.push(
    `| 8a. reopen + first get (emdb: from checkpoint; peers: open) | ${
      cols.map((r) => cell(r, "reopenCheckpoint", false)).join(" | ")
    } |`,
  );
  out.push(
    `| 8b. reopen + first get by full replay (no checkpoint) | ${
      cols.map((r) => cell(r, "reopenReplay", false)).join(" | ")
    } |`,
  );
  out.push(
    `| 9. index memory per key | ${
      cols.map((r) => (r.indexBytesPerKey !== undefined ? `${r.indexBytesPerKey.toFixed(1)} B/key` : "n/a")).join(" | ")
    } |`,
  );
  out.push(
    `| wrong / missing values | ${
      cols.map((r) => (r.error ? `${r.wrong} / ${r.missing} (run failed)` : `${r.wrong} / ${r.missing}`)).join(" | ")
    } |`,
  );
  out.push("");

  // targets
  out.push("## Targets (issue 3), per runtime");
  out.push("");
  out.push(
    "Ratio = fastest peer's time ÷ emdb's time in the same runtime (reads: lmdb-js only; per-operation time where " +
      "a peer ran fewer operations).",
  );
  out.push("");
  out.push("| target | runtime | emdb | best peer | ratio | met |");
  out.push("|---|---|---:|---|---:|:---:|");
  for (const rt of ["deno", "bun"] as const) {
    const e = emdbOf(rt);
    const peers = cols.filter((r) => r.runtime === rt && idOf(r) !== "emdb" && !r.error);
    if (!e) {
      if (cols.some((r) => r.runtime === rt)) out.push(`| all | ${RT_LABEL[rt]} | emdb did not run | | | |`);
      continue;
    }
    const perOp = (r: JobResult, p: PhaseName) => {
      const ph = r.phases?.[p];
      return ph && ph.ms !== null && ph.ops > 0 ? ph.ms / ph.ops : null;
    };
    const speed = (label: string, p: PhaseName, floor: number, only?: string) => {
      const eOp = perOp(e, p);
      let best: JobResult | undefined;
      let bestOp = Infinity;
      for (const r of peers) {
        if (only && idOf(r) !== only) continue;
        const op = perOp(r, p);
        if (op !== null && op < bestOp) {
          bestOp = op;
          best = r;
        }
      }
      if (eOp === null || !best) {
        out.push(`| ${label} | ${RT_LABEL[rt]} | — | — | — | — |`);
        return;
      }
      const ratio = bestOp / eOp;
      out.push(
        `| ${label} | ${RT_LABEL[rt]} | ${fmtMs(e.phases[p].ms!)} | ${ENGINE_LABEL[idOf(best)]} ${
          fmtMs(best.phases[p].ms!)
        } | ${ratio.toFixed(2)}× | ${ratio >= floor ? "yes" : `**no** (${(floor / ratio).toFixed(1)}× short)`} |`,
      );
    };
    speed("bulk load ≥ 3× fastest peer", "bulk", 3);
    speed("batch writes ≥ 10× fastest peer", "batch", 10);
    speed("nosync writes ≥ 3× fastest peer", "nosync", 3);
    speed("removals ≥ 3× fastest peer", "removals", 3);
    speed("random reads pass 1 ≥ 3× lmdb-js", "reads1", 3, "lmdb");
    speed("random reads pass 2 ≥ 3× lmdb-js", "reads2", 3, "lmdb");
    speed("random reads shuffled ≥ 3× lmdb-js", "readsShuffled", 3, "lmdb");
    speed("individual writes no slower than fastest peer", "individual", 1);
    const sq = peers.find((r) => idOf(r).endsWith("sqlite"));
    if (sq) {
      const ratio = sq.sizes.beforeCompaction / e.sizes.beforeCompaction;
      out.push(
        `| file size before compaction ≤ SQLite's | ${RT_LABEL[rt]} | ${mib(e.sizes.beforeCompaction)} | ${
          ENGINE_LABEL[idOf(sq)]
        } ${mib(sq.sizes.beforeCompaction)} | ${ratio.toFixed(2)}× | ${ratio >= 1 ? "yes" : "**no**"} |`,
      );
    }
    const abs = (label: string, p: PhaseName, limitMs: number) => {
      const ms = e.phases?.[p]?.ms;
      if (ms === null || ms === undefined) return;
      out.push(
        `| ${label} | ${RT_LABEL[rt]} | ${fmtMs(ms)} | | | ${ms < limitMs ? "yes" : "**no**"}${
          rep.records < 1_000_000 ? " (N < 1 M)" : ""
        } |`,
      );
    };
    abs("reopen from checkpoint < 200 ms", "reopenCheckpoint", 200);
    abs("reopen by full replay < 1 s", "reopenReplay", 1000);
    if (e.indexBytesPerKey !== undefined) {
      out.push(
        `| index memory ≤ 32 B/key | ${RT_LABEL[rt]} | ${e.indexBytesPerKey.toFixed(1)} B/key | | | ${
          e.indexBytesPerKey <= 32 ? "yes" : "**no**"
        } |`,
      );
    }
  }
  out.push("");

  if (rep.indexMemory?.length) {
    out.push("## Index memory at 1,000,000 keys (`bench/index_memory.ts`)");
    out.push("");
    for (const m of rep.indexMemory) {
      out.push(
        m.error || m.indexBytesPerKey === undefined
          ? `- ${m.runtime}: failed (${m.error ?? "no result"})`
          : `- ${m.runtime}: **${m.indexBytesPerKey.toFixed(2)} B/key** (${int(m.indexBytes ?? 0)} B for ${
            int(m.keys ?? 0)
          } keys of 24 B, \`stats().indexBytes\`)`,
      );
    }
    out.push(
      "- Row 9 above is the same figure at the end of the main run (fewer live keys after removals; the table " +
        "keeps the capacity it grew to).",
    );
    out.push("");
  }

  if (rep.hyperfine.length || rep.hyperfineNotes.length) {
    out.push("## Whole commands (hyperfine)");
    out.push("");
    if (rep.hyperfine.length) {
      out.push(
        "The emdb database left by the run above (end state: after removals), opened by a fresh process; " +
          "warm page cache, 1 warm-up run.",
      );
      out.push("");
      out.push("| command | mean ± σ | min | runs |");
      out.push("|---|---:|---:|---:|");
      for (const h of rep.hyperfine) {
        out.push(`| ${h.label} | ${fmtMs(h.meanMs)} ± ${fmtMs(h.stddevMs)} | ${fmtMs(h.minMs)} | ${h.runs} |`);
      }
      out.push("");
    }
    for (const n of rep.hyperfineNotes) out.push(`- ${n}`);
    if (rep.hyperfineNotes.length) out.push("");
  }

  out.push("## Correctness checks");
  out.push("");
  out.push(
    "Timed read passes check presence, length and 3 sampled bytes of every value; untimed passes compare every byte " +
      "of every record written (Deno KV: a sample of ~100,000 keys per pass) before removals, after removals, " +
      "after each reopen and after compaction; removed keys must be absent.",
  );
  out.push("");
  for (const r of cols) {
    const checks = Object.entries(r.checks ?? {})
      .map(([k, v]) => `${k}: ${v.wrong} wrong / ${v.missing} missing of ${int(v.checked)}`)
      .join("; ");
    out.push(`- **${ENGINE_LABEL[idOf(r)]} (${RT_LABEL[r.runtime]})**: ${checks || "no checks ran"}`);
  }
  out.push("");

  const failures = cols.filter((r) => r.error);
  if (failures.length) {
    out.push("## Failed runs");
    out.push("");
    for (const r of failures) {
      out.push(`- **${ENGINE_LABEL[idOf(r)] ?? r.engine} (${RT_LABEL[r.runtime]})**:`);
      out.push("");
      out.push("```");
      out.push(r.error!.split("\n").slice(0, 12).join("\n"));
      out.push("```");
    }
    out.push("");
  }

  out.push("## How each engine is driven");
  out.push("");
  const seen = new Set<string>();
  for (const r of cols) {
    for (const n of r.notes ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      out.push(`- ${n}`);
    }
  }
  out.push(
    `- Reopen rows time \`open\` plus one \`get\` of the last key written (lazy engines must load something); ` +
      `same process, warm page cache, after a clean close.`,
  );
  out.push(
    `- Deno KV read passes use ${int(rep.kvReads)} gets (one awaited \`kv.get\` costs ~100 µs); ratios are per get.`,
  );
  out.push("- Sizes are the apparent sizes (`st_size`) of the files listed; the JSON also has allocated blocks.");
  out.push("");

  out.push("## Machine and command");
  out.push("");
  const m = rep.machine;
  out.push(`- ${m.nproc} vCPU ${m.cpu}, ${m.ramGiB} GiB RAM, kernel ${m.kernel}${m.os ? `, ${m.os}` : ""}`);
  out.push(`- ${m.deno}; Bun ${m.bun}; lmdb-js ${m.lmdb}${m.hyperfine ? `; ${m.hyperfine}` : ""}`);
  out.push(`- started ${rep.startedAt}, finished ${rep.finishedAt}`);
  out.push(`- command: \`${rep.command}\``);
  out.push("- per engine:");
  for (const r of cols) out.push(`  - \`${r.command}\``);
  out.push("");
  return out.join("\n");
}

if (import.meta.main) {
  // deno-lint-ignore no-explicit-any
  const G = globalThis as any;
  const file = G.Deno.args[0] ?? new URL("./results/latest.json", import.meta.url).pathname;
  const rep = JSON.parse(await G.Deno.readTextFile(file)) as RunReport;
  console.log(renderMarkdown(rep));
}
