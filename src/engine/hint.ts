/**
 * The checkpoint ("hint") file `<path>.hint`: a snapshot of the index plus the
 * journal offset it covers, so an open loads the index directly and replays
 * only the frames written after it.
 *
 * ```text
 * offset size field
 *  0      8   magic          "EMDBHINT"
 *  8      4   version        u32 LE = 1
 * 12      4   spaces         u32 LE, number of namespace sections
 * 16     16   file id        the journal header's file id
 * 32      8   covered        u64 LE, journal offset the snapshot covers (its logical end)
 * 40      8   last frame     u64 LE, start of the last frame before `covered` (0: none)
 * 48      4   last crc       u32 LE, that frame's CRC field
 * 52      8   hash key       2 × u32 LE, the index hash key the slots were built with
 * 60      4   reserved       0
 * 64      …   sections, one per namespace:
 *               ns id u32, name length u32, name bytes padded to 4,
 *               256 × (log2 capacity u32, count u32),
 *               then each shard's slots (2 × u32 LE per slot) in shard order
 * end-4   4   crc            u32 LE, CRC-32C of every byte before it
 * ```
 *
 * A snapshot is used only when its CRC verifies, its file id matches the
 * journal, `covered` lies inside the journal, and the journal still holds a
 * valid frame at `last frame` with the same CRC ending exactly at `covered`.
 * Anything else means stale or damaged: the open falls back to a full replay.
 * The hash key is stored so the slots stay valid; it is random per database
 * generation (a full replay draws a new one) and lives only in this file,
 * which has the database's own permissions.
 *
 * @module
 */
import { crc32c, crc32cWords } from "../format/crc32c.ts";
import { u32 } from "../format/frame.ts";
import { SHARDS, type ShardState } from "../index/hash_index.ts";

const MAGIC = "EMDBHINT";
const VERSION = 1;
const HEAD = 64;

/** One namespace in a snapshot. */
export interface HintSpace {
  nsId: number;
  name: string;
  shards: ShardState[];
}

/** A decoded snapshot. */
export interface Hint {
  fileId: Uint8Array;
  covered: number;
  lastFrame: number;
  lastCrc: number;
  k0: number;
  k1: number;
  spaces: HintSpace[];
}

const littleEndian = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Encodes a snapshot.
 *
 * @param hint What to write.
 * @returns The file content.
 */
export function encodeHint(hint: Hint): Uint8Array {
  const enc = new TextEncoder();
  const names = hint.spaces.map((s) => enc.encode(s.name));
  let size = HEAD + 4;
  hint.spaces.forEach((s, i) => {
    size += 8 + Math.ceil(names[i]!.length / 4) * 4 + SHARDS * 8;
    for (const sh of s.shards) size += sh.slots.byteLength;
  });
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(enc.encode(MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, hint.spaces.length, true);
  out.set(hint.fileId.subarray(0, 16), 16);
  dv.setUint32(32, hint.covered % 2 ** 32, true);
  dv.setUint32(36, Math.floor(hint.covered / 2 ** 32), true);
  dv.setUint32(40, hint.lastFrame % 2 ** 32, true);
  dv.setUint32(44, Math.floor(hint.lastFrame / 2 ** 32), true);
  dv.setUint32(48, hint.lastCrc, true);
  dv.setUint32(52, hint.k0 >>> 0, true);
  dv.setUint32(56, hint.k1 >>> 0, true);
  let p = HEAD;
  hint.spaces.forEach((s, i) => {
    const name = names[i]!;
    dv.setUint32(p, s.nsId, true);
    dv.setUint32(p + 4, name.length, true);
    out.set(name, p + 8);
    p += 8 + Math.ceil(name.length / 4) * 4;
    for (const sh of s.shards) {
      dv.setUint32(p, sh.bits, true);
      dv.setUint32(p + 4, sh.count, true);
      p += 8;
    }
    for (const sh of s.shards) {
      out.set(new Uint8Array(sh.slots.buffer, sh.slots.byteOffset, sh.slots.byteLength), p);
      p += sh.slots.byteLength;
    }
  });
  dv.setUint32(p, crc32cWords(out, new Int32Array(out.buffer), 0, p), true);
  return out;
}

/**
 * Decodes a snapshot.
 *
 * @param bytes The file content.
 * @returns The snapshot, or `undefined` when it is damaged or not a snapshot.
 */
export function decodeHint(bytes: Uint8Array): Hint | undefined {
  if (!littleEndian || bytes.length < HEAD + 4) return undefined;
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return undefined;
  const end = bytes.length - 4;
  const crc = bytes.byteOffset % 4 === 0
    ? crc32cWords(bytes, new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2), 0, end)
    : crc32c(bytes, 0, end);
  if (u32(bytes, end) !== crc) return undefined;
  if (u32(bytes, 8) !== VERSION) return undefined;
  const count = u32(bytes, 12);
  const hint: Hint = {
    fileId: bytes.slice(16, 32),
    covered: u32(bytes, 32) + u32(bytes, 36) * 2 ** 32,
    lastFrame: u32(bytes, 40) + u32(bytes, 44) * 2 ** 32,
    lastCrc: u32(bytes, 48),
    k0: u32(bytes, 52) | 0,
    k1: u32(bytes, 56) | 0,
    spaces: [],
  };
  let p = HEAD;
  const dec = new TextDecoder("utf-8", { fatal: true });
  try {
    for (let i = 0; i < count; i++) {
      if (p + 8 > end) return undefined;
      const nsId = u32(bytes, p);
      const nameLen = u32(bytes, p + 4);
      const nameEnd = p + 8 + nameLen;
      if (nameEnd > end) return undefined;
      const name = dec.decode(bytes.subarray(p + 8, nameEnd));
      p += 8 + Math.ceil(nameLen / 4) * 4;
      if (p + SHARDS * 8 > end) return undefined;
      const heads: { bits: number; count: number }[] = [];
      for (let s = 0; s < SHARDS; s++, p += 8) heads.push({ bits: u32(bytes, p), count: u32(bytes, p + 4) });
      const shards: ShardState[] = [];
      for (const h of heads) {
        if (h.bits > 30) return undefined;
        const n = 2 << h.bits;
        if (p + n * 4 > end) return undefined;
        // Slots are 4-aligned in the file: view them in place when the buffer is too (no 17 MB copy at 1M keys).
        const at = bytes.byteOffset + p;
        let slots: Uint32Array;
        if (at % 4 === 0) {
          slots = new Uint32Array(bytes.buffer, at, n);
        } else {
          slots = new Uint32Array(n);
          new Uint8Array(slots.buffer).set(bytes.subarray(p, p + n * 4));
        }
        p += n * 4;
        shards.push({ bits: h.bits, count: h.count, slots });
      }
      hint.spaces.push({ nsId, name, shards });
    }
  } catch {
    return undefined;
  }
  return p === end ? hint : undefined;
}
