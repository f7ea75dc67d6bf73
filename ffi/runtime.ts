/**
 * Picks the runtime binder once, at module load.
 *
 * This is the only place that asks which runtime is running.
 *
 * @module
 */
import type { Binder } from "./types.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** The binder for the running runtime (Deno or Bun). */
export const binder: Binder = isBun ? (await import("./bun.ts")).binder : (await import("./deno.ts")).binder;
