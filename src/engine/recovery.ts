/**
 * Replay: walks the journal's records from a start offset, hands every valid
 * record to a sink, and classifies where and why the valid data ends.
 *
 * The end of the valid data is the first offset whose record does not
 * verify. What follows decides the outcome:
 *
 * - nothing but a partial record or zeros (preallocated space) → `torn`: the
 *   tail was never acknowledged and is cut;
 * - a run of zero bytes, then valid records → `gap`: pages lost in a power
 *   failure before an fdatasync covered them; the valid prefix is kept and the
 *   bytes after the gap are saved to a side file rather than discarded;
 * - damaged (non-zero) bytes, then valid records → `corrupt`: data that was
 *   once valid is damaged; the caller refuses to open unless asked to salvage;
 * - a record whose CRC verifies but whose content is malformed → `corrupt`.
 *
 * A record that does not verify but whose header is plausible declares an
 * extent; records found inside that extent are taken for the content of the
 * torn record (a value may well hold bytes that look like records), not as
 * evidence of damage, unless the record verifies once its length field is
 * corrected to end where they start (a damaged length field). The forward
 * search is bounded (CRC work at most four times the remaining bytes plus
 * 1 MiB), so no file makes it hang; running out of budget is reported as
 * `corrupt`, the cautious answer.
 *
 * @module
 */
import { WINDOW_BYTES } from "../io/io.ts";
import { crc32cWords } from "../format/crc32c.ts";
import {
  batchCrc,
  checkedLength,
  extraBytes,
  innerLength,
  KIND_BATCH,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  KNOWN_FLAGS,
  RECORD_HEADER_BYTES,
  u16,
  u32,
} from "../format/record.ts";

/** Receives every record of a verified prefix, in order. */
export interface ReplaySink {
  /**
   * Checks the rules a record must follow beyond its CRC (for a batch, every
   * inner record) before any of it is applied.
   *
   * @returns Why the record is unacceptable, or `undefined` when it is fine.
   */
  check(buf: Uint8Array, local: number, len: number, offset: number): string | undefined;
  /** Applies one record (a batch: all of it). */
  apply(buf: Uint8Array, local: number, offset: number, now: number): void;
}

/** How a replay ended. */
export type ReplayEnd =
  | { kind: "clean"; end: number }
  | { kind: "torn"; end: number }
  | { kind: "gap"; end: number; dataEnd: number }
  | { kind: "corrupt"; end: number; dataEnd: number; reason: string };

/** Result of a replay. */
export interface ReplayResult {
  outcome: ReplayEnd;
  /** Records applied (each record of a batch counts one). */
  records: number;
}

const MALFORMED = -2;

/** An Int32Array over the same memory as a window (windows start page-aligned). */
function wordsOf(buf: Uint8Array): Int32Array {
  return new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
}

/** Journal memory, as the windows of a {@linkcode JournalFile}, with word views for CRCs. */
export class Windows {
  readonly bufs: readonly Uint8Array[];
  readonly words: readonly Int32Array[];
  /** The flag bits records of this file may carry (more when it is encrypted). */
  readonly knownFlags: number;

  /**
   * @param bufs The windows (window k starts at file offset k × WINDOW_BYTES).
   * @param knownFlags The flag bits records may carry.
   */
  constructor(bufs: readonly Uint8Array[], knownFlags: number = KNOWN_FLAGS) {
    this.bufs = bufs;
    this.words = bufs.map(wordsOf);
    this.knownFlags = knownFlags;
  }

  /** The u32 at file offset `off`. */
  u32At(off: number): number {
    const k = Math.floor(off / WINDOW_BYTES);
    return u32(this.bufs[k]!, off - k * WINDOW_BYTES);
  }

  /** A copy of file bytes `[from, to)`, which lie within one record's reach of `from`. */
  copy(from: number, to: number): Uint8Array {
    const k = Math.floor(from / WINDOW_BYTES);
    const local = from - k * WINDOW_BYTES;
    return this.bufs[k]!.slice(local, local + (to - from));
  }

  /**
   * Verifies the record at `pos`: header rules, CRC, and for a batch every
   * inner record's CRC and the batch's own.
   *
   * @returns Its length; -1 when it does not verify; -2 when the CRC verifies but the content is malformed.
   */
  verify(pos: number, limit: number): number {
    const k = Math.floor(pos / WINDOW_BYTES);
    const buf = this.bufs[k];
    if (buf === undefined) return -1;
    const words = this.words[k]!;
    const local = pos - k * WINDOW_BYTES;
    const len = checkedLength(buf, local, Math.min(buf.length, limit - k * WINDOW_BYTES), false, this.knownFlags);
    if (len < 0) return -1;
    if (buf[local + 4] !== KIND_BATCH) {
      return crc32cWords(buf, words, local + 4, local + len) === u32(buf, local) ? len : -1;
    }
    const end = local + len;
    let count = 0;
    for (let p = local + RECORD_HEADER_BYTES; p < end; count++) {
      const l = innerLength(buf, p, end, this.knownFlags);
      // An inner record that does not parse or verify: the batch is torn or damaged like any other record.
      if (l < 0 || crc32cWords(buf, words, p + 4, p + l) !== u32(buf, p)) return -1;
      p += l;
    }
    if (batchCrc(buf, local, len) !== u32(buf, local)) return -1;
    return count === u32(buf, local + 12) ? len : MALFORMED;
  }

  /** Is `[from, to)` all zero bytes? */
  allZero(from: number, to: number): boolean {
    for (let pos = from; pos < to;) {
      const k = Math.floor(pos / WINDOW_BYTES);
      const buf = this.bufs[k]!;
      const local = pos - k * WINDOW_BYTES;
      const stop = Math.min(to - k * WINDOW_BYTES, WINDOW_BYTES, buf.length);
      for (let i = local; i < stop; i++) if (buf[i] !== 0) return false;
      pos = k * WINDOW_BYTES + stop;
    }
    return true;
  }

  /** Last non-zero byte before `limit`, rounded up to 8, or `from` when all zero. */
  dataEnd(from: number, limit: number): number {
    for (let pos = limit - 1; pos >= from; pos--) {
      const k = Math.floor(pos / WINDOW_BYTES);
      if (this.bufs[k]![pos - k * WINDOW_BYTES] !== 0) return Math.min(limit, (pos + 8) & ~7);
    }
    return from;
  }
}

/**
 * Does the record at `bad` verify once its length field is corrected so that
 * it ends at `next`? Then its length field was damaged, and `next` is real.
 */
function repairedLengthVerifies(w: Windows, bad: number, next: number): boolean {
  const k = Math.floor(bad / WINDOW_BYTES);
  const buf = w.bufs[k]!;
  const p = bad - k * WINDOW_BYTES;
  const kind = buf[p + 4];
  if (kind !== KIND_PUT && kind !== KIND_DELETE && kind !== KIND_NAMESPACE) return false;
  const span = next - bad;
  if (span > buf.length - p) return false;
  const fixed = buf.slice(p, p + span);
  const dv = new DataView(fixed.buffer);
  const words = new Int32Array(fixed.buffer);
  const head = RECORD_HEADER_BYTES + extraBytes(fixed[5]!);
  const crc = u32(fixed, 0);
  const keyLen = u16(fixed, 6);
  const valueLen = u32(fixed, 8);
  const verifiesWith = (k: number, v: number): boolean => {
    dv.setUint16(6, k, true);
    dv.setUint32(8, v, true);
    return crc32cWords(fixed, words, 4, span) === crc;
  };
  for (let pad = 0; pad < 8; pad++) {
    const body = span - head - pad;
    if (body < 0) break;
    if (kind === KIND_PUT) {
      // Either the value length or the key length was hit.
      if (body >= keyLen && verifiesWith(keyLen, body - keyLen)) return true;
      if (body >= valueLen && body - valueLen <= 0xffff && verifiesWith(body - valueLen, valueLen)) return true;
    } else if (body <= 0xffff && verifiesWith(body, 0)) {
      return true;
    }
  }
  return false;
}

/** The first valid record in `[from, to)`: its offset, -1 when none, -2 when the search ran out of budget. */
function findValid(w: Windows, from: number, to: number, limit: number, budget: { left: number }): number {
  for (let q = from; q + RECORD_HEADER_BYTES <= to; q += 8) {
    const k = Math.floor(q / WINDOW_BYTES);
    const buf = w.bufs[k]!;
    const local = q - k * WINDOW_BYTES;
    const kind = buf[local + 4]!;
    if (kind === 0 || kind > 6) continue;
    const len = checkedLength(buf, local, Math.min(buf.length, limit - k * WINDOW_BYTES), false, w.knownFlags);
    if (len < 0) continue;
    budget.left -= len;
    if (budget.left < 0) return -2;
    if (w.verify(q, limit) > 0) return q;
  }
  return -1;
}

/**
 * Looks for a valid record after the one at `bad`, which does not verify.
 *
 * @returns Its offset, -1 when there is none, -2 when the search ran out of
 *   budget, -3 when `bad`'s length field is damaged (the record after it is real).
 */
function findValidAfter(w: Windows, bad: number, limit: number): number {
  const budget = { left: 4 * (limit - bad) + 1024 * 1024 };
  const k = Math.floor(bad / WINDOW_BYTES);
  const buf = w.bufs[k]!;
  const local = bad - k * WINDOW_BYTES;
  const declared = checkedLength(buf, local, Math.min(buf.length, limit - k * WINDOW_BYTES), false, w.knownFlags);
  let from = bad + 8;
  if (declared > 0) {
    const inside = findValid(w, bad + 8, bad + declared, limit, budget);
    if (inside === -2) return -2;
    if (inside >= 0 && repairedLengthVerifies(w, bad, inside)) return -3;
    from = bad + declared;
  }
  return findValid(w, from, limit, limit, budget);
}

/**
 * Replays `[start, limit)` into `sink`.
 *
 * @param w The journal's memory.
 * @param start Offset of the first record.
 * @param limit End of the readable bytes.
 * @param sink Receives the records.
 * @param now The clock's time (records already expired are applied as deletions).
 * @returns Where and how the valid data ends.
 */
export function replay(w: Windows, start: number, limit: number, sink: ReplaySink, now: number): ReplayResult {
  let pos = start;
  let records = 0;
  while (pos < limit) {
    const len = w.verify(pos, limit);
    if (len === MALFORMED) {
      const dataEnd = w.dataEnd(pos, limit);
      return { outcome: { kind: "corrupt", end: pos, dataEnd, reason: "malformed batch" }, records };
    }
    if (len < 0) break;
    const k = Math.floor(pos / WINDOW_BYTES);
    const buf = w.bufs[k]!;
    const local = pos - k * WINDOW_BYTES;
    const reason = sink.check(buf, local, len, pos);
    if (reason !== undefined) {
      const dataEnd = w.dataEnd(pos, limit);
      return { outcome: { kind: "corrupt", end: pos, dataEnd, reason }, records };
    }
    sink.apply(buf, local, pos, now);
    records += buf[local + 4] === KIND_BATCH ? u32(buf, local + 12) : 1;
    pos += len;
  }
  if (pos >= limit) return { outcome: { kind: "clean", end: pos }, records };
  const next = findValidAfter(w, pos, limit);
  if (next === -1) return { outcome: { kind: "torn", end: pos }, records };
  const dataEnd = w.dataEnd(pos, limit);
  if (next >= 0 && w.allZero(pos, next)) return { outcome: { kind: "gap", end: pos, dataEnd }, records };
  const reason = next === -2
    ? "damaged record (search for later records gave up)"
    : next === -3
    ? "damaged record length followed by valid records"
    : "damaged record followed by valid records";
  return { outcome: { kind: "corrupt", end: pos, dataEnd, reason }, records };
}
