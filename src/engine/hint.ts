/**
 * The checkpoint file `<path>.hint`: what the indexes held at one point of
 * the journal, so an open rebuilds them without reading the records and
 * replays only what came after. It stores entries, not the memory of any
 * index: the hash table is rebuilt from `(hash, offset)` pairs, the ordered
 * index (when it was built) from offsets in key order.
 *
 * ```text
 * offset size field
 *  0      8   magic          "EMDBHNT2"
 *  8      4   version        u32 LE = 2
 * 12      4   sections       u32 LE, one per namespace
 * 16     16   file id        the journal header's file id
 * 32      8   covered        u64 LE, the journal offset the checkpoint describes (end of its marker)
 * 40      8   marker         u64 LE, offset of the CHECKPOINT record that ends at `covered`
 * 48     16   nonce          that record's 16 random bytes
 * 64      8   hash key       2 × u32 LE, the key the hashes below were computed with (0 when derived)
 * 72      4   flags          u32 LE, bit 0: the hash key is derived from the encryption key, not stored;
 *                              bit 1: the file ends with an HMAC (encrypted databases)
 * 76      4   reserved       0
 * 80      …   sections, one per namespace:
 *               ns id u32, name length u32, name (UTF-8; sealed when encrypted) padded to 4 bytes,
 *               live bytes u64, entries u32, expiring u32, ordered u32 (0xFFFFFFFF: not built), 0 u32,
 *               entries × (hash u32, offset u64),
 *               expiring × (offset u64, expires at u64),
 *               ordered × offset u64 (key order)
 * [end-36 32]  mac            HMAC-SHA256 of every byte before it under the hint key (with flags bit 1)
 * end-4   4   crc            u32 LE, CRC-32C of every byte before it
 * ```
 *
 * An encrypted database's checkpoint stores no hash key (it is derived from
 * the encryption key), no ordered list (it would reveal the order of the
 * encrypted keys), its namespace names sealed (AEAD under the record key, the
 * associated data binding the file id and the namespace id), and is
 * authenticated by an HMAC: a forged one is refused.
 *
 * The marker record is appended to the journal by the checkpoint itself; a
 * checkpoint is used only when the journal holds that very record (16 random
 * bytes) at that offset, which proves the journal's history up to `covered`
 * is the one the checkpoint saw: a journal restored from a copy and written
 * again does not have it.
 *
 * @module
 */
import { crc32cWords } from "../format/crc32c.ts";
import { MARKER_BYTES, u32 } from "../format/record.ts";

const MAGIC = "EMDBHNT2";
const VERSION = 2;
const HEAD = 80;
/** Value of the ordered count when the ordered index was not built. */
export const NOT_BUILT = 0xffffffff;

/** One namespace in a checkpoint. */
export interface HintSpace {
  nsId: number;
  name: string;
  liveBytes: number;
  /** Full hashes of the live keys. */
  hashes: Uint32Array;
  /** Offsets of the live records, parallel to `hashes`. */
  offsets: Float64Array;
  /** `(offset, expiresAt)` pairs of the live records that expire. */
  expiring: Float64Array;
  /** Offsets in key order, or `undefined` when the ordered index was not built. */
  ordered: Float64Array | undefined;
}

/** A decoded checkpoint. */
export interface Hint {
  fileId: Uint8Array;
  covered: number;
  marker: number;
  nonce: Uint8Array;
  k0: number;
  k1: number;
  derivedKey: boolean;
  spaces: HintSpace[];
}

const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const enc = new TextEncoder();

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Encodes a checkpoint.
 *
 * @param hint What to write.
 * @param protect For an encrypted database: the HMAC and the sealing of names.
 * @returns The file content.
 */
/** How an encrypted database protects its checkpoint: an HMAC over the file, and sealed namespace names. */
export interface HintProtection {
  mac(bytes: Uint8Array): Uint8Array;
  sealName(nsId: number, name: Uint8Array): Uint8Array;
  /** The name, or `undefined` when it does not authenticate. */
  openName(nsId: number, sealed: Uint8Array): Uint8Array | undefined;
}

export function encodeHint(hint: Hint, protect?: HintProtection): Uint8Array {
  const mac = protect?.mac;
  const names = hint.spaces.map((s) => {
    const name = enc.encode(s.name);
    return protect === undefined || name.length === 0 ? name : protect.sealName(s.nsId, name);
  });
  let size = HEAD + 4 + (mac === undefined ? 0 : MAC_BYTES);
  hint.spaces.forEach((s, i) => {
    size += 8 + align4(names[i]!.length) + 24;
    size += s.hashes.length * 12 + (s.expiring.length / 2) * 16 + (s.ordered?.length ?? 0) * 8;
  });
  const out = new Uint8Array(size);
  const w = new Uint32Array(out.buffer);
  const dv = new DataView(out.buffer);
  out.set(enc.encode(MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, hint.spaces.length, true);
  out.set(hint.fileId.subarray(0, 16), 16);
  putU64(w, 32, hint.covered);
  putU64(w, 40, hint.marker);
  out.set(hint.nonce.subarray(0, MARKER_BYTES), 48);
  dv.setUint32(64, hint.derivedKey ? 0 : hint.k0 >>> 0, true);
  dv.setUint32(68, hint.derivedKey ? 0 : hint.k1 >>> 0, true);
  dv.setUint32(72, (hint.derivedKey ? 1 : 0) | (mac === undefined ? 0 : 2), true);
  let p = HEAD;
  hint.spaces.forEach((s, i) => {
    const name = names[i]!;
    w[p >> 2] = s.nsId;
    w[(p >> 2) + 1] = name.length;
    out.set(name, p + 8);
    p += 8 + align4(name.length);
    putU64(w, p, s.liveBytes);
    w[(p >> 2) + 2] = s.hashes.length;
    w[(p >> 2) + 3] = s.expiring.length / 2;
    w[(p >> 2) + 4] = s.ordered === undefined ? NOT_BUILT : s.ordered.length;
    w[(p >> 2) + 5] = 0;
    p += 24;
    for (let j = 0; j < s.hashes.length; j++, p += 12) {
      w[p >> 2] = s.hashes[j]!;
      putU64(w, p + 4, s.offsets[j]!);
    }
    for (let j = 0; j < s.expiring.length; j += 2, p += 16) {
      putU64(w, p, s.expiring[j]!);
      putU64(w, p + 8, s.expiring[j + 1]!);
    }
    if (s.ordered !== undefined) {
      for (let j = 0; j < s.ordered.length; j++, p += 8) putU64(w, p, s.ordered[j]!);
    }
  });
  if (mac !== undefined) {
    out.set(mac(out.subarray(0, p)), p);
    p += MAC_BYTES;
  }
  w[p >> 2] = crc32cWords(out, new Int32Array(out.buffer), 0, p);
  return out;
}

const MAC_BYTES = 32;

function putU64(w: Uint32Array, p: number, v: number): void {
  w[p >> 2] = v >>> 0;
  w[(p >> 2) + 1] = Math.floor(v / 4294967296);
}

function getU64(w: Uint32Array, p: number): number {
  return w[p >> 2]! + w[(p >> 2) + 1]! * 4294967296;
}

/**
 * Decodes a checkpoint: its framing, CRC and shape only. Whether it matches
 * the journal, and whether its entries point at the right records, is for
 * the caller to check.
 *
 * @param file The file content.
 * @returns The checkpoint, or `undefined` when it is damaged or not a checkpoint.
 */
export function decodeHint(file: Uint8Array, protect?: HintProtection): Hint | undefined {
  const mac = protect?.mac;
  if (!littleEndian || file.length < HEAD + 4 || file.length % 4 !== 0) return undefined;
  // Word access needs 4-byte alignment; a small file may sit at any offset of a pooled buffer.
  const bytes = file.byteOffset % 4 === 0 ? file : file.slice();
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return undefined;
  const end = bytes.length - 4;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  if (u32(bytes, end) !== crc32cWords(bytes, words, 0, end)) return undefined;
  if (w[2] !== VERSION) return undefined;
  const count = w[3]!;
  // Authenticated files (and only they) end with an HMAC, which must verify before anything else is trusted.
  let end2 = end;
  if ((w[18]! & 2) !== 0) {
    if (mac === undefined || end < HEAD + MAC_BYTES) return undefined;
    end2 = end - MAC_BYTES;
    const expect = mac(bytes.subarray(0, end2));
    let diff = 0;
    for (let i = 0; i < MAC_BYTES; i++) diff |= expect[i]! ^ bytes[end2 + i]!;
    if (diff !== 0) return undefined;
  } else if (mac !== undefined) {
    return undefined;
  }
  const hint: Hint = {
    fileId: bytes.slice(16, 32),
    covered: getU64(w, 32),
    marker: getU64(w, 40),
    nonce: bytes.slice(48, 48 + MARKER_BYTES),
    k0: w[16]! | 0,
    k1: w[17]! | 0,
    derivedKey: (w[18]! & 1) !== 0,
    spaces: [],
  };
  const dec = new TextDecoder("utf-8", { fatal: true });
  let p = HEAD;
  try {
    for (let i = 0; i < count; i++) {
      if (p + 8 > end2) return undefined;
      const nsId = w[p >> 2]!;
      const nameLen = w[(p >> 2) + 1]!;
      if (nameLen > 1024 || p + 8 + nameLen > end2) return undefined;
      const raw = bytes.subarray(p + 8, p + 8 + nameLen);
      const plain = protect === undefined || nameLen === 0 ? raw : protect.openName(nsId, raw);
      if (plain === undefined) return undefined;
      const name = dec.decode(plain);
      p += 8 + align4(nameLen);
      if (p + 24 > end2) return undefined;
      const liveBytes = getU64(w, p);
      const n = w[(p >> 2) + 2]!;
      const nExp = w[(p >> 2) + 3]!;
      const nOrd = w[(p >> 2) + 4]!;
      p += 24;
      const need = n * 12 + nExp * 16 + (nOrd === NOT_BUILT ? 0 : nOrd * 8);
      if (need > end2 - p) return undefined;
      const hashes = new Uint32Array(n);
      const offsets = new Float64Array(n);
      for (let j = 0; j < n; j++, p += 12) {
        hashes[j] = w[p >> 2]!;
        offsets[j] = getU64(w, p + 4);
      }
      const expiring = new Float64Array(nExp * 2);
      for (let j = 0; j < nExp * 2; j += 2, p += 16) {
        expiring[j] = getU64(w, p);
        expiring[j + 1] = getU64(w, p + 8);
      }
      let ordered: Float64Array | undefined;
      if (nOrd !== NOT_BUILT) {
        ordered = new Float64Array(nOrd);
        for (let j = 0; j < nOrd; j++, p += 8) ordered[j] = getU64(w, p);
      }
      hint.spaces.push({ nsId, name, liveBytes, hashes, offsets, expiring, ordered });
    }
  } catch {
    return undefined;
  }
  return p === end2 ? hint : undefined;
}
