/**
 * What every benchmark process shares: the runtime (Deno or Bun) and its arguments, logging to
 * stderr, a full GC before each timed phase, the clock, file sizes, the timed read passes and
 * the untimed byte-for-byte verification.
 *
 * @module
 */

import { readdirSync, statSync } from "node:fs";
import type { Engine, Maybe } from "./engines/types.ts";
import { equalBytes, type LatencySummary, type Stream, VALUE_BYTES } from "./workload.ts";

// deno-lint-ignore no-explicit-any
export const G = globalThis as any;
export const isBun: boolean = typeof G.Bun !== "undefined";
export const runtime: "deno" | "bun" = isBun ? "bun" : "deno";
export const runtimeVersion: string = isBun ? G.Bun.version : G.Deno.version.deno;

/** The process's arguments after the script. */
export function argv(): string[] {
  return isBun ? G.process.argv.slice(2) : G.Deno.args;
}

/** An environment variable, or undefined. */
export function env(name: string): string | undefined {
  return isBun ? G.process.env[name] : G.Deno.env.get(name);
}

/** One progress line on stderr (stdout carries only the RESULT line). */
export function log(msg: string): void {
  if (isBun) G.process.stderr.write(msg + "\n");
  else G.Deno.stderr.writeSync(new TextEncoder().encode(msg + "\n"));
}

/** A full collection where the runtime exposes one (Bun always; Deno with `--v8-flags=--expose-gc`). */
export function gc(): void {
  if (isBun) G.Bun.gc(true);
  else if (typeof G.gc === "function") G.gc();
}

/** Milliseconds, sub-millisecond resolution. */
export const now = (): number => performance.now();

/** Runs `fn` after a GC and returns its wall time in milliseconds. */
export async function timed(fn: () => Maybe<void>): Promise<number> {
  gc();
  const t0 = now();
  const r = fn();
  if (r) await r;
  return now() - t0;
}

/** Apparent and allocated sizes of the files that exist among `files`. */
export function sizeOf(files: string[]): { bytes: number; allocated: number; present: string[] } {
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

/** Every file under `dir` with its size, `sub/name=bytes`. */
export function listDir(dir: string): string[] {
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

/** Counts of a check: values that differ, keys that should be there and are not, keys checked. */
export interface CheckCount {
  wrong: number;
  missing: number;
  checked: number;
}

/** Timed read pass. Each value gets a cheap inline check (presence, length, 3 sampled bytes). */
export function readPassSync(
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

/** The same pass for engines whose `get` returns a Promise. */
export async function readPassAsync(
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
 * Untimed full check: every index in `[from, to)` (every `stride`-th) compared byte for byte.
 * For a removed key (below `removedBelow`), any value found counts as wrong.
 */
export async function verify(
  engine: Engine,
  stream: Stream,
  from: number,
  to: number,
  removedBelow: number,
  stride: number,
): Promise<CheckCount> {
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

/** p50 / p99 / max of a list of milliseconds (nearest rank). */
export function summarize(ms: number[]): LatencySummary {
  const s = Float64Array.from(ms).sort();
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
  return { count: s.length, p50: rank(0.5), p99: rank(0.99), max: s.length ? s[s.length - 1]! : 0 };
}
