/**
 * Progress lines for long work (load, verify, compact, backup, dump): one line
 * on standard error, redrawn in place at most every 100 ms and erased at the
 * end. Shown only when standard error is a terminal; when it is piped or
 * redirected nothing is written, so logs and pipes stay clean.
 *
 * @module
 */

/** Where a {@linkcode Progress} writes, and its clock (injected by tests). */
export interface ProgressSink {
  /** Whether to show anything at all (standard error is a terminal). */
  enabled: boolean;
  /** Writes text to the terminal. */
  write(text: string): void;
  /** The time in ms (default `Date.now`). */
  clock?: () => number;
}

/** How often the line is redrawn at most. */
const INTERVAL_MS = 100;
/** Nothing is drawn for work that ends sooner than this. */
const DELAY_MS = 300;

/**
 * One progress line: `label: 12,345 keys` or `label: 12.0 MiB / 40.0 MiB (30%)`.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * let now = 0;
 * const seen: string[] = [];
 * const p = new Progress("load", { enabled: true, write: (t) => seen.push(t), clock: () => now });
 * now = 1000;
 * p.update("3 lines");
 * p.done();
 * console.log(seen.length); // 2: the line, then its erasure
 * ```
 */
export class Progress {
  #label: string;
  #sink: ProgressSink;
  #clock: () => number;
  #started: number;
  #last = -Infinity;
  #shown = false;

  /**
   * @param label What is being done.
   * @param sink The terminal, or a disabled sink.
   */
  constructor(label: string, sink: ProgressSink) {
    this.#label = label;
    this.#sink = sink;
    this.#clock = sink.clock ?? Date.now;
    this.#started = this.#clock();
  }

  /** Whether updates are drawn at all (callers may skip computing them). */
  get enabled(): boolean {
    return this.#sink.enabled;
  }

  /**
   * Redraws the line with a new status, unless it was drawn less than 100 ms ago
   * (or the work started less than 300 ms ago).
   *
   * @param status What to show after the label.
   */
  update(status: string): void {
    if (!this.#sink.enabled) return;
    const now = this.#clock();
    if (now - this.#started < DELAY_MS || now - this.#last < INTERVAL_MS) return;
    this.#last = now;
    this.#shown = true;
    const secs = ((now - this.#started) / 1000).toFixed(1);
    this.#sink.write(`\r\x1b[K${this.#label}: ${status} (${secs} s)`);
  }

  /**
   * Draws a status at once, whatever the timing (before a long step that cannot report progress).
   *
   * @param status What to show after the label.
   */
  show(status: string): void {
    if (!this.#sink.enabled) return;
    this.#last = this.#clock();
    this.#shown = true;
    this.#sink.write(`\r\x1b[K${this.#label}: ${status}`);
  }

  /** Erases the line (when one was drawn). */
  done(): void {
    if (!this.#shown) return;
    this.#shown = false;
    this.#sink.write("\r\x1b[K");
  }
}

/**
 * A percentage of `done` out of `total`.
 *
 * @param done Work done.
 * @param total All the work.
 * @returns E.g. `"42%"`.
 */
export function percent(done: number, total: number): string {
  return total <= 0 ? "100%" : `${Math.min(100, Math.floor((done / total) * 100))}%`;
}
