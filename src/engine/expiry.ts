/**
 * The expiry queue of one namespace: which records carry an expiry, soonest
 * first, so that expired keys can be evicted from the index without scanning.
 *
 * A binary min-heap of `(expiresAt, offset)` pairs in typed arrays. Entries
 * are never removed when a key is overwritten or deleted; an entry is checked
 * against the index when it comes due (is the key still at that offset?), so
 * a stale entry costs nothing but its 16 bytes until then. When stale entries
 * outnumber live ones the owner rebuilds the queue.
 *
 * Eviction needs no journal record: an expired record is dead by its own
 * expiry field, and a replay treats it as a deletion of its key.
 *
 * @module
 */

/** A min-heap of record expiries. */
export class ExpiryQueue {
  #at: Float64Array = new Float64Array(16);
  #off: Float64Array = new Float64Array(16);
  #n = 0;

  /** Entries held (stale ones included). */
  get length(): number {
    return this.#n;
  }

  /** Bytes held. */
  byteSize(): number {
    return this.#at.byteLength + this.#off.byteLength;
  }

  /** The soonest expiry, or Infinity when empty. */
  peek(): number {
    return this.#n === 0 ? Infinity : this.#at[0]!;
  }

  /** The offset of the soonest entry (only when not empty). */
  peekOffset(): number {
    return this.#off[0]!;
  }

  /** Adds the record at `offset`, expiring at `expiresAt`. */
  push(expiresAt: number, offset: number): void {
    if (this.#n === this.#at.length) {
      const at = new Float64Array(this.#n * 2);
      const off = new Float64Array(this.#n * 2);
      at.set(this.#at);
      off.set(this.#off);
      this.#at = at;
      this.#off = off;
    }
    const at = this.#at;
    const off = this.#off;
    let i = this.#n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent]! <= expiresAt) break;
      at[i] = at[parent]!;
      off[i] = off[parent]!;
      i = parent;
    }
    at[i] = expiresAt;
    off[i] = offset;
  }

  /** Removes the soonest entry. */
  pop(): void {
    const n = --this.#n;
    if (n <= 0) {
      this.#n = 0;
      return;
    }
    const at = this.#at;
    const off = this.#off;
    const lastAt = at[n]!;
    const lastOff = off[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && at[c + 1]! < at[c]!) c++;
      if (at[c]! >= lastAt) break;
      at[i] = at[c]!;
      off[i] = off[c]!;
      i = c;
    }
    at[i] = lastAt;
    off[i] = lastOff;
  }

  /** Calls `fn(expiresAt, offset)` for every entry, in no particular order. */
  forEach(fn: (expiresAt: number, offset: number) => void): void {
    for (let i = 0; i < this.#n; i++) fn(this.#at[i]!, this.#off[i]!);
  }

  /** Removes every entry. */
  clear(): void {
    this.#at = new Float64Array(16);
    this.#off = new Float64Array(16);
    this.#n = 0;
  }
}
