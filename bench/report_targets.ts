/**
 * The targets table: every issue's speed targets, one row each, one column per runtime, each cell
 * the measured figure (a ratio against the named peer, or an absolute) and whether it is met.
 *
 * @module
 */

import { CIPHERS, ORDERED_PHASES, orderedLoss } from "./report_table.ts";
import {
  ENGINE_LABEL,
  fmtMs,
  fmtPct,
  fmtRate,
  fmtSignedUs,
  fmtUs,
  idOf,
  type JobResult,
  mib,
  msOf,
  perOp,
  type Results,
  RT_LABEL,
  RUNTIMES,
} from "./report_util.ts";
import type { PhaseName } from "./workload.ts";

/** One runtime's cell of a target. `met` null: measured only (no threshold in the issue). */
interface Verdict {
  value: string;
  met: boolean | null;
  /** How far from the target, as a factor (> 1), when missed. */
  short?: number;
}

type Check = (e: JobResult, rt: string) => Verdict | undefined;

/** emdb's per-operation speed against the fastest peer (or one peer) on the same runtime. */
function speed(res: Results, p: PhaseName, floor: number, only?: string): Check {
  return (e, rt) => {
    const eOp = perOp(e, p);
    let best: JobResult | undefined;
    let bestOp = Infinity;
    for (const r of res.peers(rt)) {
      if (only && idOf(r) !== only) continue;
      const op = perOp(r, p);
      if (op !== null && op < bestOp) {
        bestOp = op;
        best = r;
      }
    }
    if (eOp === null || !best) return undefined;
    const ratio = bestOp / eOp;
    return {
      value: `${ratio.toFixed(2)}× ${ENGINE_LABEL[idOf(best)]} (${fmtMs(msOf(e, p)!)} vs ${fmtMs(msOf(best, p)!)})`,
      met: ratio >= floor,
      short: floor / ratio,
    };
  };
}

/** An emdb figure that must stay at or under (`max`) or over (`min`) a limit. */
function limit(
  get: (e: JobResult) => number | undefined,
  show: (x: number) => string,
  bound: number,
  max = true,
): Check {
  return (e) => {
    const x = get(e);
    if (x === undefined || Number.isNaN(x)) return undefined;
    const met = max ? x <= bound : x >= bound;
    return { value: show(x), met, short: max ? x / bound : bound / x };
  };
}

/** The markdown lines of the targets table. */
export function targetsTable(res: Results): string[] {
  const rep = res.rep;
  const ms = (p: PhaseName) => (e: JobResult) => msOf(e, p) ?? undefined;
  const perOpUs = (e: JobResult | undefined, p: PhaseName) => {
    const x = perOp(e, p);
    return x === null ? undefined : x * 1000;
  };
  const rows: [string, string, Check][] = [];
  const add = (issue: string, target: string, check: Check) => rows.push([issue, target, check]);

  // Issue 3: the foundation.
  add("3", "bulk load ≥ 3× fastest peer", speed(res, "bulk", 3));
  add("3", "batch writes ≥ 10× fastest peer", speed(res, "batch", 10));
  add("3", "nosync writes ≥ 3× fastest peer", speed(res, "nosync", 3));
  add("3", "removals ≥ 3× fastest peer", speed(res, "removals", 3));
  add("3", "random reads pass 1 ≥ 3× lmdb-js", speed(res, "reads1", 3, "lmdb"));
  add("3", "random reads pass 2 ≥ 3× lmdb-js", speed(res, "reads2", 3, "lmdb"));
  add("3", "random reads shuffled ≥ 3× lmdb-js", speed(res, "readsShuffled", 3, "lmdb"));
  add("3", "individual writes no slower than fastest peer", speed(res, "individual", 1));
  add("3", "file size before compaction ≤ SQLite's", (e, rt) => {
    const sq = res.peers(rt).find((r) => idOf(r).endsWith("sqlite"));
    if (!sq || !e.sizes.beforeCompaction) return undefined;
    const ratio = sq.sizes.beforeCompaction / e.sizes.beforeCompaction;
    return { value: `${mib(e.sizes.beforeCompaction)} vs ${mib(sq.sizes.beforeCompaction)}`, met: ratio >= 1 };
  });
  add("3", "reopen from checkpoint < 200 ms", limit(ms("reopenCheckpoint"), fmtMs, 200));
  add("3", "reopen by full replay < 1 s", limit(ms("reopenReplay"), fmtMs, 1000));
  add("3", "index memory ≤ 32 B/key", limit((e) => e.indexBytesPerKey, (x) => `${x.toFixed(1)} B/key`, 32));

  // Issue 6: the data model.
  const rate = (p: PhaseName) => (e: JobResult) => {
    const x = perOp(e, p);
    return x === null ? undefined : 1000 / x;
  };
  add("6", "full iteration ≥ 3 M entries/s", limit(rate("iterateKeys"), (x) => fmtRate(x, 1000), 3e6, false));
  add("6", "range({ prefix, limit: 10 }) ≤ 20 µs each", limit((e) => perOpUs(e, "rangePrefix"), fmtUs, 20));
  add("6", "full iteration ≥ 2× fastest peer", speed(res, "iterateKeys", 2));
  add("6", "prefix ranges (limit 10) ≥ 2× fastest peer", speed(res, "rangePrefix", 2));
  add("6", "ranges of 10,000 keys ≥ 2× fastest peer", speed(res, "rangeLong", 2));
  add(
    "6",
    "ordered access ≤ 16 B/key on top of the hash index",
    limit((e) => e.figures?.orderedBytesPerKey, (x) => `${x.toFixed(1)} B/key`, 16),
  );
  add("6", "write phases lose ≤ 10% with ordered access in use (worst phase)", (_e, rt) => {
    let worst: { p: string; loss: number } | undefined;
    for (const [p, label] of ORDERED_PHASES) {
      const l = orderedLoss(res, rt, p);
      if (l && (!worst || l.loss > worst.loss)) worst = { p: label, loss: l.loss };
    }
    if (!worst) return undefined;
    return { value: `${fmtPct(worst.loss)} (${worst.p})`, met: worst.loss <= 10, short: (100 + worst.loss) / 110 };
  });
  add("6", "reopen from checkpoint with the ordered index built < 200 ms", limit(ms("reopenOrdered"), fmtMs, 200));
  add("6", "transactions (10 reads + 10 writes, checks), ×10,000: vs fastest peer", (e, rt) => {
    const v = speed(res, "transactions", 1)(e, rt);
    return v && { ...v, met: null };
  });

  // Issue 7: compaction, backup, durability.
  add("7", "compaction faster than the fastest peer's", speed(res, "compaction", 1));
  add("7", "size after compaction ≤ the smallest peer's", (e, rt) => {
    const mine = e.sizes.afterCompaction;
    const theirs = res.peers(rt).map((r) => r.sizes.afterCompaction).filter((b): b is number => !!b);
    if (!mine || !theirs.length) return undefined;
    const best = Math.min(...theirs);
    return { value: `${mib(mine)} vs ${mib(best)}`, met: mine <= best, short: mine / best };
  });
  add(
    "7",
    "a set during compaction ≤ 10 ms at p99",
    limit((e) => e.compactionLatency?.during.p99, fmtMs, 10),
  );
  add("7", "a set right after compaction ≤ 10 ms at p99", limit((e) => e.compactionLatency?.after.p99, fmtMs, 10));
  add("7", "backup ≤ 2× copying the file", (e) => {
    const b = msOf(e, "backup");
    const c = msOf(e, "copyFile");
    if (b === null || c === null) return undefined;
    return { value: `${(b / c).toFixed(2)}× (${fmtMs(b)} vs ${fmtMs(c)})`, met: b <= 2 * c, short: b / (2 * c) };
  });
  add("7", 'flushPolicy "always" (1,000 writes) vs fastest peer\'s durable single writes', (e, rt) => {
    const mine = msOf(e, "policyAlways");
    const best = Math.min(...res.peers(rt).map((r) => msOf(r, "individual") ?? Infinity));
    if (mine === null || best === Infinity) return undefined;
    return { value: `${(best / mine).toFixed(2)}× (${fmtMs(mine)} vs ${fmtMs(best)})`, met: null };
  });

  // Issue 8: encryption.
  for (const [v, cipher] of CIPHERS) {
    add("8", `encrypted bulk load ≤ 2× plaintext (${cipher})`, (e, rt) => {
      const enc = msOf(res.variants(rt, v)[0], "bulk");
      const plain = msOf(e, "bulk");
      if (enc === null || plain === null) return undefined;
      return {
        value: `${(enc / plain).toFixed(2)}× (${fmtMs(enc)} vs ${fmtMs(plain)})`,
        met: enc <= 2 * plain,
        short: enc / (2 * plain),
      };
    });
    for (const [p, label] of [["reads1", "insertion order"], ["readsShuffled", "shuffled"]] as const) {
      add("8", `encrypted get ≤ plaintext + 1 µs (${cipher}, ${label})`, (e, rt) => {
        const enc = perOpUs(res.variants(rt, v)[0], p);
        const plain = perOpUs(e, p);
        if (enc === undefined || plain === undefined) return undefined;
        return {
          value: `${fmtSignedUs(enc - plain)} (${fmtUs(enc)} vs ${fmtUs(plain)})`,
          met: enc - plain <= 1,
          short: (enc - plain) / 1,
        };
      });
    }
  }
  add("8", "passphrase open ≤ 1 s (Argon2id defaults)", (_e, rt) => {
    const x = msOf(res.variants(rt, "aes")[0], "passphraseOpen");
    return x === null ? undefined : { value: fmtMs(x), met: x <= 1000, short: x / 1000 };
  });

  // Issue 9: hardening.
  add("9", "bulk load ≥ 3× fastest peer", speed(res, "bulk", 3));
  add("9", "reads of verified records (5f) within 10% of reads of records this handle wrote (5b)", (e) => {
    const a = perOp(e, "readsVerified");
    const b = perOp(e, "reads2");
    if (a === null || b === null) return undefined;
    return { value: `${(a / b).toFixed(2)}× 5b`, met: a <= 1.1 * b, short: a / (1.1 * b) };
  });
  add("9", "first read's CRC check (5e vs 5a, per get)", (e) => {
    const a = perOpUs(e, "readsVerifying");
    const b = perOpUs(e, "reads1");
    return a === undefined || b === undefined ? undefined : { value: fmtSignedUs(a - b), met: null };
  });

  const out: string[] = [];
  const rts = RUNTIMES.filter((rt) => rep.results.some((r) => r.runtime === rt));
  out.push(`| issue | target | ${rts.map((rt) => RT_LABEL[rt]).join(" | ")} |`);
  out.push(`|---|---|${rts.map(() => "---").join("|")}|`);
  for (const [issue, target, check] of rows) {
    const cells = rts.map((rt) => {
      const e = res.emdb(rt);
      if (!e) return "emdb did not run";
      const v = check(e, rt);
      if (!v) return "—";
      if (v.met === null) return `${v.value} (measured)`;
      if (v.met) return `${v.value} · yes`;
      const short = v.short !== undefined && v.short > 1 ? ` (${v.short.toFixed(2)}× off)` : "";
      return `${v.value} · **no**${short}`;
    });
    out.push(`| ${issue} | ${target} | ${cells.join(" | ")} |`);
  }
  if (rep.records < 1_000_000) {
    out.push("", `N = ${rep.records.toLocaleString("en-US")} < 1 M: the absolute targets are for 1 M.`);
  }
  return out;
}
