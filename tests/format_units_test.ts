/**
 * Unit tests of the pure codecs: CRC-32C, header, records and batches, checkpoint file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c, crc32cWords } from "../src/format/crc32c.ts";
import { decodeHeader, encodeHeader, HEADER_BYTES } from "../src/format/header.ts";
import {
  batchCrc,
  checkedLength,
  FLAG_EXPIRES,
  FLAG_ORIGIN,
  KIND_BATCH,
  KIND_PUT,
  pad8,
  recordExpiry,
  recordKeyStart,
  recordOrigin,
  recordValueStart,
  sealBatch,
  sealRecord,
  u32,
  writeExtras,
  writeRecordHeader,
} from "../src/format/record.ts";
import { decodeHint, encodeHint } from "../src/engine/hint.ts";
import { HashIndex } from "../src/index/hash_index.ts";
import { halfSipHash } from "../src/index/halfsiphash.ts";

test("crc32c matches the standard check value 0xE3069283", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("crc32cWords agrees with crc32c at every length and aligned start", () => {
  const buf = new Uint8Array(4096);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 255;
  const words = new Int32Array(buf.buffer);
  for (let start = 0; start < 64; start += 4) {
    for (let end = start; end < start + 300; end++) {
      assert.equal(crc32cWords(buf, words, start, end), crc32c(buf, start, end), `${start}..${end}`);
    }
    // Long runs take the slicing-by-16 path (512 bytes and more).
    for (let end = start + 500; end < start + 1200; end += 7) {
      assert.equal(crc32cWords(buf, words, start, end), crc32c(buf, start, end), `${start}..${end}`);
    }
  }
  assert.equal(crc32cWords(buf, words, 0, buf.length), crc32c(buf), "the whole buffer");
});

const header = (id: Uint8Array) => ({
  flags: 0,
  fileId: id,
  createdAt: 1_700_000_000_123,
  versionBase: 2 ** 40 + 8,
  compactions: 3,
  encryption: new Uint8Array(128),
});

test("a header round-trips and every damaged byte is detected", () => {
  const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const h = encodeHeader(header(id));
  assert.equal(h.length, HEADER_BYTES);
  const d = decodeHeader(h);
  assert.ok(typeof d === "object");
  assert.deepEqual([...d.fileId], [...id]);
  assert.equal(d.createdAt, 1_700_000_000_123);
  assert.equal(d.versionBase, 2 ** 40 + 8);
  assert.equal(d.compactions, 3);
  for (let i = 0; i < HEADER_BYTES; i++) {
    const bad = h.slice();
    bad[i]! ^= 0x10;
    assert.notEqual(typeof decodeHeader(bad), "object", `flip at byte ${i} went unnoticed`);
  }
  assert.equal(decodeHeader(h.subarray(0, 10)), "short");
  assert.equal(
    decodeHeader(new TextEncoder().encode("hello world, not a db at all, longer than sixty-four bytes.......")),
    "magic",
  );
});

test("a header with an unknown flag is refused even with a valid CRC", () => {
  const h = encodeHeader({ ...header(new Uint8Array(16)), flags: 4 });
  assert.equal(decodeHeader(h), "flags");
  assert.equal(typeof decodeHeader(encodeHeader({ ...header(new Uint8Array(16)), flags: 1 })), "object");
});

test("a version-1 header (from a pre-release) is told apart from damage", () => {
  const v1 = new Uint8Array(64);
  v1.set(encodeHeader(header(new Uint8Array(16))).subarray(0, 8));
  new DataView(v1.buffer).setUint32(8, 1, true);
  new DataView(v1.buffer).setUint32(60, crc32c(v1, 0, 60), true);
  assert.equal(decodeHeader(v1), "version");
  v1[20]! ^= 1;
  assert.equal(decodeHeader(v1), "crc");
});

/** Encodes one PUT at `pos` of `buf` and returns its length. */
function put(buf: Uint8Array, pos: number, key: string, value: string, flags = 0, expires = 0, origin = 0): number {
  const dv = new DataView(buf.buffer);
  const k = new TextEncoder().encode(key);
  const v = new TextEncoder().encode(value);
  writeRecordHeader(dv, pos, KIND_PUT, flags, k.length, v.length, 0);
  writeExtras(dv, pos, flags, expires, origin);
  const ks = recordKeyStart(buf, pos);
  buf.set(k, ks);
  buf.set(v, ks + k.length);
  return sealRecord(buf, new Int32Array(buf.buffer), pos, ks + k.length + v.length - pos);
}

test("records are padded to 8, carry their optional fields, and impossible headers are refused", () => {
  const buf = new Uint8Array(256);
  assert.equal(put(buf, 0, "abc", "hello"), 24);
  assert.equal(checkedLength(buf, 0, 256, false), 24);
  assert.equal(checkedLength(buf, 0, 23, false), -1, "runs past the limit");
  assert.equal(pad8(17), 24);
  const len = put(buf, 32, "k", "value", FLAG_EXPIRES | FLAG_ORIGIN, 1_700_000_000_000, 2 ** 45 + 8);
  assert.equal(len, pad8(16 + 16 + 1 + 5));
  assert.equal(recordExpiry(buf, 32), 1_700_000_000_000);
  assert.equal(recordOrigin(buf, 32), 2 ** 45 + 8);
  assert.equal(
    new TextDecoder().decode(buf.subarray(recordValueStart(buf, 32), recordValueStart(buf, 32) + 5)),
    "value",
  );
  buf[5] = 0x40;
  assert.equal(checkedLength(buf, 0, 256, false), -1, "unknown flag");
  buf[5] = 0;
  buf[4] = 9;
  assert.equal(checkedLength(buf, 0, 256, false), -1, "unknown kind");
});

test("a batch's CRC covers its header and every inner record's CRC", () => {
  const buf = new Uint8Array(256);
  let p = 16;
  p += put(buf, p, "a", "1");
  p += put(buf, p, "b", "2");
  writeRecordHeader(new DataView(buf.buffer), 0, KIND_BATCH, 0, 0, p - 16, 2);
  sealBatch(buf, 0, p);
  assert.equal(checkedLength(buf, 0, 256, false), p);
  assert.equal(checkedLength(buf, 0, 256, true), -1, "a batch cannot be nested");
  const crc = u32(buf, 0);
  assert.equal(batchCrc(buf, 0, p), crc);
  // Changing an inner record (and re-sealing it) changes the batch CRC.
  buf[16 + 16 + 1]! ^= 1;
  sealRecord(buf, new Int32Array(buf.buffer), 16, 16 + 2);
  assert.notEqual(batchCrc(buf, 0, p), crc);
});

/** A key source over plain arrays: offset / 8 - 8 indexes `keys`. */
function arraySource(keys: Uint8Array[]) {
  return {
    keyEquals(off: number, key: Uint8Array, start: number, len: number): boolean {
      const k = keys[off / 8 - 8];
      if (k === undefined || k.length !== len) return false;
      for (let i = 0; i < len; i++) if (k[i] !== key[start + i]) return false;
      return true;
    },
  };
}

test("the hash index agrees with a Map under random inserts, updates and removals", () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 20000; i++) keys.push(new TextEncoder().encode(`k${i}`));
  const src = arraySource(keys);
  const idx = new HashIndex();
  const model = new Map<number, number>();
  // A deliberately weak hash (few distinct values) forces long probe chains and tag collisions.
  const weak = (i: number) => halfSipHash(keys[i]!, 0, keys[i]!.length, 1, 2) & 0x0300ffff;
  for (let step = 0; step < 60000; step++) {
    const i = Math.floor(rnd() * keys.length);
    const k = keys[i]!;
    const h = weak(i);
    const off = (i + 8) * 8;
    if (rnd() < 0.65) {
      const prev = idx.upsert(h, k, 0, k.length, src, off);
      assert.equal(prev, model.has(i) ? off : -1);
      model.set(i, off);
    } else {
      const got = idx.remove(h, k, 0, k.length, src);
      assert.equal(got, model.has(i) ? off : -1);
      model.delete(i);
    }
  }
  assert.equal(idx.size, model.size);
  for (let i = 0; i < keys.length; i++) {
    assert.equal(idx.find(weak(i), keys[i]!, 0, keys[i]!.length, src), model.get(i) ?? -1, `key ${i}`);
  }
});

test("index entries round-trip through the checkpoint codec and a flipped byte is rejected", () => {
  const keys = Array.from({ length: 5000 }, (_, i) => new TextEncoder().encode(`key-${i}`));
  const src = arraySource(keys);
  const idx = new HashIndex();
  keys.forEach((k, i) => idx.upsert(halfSipHash(k, 0, k.length, 7, 9), k, 0, k.length, src, (i + 8) * 8));
  const entries = idx.exportEntries();
  const bytes = encodeHint({
    fileId: new Uint8Array(16).fill(3),
    covered: 123456,
    marker: 123424,
    nonce: new Uint8Array(16).fill(5),
    k0: 7,
    k1: 9,
    derivedKey: false,
    spaces: [{
      nsId: 0,
      name: "",
      liveBytes: 999,
      hashes: entries.hashes,
      offsets: entries.offsets,
      expiring: Float64Array.of(72, 1_700_000_000_000),
      ordered: undefined,
    }],
  });
  const hint = decodeHint(bytes);
  assert.ok(hint);
  assert.equal(hint.covered, 123456);
  assert.equal(hint.marker, 123424);
  const sp = hint.spaces[0]!;
  assert.equal(sp.liveBytes, 999);
  assert.deepEqual([...sp.expiring], [72, 1_700_000_000_000]);
  const copy = new HashIndex();
  for (let i = 0; i < sp.hashes.length; i++) copy.insertUnique(sp.hashes[i]!, sp.offsets[i]!);
  assert.equal(copy.size, keys.length);
  keys.forEach((k, i) => assert.equal(copy.find(halfSipHash(k, 0, k.length, 7, 9), k, 0, k.length, src), (i + 8) * 8));
  for (const at of [0, 20, 40, 70, bytes.length >> 1, bytes.length - 1]) {
    const bad = bytes.slice();
    bad[at]! ^= 1;
    assert.equal(decodeHint(bad), undefined, `flip at ${at}`);
  }
  assert.equal(decodeHint(bytes.subarray(0, bytes.length - 8)), undefined, "truncated");
});
