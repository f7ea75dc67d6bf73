/**
 * Opening a journal: check the header (or write one), load the checkpoint if
 * it provably describes this journal, replay the rest, and settle the tail.
 *
 * Nothing is written before the journal is known to be an emdb journal in a
 * sound state: a foreign file, a newer format or damaged data throws and
 * leaves the file untouched (unless the caller asked to salvage).
 *
 * @module
 */
import { EmdbError } from "../errors.ts";
import { decodeHeader, encodeHeader, type Header, HEADER_BYTES, HEADER_ENCRYPTED, MAGIC } from "../format/header.ts";
import {
  checkedLength,
  ENCRYPTED_FLAGS,
  KIND_CHECKPOINT,
  KIND_PUT,
  KNOWN_FLAGS,
  MARKER_BYTES,
  RECORD_HEADER_BYTES,
  recordKeyLen,
  recordKeyStart,
  recordNs,
} from "../format/record.ts";
import { WINDOW_BYTES } from "../io/io.ts";
import type { Io, JournalFile } from "../io/io.ts";
import type { ResolvedOptions } from "../options.ts";
import { decodeHint, type Hint } from "./hint.ts";
import { hintProtection } from "./checkpoint.ts";
import { decodeBlock, Keyring, masterKey } from "../crypto/keyring.ts";
import { RecordCrypto } from "./record_crypto.ts";
import { Keyspace } from "./keyspace.ts";
import { replay, Windows } from "./recovery.ts";
import { MAX_NAMESPACES } from "./space.ts";

/** How the database came to be open. */
export type OpenedFrom = "new" | "replay" | "checkpoint" | "memory";

/** The state an engine starts from. */
export interface Recovered {
  keyspace: Keyspace;
  header: Header;
  /** Logical end: where the next record goes. */
  end: number;
  /** Offset covered by the checkpoint that was loaded (0: none). */
  checkpointEnd: number;
  openedFrom: OpenedFrom;
  replayedBytes: number;
}

/** How many entries of each namespace of a checkpoint are checked against the journal. */
const SAMPLES = 64;

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

/**
 * A fresh header: a new file id, created now, versions starting at `versionBase`.
 *
 * @param now Creation time (Unix ms).
 * @param versionBase The version of byte 0.
 */
export function newHeader(now: number, versionBase = 0): Header {
  return {
    version: 2,
    flags: 0,
    fileId: new Uint8Array(randomWords(4).buffer),
    createdAt: now,
    versionBase,
    compactions: 0,
    encryption: new Uint8Array(128),
  };
}

function startNew(file: JournalFile, now: number, opts: ResolvedOptions): Recovered {
  if (file.size > 0) file.truncate(0);
  const header = newHeader(now);
  let ks: Keyspace;
  if (opts.encryption !== undefined) {
    const { master, kdf } = masterKey(opts.encryption, undefined, opts.kdf);
    const keyring = new Keyring(master, opts.cipher ?? "aes-256-gcm", kdf);
    master.fill(0);
    header.flags = HEADER_ENCRYPTED;
    header.encryption = keyring.block(header.fileId);
    ks = new Keyspace(...keyring.indexKey, new RecordCrypto(keyring, header.fileId));
  } else {
    ks = new Keyspace(...randomKey());
  }
  file.grow(HEADER_BYTES);
  file.write(encodeHeader(header), 0);
  file.sync();
  ks.setWindows(file.windows);
  return { keyspace: ks, header, end: HEADER_BYTES, checkpointEnd: 0, openedFrom: "new", replayedBytes: 0 };
}

/** A random 64-bit hash key for the index. */
export function randomKey(): [number, number] {
  const w = randomWords(2);
  return [w[0]! | 0, w[1]! | 0];
}

/** Loads `<path>.hint` when it provably describes this journal; `undefined` otherwise. */
function loadHint(
  io: Io,
  hintPath: string,
  w: Windows,
  limit: number,
  fileId: Uint8Array,
  crypto: RecordCrypto | undefined,
): [Keyspace, Hint] | undefined {
  let bytes: Uint8Array | undefined;
  try {
    // Never open a FIFO or device: reading it could block forever.
    if (io.statKind(hintPath) !== "file") return undefined;
    bytes = io.readFile(hintPath);
  } catch {
    return undefined;
  }
  if (bytes === undefined) return undefined;
  const keyring = crypto?.keyring;
  const hint = decodeHint(bytes, keyring === undefined ? undefined : hintProtection(keyring, fileId));
  if (hint === undefined || hint.derivedKey !== (keyring !== undefined) || !sameBytes(hint.fileId, fileId)) {
    return undefined;
  }
  const { covered, marker } = hint;
  if (covered % 8 !== 0 || covered > limit || marker < HEADER_BYTES) return undefined;
  if (marker + RECORD_HEADER_BYTES + MARKER_BYTES !== covered) return undefined;
  if (w.verify(marker, limit) !== RECORD_HEADER_BYTES + MARKER_BYTES) return undefined;
  const k = Math.floor(marker / WINDOW_BYTES);
  const mbuf = w.bufs[k]!;
  const mp = marker - k * WINDOW_BYTES;
  if (mbuf[mp + 4] !== KIND_CHECKPOINT) return undefined;
  if (!sameBytes(mbuf.subarray(mp + RECORD_HEADER_BYTES, mp + RECORD_HEADER_BYTES + MARKER_BYTES), hint.nonce)) {
    return undefined;
  }
  const ks = keyring === undefined ? new Keyspace(hint.k0, hint.k1) : new Keyspace(...keyring.indexKey, crypto);
  ks.setWindows(w.bufs);
  if (hint.spaces.length > MAX_NAMESPACES + 1) return undefined;
  // One bit per 8 bytes of the covered journal: an offset listed twice means a forged file.
  const seen = new Uint8Array(Math.ceil(covered / 64));
  for (const sp of hint.spaces) {
    if ((sp.nsId === 0) !== (sp.name === "") || ks.spaces.has(sp.nsId) && sp.nsId !== 0) return undefined;
    if (sp.nsId !== 0 && ks.byName.has(sp.name)) return undefined;
    const space = ks.restoreSpace(sp.nsId, sp.name);
    const n = sp.offsets.length;
    for (let i = 0; i < n; i++) {
      const off = sp.offsets[i]!;
      if (off % 8 !== 0 || off < HEADER_BYTES || off >= marker) return undefined;
      const bit = off / 8;
      if ((seen[bit >> 3]! & (1 << (bit & 7))) !== 0) return undefined;
      seen[bit >> 3]! |= 1 << (bit & 7);
    }
    // Entries must point at this namespace's records under this hash key: check a spread of them. (Not their
    // CRCs: a damaged record is reported when it is read, and must not turn into a refusal to open.)
    const step = Math.max(1, Math.floor(n / SAMPLES));
    for (let i = 0; i < n; i += step) {
      const off = sp.offsets[i]!;
      const buf = ks.bufAt(off);
      const p = ks.localAt(off);
      if (checkedLength(buf, p, covered - (off - p), false, ks.knownFlags) < 0) return undefined;
      if (buf[p + 4] !== KIND_PUT || recordNs(buf, p) !== sp.nsId) return undefined;
      if (ks.hash(buf, recordKeyStart(buf, p), recordKeyLen(buf, p)) >>> 0 !== sp.hashes[i]) return undefined;
    }
    space.hash.reserve(n);
    for (let i = 0; i < n; i++) space.hash.insertUnique(sp.hashes[i]!, sp.offsets[i]!);
    if (sp.liveBytes < 0 || sp.liveBytes > covered) return undefined;
    space.liveBytes = sp.liveBytes;
    for (let i = 0; i < sp.expiring.length; i += 2) {
      const off = sp.expiring[i]!;
      if (off % 8 !== 0 || off < HEADER_BYTES || off >= marker) return undefined;
      space.expiry.push(sp.expiring[i + 1]!, off);
    }
    if (sp.ordered !== undefined) {
      if (sp.ordered.length !== n) return undefined;
      for (let i = 0; i < n; i++) {
        const off = sp.ordered[i]!;
        const bit = off / 8;
        if (off % 8 !== 0 || off < HEADER_BYTES || off >= marker || (seen[bit >> 3]! & (1 << (bit & 7))) === 0) {
          return undefined;
        }
      }
      space.ordered.load(sp.ordered, n);
    }
  }
  if (!ks.spaces.has(0)) return undefined;
  return [ks, hint];
}

/**
 * The keys of an encrypted database, checked against its header before
 * anything else is read or written; `undefined` for a plaintext one.
 *
 * @throws {EmdbError} `KEY_REQUIRED`, `NOT_ENCRYPTED`, `KEY_MISMATCH`, `INVALID_CONFIG` (the wrong kind of key or
 *   cipher), `CORRUPTED` (an unreadable encryption block).
 */
function unlock(header: Header, opts: ResolvedOptions, label: string, path: string | undefined): Keyring | undefined {
  const given = opts.encryption;
  if ((header.flags & HEADER_ENCRYPTED) === 0) {
    if (given === undefined) return undefined;
    throw new EmdbError(
      "NOT_ENCRYPTED",
      `Cannot open "${label}" with a key: it is not encrypted (Emdb.enableEncryption() encrypts it)`,
      { path },
    );
  }
  if (given === undefined) {
    throw new EmdbError("KEY_REQUIRED", `Cannot open "${label}": it is encrypted; give { encryption: { key } }`, {
      path,
    });
  }
  const block = decodeBlock(header.encryption);
  if (typeof block === "string") {
    throw new EmdbError("CORRUPTED", `Cannot open "${label}": its encryption block is damaged (${block})`, {
      path,
      offset: 64,
    });
  }
  if (opts.cipher !== undefined && opts.cipher !== block.cipher) {
    throw new EmdbError(
      "INVALID_CONFIG",
      `Cannot open "${label}" with ${opts.cipher}: it is encrypted with ${block.cipher}`,
      {
        path,
      },
    );
  }
  if (("key" in given) !== (block.kdf === undefined)) {
    const needs = block.kdf === undefined ? "a raw key ({ key })" : "a passphrase ({ passphrase })";
    throw new EmdbError("INVALID_CONFIG", `Cannot open "${label}": it is protected by ${needs}`, { path });
  }
  const { master } = masterKey(given, block.kdf);
  const keyring = new Keyring(master, block.cipher, block.kdf);
  master.fill(0);
  if (!keyring.verifies(block, header.fileId)) {
    keyring.destroy();
    throw new EmdbError("KEY_MISMATCH", `Cannot open "${label}": the key or passphrase is not this database's`, {
      path,
    });
  }
  return keyring;
}

/**
 * Brings a journal file to an open, consistent state.
 *
 * @param io The file system (for the checkpoint and salvage side files).
 * @param file The journal.
 * @param path The database path, or `undefined` in memory.
 * @param opts Resolved options.
 * @returns The state to start the engine from.
 * @throws {EmdbError} `NOT_EMDB`, `VERSION_MISMATCH` or `CORRUPTED`.
 */
export function recoverJournal(io: Io, file: JournalFile, path: string | undefined, opts: ResolvedOptions): Recovered {
  const label = path ?? "(in memory)";
  const now = opts.clock();
  if (file.size === 0) return startNew(file, now, opts);
  const head = file.windows[0]!.subarray(0, Math.min(HEADER_BYTES, file.size));
  const header = decodeHeader(head);
  if (header === "short" || header === "crc") {
    if (tornCreation(head) || (header === "crc" && file.size <= HEADER_BYTES)) return startNew(file, now, opts);
  }
  if (header === "short" || header === "magic") {
    throw new EmdbError("NOT_EMDB", `Cannot open "${label}": not an emdb database (no emdb header)`, { path });
  }
  if (header === "version") {
    throw new EmdbError(
      "VERSION_MISMATCH",
      `Cannot open "${label}": written in another format version (this emdb reads version 2)`,
      { path },
    );
  }
  if (header === "flags") {
    throw new EmdbError("VERSION_MISMATCH", `Cannot open "${label}": its header has flags this emdb does not know`, {
      path,
    });
  }
  if (header === "crc") {
    throw new EmdbError("CORRUPTED", `Cannot open "${label}": the file header is damaged`, { path, offset: 0 });
  }
  const keyring = unlock(header, opts, label, path);
  const crypto = keyring === undefined ? undefined : new RecordCrypto(keyring, header.fileId);

  // The whole file, holes included: the backend maps holes as zero pages (never faulting), and a torn record's
  // declared extent may reach into one; stopping at the first hole would make its own records look like damage.
  const limit = file.size;
  const w = new Windows(file.windows, crypto === undefined ? KNOWN_FLAGS : ENCRYPTED_FLAGS);
  let ks: Keyspace | undefined;
  let start = HEADER_BYTES;
  let hint: Hint | undefined;
  if (path !== undefined && opts.useCheckpoint) {
    const loaded = loadHint(io, `${path}.hint`, w, limit, header.fileId, crypto);
    if (loaded) [ks, hint] = loaded;
  }
  if (ks === undefined) {
    ks = keyring === undefined ? new Keyspace(...randomKey()) : new Keyspace(...keyring.indexKey, crypto);
  }
  if (hint) start = hint.covered;
  ks.setWindows(file.windows);
  ks.file = file;
  const r = replay(w, start, limit, ks, now);
  const o = r.outcome;
  if (o.kind === "corrupt" || o.kind === "gap") {
    if (o.kind === "corrupt" && opts.onCorruption === "refuse") {
      throw new EmdbError(
        "CORRUPTED",
        `Cannot open "${label}": ${o.reason} at byte ${o.end}; open with { onCorruption: "salvage" } to keep the valid prefix`,
        { path, offset: o.end },
      );
    }
    if (path !== undefined && o.dataEnd > o.end) {
      io.writeFileDurable(`${path}.corrupt-${o.end}`, w.copy(o.end, o.dataEnd));
    }
  }
  const end = o.end;
  if (file.size > end) {
    file.truncate(end);
    file.sync();
    ks.setWindows(file.windows);
  }
  ks.verified.addRange(start, end);
  return {
    keyspace: ks,
    header,
    end,
    checkpointEnd: hint ? hint.covered : 0,
    openedFrom: hint ? "checkpoint" : "replay",
    replayedBytes: end - start,
  };
}
