/**
 * Unit tests of the pure codecs: CRC-32C, header, frames, checkpoint file.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c, crc32cWords } from "../src/format/crc32c.ts";
import { decodeHeader, encodeHeader, HEADER_BYTES } from "../src/format/header.ts";
import { frameLength, KIND_BATCH, KIND_PUT, pad8, putFrameLength } from "../src/format/frame.ts";
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

test("a header round-trips and every damaged byte is detected", () => {
  const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const h = encodeHeader(id, 1_700_000_000_123);
  assert.equal(h.length, HEADER_BYTES);
  const d = decodeHeader(h);
  assert.ok(typeof d === "object");
  assert.deepEqual([...d.fileId], [...id]);
  assert.equal(d.createdAt, 1_700_000_000_123);
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

test("frame lengths are padded to 8 and impossible headers are refused", () => {
  assert.equal(putFrameLength(24, 150, false), 192);
  assert.equal(putFrameLength(0, 0, false), 16);
  assert.equal(putFrameLength(1, 0, true), 32);
  assert.equal(pad8(17), 24);
  const buf = new Uint8Array(64);
  const dv = new DataView(buf.buffer);
  dv.setUint8(4, KIND_PUT);
  dv.setUint16(6, 3, true);
  dv.setUint32(8, 5, true);
  assert.equal(frameLength(buf, 0, 64, false), 24);
  assert.equal(frameLength(buf, 0, 23, false), -1, "runs past the limit");
  dv.setUint8(5, 0x80);
  assert.equal(frameLength(buf, 0, 64, false), -1, "unknown flag");
  dv.setUint8(5, 0);
  dv.setUint8(4, 9);
  assert.equal(frameLength(buf, 0, 64, false), -1, "unknown kind");
  dv.setUint8(4, KIND_BATCH);
  dv.setUint16(6, 0, true);
  dv.setUint32(8, 16, true);
  dv.setUint32(12, 1, true);
  assert.equal(frameLength(buf, 0, 64, true), -1, "a batch cannot be nested");
  assert.equal(frameLength(buf, 0, 64, false), 32);
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

test("an index snapshot round-trips through the hint codec and a flipped byte is rejected", () => {
  const keys = Array.from({ length: 5000 }, (_, i) => new TextEncoder().encode(`key-${i}`));
  const src = arraySource(keys);
  const idx = new HashIndex();
  keys.forEach((k, i) => idx.upsert(halfSipHash(k, 0, k.length, 7, 9), k, 0, k.length, src, (i + 8) * 8));
  const bytes = encodeHint({
    fileId: new Uint8Array(16).fill(3),
    covered: 123456,
    lastFrame: 123000,
    lastCrc: 0xdeadbeef,
    k0: 7,
    k1: 9,
    spaces: [{ nsId: 0, name: "", shards: idx.exportShards() }],
  });
  const hint = decodeHint(bytes);
  assert.ok(hint);
  assert.equal(hint.covered, 123456);
  assert.equal(hint.lastCrc, 0xdeadbeef);
  const copy = new HashIndex();
  copy.importShards(hint.spaces[0]!.shards);
  assert.equal(copy.size, keys.length);
  keys.forEach((k, i) => assert.equal(copy.find(halfSipHash(k, 0, k.length, 7, 9), k, 0, k.length, src), (i + 8) * 8));
  for (const at of [0, 20, 40, 70, bytes.length >> 1, bytes.length - 1]) {
    const bad = bytes.slice();
    bad[at]! ^= 1;
    assert.equal(decodeHint(bad), undefined, `flip at ${at}`);
  }
  assert.equal(decodeHint(bytes.subarray(0, bytes.length - 8)), undefined, "truncated");
});
