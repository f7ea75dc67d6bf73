/**
 * The phases of issue 6: on the database after the read passes (1,201,000 live keys at N = 1 M),
 * row 10, a full iteration of every key, and rows 11, ranges (the first one alone, since emdb
 * builds its ordered index there; 10,000 × `limit: 10` over random 2-byte prefixes; 10 × 10,000
 * consecutive keys from random 3-byte start points); at the end of the run, row 12, transactions
 * of 10 reads + 10 writes with checks, one durable flush at the end.
 *
 * Every entry a range yields is checked as it comes (in the prefix, in strictly increasing key
 * order, a 150-byte value), and folded into a digest that every engine must match (same keys,
 * same values), reported in `bench/results/latest.md`.
 *
 * @module
 */

import type { Ctx } from "./context.ts";
import { gc, now, timed } from "./harness.ts";
import {
  compareBytes,
  KEY_BYTES,
  LONG_RANGE_KEYS,
  LONG_RANGES,
  PREFIX_BYTES,
  PREFIX_RANGES,
  randomBounds,
  RANGE_LIMIT,
  TXN_KEYS,
  VALUE_BYTES,
} from "./workload.ts";

/** Row 10: every key once. Deno KV (async) is capped at the read-pass count. */
export async function iterationPhase(ctx: Ctx, liveKeys: number): Promise<void> {
  const engine = ctx.engine;
  if (!engine.iterateKeys) return;
  const limit = engine.asyncGet ? Math.min(ctx.readCount, liveKeys) : Infinity;
  let n = 0;
  let bad = 0;
  let sum = 0;
  ctx.say(`full iteration of the keys${limit === Infinity ? "" : ` (first ${limit})`}`);
  const ms = await timed(() =>
    engine.iterateKeys!((k) => {
      n++;
      if (k.length !== KEY_BYTES) bad++;
      else sum += k[0]! + k[1]! * 256 + k[2]! * 65536;
    }, limit)
  );
  ctx.phase("iterateKeys", ms, n);
  const expected = limit === Infinity ? liveKeys : limit;
  ctx.check("full iteration: every key once", {
    wrong: bad + Math.max(0, n - expected),
    missing: Math.max(0, expected - n),
    checked: n,
  });
  if (limit === Infinity) ctx.digest("iteration", sum);
}

/** Checks and folds the entries of one range. */
class RangeChecker {
  entries = 0;
  bad = 0;
  sum = 0;
  #prev: Uint8Array | undefined;
  #prefix: Uint8Array | undefined;

  /** Starts a new range (`prefix`: every key must start with it). */
  begin(prefix: Uint8Array | undefined): void {
    this.#prev = undefined;
    this.#prefix = prefix;
  }

  readonly sink = (key: Uint8Array, value: Uint8Array): void => {
    this.entries++;
    const p = this.#prefix;
    if (
      key.length !== KEY_BYTES || value.length !== VALUE_BYTES ||
      (p !== undefined && (key[0] !== p[0] || key[1] !== p[1])) ||
      (this.#prev !== undefined && compareBytes(this.#prev, key) >= 0)
    ) this.bad++;
    this.#prev = key;
    this.sum += key[2]! + key[3]! * 256 + value[0]! * 65536 + value[149]! * 16777216;
  };
}

/**
 * Rows 11a–c (and, for emdb, the memory the ordered index adds: `stats().indexBytes` before and
 * after the first range).
 */
export async function rangePhases(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  if (!engine.range) return;
  const range = engine.range.bind(engine);
  const before = engine.stats?.();
  const first = randomBounds(1, PREFIX_BYTES, 11)[0]!;
  const prefixes = randomBounds(PREFIX_RANGES, PREFIX_BYTES, 12);
  const starts = randomBounds(LONG_RANGES, 3, 13);

  ctx.say("first range");
  const c0 = new RangeChecker();
  c0.begin(first.start);
  ctx.phase("rangeFirst", await timed(() => range(first.start, first.end, true, RANGE_LIMIT, c0.sink)), c0.entries);
  if (before && engine.stats) {
    const after = engine.stats();
    const added = Number(after.indexBytes) - Number(before.indexBytes);
    ctx.figure("orderedIndexBytes", added);
    ctx.figure("orderedBytesPerKey", added / Number(after.liveRecords));
    ctx.figure("hashIndexBytesPerKey", Number(before.indexBytes) / Number(before.liveRecords));
  }

  ctx.say(`${PREFIX_RANGES} prefix ranges of limit ${RANGE_LIMIT}`);
  const c1 = new RangeChecker();
  const ms1 = await timed(async () => {
    for (let i = 0; i < prefixes.length; i++) {
      const b = prefixes[i]!;
      c1.begin(b.start);
      const r = range(b.start, b.end, true, RANGE_LIMIT, c1.sink);
      if (r) await r;
    }
  });
  ctx.phase("rangePrefix", ms1, PREFIX_RANGES);
  ctx.figure("rangePrefixEntries", c1.entries);
  ctx.digest("prefixRanges", c1.sum);
  ctx.digest("prefixRangeEntries", c1.entries);

  ctx.say(`${LONG_RANGES} ranges of ${LONG_RANGE_KEYS} consecutive keys`);
  const c2 = new RangeChecker();
  const ms2 = await timed(async () => {
    for (let i = 0; i < starts.length; i++) {
      c2.begin(undefined);
      const r = range(starts[i]!.start, undefined, false, LONG_RANGE_KEYS, c2.sink);
      if (r) await r;
    }
  });
  ctx.phase("rangeLong", ms2, c2.entries);
  ctx.digest("longRanges", c2.sum);
  ctx.digest("longRangeEntries", c2.entries);
  ctx.check("ranges: in the prefix, in key order, 150-byte values", {
    wrong: c0.bad + c1.bad + c2.bad,
    missing: 0,
    checked: c0.entries + c1.entries + c2.entries,
  });
}

/**
 * Row 12 (and emdb's extra `atomic()` row), run last, on the database after the removals and
 * compaction: `counts.txns` transactions, each reading 10 live keys (with their versions),
 * checking them and writing other values to them; the last one makes everything durable. Keys
 * [removals, removals + txns × 10) get the values of the keys one further on; the atomic row
 * takes the next block.
 */
export async function transactionPhases(ctx: Ctx): Promise<void> {
  const engine = ctx.engine;
  const rows: ["transactions" | "atomics", typeof engine.transaction][] = [
    ["transactions", engine.transaction?.bind(engine)],
    ["atomics", engine.atomic?.bind(engine)],
  ];
  const T = ctx.counts.txns;
  for (let r = 0; r < rows.length; r++) {
    const [name, run] = rows[r]!;
    if (!run) continue;
    const base = ctx.counts.removals + r * T * TXN_KEYS;
    const keys: Uint8Array[][] = [];
    const values: Uint8Array[][] = [];
    const expect = ctx.stream.values(base, base + T * TXN_KEYS);
    const keyCopies = ctx.stream.keyCopies(base, base + T * TXN_KEYS);
    const newValues = ctx.stream.values(base + 1, base + T * TXN_KEYS + 1);
    for (let t = 0; t < T; t++) {
      keys.push(keyCopies.slice(t * TXN_KEYS, (t + 1) * TXN_KEYS));
      values.push(newValues.slice(t * TXN_KEYS, (t + 1) * TXN_KEYS));
    }
    let j = 0;
    let wrong = 0;
    let missing = 0;
    const onRead = (v: Uint8Array | undefined) => {
      const e = expect[j++]!;
      if (v === undefined) missing++;
      else if (v.length !== VALUE_BYTES || v[0] !== e[0] || v[149] !== e[149]) wrong++;
    };
    ctx.say(`${T} ${name} of ${TXN_KEYS} reads + ${TXN_KEYS} writes`);
    const b = engine.beginTransactions?.();
    if (b) await b;
    gc();
    const t0 = now();
    for (let t = 0; t < T; t++) {
      const p = run(keys[t]!, values[t]!, t === T - 1, onRead);
      if (p) await p;
    }
    ctx.phase(name, now() - t0, T);
    ctx.check(`${name}: values read`, { wrong, missing: missing + (T * TXN_KEYS - j), checked: j });
    // Untimed: every key now holds its new value.
    let w = 0;
    let m = 0;
    let checked = 0;
    for (let i = 0; i < T * TXN_KEYS; i += ctx.stride) {
      let v = engine.get(keyCopies[i]!);
      if (v instanceof Promise) v = await v;
      checked++;
      const e = newValues[i]!;
      if (v === undefined) m++;
      else if (v.length !== e.length || v.some((x, k) => x !== e[k])) w++;
    }
    ctx.check(`${name}: values written`, { wrong: w, missing: m, checked });
  }
}
