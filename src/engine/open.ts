/**
 * Opening a journal: check the header (or write one), load the checkpoint if
 * it still matches, replay the rest, and settle the tail.
 *
 * Nothing is written before the journal is known to be an emdb journal in a
 * sound state: a foreign file, a newer format or damaged data throws and
 * leaves the file untouched (unless the caller asked to salvage).
 *
 * @module
 */
import { EmdbError } from "../errors.ts";
import { decodeHeader, encodeHeader, HEADER_BYTES, MAGIC } from "../format/header.ts";
import { HashIndex } from "../index/hash_index.ts";
import type { Io, JournalFile } from "../io/io.ts";
import type { ResolvedOptions } from "../options.ts";
import { decodeHint, type Hint } from "./hint.ts";
import { Keyspace } from "./keyspace.ts";
import { copyAt, replay, u32At, verifyFrame } from "./recovery.ts";

/** How the database came to be open. */
export type OpenedFrom = "new" | "replay" | "checkpoint" | "memory";

/** The state an engine starts from. */
export interface Recovered {
  keyspace: Keyspace;
  fileId: Uint8Array;
  /** Logical end: where the next frame goes. */
  end: number;
  /** Start of the last frame, or -1 when there is none. */
  lastFrame: number;
  /** CRC field of the last frame. */
  lastCrc: number;
  /** Offset covered by the checkpoint that was loaded (0: none). */
  checkpointEnd: number;
  openedFrom: OpenedFrom;
  replayedBytes: number;
}

function randomWords(n: number): Uint32Array {
  return crypto.getRandomValues(new Uint32Array(n));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A header cut short by a crash during creation: only a prefix of what we write. */
function tornCreation(head: Uint8Array): boolean {
  if (head.length === 0 || head.length >= HEADER_BYTES) return false;
  for (let i = 0; i < Math.min(head.length, MAGIC.length); i++) if (head[i] !== MAGIC[i]) return false;
  return true;
}

function startNew(file: JournalFile): Recovered {
  if (file.size > 0) file.truncate(0);
  const fileId = new Uint8Array(randomWords(4).buffer);
  file.grow(HEADER_BYTES);
  file.write(encodeHeader(fileId, Date.now()), 0);
  file.sync();
  const ks = new Keyspace(...randomKey());
  ks.setWindows(file.windows);
  return {
    keyspace: ks,
    fileId,
    end: HEADER_BYTES,
    lastFrame: -1,
    lastCrc: 0,
    checkpointEnd: 0,
    openedFrom: "new",
    replayedBytes: 0,
  };
}

function randomKey(): [number, number] {
  const w = randomWords(2);
  return [w[0]! | 0, w[1]! | 0];
}

/** Loads `<path>.hint` when it matches the journal exactly; `undefined` otherwise. */
function loadHint(io: Io, hintPath: string, file: JournalFile, fileId: Uint8Array): [Keyspace, Hint] | undefined {
  let bytes: Uint8Array | undefined;
  try {
    bytes = io.readFile(hintPath);
  } catch {
    return undefined;
  }
  if (bytes === undefined) return undefined;
  const hint = decodeHint(bytes);
  if (hint === undefined || !sameBytes(hint.fileId, fileId)) return undefined;
  const { covered, lastFrame } = hint;
  if (covered < HEADER_BYTES || covered % 8 !== 0 || covered > file.size) return undefined;
  if (lastFrame === 0) {
    if (covered !== HEADER_BYTES) return undefined;
  } else {
    if (lastFrame < HEADER_BYTES || lastFrame >= covered) return undefined;
    const len = verifyFrame(file.windows, lastFrame, file.size);
    if (len <= 0 || lastFrame + len !== covered) return undefined;
    if (u32At(file.windows, lastFrame) !== hint.lastCrc) return undefined;
  }
  const ks = new Keyspace(hint.k0, hint.k1);
  try {
    for (const sp of hint.spaces) {
      // Every offset must point inside the covered journal, so a crafted hint
      // can never make a read leave the mapped file.
      for (const sh of sp.shards) {
        const s = sh.slots;
        for (let i = 0; i < s.length; i += 2) {
          const w0 = s[i]!;
          const w1 = s[i + 1]!;
          if ((w0 | w1) === 0) continue;
          const off = ((w0 & 255) * 4294967296 + w1) * 8;
          if (off < HEADER_BYTES || off >= covered) return undefined;
        }
      }
      if (sp.nsId !== 0) ks.names.set(sp.nsId, sp.name);
      const idx = sp.nsId === 0 ? ks.main : new HashIndex();
      idx.importShards(sp.shards);
      ks.spaces.set(sp.nsId, idx);
    }
  } catch {
    return undefined;
  }
  return [ks, hint];
}

/**
 * Brings a journal file to an open, consistent state.
 *
 * @param io The file system (for the hint and salvage side files).
 * @param file The journal.
 * @param path The database path, or `undefined` in memory.
 * @param opts Resolved options.
 * @returns The state to start the engine from.
 * @throws {EmdbError} `NOT_EMDB`, `VERSION_MISMATCH` or `CORRUPTED`.
 */
export function recoverJournal(io: Io, file: JournalFile, path: string | undefined, opts: ResolvedOptions): Recovered {
  const label = path ?? "(in memory)";
  if (file.size === 0) return startNew(file);
  const head = file.windows[0]!.subarray(0, Math.min(HEADER_BYTES, file.size));
  const header = decodeHeader(head);
  if (header === "short" || header === "crc") {
    if (tornCreation(head) || (header === "crc" && file.size <= HEADER_BYTES)) return startNew(file);
  }
  if (header === "short" || header === "magic") {
    throw new EmdbError("NOT_EMDB", `Cannot open "${label}": not an emdb database (no emdb header)`, { path });
  }
  if (header === "version") {
    throw new EmdbError("VERSION_MISMATCH", `Cannot open "${label}": written by an unsupported format version`, {
      path,
    });
  }
  if (header === "crc") {
    throw new EmdbError("CORRUPTED", `Cannot open "${label}": the file header is damaged`, { path, offset: 0 });
  }

  let ks: Keyspace | undefined;
  let start = HEADER_BYTES;
  let hint: Hint | undefined;
  if (path !== undefined && opts.useCheckpoint) {
    const loaded = loadHint(io, `${path}.hint`, file, header.fileId);
    if (loaded) [ks, hint] = loaded;
  }
  if (ks === undefined) ks = new Keyspace(...randomKey());
  if (hint) start = hint.covered;
  ks.setWindows(file.windows);
  const r = replay(file.windows, start, file.size, ks);
  const o = r.outcome;
  let end = o.end;
  if (o.kind === "corrupt" || o.kind === "gap") {
    if (o.kind === "corrupt" && opts.onCorruption === "refuse") {
      throw new EmdbError(
        "CORRUPTED",
        `Cannot open "${label}": ${o.reason} at byte ${o.end}; open with { onCorruption: "salvage" } to keep the valid prefix`,
        { path, offset: o.end },
      );
    }
    if (path !== undefined && o.dataEnd > o.end) {
      io.writeFileDurable(`${path}.corrupt-${o.end}`, copyAt(file.windows, o.end, o.dataEnd));
    }
    end = o.end;
  }
  if (file.size > end) {
    file.truncate(end);
    file.sync();
    ks.setWindows(file.windows);
  }
  let lastFrame = r.lastFrame;
  let lastCrc = 0;
  if (lastFrame >= 0) {
    lastCrc = u32At(file.windows, lastFrame);
  } else if (hint && hint.lastFrame !== 0) {
    lastFrame = hint.lastFrame;
    lastCrc = hint.lastCrc;
  }
  return {
    keyspace: ks,
    fileId: header.fileId,
    end,
    lastFrame,
    lastCrc,
    checkpointEnd: hint ? hint.covered : 0,
    openedFrom: hint ? "checkpoint" : "replay",
    replayedBytes: end - start,
  };
}
