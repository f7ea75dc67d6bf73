/**
 * Replay: walks the journal's frames from a start offset, hands every valid
 * frame to a sink, and classifies where and why the valid data ends.
 *
 * The end of the valid data is the first offset whose frame does not verify.
 * What follows decides the outcome:
 *
 * - nothing but a partial frame or zeros (preallocated space) → `torn`: the
 *   tail was never acknowledged and is cut;
 * - a run of zero bytes, then valid frames → `gap`: pages lost in a power
 *   failure before an fdatasync covered them; the valid prefix is kept and the
 *   bytes after the gap are saved to a side file rather than discarded;
 * - damaged (non-zero) bytes, then valid frames → `corrupt`: data that was once
 *   valid is damaged; the caller refuses to open unless asked to salvage;
 * - a frame whose CRC verifies but whose content is malformed → `corrupt`.
 *
 * The forward search for valid frames after damage is bounded (CRC work at
 * most four times the remaining bytes plus 1 MiB), so no file makes it hang;
 * running out of budget is reported as `corrupt`, the cautious answer.
 *
 * @module
 */
import { WINDOW_BYTES } from "../io/io.ts";
import { crc32cWords } from "../format/crc32c.ts";
import { FRAME_HEADER_BYTES, frameLength, KIND_BATCH, u32 } from "../format/frame.ts";

/** Receives every frame of a verified prefix, in order. */
export interface ReplaySink {
  /**
   * Checks the rules a frame must follow beyond its CRC (for a batch, every
   * inner frame) before any of it is applied.
   *
   * @param buf Window holding the frame.
   * @param local Frame start inside `buf`.
   * @param len Frame length.
   * @returns Why the frame is unacceptable, or `undefined` when it is fine.
   */
  check(buf: Uint8Array, local: number, len: number): string | undefined;
  /**
   * One PUT, DELETE, CLEAR or NAMESPACE frame.
   *
   * @param buf Window holding the frame.
   * @param local Frame start inside `buf`.
   * @param offset Frame start in the file.
   */
  frame(buf: Uint8Array, local: number, offset: number): void;
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
  /** Start of the last valid frame, or -1 when none was read. */
  lastFrame: number;
  /** Frames applied (inner frames of a batch count one each). */
  frames: number;
}

const MALFORMED = -2;

/** Word views of windows; weak, so a closed database's memory is never kept alive here. */
const wordViews = new WeakMap<Uint8Array, Int32Array>();

/** An Int32Array over the same memory as a window (windows start page-aligned). */
function wordsOf(buf: Uint8Array): Int32Array {
  let words = wordViews.get(buf);
  if (words === undefined) {
    words = new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
    wordViews.set(buf, words);
  }
  return words;
}

/** The u32 at file offset `off` (a frame's CRC field, for instance). */
export function u32At(windows: readonly Uint8Array[], off: number): number {
  const k = Math.floor(off / WINDOW_BYTES);
  return u32(windows[k]!, off - k * WINDOW_BYTES);
}

/** A copy of file bytes `[from, to)`, which lie within one frame's reach of `from`. */
export function copyAt(windows: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const k = Math.floor(from / WINDOW_BYTES);
  const local = from - k * WINDOW_BYTES;
  return windows[k]!.slice(local, local + (to - from));
}

/**
 * Verifies the frame at `pos`.
 *
 * @returns Its length; -1 when it does not verify; -2 when the CRC verifies but
 *   the content is malformed.
 */
export function verifyFrame(windows: readonly Uint8Array[], pos: number, limit: number): number {
  const k = Math.floor(pos / WINDOW_BYTES);
  const buf = windows[k];
  if (buf === undefined) return -1;
  const local = pos - k * WINDOW_BYTES;
  const localLimit = Math.min(buf.length, limit - k * WINDOW_BYTES);
  const len = frameLength(buf, local, localLimit, false);
  if (len < 0) return -1;
  if (crc32cWords(buf, wordsOf(buf), local + 4, local + len) !== u32(buf, local)) return -1;
  if (buf[local + 4] === KIND_BATCH) {
    const end = local + len;
    let p = local + FRAME_HEADER_BYTES;
    let count = 0;
    while (p < end) {
      const l = frameLength(buf, p, end, true);
      if (l < 0) return MALFORMED;
      p += l;
      count++;
    }
    if (count !== u32(buf, local + 12)) return MALFORMED;
  }
  return len;
}

function applyFrame(windows: readonly Uint8Array[], pos: number, len: number, sink: ReplaySink): number {
  const k = Math.floor(pos / WINDOW_BYTES);
  const buf = windows[k]!;
  const local = pos - k * WINDOW_BYTES;
  if (buf[local + 4] !== KIND_BATCH) {
    sink.frame(buf, local, pos);
    return 1;
  }
  const end = local + len;
  let p = local + FRAME_HEADER_BYTES;
  let n = 0;
  while (p < end) {
    const l = frameLength(buf, p, end, true);
    sink.frame(buf, p, pos + (p - local));
    p += l;
    n++;
  }
  return n;
}

/** Is `[from, to)` all zero bytes? */
function allZero(windows: readonly Uint8Array[], from: number, to: number): boolean {
  for (let pos = from; pos < to;) {
    const k = Math.floor(pos / WINDOW_BYTES);
    const buf = windows[k]!;
    const local = pos - k * WINDOW_BYTES;
    const stop = Math.min(to - k * WINDOW_BYTES, WINDOW_BYTES, buf.length);
    for (let i = local; i < stop; i++) if (buf[i] !== 0) return false;
    pos = k * WINDOW_BYTES + stop;
  }
  return true;
}

/** Last non-zero byte before `limit`, rounded up to 8, or `from` when all zero. */
function dataEndOf(windows: readonly Uint8Array[], from: number, limit: number): number {
  for (let pos = limit - 1; pos >= from; pos--) {
    const k = Math.floor(pos / WINDOW_BYTES);
    if (windows[k]![pos - k * WINDOW_BYTES] !== 0) return Math.min(limit, pos + 1 + ((8 - ((pos + 1) % 8)) % 8));
  }
  return from;
}

/**
 * Looks for a valid frame after `bad`.
 *
 * @returns Its offset, -1 when there is none, or -2 when the search ran out of budget.
 */
function findValidAfter(windows: readonly Uint8Array[], bad: number, limit: number): number {
  let budget = 4 * (limit - bad) + 1024 * 1024;
  for (let q = bad + 8; q + FRAME_HEADER_BYTES <= limit; q += 8) {
    const k = Math.floor(q / WINDOW_BYTES);
    const buf = windows[k]!;
    const local = q - k * WINDOW_BYTES;
    const kind = buf[local + 4]!;
    if (kind === 0 || kind > KIND_BATCH || buf[local + 5]! > 1) continue;
    const len = frameLength(buf, local, Math.min(buf.length, limit - k * WINDOW_BYTES), false);
    if (len < 0) continue;
    budget -= len;
    if (budget < 0) return -2;
    if (verifyFrame(windows, q, limit) > 0) return q;
  }
  return -1;
}

/**
 * Replays `[start, limit)` into `sink`.
 *
 * @param windows The journal's readable windows.
 * @param start Offset of the first frame.
 * @param limit End of the readable bytes (the file size).
 * @param sink Receives the frames.
 * @returns Where and how the valid data ends.
 */
export function replay(windows: readonly Uint8Array[], start: number, limit: number, sink: ReplaySink): ReplayResult {
  let pos = start;
  let lastFrame = -1;
  let frames = 0;
  while (pos < limit) {
    const len = verifyFrame(windows, pos, limit);
    if (len === MALFORMED) {
      const dataEnd = dataEndOf(windows, pos, limit);
      return { outcome: { kind: "corrupt", end: pos, dataEnd, reason: "malformed frame" }, lastFrame, frames };
    }
    if (len < 0) break;
    const k = Math.floor(pos / WINDOW_BYTES);
    const reason = sink.check(windows[k]!, pos - k * WINDOW_BYTES, len);
    if (reason !== undefined) {
      const dataEnd = dataEndOf(windows, pos, limit);
      return { outcome: { kind: "corrupt", end: pos, dataEnd, reason }, lastFrame, frames };
    }
    frames += applyFrame(windows, pos, len, sink);
    lastFrame = pos;
    pos += len;
  }
  if (pos >= limit) return { outcome: { kind: "clean", end: pos }, lastFrame, frames };
  const next = findValidAfter(windows, pos, limit);
  if (next === -1) return { outcome: { kind: "torn", end: pos }, lastFrame, frames };
  const dataEnd = dataEndOf(windows, pos, limit);
  if (next >= 0 && allZero(windows, pos, next)) {
    return { outcome: { kind: "gap", end: pos, dataEnd }, lastFrame, frames };
  }
  const reason = next === -2
    ? "damaged frame (search for later frames gave up)"
    : "damaged frame followed by valid frames";
  return { outcome: { kind: "corrupt", end: pos, dataEnd, reason }, lastFrame, frames };
}
