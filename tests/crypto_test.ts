/**
 * Unit tests of the crypto primitives (src/crypto): known-answer vectors through
 * every implementation this runtime offers, tamper and wrong-key cases, limits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import {
  type Aead,
  aeadImplementations,
  CIPHER_NAMES,
  type CipherName,
  createAead,
  defaultAeadImplementation,
  TAG_BYTES,
} from "../src/crypto/aead.ts";
import { fillRandom, NONCE_BYTES, NoncePool } from "../src/crypto/random.ts";
import {
  ARGON2ID_DEFAULTS,
  ARGON2ID_LIMITS,
  checkArgon2idParams,
  deriveKeyArgon2id,
  hkdfSha256,
  passphraseBytes,
} from "../src/crypto/kdf.ts";
import { createLookupTagger } from "../src/crypto/mac.ts";
import { argon2id } from "@noble/hashes/argon2.js";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** An independent reference for cross-checks: @noble/ciphers called directly. */
const reference = (name: CipherName, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) =>
  name === "aes-256-gcm"
    ? gcm(key, nonce, aad).encrypt(plaintext)
    : chacha20poly1305(key, nonce, aad).encrypt(plaintext);

const hex = (s: string): Uint8Array =>
  Uint8Array.from((s.replace(/[\s:]/g, "").match(/../g) ?? []).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Every (cipher, implementation) pair this runtime offers. */
const CASES: [CipherName, Aead["implementation"]][] = CIPHER_NAMES.flatMap((name) =>
  aeadImplementations(name).map((impl): [CipherName, Aead["implementation"]] => [name, impl])
);

function seal(aead: Aead, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_BYTES);
  assert.equal(aead.seal(nonce, plaintext, aad, out, 0), out.length);
  return out;
}

interface Vector {
  name: string;
  cipher: CipherName;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const VECTORS: Vector[] = [
  {
    name: "GCM spec (NIST) test case 13: empty plaintext, zero key",
    cipher: "aes-256-gcm",
    key: "00".repeat(32),
    nonce: "00".repeat(12),
    aad: "",
    plaintext: "",
    ciphertext: "",
    tag: "530f8afbc74536b9a963b4f1c4cb738b",
  },
  {
    name: "GCM spec (NIST) test case 14: one zero block",
    cipher: "aes-256-gcm",
    key: "00".repeat(32),
    nonce: "00".repeat(12),
    aad: "",
    plaintext: "00".repeat(16),
    ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
    tag: "d0d1c8a799996bf0265b98b5d48ab919",
  },
  {
    name: "GCM spec (NIST) test case 16: 60 bytes with 20 bytes of AAD",
    cipher: "aes-256-gcm",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
  {
    name: "RFC 8439 §2.8.2",
    cipher: "chacha20-poly1305",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: toHex(utf8(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    )),
    ciphertext: `
      d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2 a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6
      3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b 1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36
      92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58 fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc
      3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b 61 16`,
    tag: "1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91",
  },
];

for (const v of VECTORS) {
  for (const impl of aeadImplementations(v.cipher)) {
    test(`${v.cipher} through ${impl} matches ${v.name}`, () => {
      const aead = createAead(v.cipher, hex(v.key), impl);
      const nonce = hex(v.nonce), aad = hex(v.aad), plaintext = hex(v.plaintext);
      const sealed = seal(aead, nonce, plaintext, aad);
      assert.equal(toHex(sealed), toHex(hex(v.ciphertext)) + toHex(hex(v.tag)));
      // And it opens the published bytes (not only its own).
      const published = new Uint8Array([...hex(v.ciphertext), ...hex(v.tag)]);
      const back = new Uint8Array(plaintext.length + 8).fill(0xee);
      assert.equal(aead.open(nonce, published, aad, back, 4), plaintext.length);
      assert.equal(toHex(back.subarray(4, 4 + plaintext.length)), toHex(plaintext));
      assert.equal(back[3], 0xee, "nothing written before outPos");
      assert.equal(back[4 + plaintext.length], 0xee, "nothing written after the plaintext");
    });
  }
}

for (const [name, impl] of CASES) {
  const label = `${name} (${impl})`;

  test(`${label} rejects a flipped bit in the ciphertext, the tag, the AAD or the nonce, and leaves out untouched`, () => {
    const aead = createAead(name, fillRandom(new Uint8Array(32)), impl);
    const nonce = fillRandom(new Uint8Array(12)), aad = fillRandom(new Uint8Array(40));
    const value = fillRandom(new Uint8Array(150));
    const sealed = seal(aead, nonce, value, aad);
    const out = new Uint8Array(150);
    const untouched = () => assert.ok(out.every((b) => b === 0x5a), "out was written");
    for (
      const [what, buf, positions] of [
        ["ciphertext", sealed, [0, 75, 149]],
        ["tag", sealed, [150, 165]],
        ["aad", aad, [0, 39]],
        ["nonce", nonce, [0, 11]],
      ] as const
    ) {
      for (const i of positions) {
        buf[i]! ^= 0x01;
        out.fill(0x5a);
        assert.equal(aead.open(nonce, sealed, aad, out, 0), -1, `${what}[${i}] flipped`);
        untouched();
        buf[i]! ^= 0x01;
      }
    }
    assert.equal(aead.open(nonce, sealed, aad, out, 0), 150, "the original still opens");
    assert.deepEqual(out, value);
  });

  test(`${label} rejects a wrong key, a truncated record and a record shorter than a tag`, () => {
    const key = fillRandom(new Uint8Array(32));
    const aead = createAead(name, key, impl);
    const nonce = fillRandom(new Uint8Array(12)), aad = utf8("ns=1 at=64");
    const sealed = seal(aead, nonce, utf8("a value"), aad);
    const other = key.slice();
    other[31]! ^= 0x80;
    const out = new Uint8Array(64);
    assert.equal(createAead(name, other, impl).open(nonce, sealed, aad, out, 0), -1, "wrong key");
    assert.equal(aead.open(nonce, sealed.subarray(0, sealed.length - 1), aad, out, 0), -1, "one byte short");
    assert.equal(aead.open(nonce, sealed.subarray(1), aad, out, 0), -1, "first byte cut");
    assert.equal(aead.open(nonce, sealed.subarray(0, TAG_BYTES - 1), aad, out, 0), -1, "shorter than a tag");
    assert.equal(aead.open(nonce, new Uint8Array(0), aad, out, 0), -1, "empty");
  });

  test(`${label} seals and opens an empty plaintext with and without AAD`, () => {
    const aead = createAead(name, fillRandom(new Uint8Array(32)), impl);
    const nonce = fillRandom(new Uint8Array(12));
    for (const aad of [new Uint8Array(0), utf8("tombstone")]) {
      const sealed = seal(aead, nonce, new Uint8Array(0), aad);
      assert.equal(sealed.length, TAG_BYTES);
      assert.equal(aead.open(nonce, sealed, aad, new Uint8Array(0), 0), 0);
      sealed[0]! ^= 1;
      assert.equal(aead.open(nonce, sealed, aad, new Uint8Array(0), 0), -1);
    }
  });

  test(`${label} agrees with a direct @noble/ciphers call on random records of many lengths`, () => {
    const key = fillRandom(new Uint8Array(32));
    const aead = createAead(name, key, impl);
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 150, 1000, 70_000]) {
      const nonce = fillRandom(new Uint8Array(12)), aad = fillRandom(new Uint8Array(length % 50));
      const value = fillRandom(new Uint8Array(length));
      const expected = reference(name, key, nonce, aad, value);
      assert.equal(toHex(seal(aead, nonce, value, aad)), toHex(expected), `length ${length}`);
      const out = new Uint8Array(length);
      assert.equal(aead.open(nonce, expected, aad, out, 0), length);
      assert.deepEqual(out, value);
    }
  });

  test(`${label} writes at outPos inside a larger buffer and reports the bytes written`, () => {
    const aead = createAead(name, fillRandom(new Uint8Array(32)), impl);
    const nonce = fillRandom(new Uint8Array(12)), value = utf8("hello");
    const page = new Uint8Array(100).fill(7);
    assert.equal(aead.seal(nonce, value, new Uint8Array(0), page, 30), value.length + TAG_BYTES);
    assert.equal(page[29], 7);
    assert.equal(page[30 + value.length + TAG_BYTES], 7);
    const back = new Uint8Array(5);
    assert.equal(aead.open(nonce, page.subarray(30, 30 + value.length + TAG_BYTES), new Uint8Array(0), back, 0), 5);
    assert.deepEqual(back, value);
  });

  test(`${label} refuses misuse: a wrong nonce length, no room, overlapping buffers, use after destroy`, () => {
    const key = fillRandom(new Uint8Array(32));
    const aead = createAead(name, key, impl);
    const aad = new Uint8Array(0), value = utf8("0123456789");
    assert.throws(() => aead.seal(new Uint8Array(11), value, aad, new Uint8Array(64), 0), RangeError);
    assert.throws(() => aead.open(new Uint8Array(13), new Uint8Array(30), aad, new Uint8Array(64), 0), RangeError);
    assert.throws(() => aead.seal(new Uint8Array(12), value, aad, new Uint8Array(25), 0), RangeError);
    assert.throws(() => aead.seal(new Uint8Array(12), value, aad, new Uint8Array(64), 39), RangeError);
    assert.throws(() => aead.seal(new Uint8Array(12), value, aad, new Uint8Array(64), -1), RangeError);
    assert.throws(() => aead.open(new Uint8Array(12), new Uint8Array(30), aad, new Uint8Array(13), 0), RangeError);
    const shared = new Uint8Array(64);
    assert.throws(() => aead.seal(new Uint8Array(12), shared.subarray(0, 10), aad, shared, 5), RangeError);
    assert.throws(() => aead.open(new Uint8Array(12), shared.subarray(0, 30), aad, shared, 20), RangeError);
    key.fill(0); // the AEAD holds its own copy
    const sealed = seal(aead, new Uint8Array(12), value, aad);
    aead.destroy();
    assert.throws(() => aead.seal(new Uint8Array(12), value, aad, new Uint8Array(64), 0), TypeError);
    assert.throws(() => aead.open(new Uint8Array(12), sealed, aad, new Uint8Array(64), 0), TypeError);
  });
}

test("createAead refuses a key that is not 32 bytes, an unknown cipher and an unknown implementation", () => {
  assert.throws(() => createAead("aes-256-gcm", new Uint8Array(16)), RangeError);
  assert.throws(() => createAead("chacha20-poly1305", new Uint8Array(33)), RangeError);
  assert.throws(() => createAead("aes-128-gcm" as CipherName, new Uint8Array(32)), TypeError);
  assert.throws(() => createAead("aes-256-gcm", new Uint8Array(32), "wasm" as Aead["implementation"]), TypeError);
  assert.throws(() => createAead("aes-256-gcm", new Uint8Array(32), "noble"), TypeError);
});

test("createAead takes the first implementation offered: OpenSSL, then node:crypto, then noble", () => {
  const aes = aeadImplementations("aes-256-gcm");
  assert.deepEqual(aes.filter((i) => i !== "openssl"), ["node:crypto"]);
  assert.ok(aes.indexOf("openssl") <= 0, "OpenSSL, when offered, comes first");
  const chacha = aeadImplementations("chacha20-poly1305");
  assert.equal(chacha.at(-1), "noble");
  assert.deepEqual(
    chacha,
    ["openssl", "node:crypto", "noble"].filter((i) => chacha.includes(i as Aead["implementation"])),
  );
  for (const name of CIPHER_NAMES) {
    const aead = createAead(name, new Uint8Array(32));
    // EMDB_CRYPTO (unset in the suite, set by hand to run it on another implementation) may put another first.
    assert.equal(aead.implementation, defaultAeadImplementation(name));
    if (process.env.EMDB_CRYPTO === undefined) assert.equal(aead.implementation, aeadImplementations(name)[0]);
    aead.destroy();
  }
});

test("NoncePool hands out 12-byte nonces that do not repeat across many pool refills", () => {
  const pool = new NoncePool();
  const seen = new Set<string>();
  const buf = new Uint8Array(NONCE_BYTES + 2);
  for (let i = 0; i < 5000; i++) {
    buf.fill(0xab);
    pool.next(buf, 1);
    assert.equal(buf[0], 0xab);
    assert.equal(buf[13], 0xab);
    seen.add(toHex(buf.subarray(1, 13)));
  }
  assert.equal(seen.size, 5000);
  assert.throws(() => pool.next(new Uint8Array(12), 1), RangeError);
  assert.throws(() => pool.next(new Uint8Array(11), 0), RangeError);
});

test("fillRandom fills buffers larger than one getRandomValues call", () => {
  const big = fillRandom(new Uint8Array(200_000));
  assert.ok(big.subarray(150_000).some((b) => b !== 0));
  assert.ok(big.subarray(0, 1000).some((b) => b !== 0));
});

test("Argon2id through noble matches RFC 9106 §5.3 (with secret and associated data)", () => {
  const tag = argon2id(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
    m: 32,
    t: 3,
    p: 4,
    dkLen: 32,
    key: new Uint8Array(8).fill(3),
    personalization: new Uint8Array(12).fill(4),
  });
  assert.equal(toHex(tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
});

test("deriveKeyArgon2id at the defaults matches two native implementations for the same inputs", () => {
  // Reference: crypto_pwhash(ALG_ARGON2ID13, opslimit 2, memlimit 19456 KiB) of libsodium.js 0.8.4 and
  // Bun 1.4.4's node:crypto argon2Sync both give these bytes for "password" and 16 zero bytes of salt.
  assert.deepEqual(ARGON2ID_DEFAULTS, { memoryKiB: 19_456, passes: 2, parallelism: 1 });
  const key = deriveKeyArgon2id("password", new Uint8Array(16));
  assert.equal(toHex(key), "dc8e3e1bc1dbfa758d096f5beb2e50357f35dd001dca467842a6b3497ea9cc2b");
});

test("deriveKeyArgon2id treats a string as NFC UTF-8 and bytes as they are", () => {
  const salt = new Uint8Array(16).fill(5), params = { memoryKiB: 16, passes: 1, parallelism: 1 };
  const composed = deriveKeyArgon2id("caf\u00e9", salt, params);
  assert.deepEqual(deriveKeyArgon2id("cafe\u0301", salt, params), composed, "NFD and NFC agree");
  assert.deepEqual(deriveKeyArgon2id(utf8("caf\u00e9"), salt, params), composed);
  assert.notDeepEqual(deriveKeyArgon2id("Caf\u00e9", salt, params), composed);
  assert.notDeepEqual(deriveKeyArgon2id("caf\u00e9", new Uint8Array(16).fill(6), params), composed);
  assert.notDeepEqual(deriveKeyArgon2id("caf\u00e9", salt, { ...params, passes: 2 }), composed);
});

test("deriveKeyArgon2id refuses empty passphrases, bad salts and parameters out of range before any work", () => {
  const salt = new Uint8Array(16), small = { memoryKiB: 8, passes: 1, parallelism: 1 };
  assert.throws(() => deriveKeyArgon2id("", salt, small), RangeError);
  assert.throws(() => deriveKeyArgon2id(new Uint8Array(0), salt, small), RangeError);
  assert.throws(() => deriveKeyArgon2id("\ud800x", salt, small), TypeError);
  assert.throws(() => deriveKeyArgon2id(42 as unknown as string, salt, small), TypeError);
  assert.throws(() => deriveKeyArgon2id("pw", new Uint8Array(8), small), RangeError);
  assert.throws(
    () => deriveKeyArgon2id("pw", salt, { ...small, memoryKiB: ARGON2ID_LIMITS.memoryKiB + 1 }),
    RangeError,
  );
  assert.throws(() => deriveKeyArgon2id("pw", salt, { ...small, memoryKiB: 2 ** 32 }), RangeError);
  assert.throws(() => deriveKeyArgon2id("pw", salt, { ...small, passes: 0 }), RangeError);
  assert.throws(() => deriveKeyArgon2id("pw", salt, { ...small, passes: 1.5 }), RangeError);
  assert.throws(() => deriveKeyArgon2id("pw", salt, { ...small, parallelism: 2 }), RangeError, "m < 8p");
  assert.throws(() => checkArgon2idParams({ memoryKiB: NaN, passes: 1, parallelism: 1 }), RangeError);
  checkArgon2idParams(ARGON2ID_LIMITS);
  checkArgon2idParams(ARGON2ID_DEFAULTS);
});

test("passphraseBytes returns a fresh copy the caller may wipe", () => {
  const given = utf8("secret");
  const bytes = passphraseBytes(given);
  bytes.fill(0);
  assert.deepEqual(given, utf8("secret"));
});

test("HKDF-SHA256 matches RFC 5869 test cases 1, 2 and 3", () => {
  const okm1 = hkdfSha256(hex("0b".repeat(22)), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  assert.equal(
    toHex(okm1),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
  const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);
  const okm2 = hkdfSha256(seq(0x00, 80), seq(0x60, 80), seq(0xb0, 80), 82);
  assert.equal(
    toHex(okm2),
    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09" +
      "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
  );
  const okm3 = hkdfSha256(hex("0b".repeat(22)), new Uint8Array(0), "", 42);
  assert.equal(
    toHex(okm3),
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  );
  assert.equal(hkdfSha256(new Uint8Array(32), new Uint8Array(0), "x").length, 32);
  assert.throws(() => hkdfSha256(new Uint8Array(32), new Uint8Array(0), "x", 0), RangeError);
  assert.throws(() => hkdfSha256(new Uint8Array(32), new Uint8Array(0), "x", 8161), RangeError);
});

test("the lookup tagger matches RFC 4231 test cases 1, 2, 5 (truncated) and 6, many times over one key", () => {
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
  ];
  for (const [key, data, expected] of cases) {
    const tagger = createLookupTagger(key, expected.length / 2);
    for (let i = 0; i < 3; i++) assert.equal(toHex(tagger.tag(data)), expected, `call ${i}`);
  }
});

test("the lookup tagger writes at outPos, keeps no state between messages, and refuses misuse", () => {
  const tagger = createLookupTagger(fillRandom(new Uint8Array(32)), 16);
  const a = utf8("user:0000000000000000001"), b = utf8("user:0000000000000000002");
  const ta = tagger.tag(a);
  tagger.tag(b);
  assert.deepEqual(tagger.tag(a), ta);
  const out = new Uint8Array(20).fill(1);
  tagger.tagInto(a, out, 2);
  assert.deepEqual(out.subarray(2, 18), ta);
  assert.equal(out[1], 1);
  assert.equal(out[18], 1);
  assert.throws(() => tagger.tagInto(a, out, 5), RangeError);
  assert.throws(() => createLookupTagger(new Uint8Array(32), 15), RangeError);
  assert.throws(() => createLookupTagger(new Uint8Array(32), 33), RangeError);
  assert.throws(() => createLookupTagger(new Uint8Array(0)), RangeError);
  tagger.destroy();
  assert.throws(() => tagger.tag(a), TypeError);
});
