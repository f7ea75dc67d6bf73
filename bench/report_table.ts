/**
 * The main table of the report: rows = phases, columns = engine × runtime (main runs), each cell
 * time · throughput · the peer's time ÷ emdb's in the same runtime. emdb-only rows (variants,
 * encryption, latencies) compare emdb with itself and show "—" for the peers.
 *
 * @module
 */

import {
  ENGINE_LABEL,
  fmtMs,
  fmtPct,
  fmtRate,
  fmtRatio,
  fmtSignedUs,
  fmtUs,
  idOf,
  int,
  type JobResult,
  mib,
  msOf,
  perOp,
  type Results,
  RT_LABEL,
} from "./report_util.ts";
import { LONG_RANGE_KEYS, LONG_RANGES, type PhaseName, PREFIX_RANGES, TXN_KEYS, type Variant } from "./workload.ts";

interface CellOptions {
  /** Show throughput. */
  rate?: boolean;
  /** Show the time per operation instead of a throughput. */
  each?: boolean;
  /** Peers show this phase of theirs (ratio against emdb's `p`). */
  peerPhase?: PhaseName;
}

/** Row 13: the write phases compared (never used vs in use). */
export const ORDERED_PHASES: [PhaseName, string][] = [
  ["bulk", "1. bulk load"],
  ["individual", "2. individual writes"],
  ["batch", "3. batch writes"],
  ["nosync", "4. nosync writes"],
  ["nosyncBatched", "4b. nosync batched"],
  ["removals", "6. removals"],
];

/** Rows 14: per cipher, the phases shown against plaintext (the other phases are in the details). */
export const ENCRYPTED_PHASES: [PhaseName, string][] = [
  ["bulk", "bulk load"],
  ["reads1", "random reads, insertion order"],
  ["readsShuffled", "random reads, shuffled"],
  ["batch", "batch writes"],
];

export const CIPHERS: [Variant, string][] = [["aes", "AES-256-GCM"], ["chacha", "ChaCha20-Poly1305"]];

/** Best times (ms, ops, every run's ms) of one phase over runs. */
type Best = { ms: number; ops: number; runs: number[] };

/** The row-13 comparison of one phase on one runtime, if both variants ran. */
export function orderedLoss(
  res: Results,
  rt: string,
  p: PhaseName,
): { never: Best; inUse: Best; loss: number } | undefined {
  const never = res.best(res.variants(rt, "writes"), p);
  const inUse = res.best(res.variants(rt, "ordered"), p);
  if (!never || !inUse) return undefined;
  return { never, inUse, loss: (inUse.ms / never.ms - 1) * 100 };
}

/** The markdown lines of the main table. */
export function mainTable(res: Results): string[] {
  const cols = res.cols;
  const out: string[] = [];
  const header = ["phase", ...cols.map((r) => `${ENGINE_LABEL[idOf(r)] ?? r.engine} (${RT_LABEL[r.runtime]})`)];
  out.push(`| ${header.join(" | ")} |`);
  out.push(`|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  const row = (label: string, fn: (r: JobResult) => string) => out.push(`| ${label} | ${cols.map(fn).join(" | ")} |`);
  const emdbOnly = (fn: (e: JobResult) => string) => (r: JobResult) =>
    r.error && idOf(r) === "emdb" ? "failed" : idOf(r) === "emdb" ? fn(r) : "—";

  const cell = (r: JobResult, p: PhaseName, o: CellOptions = {}): string => {
    const own = idOf(r) !== "emdb" && o.peerPhase ? o.peerPhase : p;
    const ph = r.phases?.[own];
    if (r.error && !ph) return "failed";
    if (!ph) return "—";
    if (ph.ms === null) return ph.note ?? "n/a";
    let s = fmtMs(ph.ms);
    if (o.each && ph.ops > 0) s += ` · ${fmtUs((ph.ms * 1000) / ph.ops)} each`;
    else if (o.rate && ph.ops > 0) s += ` · ${fmtRate(ph.ops, ph.ms)}`;
    const e = res.emdb(r.runtime);
    const eph = e?.phases?.[p];
    if (idOf(r) !== "emdb" && eph && eph.ms !== null && eph.ms > 0) {
      // Compare per-operation time when the peer ran fewer operations (Deno KV reads).
      const ratio = ph.ops !== eph.ops && ph.ops > 0 ? (ph.ms / ph.ops) / (eph.ms / eph.ops) : ph.ms / eph.ms;
      s += ` · **${fmtRatio(ratio)}**`;
    }
    if ((o.rate || o.each) && eph && ph.ops !== eph.ops && ph.ops > 0 && !o.peerPhase) s += ` (${int(ph.ops)} ops)`;
    return s;
  };
  /** emdb's phase `p` against its own phase `base` (same gets): the difference per operation. */
  const versus = (p: PhaseName, base: PhaseName, baseLabel: string) =>
    emdbOnly((e) => {
      const ph = e.phases?.[p];
      if (!ph || ph.ms === null) return "—";
      const a = perOp(e, p);
      const b = perOp(e, base);
      let s = `${fmtMs(ph.ms)} · ${fmtRate(ph.ops, ph.ms)}`;
      if (a !== null && b !== null) s += ` · ${fmtSignedUs((a - b) * 1000)}/get vs ${baseLabel}`;
      return s;
    });

  row("1. bulk load (N records, batches of 50,000, one durable flush)", (r) => cell(r, "bulk", { rate: true }));
  row("2. individual writes (1,000 × set + durable flush)", (r) => cell(r, "individual", { rate: true }));
  row(
    '2b. flushPolicy "always": 1,000 × set, each durable (peers: their row 2)',
    (r) => cell(r, "policyAlways", { rate: true, peerPhase: "individual" }),
  );
  row(
    '2c. flushPolicy "writeThrough" (O_DSYNC): 1,000 × set (peers: their row 2)',
    (r) => cell(r, "policyWriteThrough", { rate: true, peerPhase: "individual" }),
  );
  row("3. batch writes (100 × 1,000 records + durable flush)", (r) => cell(r, "batch", { rate: true }));
  row("4. nosync writes (50,000 single sets, not flushed)", (r) => cell(r, "nosync", { rate: true }));
  row(
    "4b. nosync writes batched (50,000 in one batch/txn; extra row)",
    (r) => cell(r, "nosyncBatched", { rate: true }),
  );
  row("5a. random reads, insertion order, pass 1", (r) => cell(r, "reads1", { rate: true }));
  row("5b. random reads, insertion order, pass 2", (r) => cell(r, "reads2", { rate: true }));
  row("5c. random reads, shuffled order", (r) => cell(r, "readsShuffled", { rate: true }));
  row(
    "5d. shuffled reads into a reused buffer (emdb getInto: no allocation per value; extra row)",
    (r) => cell(r, "readsShuffledInto", { rate: true }),
  );
  row(
    "5e. reads of 5a after a reopen from the checkpoint, pass 1: each record's CRC checked on first read",
    versus("readsVerifying", "reads1", "5a"),
  );
  row("5f. the same, pass 2: records already verified", versus("readsVerified", "reads2", "5b"));
  row("6. removals (first half of the keys + one durable flush)", (r) => cell(r, "removals", { rate: true }));

  const sizeCell = (r: JobResult, which: "before" | "after"): string => {
    if (r.error && !r.sizes?.beforeCompaction) return "failed";
    const b = which === "before" ? r.sizes.beforeCompaction : r.sizes.afterCompaction;
    if (b === null || b === undefined || b === 0) {
      return which === "after" ? (r.phases?.compaction?.note ?? "n/a") : "—";
    }
    let s = mib(b);
    const e = res.emdb(r.runtime);
    const eb = which === "before" ? e?.sizes.beforeCompaction : e?.sizes.afterCompaction;
    if (idOf(r) !== "emdb" && eb) s += ` · **${fmtRatio(b / eb)}**`;
    return s;
  };
  row("7a. file size before compaction (after close)", (r) => sizeCell(r, "before"));
  row("7b. compaction (emdb: await compact(); lmdb-js: compacting copy; SQLite: VACUUM)", (r) => cell(r, "compaction"));
  row("7c. file size after compaction", (r) => sizeCell(r, "after"));
  row(
    "7d. a set every ~1 ms from a timer while compact() runs: due → done, p50 / p99 / max (right after it: p99)",
    emdbOnly((e) => {
      const l = e.compactionLatency;
      if (!l) return "—";
      return `${fmtMs(l.during.p50)} / ${fmtMs(l.during.p99)} / ${fmtMs(l.during.max)} (${l.during.count} sets); ` +
        `after: ${fmtMs(l.after.p99)}`;
    }),
  );
  row(
    "7e. backup (backupTo, compacted) vs copying the journal (copyFileSync + fsync)",
    emdbOnly((e) => {
      const b = msOf(e, "backup");
      const c = msOf(e, "copyFile");
      return b === null || c === null ? "—" : `${fmtMs(b)} vs ${fmtMs(c)} · ${fmtRatio(b / c)} the copy`;
    }),
  );
  row("8a. reopen + first get (emdb: from checkpoint; peers: open)", (r) => cell(r, "reopenCheckpoint"));
  row("8b. reopen + first get by full replay (no checkpoint)", (r) => cell(r, "reopenReplay"));
  row(
    `8c. reopen from checkpoint with the ordered index built (${
      int(res.rep.counts.total + res.rep.counts.nosync)
    } keys) + first get; then the first range`,
    emdbOnly((e) => {
      const o = msOf(e, "reopenOrdered");
      const f = msOf(e, "rangeAfterReopen");
      return o === null ? "—" : `${fmtMs(o)}; first range ${f === null ? "—" : fmtMs(f)}`;
    }),
  );
  row(
    "9. index memory per key",
    (r) => (r.indexBytesPerKey !== undefined ? `${r.indexBytesPerKey.toFixed(1)} B/key` : "n/a"),
  );
  row(
    "10. full iteration of every key (emdb keys(), hash order; peers: key order)",
    (r) => cell(r, "iterateKeys", { rate: true }),
  );
  row("11a. first range (emdb: builds the ordered index)", (r) => cell(r, "rangeFirst"));
  row(
    `11b. ${int(PREFIX_RANGES)} × range({ prefix: 2 random bytes, limit: 10 })`,
    (r) => cell(r, "rangePrefix", { each: true }),
  );
  row(
    `11c. ${int(LONG_RANGES)} × a range of ${int(LONG_RANGE_KEYS)} consecutive keys (entries)`,
    (r) => cell(r, "rangeLong", { rate: true }),
  );
  row(
    "11d. ordered index memory on top of the hash index (stats().indexBytes before/after 11a)",
    emdbOnly((e) => {
      const f = e.figures ?? {};
      return f.orderedBytesPerKey === undefined
        ? "—"
        : `${f.orderedBytesPerKey.toFixed(1)} B/key (hash index ${f.hashIndexBytesPerKey?.toFixed(1)} B/key)`;
    }),
  );
  row(
    `12. transactions of ${TXN_KEYS} reads + ${TXN_KEYS} writes with checks, ×${
      int(res.rep.counts.txns ?? 0)
    }, one durable flush at the end`,
    (r) => cell(r, "transactions", { each: true }),
  );
  row(
    "12b. the same with getEntry + atomic().check().set().commit() (emdb; extra row)",
    (r) => cell(r, "atomics", { each: true }),
  );
  for (const [i, [p, label]] of ORDERED_PHASES.entries()) {
    row(
      `13${"abcdef"[i]}. ${label} with ordered access in use (a range taken first) vs never used`,
      emdbOnly((e) => {
        const l = orderedLoss(res, e.runtime, p);
        return l ? `${fmtMs(l.inUse.ms)} vs ${fmtMs(l.never.ms)} · ${fmtPct(l.loss)}` : "—";
      }),
    );
  }
  let n = 0;
  for (const [v, cipher] of CIPHERS) {
    for (const [p, label] of ENCRYPTED_PHASES) {
      row(
        `14${"abcdefgh"[n++]}. encrypted (${cipher}, raw key): ${label}`,
        emdbOnly((e) => {
          const enc = res.variants(e.runtime, v)[0];
          const ph = enc?.phases?.[p];
          const plain = e.phases?.[p];
          if (!ph || ph.ms === null || !plain || plain.ms === null) return "—";
          const vs = p.startsWith("reads")
            ? `${fmtSignedUs(((ph.ms / ph.ops) - (plain.ms / plain.ops)) * 1000)}/get vs plaintext`
            : `${fmtRatio(ph.ms / plain.ms)} plaintext`;
          const ops = ph.ops !== plain.ops ? ` (${int(ph.ops)} gets)` : "";
          return `${fmtMs(ph.ms)} · ${fmtRate(ph.ops, ph.ms)} · ${vs}${ops}`;
        }),
      );
    }
  }
  row(
    "14i. open of a passphrase-protected database (Argon2id at the defaults)",
    emdbOnly((e) => {
      const enc = res.variants(e.runtime, "aes")[0];
      const ms = msOf(enc, "passphraseOpen");
      const f = enc?.figures ?? {};
      if (ms === null) return "—";
      const params = f.argon2MemoryKiB
        ? ` (${int(f.argon2MemoryKiB)} KiB, t=${f.argon2Passes}, p=${f.argon2Lanes})`
        : "";
      return `${fmtMs(ms)}${params}`;
    }),
  );
  row(
    "wrong / missing values",
    (r) => (r.error ? `${r.wrong} / ${r.missing} (run failed)` : `${r.wrong} / ${r.missing}`),
  );
  return out;
}
