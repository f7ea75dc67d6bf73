/**
 * Which records of the journal this handle has verified.
 *
 * Every read checks the CRC of the record it returns the first time this
 * handle reads it, and remembers that here: one bit per 16 journal bytes
 * (records start 8-aligned and are at least 16 bytes long, so no two share a
 * bit), 1/128 of the journal's size. Records this handle wrote, and records a
 * replay read, are verified already. A checkpoint covers bytes that no replay
 * read, so after a reopen from a checkpoint each record is checked on its
 * first read: a record damaged at rest is never returned as data.
 *
 * @module
 */

/** A bitmap over journal offsets in 16-byte units. */
export class VerifiedSet {
  #bits: Uint32Array = new Uint32Array(1024);

  /** Bytes held. */
  byteSize(): number {
    return this.#bits.byteLength;
  }

  /** Whether the record at `offset` is known to be intact. */
  has(offset: number): boolean {
    const unit = Math.floor(offset / 16);
    const word = Math.floor(unit / 32);
    return word < this.#bits.length && (this.#bits[word]! & (1 << (unit % 32))) !== 0;
  }

  /** Marks the record at `offset` as intact. */
  add(offset: number): void {
    const unit = Math.floor(offset / 16);
    this.#ensure(unit);
    this.#bits[Math.floor(unit / 32)]! |= 1 << (unit % 32);
  }

  /** Marks every record starting in `[from, to)` as intact (a range this handle wrote or replayed). */
  addRange(from: number, to: number): void {
    if (to <= from) return;
    const first = Math.ceil(from / 16);
    const last = Math.floor((to - 1) / 16);
    if (last < first) return;
    this.#ensure(last);
    const bits = this.#bits;
    let u = first;
    for (; u <= last && u % 32 !== 0; u++) bits[Math.floor(u / 32)]! |= 1 << (u % 32);
    const fullEnd = Math.floor((last + 1) / 32) * 32;
    if (u < fullEnd) {
      bits.fill(0xffffffff, u / 32, fullEnd / 32);
      u = fullEnd;
    }
    for (; u <= last; u++) bits[Math.floor(u / 32)]! |= 1 << (u % 32);
  }

  /** Forgets every mark at or after `offset` (the journal was cut there). */
  forgetFrom(offset: number): void {
    const unit = Math.ceil(offset / 16);
    const word = Math.floor(unit / 32);
    if (word >= this.#bits.length) return;
    this.#bits[word]! &= (1 << (unit % 32)) - 1;
    this.#bits.fill(0, word + 1);
  }

  /** Forgets everything. */
  clear(): void {
    this.#bits = new Uint32Array(1024);
  }

  #ensure(unit: number): void {
    const word = Math.floor(unit / 32);
    if (word < this.#bits.length) return;
    let n = this.#bits.length;
    while (n <= word) n *= 2;
    const next = new Uint32Array(n);
    next.set(this.#bits);
    this.#bits = next;
  }
}
