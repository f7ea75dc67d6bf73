/**
 * The ordered index: live records' offsets in byte order of their keys, for
 * range scans. This first version is a plain sorted array (insertions shift
 * it; snapshots copy it); its interface is the one the engine keeps.
 *
 * @module
 */

/** How the ordered index reads keys (the engine implements it over the journal). */
export interface OrderedKeySource {
  compareRecords(a: number, b: number): number;
  compareRecordTo(offset: number, key: Uint8Array, start: number, len: number): number;
  keyAt(offset: number, out: Int32Array): Uint8Array;
}
/** Walks a snapshot in one direction. */
export interface OrderedCursor {
  /** The next offset, or -1 at the end. */
  next(): number;
}
/** A frozen view of the index. */
export interface OrderedSnapshot {
  readonly size: number;
  seek(key: Uint8Array, start: number, len: number, strict: boolean): OrderedCursor;
  seekBack(key: Uint8Array, start: number, len: number, inclusive: boolean): OrderedCursor;
  release(): void;
}
/** Offsets sorted by key, built on first use. */
export class OrderedIndex {
  #src: OrderedKeySource;
  #built = false;
  #a: number[] = [];
  constructor(src: OrderedKeySource) {
    this.#src = src;
  }
  get built(): boolean {
    return this.#built;
  }
  get size(): number {
    return this.#a.length;
  }
  build(offsets: Float64Array, count: number): void {
    this.#a = Array.from(offsets.subarray(0, count)).sort((x, y) => this.#src.compareRecords(x, y));
    this.#built = true;
  }
  load(sorted: Float64Array, count: number): void {
    this.#a = Array.from(sorted.subarray(0, count));
    this.#built = true;
  }
  export(): Float64Array {
    return Float64Array.from(this.#a);
  }
  #pos(off: number): number {
    let lo = 0, hi = this.#a.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.#src.compareRecords(this.#a[m]!, off) < 0) lo = m + 1;
      else hi = m;
    }
    return lo;
  }
  noteInsert(o: number): void {
    if (this.#built) this.#a.splice(this.#pos(o), 0, o);
  }
  noteReplace(a: number, b: number): void {
    if (this.#built) this.#a[this.#pos(a)] = b;
  }
  noteRemove(o: number): void {
    if (this.#built) this.#a.splice(this.#pos(o), 1);
  }
  clear(): void {
    this.#a = [];
  }
  drop(): void {
    this.#a = [];
    this.#built = false;
  }
  byteSize(): number {
    return this.#a.length * 8;
  }
  snapshot(): OrderedSnapshot {
    const a = this.#a.slice();
    const src = this.#src;
    const lower = (key: Uint8Array, start: number, len: number, strict: boolean) => {
      let lo = 0, hi = a.length;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        const c = src.compareRecordTo(a[m]!, key, start, len);
        if (c < 0 || (strict && c === 0)) lo = m + 1;
        else hi = m;
      }
      return lo;
    };
    return {
      size: a.length,
      seek(key, start, len, strict) {
        let i = len < 0 ? 0 : lower(key, start, len, strict);
        return { next: () => (i < a.length ? a[i++]! : -1) };
      },
      seekBack(key, start, len, inclusive) {
        let i = len < 0 ? a.length - 1 : lower(key, start, len, inclusive) - 1;
        return { next: () => (i >= 0 ? a[i--]! : -1) };
      },
      release() {},
    };
  }
}
