/**
 * A read-only check of a whole journal, for `emdb verify`: every record's
 * header rules and CRC (every record inside a batch too), the rules replay
 * enforces beyond the CRC (declared namespaces, UTF-8 names, bounded counts),
 * the file header, and whether the checkpoint file `<path>.hint` would be
 * used. It reports each damaged region with its offsets, and what opening the
 * database would do about it.
 *
 * It works on bytes the caller read (a copy of the file, taken without the
 * lock and without opening the database), and judges them with the same code
 * an open uses: {@linkcode replay} over {@linkcode Windows} with a
 * {@linkcode Keyspace} as the sink, so a verdict here is the verdict of an
 * open. Nothing is written anywhere.
 *
 * Beyond what an open looks at, it goes on past the first damage: it finds the
 * next record that verifies, counts the valid records from there, and reports
 * every further damaged region, so a user knows what a salvage would set aside.
 *
 * @module
 */
import {
  decodeHeader,
  type Header,
  HEADER_BYTES,
  HEADER_ENCRYPTED,
  type HeaderProblem,
  MAGIC,
} from "../format/header.ts";
import {
  checkedLength,
  ENCRYPTED_FLAGS,
  KIND_BATCH,
  KIND_CHECKPOINT,
  KIND_CLEAR,
  KIND_DELETE,
  KIND_NAMESPACE,
  KIND_PUT,
  KNOWN_FLAGS,
  MARKER_BYTES,
  RECORD_HEADER_BYTES,
  recordLength,
} from "../format/record.ts";
import { MAX_FRAME_BYTES, WINDOW_BYTES } from "../io/io.ts";
import { decodeHint } from "./hint.ts";
import { Keyspace } from "./keyspace.ts";
import { randomKey } from "./open.ts";
import { replay, type ReplayEnd, type ReplaySink, Windows } from "./recovery.ts";

/** How many records of each kind the valid data holds (a batch's inner records counted by their own kind). */
export interface RecordCounts {
  put: number;
  delete: number;
  namespace: number;
  clear: number;
  checkpoint: number;
  /** Batch records (their inner records are counted by kind as well). */
  batch: number;
}

/** One damaged region of the journal. */
export interface VerifyFinding {
  /**
   * - `torn-tail`: a partial record at the end and nothing valid after it (a write cut by a crash);
   * - `gap`: zero bytes followed by valid records (pages lost before a sync covered them);
   * - `corrupt`: damaged bytes followed by valid records, or a record that breaks the format's rules;
   * - `header`: the file header is damaged.
   */
  kind: "torn-tail" | "gap" | "corrupt" | "header";
  /** File offset where the damage starts. */
  offset: number;
  /** First offset after the region: the next record that verifies, or the end of the data. */
  end: number;
  /** What is wrong, in words. */
  reason: string;
}

/** What `<path>.hint` is worth to an open. */
export interface CheckpointState {
  /** `none`: no file; `usable`: an open would load it; `ignored`: it is stale or damaged (an open replays instead). */
  state: "none" | "usable" | "ignored";
  /** Journal offset it covers (when usable). */
  covered?: number;
  /** Why it would be ignored. */
  reason?: string;
}

/** What opening the database would do, as a short code and a sentence. */
export interface OpenVerdict {
  /**
   * - `opens`: the journal is sound (zero-filled space at the end is trimmed);
   * - `new`: empty, or a header torn while the file was created: an open writes a new header;
   * - `cuts-tail`: an open cuts a torn tail (nothing that was acknowledged is lost);
   * - `cuts-gap`: an open cuts at a crash gap and saves the bytes after it to `<path>.corrupt-<offset>`;
   * - `refuses`: an open throws `CORRUPTED` (unless asked to salvage);
   * - `cannot-open`: not an emdb journal this version reads.
   */
  action: "opens" | "new" | "cuts-tail" | "cuts-gap" | "refuses" | "cannot-open";
  /** The same, in words. */
  text: string;
}

/** The outcome of {@linkcode verifyJournal}. */
export interface VerifyReport {
  /** Bytes examined (the file's size when it was read). */
  fileBytes: number;
  /** The decoded header, or why it did not decode (`"empty"` for an empty file). */
  header: Header | HeaderProblem | "empty";
  /** Records that verified before the first damage (a batch's inner records each count one). */
  records: number;
  /** The same records by kind. */
  counts: RecordCounts;
  /** Where the valid data ends (the first damage, or the start of the zero tail). */
  validEnd: number;
  /** Zero bytes after the valid data with nothing after them (preallocated space, trimmed by an open). */
  zeroTailBytes: number;
  /** Whether the journal is encrypted (then only CRCs and layout are checked; the counts below are -1). */
  encrypted: boolean;
  /** Live keys in the valid data (expired ones excluded), over every namespace. */
  liveKeys: number;
  /** Named namespaces in the valid data. */
  namespaces: number;
  /** Journal bytes held by live records. */
  liveBytes: number;
  /** Valid records found after the first damage (lost to the database if an open cuts there). */
  recordsAfterDamage: number;
  /** Every damaged region found, in file order (at most `maxFindings`). */
  findings: VerifyFinding[];
  /** True when more damage was found than `findings` holds, or the search for valid records gave up. */
  truncated: boolean;
  /** The checkpoint file. */
  checkpoint: CheckpointState;
  /** What an open would do. */
  open: OpenVerdict;
}

/** Options of {@linkcode verifyJournal}. */
export interface VerifyOptions {
  /** The clock's time in Unix ms, for expiry (default `Date.now()`). */
  now?: number;
  /** The content of `<path>.hint`, when there is one. */
  hint?: Uint8Array | undefined;
  /** Called now and then with the offset reached. */
  onProgress?: (offset: number) => void;
  /** Most damaged regions to list. Default 100. */
  maxFindings?: number;
}

function emptyCounts(): RecordCounts {
  return { put: 0, delete: 0, namespace: 0, clear: 0, checkpoint: 0, batch: 0 };
}

/** Counts a record (each inner record of a batch by its own kind). */
function count(counts: RecordCounts, buf: Uint8Array, p: number): void {
  switch (buf[p + 4]) {
    case KIND_PUT:
      counts.put++;
      break;
    case KIND_DELETE:
      counts.delete++;
      break;
    case KIND_NAMESPACE:
      counts.namespace++;
      break;
    case KIND_CLEAR:
      counts.clear++;
      break;
    case KIND_CHECKPOINT:
      counts.checkpoint++;
      break;
    case KIND_BATCH: {
      counts.batch++;
      const end = p + recordLength(buf, p);
      for (let q = p + RECORD_HEADER_BYTES; q < end; q += recordLength(buf, q)) count(counts, buf, q);
      break;
    }
  }
}

/** A sink that applies records to a keyspace (so its rules are the open's rules) and counts them. */
class CountingSink implements ReplaySink {
  readonly counts: RecordCounts = emptyCounts();
  readonly #ks: Keyspace | undefined;
  readonly #progress: ((offset: number) => void) | undefined;
  #n = 0;

  constructor(ks: Keyspace | undefined, progress: ((offset: number) => void) | undefined) {
    this.#ks = ks;
    this.#progress = progress;
  }

  check(buf: Uint8Array, local: number, len: number, offset: number): string | undefined {
    return this.#ks?.check(buf, local, len, offset);
  }

  apply(buf: Uint8Array, local: number, offset: number, now: number): void {
    this.#ks?.apply(buf, local, offset, now);
    count(this.counts, buf, local);
    if (this.#progress !== undefined && (++this.#n & 0xfff) === 0) this.#progress(offset);
  }
}

/** Windows over one buffer holding the whole file: window k is a view, not a copy. */
function windowsOf(bytes: Uint8Array): Uint8Array[] {
  const bufs: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += WINDOW_BYTES) {
    bufs.push(bytes.subarray(start, Math.min(bytes.length, start + WINDOW_BYTES + MAX_FRAME_BYTES)));
  }
  return bufs;
}

/**
 * The next offset at or after `from` where a record verifies, -1 when there is
 * none, -2 when the search ran out of budget (bounded CRC work, so no file
 * makes it hang).
 */
function nextValid(w: Windows, from: number, limit: number, budget: { left: number }): number {
  for (let q = from; q + RECORD_HEADER_BYTES <= limit; q += 8) {
    const k = Math.floor(q / WINDOW_BYTES);
    const buf = w.bufs[k]!;
    const local = q - k * WINDOW_BYTES;
    const kind = buf[local + 4]!;
    if (kind === 0 || kind > 6) continue;
    const len = checkedLength(buf, local, Math.min(buf.length, limit - k * WINDOW_BYTES), false);
    if (len < 0) continue;
    budget.left -= len;
    if (budget.left < 0) return -2;
    if (w.verify(q, limit) > 0) return q;
  }
  return -1;
}

/** Whether `<path>.hint` would be loaded by an open (its framing, file id and marker record). */
function checkpointState(
  w: Windows,
  hintBytes: Uint8Array | undefined,
  header: Header,
  limit: number,
): CheckpointState {
  if (hintBytes === undefined) return { state: "none" };
  const hint = decodeHint(hintBytes);
  if (hint === undefined) return { state: "ignored", reason: "the file is damaged or not a checkpoint" };
  const ignored = (reason: string): CheckpointState => ({ state: "ignored", reason });
  if (hint.derivedKey) return ignored("it belongs to an encrypted database");
  if (hint.fileId.length !== header.fileId.length || hint.fileId.some((b, i) => b !== header.fileId[i])) {
    return ignored("it belongs to another journal (file id differs)");
  }
  const { covered, marker } = hint;
  if (
    covered % 8 !== 0 || covered > limit || marker < HEADER_BYTES ||
    marker + RECORD_HEADER_BYTES + MARKER_BYTES !== covered
  ) {
    return ignored("the offsets it names are outside the journal");
  }
  if (w.verify(marker, limit) !== RECORD_HEADER_BYTES + MARKER_BYTES) {
    return ignored(`no intact checkpoint record at byte ${marker}`);
  }
  const k = Math.floor(marker / WINDOW_BYTES);
  const buf = w.bufs[k]!;
  const p = marker - k * WINDOW_BYTES;
  if (buf[p + 4] !== KIND_CHECKPOINT) return ignored(`no checkpoint record at byte ${marker}`);
  for (let i = 0; i < MARKER_BYTES; i++) {
    if (buf[p + RECORD_HEADER_BYTES + i] !== hint.nonce[i]) return ignored("its checkpoint record was overwritten");
  }
  return { state: "usable", covered };
}

/** The finding for a replay that ended in damage. */
function findingOf(o: ReplayEnd, w: Windows, limit: number): VerifyFinding | undefined {
  if (o.kind === "clean") return undefined;
  if (o.kind === "torn") {
    const dataEnd = w.dataEnd(o.end, limit);
    if (dataEnd === o.end) return undefined; // zeros only: preallocated space
    return {
      kind: "torn-tail",
      offset: o.end,
      end: dataEnd,
      reason: "a partial record at the end (a write cut by a crash)",
    };
  }
  if (o.kind === "gap") {
    return { kind: "gap", offset: o.end, end: o.dataEnd, reason: "zero bytes followed by valid records (a crash gap)" };
  }
  return { kind: "corrupt", offset: o.end, end: o.dataEnd, reason: o.reason };
}

/** What an open does when replay (from `start`) ends with `o`. */
function verdictOf(o: ReplayEnd, w: Windows, limit: number, fromCheckpoint: boolean): OpenVerdict {
  const via = fromCheckpoint ? " (after loading the checkpoint)" : "";
  switch (o.kind) {
    case "clean":
      return { action: "opens", text: `opens normally${via}` };
    case "torn":
      if (w.dataEnd(o.end, limit) === o.end) {
        return { action: "opens", text: `opens normally${via}; the zero-filled space from byte ${o.end} is trimmed` };
      }
      return {
        action: "cuts-tail",
        text: `opens${via} and cuts the torn tail at byte ${o.end}; no acknowledged write is lost`,
      };
    case "gap":
      return {
        action: "cuts-gap",
        text:
          `opens${via}, cuts the journal at byte ${o.end} and saves bytes ${o.end}-${o.dataEnd} to <path>.corrupt-${o.end}`,
      };
    case "corrupt":
      return {
        action: "refuses",
        text:
          `refuses${via} with CORRUPTED at byte ${o.end} (${o.reason}); opening with { onCorruption: "salvage" } keeps ` +
          `the data before it and saves bytes ${o.end}-${o.dataEnd} to <path>.corrupt-${o.end}`,
      };
  }
}

/**
 * Checks a whole journal, read-only.
 *
 * @param bytes The journal file's content (read by the caller; never written).
 * @param options Clock, checkpoint file content, progress callback, report size.
 * @returns The report.
 *
 * @example
 * ```ts
 * import { verifyJournal } from "./verify.ts";
 * console.log(verifyJournal(new Uint8Array(0)).open.action); // "new"
 * ```
 */
export function verifyJournal(bytes: Uint8Array, options: VerifyOptions = {}): VerifyReport {
  const now = options.now ?? Date.now();
  const maxFindings = options.maxFindings ?? 100;
  const size = bytes.length;
  const report: VerifyReport = {
    fileBytes: size,
    header: "empty",
    records: 0,
    counts: emptyCounts(),
    validEnd: 0,
    zeroTailBytes: 0,
    encrypted: false,
    liveKeys: 0,
    namespaces: 0,
    liveBytes: 0,
    recordsAfterDamage: 0,
    findings: [],
    truncated: false,
    checkpoint: { state: options.hint === undefined ? "none" : "ignored" },
    open: { action: "new", text: "writes a new header (the file is empty)" },
  };
  if (size === 0) return report;
  const head = bytes.subarray(0, Math.min(HEADER_BYTES, size));
  const header = decodeHeader(head);
  report.header = header;
  if (header === "short" || header === "crc") {
    let prefixOfMagic = head.length < HEADER_BYTES;
    for (let i = 0; i < Math.min(head.length, MAGIC.length); i++) if (head[i] !== MAGIC[i]) prefixOfMagic = false;
    if (prefixOfMagic || (header === "crc" && size <= HEADER_BYTES)) {
      report.findings.push({
        kind: "header",
        offset: 0,
        end: size,
        reason: "a header torn while the file was created",
      });
      report.open = {
        action: "new",
        text: "writes a new header (the file was torn while being created; it holds no data)",
      };
      return report;
    }
  }
  if (header === "short" || header === "magic") {
    report.open = { action: "cannot-open", text: "refuses with NOT_EMDB: this is not an emdb journal" };
    return report;
  }
  if (header === "version" || header === "flags") {
    report.open = {
      action: "cannot-open",
      text: "refuses with VERSION_MISMATCH: written by another format version of emdb",
    };
    return report;
  }
  // An encrypted journal's records are checked for their CRCs and layout; their authentication, the namespace
  // rules and the live counts need the key, which verify does not take.
  const encrypted = header !== "crc" && (header.flags & HEADER_ENCRYPTED) !== 0;
  const w = new Windows(windowsOf(bytes), encrypted ? ENCRYPTED_FLAGS : KNOWN_FLAGS);
  const ks = encrypted ? undefined : new Keyspace(...randomKey());
  ks?.setWindows(w.bufs);
  const sink = new CountingSink(ks, options.onProgress);
  const first = replay(w, HEADER_BYTES, size, sink, now);
  report.records = first.records;
  report.counts = sink.counts;
  report.validEnd = first.outcome.end;
  report.liveKeys = ks?.liveRecords() ?? -1;
  report.namespaces = ks === undefined ? -1 : ks.spaces.size - 1;
  report.liveBytes = ks?.liveBytes() ?? -1;
  report.encrypted = encrypted;
  if (first.outcome.kind === "torn" && w.dataEnd(first.outcome.end, size) === first.outcome.end) {
    report.zeroTailBytes = size - first.outcome.end;
  }

  if (header === "crc") {
    report.findings.push({
      kind: "header",
      offset: 0,
      end: HEADER_BYTES,
      reason: "the file header's CRC does not match",
    });
    report.open = { action: "refuses", text: "refuses with CORRUPTED at byte 0: the file header is damaged" };
  } else {
    report.checkpoint = checkpointState(w, options.hint, header, size);
    let verdict = verdictOf(first.outcome, w, size, false);
    const covered = report.checkpoint.covered;
    if (covered !== undefined && covered > first.outcome.end) {
      // An open loads the checkpoint and replays only what follows it: damage before it is not seen then.
      const after = replay(w, covered, size, new CountingSink(undefined, undefined), now);
      verdict = verdictOf(after.outcome, w, size, true);
      verdict.text += `; the damage at byte ${first.outcome.end} lies before the checkpoint, so reading the keys ` +
        `stored there, compacting or backing up fails with CORRUPTED`;
    }
    report.open = verdict;
  }

  // Past the first damage: every further damaged region, and how many valid records lie between them.
  let outcome = first.outcome;
  const budget = { left: 4 * size + 1024 * 1024 };
  const after = new CountingSink(undefined, options.onProgress);
  let afterRecords = 0;
  for (;;) {
    const f = findingOf(outcome, w, size);
    if (f === undefined) break;
    // A record that breaks a rule has a valid CRC: the search starts after it, not inside its bytes.
    const whole = f.kind === "corrupt" ? w.verify(f.offset, size) : -1;
    const from = whole > 0 ? f.offset + whole : f.offset + 8;
    const next = f.kind === "torn-tail" ? -1 : nextValid(w, from, size, budget);
    if (next === -2) report.truncated = true;
    if (next >= 0) f.end = next;
    if (report.findings.length >= maxFindings) {
      report.truncated = true;
      break;
    }
    report.findings.push(f);
    if (next < 0) break;
    const r = replay(w, next, size, after, now);
    afterRecords += r.records;
    outcome = r.outcome;
  }
  report.recordsAfterDamage = afterRecords;
  options.onProgress?.(size);
  return report;
}

/**
 * Whether a report found damage: anything an open would cut, refuse or
 * re-initialise. A zero-filled tail (preallocated space) is not damage.
 *
 * @param report A report from {@linkcode verifyJournal}.
 * @returns True when damage was found.
 */
export function hasDamage(report: VerifyReport): boolean {
  return report.findings.length > 0;
}
