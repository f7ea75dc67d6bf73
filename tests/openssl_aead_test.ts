/**
 * Unit tests of the OpenSSL AEAD (src/crypto/openssl_aead.ts): known answers,
 * byte-for-byte agreement with @noble/ciphers and node:crypto over many
 * lengths, one context reused across records and refusals, tampering, destroy,
 * and how the choice falls back — no libcrypto, a preference in EMDB_CRYPTO,
 * Deno without --allow-ffi, a Bun single-file executable — with databases
 * written by one implementation read by another.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import {
  type Aead,
  aeadImplementations,
  CIPHER_NAMES,
  type CipherName,
  createAead,
  TAG_BYTES,
} from "../src/crypto/aead.ts";
import { createOpenSslAead, openSslCiphers, openSslStatus } from "../src/crypto/openssl_aead.ts";
import { LIBCRYPTO, LIBCRYPTO_CANDIDATES } from "../ffi/libcrypto.ts";
import { openLibcrypto } from "../src/crypto/openssl_aead.ts";
import { currentRuntime, fixture, runFixture, runtimeExecutable, tempDbPath, tempDir } from "./_helpers.ts";
import { Rng } from "./_rng.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.replace(/\s/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** An independent reference: @noble/ciphers called directly. */
const reference = (name: CipherName, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) =>
  name === "aes-256-gcm"
    ? gcm(key, nonce, aad).encrypt(plaintext)
    : chacha20poly1305(key, nonce, aad).encrypt(plaintext);

/** Whether this machine has a libcrypto at one of the absolute paths emdb looks at (then it must load). */
const systemHasLibcrypto = process.platform === "linux"
  ? LIBCRYPTO_CANDIDATES.linux.some((p) => p.startsWith("/") && existsSync(p))
  : process.platform === "darwin"
  ? LIBCRYPTO_CANDIDATES.darwin.some((p) => existsSync(p))
  : false;

const OFFERED: CipherName[] = CIPHER_NAMES.filter((n) => openSslCiphers().has(n));
const noOpenSsl = OFFERED.length === 0 && `OpenSSL is not usable here: ${openSslStatus().reasons.join("; ")}`;

function sealWith(aead: Aead, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_BYTES);
  assert.equal(aead.seal(nonce, plaintext, aad, out, 0), out.length);
  return out;
}

test("OpenSSL loads where the system has libcrypto, and offers both ciphers after its self-test", {
  skip: !systemHasLibcrypto && process.env.EMDB_LIBCRYPTO === undefined && "no libcrypto at a known path",
}, () => {
  const s = openSslStatus();
  assert.match(s.version ?? "", /^OpenSSL [13]\.\d+\.\d+/, s.reasons.join("; "));
  assert.deepEqual([...s.ciphers].sort(), ["aes-256-gcm", "chacha20-poly1305"], s.reasons.join("; "));
  assert.deepEqual(s.reasons, []);
  for (const name of CIPHER_NAMES) assert.equal(aeadImplementations(name)[0], "openssl");
});

const VECTORS: {
  name: string;
  cipher: CipherName;
  key: string;
  nonce: string;
  aad: string;
  plain: string;
  sealed: string;
}[] = [
  {
    name: "GCM spec test case 13 (empty plaintext, no AAD)",
    cipher: "aes-256-gcm",
    key: "00".repeat(32),
    nonce: "00".repeat(12),
    aad: "",
    plain: "",
    sealed: "530f8afbc74536b9a963b4f1c4cb738b",
  },
  {
    name: "GCM spec test case 15 (64 bytes, no AAD)",
    cipher: "aes-256-gcm",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "",
    plain: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
    sealed: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad" +
      "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    name: "RFC 8439 §2.8.2",
    cipher: "chacha20-poly1305",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plain: toHex(new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    )),
    sealed: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691",
  },
];

for (const v of VECTORS) {
  test(`OpenSSL ${v.cipher} seals and opens ${v.name}`, { skip: !OFFERED.includes(v.cipher) && "not offered" }, () => {
    const aead = createOpenSslAead(v.cipher, hex(v.key));
    const nonce = hex(v.nonce), aad = hex(v.aad), plain = hex(v.plain), sealed = hex(v.sealed);
    assert.equal(toHex(sealWith(aead, nonce, plain, aad)), v.sealed);
    const back = new Uint8Array(plain.length + 2).fill(0xee);
    assert.equal(aead.open(nonce, sealed, aad, back, 1), plain.length);
    assert.equal(toHex(back.subarray(1, 1 + plain.length)), v.plain);
    assert.equal(back[0], 0xee);
    assert.equal(back[plain.length + 1], 0xee);
    aead.destroy();
  });
}

for (const name of CIPHER_NAMES) {
  test(`OpenSSL ${name} agrees byte for byte with @noble/ciphers and node:crypto at every length 0..300 and beyond`, {
    skip: !OFFERED.includes(name) && "not offered",
  }, () => {
    const rng = new Rng(0x55a1 + name.length);
    const key = rng.bytes(32);
    const ossl = createOpenSslAead(name, key);
    const others = aeadImplementations(name).filter((i) => i !== "openssl").map((i) => createAead(name, key, i));
    assert.ok(others.length > 0);
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), 1023, 1024, 1025, 4096, 65_543, 200_000];
    for (const n of lengths) {
      const nonce = rng.bytes(12), aad = rng.bytes(n % 97), plain = rng.bytes(n);
      const at = n % 5; // seal and open at an offset inside a larger buffer
      const out = new Uint8Array(at + n + TAG_BYTES + 3);
      assert.equal(ossl.seal(nonce, plain, aad, out, at), n + TAG_BYTES);
      const sealed = out.slice(at, at + n + TAG_BYTES);
      assert.equal(toHex(sealed), toHex(reference(name, key, nonce, aad, plain)), `length ${n}`);
      for (const other of others) {
        const back = new Uint8Array(n);
        assert.equal(
          other.open(nonce, sealed, aad, back, 0),
          n,
          `${other.implementation} opens OpenSSL's, length ${n}`,
        );
        assert.ok(back.every((b, i) => b === plain[i]));
        const theirs = sealWith(other, nonce, plain, aad);
        const mine = new Uint8Array(n + 4);
        assert.equal(ossl.open(nonce, theirs, aad, mine, 4), n, `OpenSSL opens ${other.implementation}'s, length ${n}`);
        assert.ok(mine.subarray(4).every((b, i) => b === plain[i]));
      }
      const back = new Uint8Array(n + at);
      assert.equal(ossl.open(nonce, sealed, aad, back, at), n);
      assert.ok(back.subarray(at).every((b, i) => b === plain[i]), `length ${n}`);
    }
    ossl.destroy();
    for (const o of others) o.destroy();
  });

  test(`OpenSSL ${name}: one pair of contexts serves records in any order, also right after a refused one`, {
    skip: !OFFERED.includes(name) && "not offered",
  }, () => {
    const rng = new Rng(77);
    const key = rng.bytes(32);
    const aead = createOpenSslAead(name, key);
    const records = Array.from({ length: 200 }, (_, i) => {
      const nonce = rng.bytes(12), aad = rng.bytes(rng.int(64)), plain = rng.bytes(rng.int(400));
      return { i, nonce, aad, plain, sealed: sealWith(aead, nonce, plain, aad) };
    });
    for (let round = 0; round < 3; round++) {
      for (const r of records.toSorted(() => rng.int(3) - 1)) {
        if (rng.int(4) === 0) {
          // A refusal (wrong associated data) between two good opens must not leave state behind.
          const junk = new Uint8Array(r.plain.length);
          const aad = r.aad.length > 0 ? r.aad.slice(1) : new Uint8Array([1]);
          assert.equal(aead.open(r.nonce, r.sealed, aad, junk, 0), -1);
        }
        const back = new Uint8Array(r.plain.length);
        assert.equal(aead.open(r.nonce, r.sealed, r.aad, back, 0), r.plain.length, `record ${r.i}`);
        assert.equal(toHex(back), toHex(r.plain));
        assert.equal(toHex(reference(name, key, r.nonce, r.aad, r.plain)), toHex(r.sealed));
      }
    }
    aead.destroy();
  });

  test(
    `OpenSSL ${name} refuses every flipped bit, another nonce, key or AAD, and a truncation, leaving out untouched`,
    {
      skip: !OFFERED.includes(name) && "not offered",
    },
    () => {
      const rng = new Rng(9);
      const key = rng.bytes(32), nonce = rng.bytes(12), aad = rng.bytes(20), plain = rng.bytes(40);
      const aead = createOpenSslAead(name, key);
      const sealed = sealWith(aead, nonce, plain, aad);
      const out = new Uint8Array(plain.length).fill(0xab);
      const untouched = () => assert.ok(out.every((b) => b === 0xab), "out untouched");
      for (let i = 0; i < sealed.length * 8; i++) {
        const bad = sealed.slice();
        bad[i >> 3]! ^= 1 << (i & 7);
        assert.equal(aead.open(nonce, bad, aad, out, 0), -1, `bit ${i}`);
        untouched();
      }
      for (let i = 0; i < aad.length * 8; i += 7) {
        const bad = aad.slice();
        bad[i >> 3]! ^= 1 << (i & 7);
        assert.equal(aead.open(nonce, sealed, bad, out, 0), -1, `aad bit ${i}`);
        untouched();
      }
      const otherNonce = nonce.slice();
      otherNonce[11]! ^= 0x80;
      assert.equal(aead.open(otherNonce, sealed, aad, out, 0), -1);
      assert.equal(aead.open(nonce, sealed, new Uint8Array(0), out, 0), -1, "AAD dropped");
      assert.equal(aead.open(nonce, sealed.subarray(0, sealed.length - 1), aad, out, 0), -1, "one byte short");
      assert.equal(aead.open(nonce, sealed.subarray(0, 15), aad, out, 0), -1, "shorter than a tag");
      assert.equal(aead.open(nonce, new Uint8Array(0), aad, out, 0), -1, "empty");
      const wrongKey = key.slice();
      wrongKey[0]! ^= 1;
      const other = createOpenSslAead(name, wrongKey);
      assert.equal(other.open(nonce, sealed, aad, out, 0), -1, "wrong key");
      untouched();
      assert.equal(aead.open(nonce, sealed, aad, out, 0), plain.length, "still opens the genuine record");
      assert.equal(toHex(out), toHex(plain));
      aead.destroy();
      other.destroy();
    },
  );

  test(`OpenSSL ${name}: destroy frees the contexts once, and the object refuses work afterwards`, {
    skip: !OFFERED.includes(name) && "not offered",
  }, () => {
    const key = new Uint8Array(32).fill(5);
    const aead = createOpenSslAead(name, key);
    assert.equal(aead.implementation, "openssl");
    assert.equal(aead.name, name);
    const sealed = sealWith(aead, new Uint8Array(12), new Uint8Array(3), new Uint8Array(0));
    aead.destroy();
    aead.destroy(); // idempotent: no double free
    assert.throws(
      () => aead.seal(new Uint8Array(12), new Uint8Array(3), new Uint8Array(0), new Uint8Array(64), 0),
      TypeError,
    );
    assert.throws(() => aead.open(new Uint8Array(12), sealed, new Uint8Array(0), new Uint8Array(64), 0), TypeError);
    assert.deepEqual(key, new Uint8Array(32).fill(5), "the caller's key is not modified");
    // Many forgotten objects: their contexts go to the FinalizationRegistry, nothing breaks.
    for (let i = 0; i < 2000; i++) createOpenSslAead(name, key);
    const fresh = createOpenSslAead(name, key);
    const back = new Uint8Array(3);
    assert.equal(fresh.open(new Uint8Array(12), sealed, new Uint8Array(0), back, 0), 3);
    fresh.destroy();
  });
}

test("the FFI binder passes handles and NULLs through untouched, and refuses a call of the wrong arity", {
  skip: noOpenSsl,
}, () => {
  const opened = openLibcrypto(LIBCRYPTO);
  assert.ok("lib" in opened);
  const L = opened.lib;
  const ctx = L.EVP_CIPHER_CTX_new();
  assert.notEqual(ctx, null);
  assert.notEqual(typeof ctx, "bigint", "a handle is the runtime's own pointer value, not converted");
  // NULL cipher and key on a fresh context: OpenSSL refuses (0) instead of crashing, so NULL arrived as NULL.
  assert.equal(L.EVP_EncryptInit_ex(ctx, null, null, null, null), 0);
  L.ERR_clear_error();
  assert.equal(L.EVP_EncryptInit_ex(ctx, L.EVP_aes_256_gcm(), null, new Uint8Array(32), null), 1);
  const call = L.EVP_CIPHER_CTX_free as unknown as (...a: unknown[]) => unknown;
  assert.throws(() => call(), TypeError);
  assert.throws(() => call(ctx, 1), TypeError);
  L.EVP_CIPHER_CTX_free(ctx);
});

test("createOpenSslAead refuses a wrong key size, and a cipher OpenSSL does not offer names the reason", () => {
  if (OFFERED.length > 0) assert.throws(() => createOpenSslAead(OFFERED[0]!, new Uint8Array(31)), RangeError);
  for (const name of CIPHER_NAMES.filter((n) => !OFFERED.includes(n))) {
    assert.throws(() => createOpenSslAead(name, new Uint8Array(32)), TypeError);
  }
});

interface Report {
  offered: Record<CipherName, string[]>;
  defaults: Record<CipherName, string>;
  openssl: { version: string | null; ciphers: string[]; reasons: string[] };
  /** "openssl", or why OpenSSL's HMAC is not used. */
  hmac: string;
}

async function child(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ report: Report; lines: string[] }> {
  const r = await runFixture("openssl_child.ts", args, {
    env: { ...process.env as Record<string, string>, ...env },
  });
  assert.equal(r.code, 0, `child failed:\n${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  return { report: JSON.parse(lines[0]!) as Report, lines: lines.slice(1) };
}

test("a missing libcrypto (EMDB_LIBCRYPTO at no file) falls back cleanly, and databases cross between the two", {
  skip: noOpenSsl,
}, async (t) => {
  const missing = join(tempDir(t), "no-such-libcrypto.so.3");
  const { report } = await child(["info"], { EMDB_LIBCRYPTO: missing });
  assert.equal(report.openssl.version, null);
  assert.deepEqual(report.openssl.ciphers, []);
  assert.match(report.openssl.reasons.join("\n"), /no-such-libcrypto\.so\.3/, "the reason names the path tried");
  assert.match(report.hmac, /no-such-libcrypto\.so\.3/, "no OpenSSL HMAC either");
  for (const name of CIPHER_NAMES) {
    assert.ok(!report.offered[name].includes("openssl"));
    assert.equal(report.defaults[name], report.offered[name][0]);
    assert.notEqual(report.defaults[name], "openssl");
  }
  for (const name of OFFERED) {
    // Written through OpenSSL (this process), read and extended without it, read back here.
    const path = tempDbPath(t, `${name}.emdb`);
    const w = await child(["write", path, name, "by openssl"]);
    assert.equal(w.report.defaults[name], "openssl");
    assert.deepEqual(w.lines, ["written"]);
    const r = await child(["read", path, name], { EMDB_LIBCRYPTO: missing });
    assert.deepEqual(r.lines, ["value=by openssl"]);
    const w2 = await child(["write", path, name, "without openssl"], { EMDB_LIBCRYPTO: missing });
    assert.deepEqual(w2.lines, ["written"]);
    const r2 = await child(["read", path, name]);
    assert.deepEqual(r2.lines, ["value=without openssl"]);
  }
});

test("EMDB_CRYPTO puts an implementation first where it has the cipher, and names the valid ones when wrong", {
  skip: noOpenSsl,
}, async () => {
  const node = await child(["info"], { EMDB_CRYPTO: "node:crypto" });
  assert.equal(node.report.defaults["aes-256-gcm"], "node:crypto");
  assert.ok(node.report.offered["aes-256-gcm"].includes("openssl"), "still offered, only not first");
  const noble = await child(["info"], { EMDB_CRYPTO: "noble" });
  assert.equal(noble.report.defaults["chacha20-poly1305"], "noble");
  assert.equal(noble.report.defaults["aes-256-gcm"], noble.report.offered["aes-256-gcm"][0], "noble has no AES");
  const bad = await child(["info"], { EMDB_CRYPTO: "wasm" });
  assert.match(
    bad.report.defaults["aes-256-gcm"],
    /^error TypeError: EMDB_CRYPTO must be one of openssl, node:crypto, noble/,
  );
});

test("Deno without --allow-ffi never prompts for OpenSSL: encrypted in-memory databases use node:crypto", {
  skip: currentRuntime !== "deno" && "Deno's permissions only",
}, () => {
  const deno = runtimeExecutable("deno")!;
  const r = spawnSync(deno, [
    "run",
    "--allow-read",
    "--allow-env",
    fixture("openssl_child.ts"),
    "memory",
    "aes-256-gcm",
  ], {
    encoding: "utf8",
    timeout: 60_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const [first, second] = r.stdout.trim().split("\n");
  const report = JSON.parse(first!) as Report;
  assert.deepEqual(report.openssl.ciphers, []);
  assert.match(report.openssl.reasons.join(" "), /does not grant FFI/);
  assert.match(report.hmac, /does not grant FFI/);
  assert.equal(second, "memory=ok implementation=node:crypto");
});

const bun = fileURLToPath(new URL("../node_modules/.bin/bun", import.meta.url));

test("a bun build --compile executable loads the system's libcrypto at run time and reads what OpenSSL wrote", {
  skip: (!existsSync(bun) && "the pinned bun is not installed") || noOpenSsl,
}, async (t) => {
  const exe = join(tempDir(t), "openssl_app");
  const b = spawnSync(bun, ["build", "--compile", fixture("openssl_child.ts"), "--outfile", exe], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(b.status, 0, `bun build --compile failed:\n${b.stdout}\n${b.stderr}`);
  const path = tempDbPath(t);
  const name = OFFERED[0]!;
  await child(["write", path, name, "from the tests"]);
  const r = spawnSync(exe, ["read", path, name], { cwd: tempDir(t), encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const [first, second] = r.stdout.trim().split("\n");
  const report = JSON.parse(first!) as Report;
  assert.equal(report.defaults[name], "openssl", report.openssl.reasons.join("; "));
  assert.equal(report.hmac, "openssl");
  assert.equal(second, "value=from the tests");
});
