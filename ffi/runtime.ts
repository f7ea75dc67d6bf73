/**
 * Picks the runtime binder once, synchronously, at module load.
 *
 * This is the only place that asks which runtime is running. Every binder
 * module is imported statically and creates nothing until its factory is
 * called, so importing emdb never awaits (a top-level `await` makes Bun drop
 * messages posted to a Worker while it is pending, and breaks
 * `bun build --bytecode`) and works under runtimes without FFI.
 *
 * @module
 */
import { bunBinder } from "./bun.ts";
import { denoBinder } from "./deno.ts";
import { otherBinder } from "./other.ts";
import type { Binder } from "./types.ts";

const g = globalThis as { Bun?: unknown; Deno?: unknown };

/** The binder for the running runtime (Deno, Bun, or one without FFI). */
export const binder: Binder = g.Bun !== undefined ? bunBinder() : g.Deno !== undefined ? denoBinder() : otherBinder();
