/**
 * What happens after each write besides the write itself: the flush policy
 * (`always`, or a flush within an interval) and the check whether automatic
 * compaction is due.
 *
 * The interval policy runs without a background thread: a write flushes at
 * once when the last sync is older than the interval, and otherwise arms a
 * timer (unref'd, so it never keeps the process alive) that flushes when it
 * fires.
 *
 * @module
 */
import type { AutoCompactOptions, FlushPolicy } from "../options.ts";

/** What the policy needs from the engine. */
export interface PolicyHost {
  readonly closed: boolean;
  readonly dirty: boolean;
  flush(): void;
  /** Journal bytes of data, and of live records. */
  dataBytes(): number;
  liveBytes(): number;
  /** Starts a background compaction unless one runs or writes are paused. */
  startCompaction(): void;
}

/** Applies a database's flush policy and automatic compaction after writes. */
export class WritePolicy {
  #host: PolicyHost;
  #flush: FlushPolicy;
  #auto: Required<AutoCompactOptions> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSync = performance.now();
  #nextAutoCheck = 0;

  /**
   * @param host The engine.
   * @param flush The flush policy.
   * @param auto Automatic compaction's thresholds, or `undefined` (off).
   */
  constructor(host: PolicyHost, flush: FlushPolicy, auto: Required<AutoCompactOptions> | undefined) {
    this.#host = host;
    this.#flush = flush;
    this.#auto = auto;
  }

  /** Records a sync (every flush calls this). */
  synced(): void {
    this.#lastSync = performance.now();
  }

  /**
   * Runs after every write.
   *
   * @param end The journal's data end now (automatic compaction is checked once per MiB written).
   */
  afterWrite(end: number): void {
    const policy = this.#flush;
    if (policy === "always") this.#host.flush();
    else if (typeof policy === "object") this.#interval(policy.interval);
    if (this.#auto !== undefined && end >= this.#nextAutoCheck) {
      this.#nextAutoCheck = end + 1024 * 1024;
      const data = this.#host.dataBytes();
      const garbage = data - this.#host.liveBytes();
      if (garbage >= this.#auto.minGarbageBytes && garbage >= this.#auto.garbageRatio * data) {
        this.#host.startCompaction();
      }
    }
  }

  #interval(interval: number): void {
    if (performance.now() - this.#lastSync >= interval) {
      this.#host.flush();
      return;
    }
    if (this.#timer !== undefined) return;
    const t = setTimeout(() => {
      this.#timer = undefined;
      if (this.#host.closed || !this.#host.dirty) return;
      try {
        this.#host.flush();
      } catch {
        // The next write's flush reports the failure.
      }
    }, interval);
    (t as unknown as { unref?: () => void }).unref?.();
    this.#timer = t;
  }

  /** Cancels a pending timer (at close). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
