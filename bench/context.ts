/**
 * The state one benchmark process threads through its phases: the engine, the key/value stream
 * and its offsets, and the result being filled in.
 *
 * @module
 */

import type { Engine } from "./engines/types.ts";
import type { CheckCount } from "./harness.ts";
import {
  BATCH_SIZE,
  BATCH_WRITES,
  type EngineResult,
  INDIVIDUAL_WRITES,
  NOSYNC_WRITES,
  type PhaseName,
  type Stream,
  type StreamCounts,
} from "./workload.ts";

/** Where each write stream starts in the key/value stream. */
export interface Offsets {
  individual: number;
  batch: number;
  noSync: number;
  noSyncBatched: number;
  /** Records in the stream: `counts.total` + the batched-nosync block. */
  total: number;
}

/** The offsets of the stream for `records` bulk records. */
export function offsetsOf(records: number): Offsets {
  const individual = records;
  const batch = individual + INDIVIDUAL_WRITES;
  const noSync = batch + BATCH_WRITES * BATCH_SIZE;
  const noSyncBatched = noSync + NOSYNC_WRITES;
  return { individual, batch, noSync, noSyncBatched, total: noSyncBatched + NOSYNC_WRITES };
}

/** Everything a phase needs. */
export interface Ctx {
  engine: Engine;
  /** Makes a second driver of the same engine (to open a backup). */
  makeEngine: () => Engine;
  stream: Stream;
  counts: StreamCounts;
  off: Offsets;
  /** The data directory. */
  dir: string;
  /** Gets per read pass (Deno KV: capped). */
  readCount: number;
  /** Every `stride`-th key is verified (1, except for Deno KV). */
  stride: number;
  result: EngineResult;
  /** Records a phase's time. */
  phase(name: PhaseName, ms: number | null, ops: number, note?: string): void;
  /** Adds a named check to the result (its wrong/missing counts are totalled). */
  check(name: string, c: CheckCount): void;
  /** Records a single figure (B/key, bytes…). */
  figure(name: string, value: number): void;
  /** Records a digest that every engine must agree on. */
  digest(name: string, value: number): void;
  /** A progress line. */
  say(msg: string): void;
}
