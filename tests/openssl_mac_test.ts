/**
 * Unit tests of the OpenSSL lookup tagger (src/crypto/openssl_mac.ts):
 * RFC 4231 answers, agreement with the @noble/hashes tagger over many key and
 * message lengths, a keyed context reused in any order, misuse and destroy.
 * The fallback without libcrypto is checked in tests/openssl_aead_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLookupTagger } from "../src/crypto/mac.ts";
import { createOpenSslLookupTagger, openSslHmacUnavailable } from "../src/crypto/openssl_mac.ts";
import { openSslStatus } from "../src/crypto/openssl_aead.ts";
import { Rng } from "./_rng.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const unavailable = openSslHmacUnavailable();
const skip = unavailable !== undefined && `OpenSSL's HMAC is not usable here: ${unavailable}`;

test("OpenSSL's HMAC is offered wherever its AEAD is", () => {
  if (openSslStatus().ciphers.length > 0) assert.equal(unavailable, undefined);
  else assert.equal(typeof unavailable, "string");
});

test("the OpenSSL tagger matches RFC 4231 test cases 1, 2, 5 (truncated), 6 and 7", { skip }, () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [hex("0b".repeat(20)), utf8("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    [
      utf8("Jefe"),
      utf8("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ],
    [hex("0c".repeat(20)), utf8("Test With Truncation"), "a3b6167473100ee06e0c796c2955552b"],
    [
      hex("aa".repeat(131)),
      utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      hex("aa".repeat(131)),
      utf8(
        "This is a test using a larger than block-size key and a larger than block-size data. " +
          "The key needs to be hashed before being used by the HMAC algorithm.",
      ),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];
  for (const [key, data, mac] of cases) {
    const t = createOpenSslLookupTagger(key, mac.length / 2)!;
    for (let i = 0; i < 3; i++) assert.equal(toHex(t.tag(data)), mac);
    t.destroy();
  }
});

test(
  "the OpenSSL tagger agrees with the noble tagger for keys of 1..131 bytes and messages of 0..300",
  { skip },
  () => {
    const rng = new Rng(4231);
    for (const keyLen of [1, 16, 32, 63, 64, 65, 131]) {
      const key = rng.bytes(keyLen);
      for (const tagLen of [16, 32]) {
        const a = createOpenSslLookupTagger(key, tagLen)!, b = createLookupTagger(key, tagLen);
        for (let n = 0; n <= 300; n += keyLen === 32 ? 1 : 13) {
          const data = rng.bytes(n);
          const out = new Uint8Array(tagLen + 5).fill(0xee);
          a.tagInto(data, out, 3);
          assert.equal(toHex(out.subarray(3, 3 + tagLen)), toHex(b.tag(data)), `key ${keyLen}, message ${n}`);
          assert.equal(out[2], 0xee);
          assert.equal(out[3 + tagLen], 0xee);
        }
        a.destroy();
        b.destroy();
      }
    }
  },
);

test("one keyed OpenSSL context tags messages in any order with no state carried between them", { skip }, () => {
  const rng = new Rng(5);
  const t = createOpenSslLookupTagger(rng.bytes(32), 16)!;
  const messages = Array.from({ length: 50 }, () => rng.bytes(rng.int(80)));
  const first = messages.map((m) => toHex(t.tag(m)));
  for (let round = 0; round < 3; round++) {
    for (const i of Array.from(messages.keys()).toSorted(() => rng.int(3) - 1)) {
      assert.equal(toHex(t.tag(messages[i]!)), first[i]);
    }
  }
  assert.equal(new Set(first).size, new Set(messages.map(toHex)).size);
  t.destroy();
});

test("the OpenSSL tagger refuses a tag that does not fit, and any use after destroy", { skip }, () => {
  const key = new Uint8Array(32).fill(3);
  const t = createOpenSslLookupTagger(key, 16)!;
  assert.equal(t.tagLength, 16);
  assert.throws(() => t.tagInto(utf8("k"), new Uint8Array(15), 0), RangeError);
  assert.throws(() => t.tagInto(utf8("k"), new Uint8Array(16), 1), RangeError);
  assert.throws(() => t.tagInto(utf8("k"), new Uint8Array(16), -1), RangeError);
  t.destroy();
  t.destroy();
  assert.throws(() => t.tag(utf8("k")), TypeError);
  assert.deepEqual(key, new Uint8Array(32).fill(3), "the caller's key is not modified");
});
