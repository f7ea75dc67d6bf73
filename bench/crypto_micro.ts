/**
 * Micro-benchmark of the crypto primitives and their candidates, per record:
 * seal and open of a 150-byte value with 40 bytes of associated data, a nonce, a
 * lookup tag of a 24-byte key; per open: Argon2id at the defaults, HKDF; and the
 * first-import cost of each module. Prints one markdown table.
 *
 *   node_modules/.bin/deno run -A bench/crypto_micro.ts [--rounds 15] [--quick]
 *   node_modules/.bin/bun bench/crypto_micro.ts [--rounds 15] [--quick]
 *
 * Each row: the median and the best of `rounds` timed batches, in ns per call
 * (ms for the KDF rows), after a warm-up batch. Machine noise shows as the gap
 * between the two.
 *
 * @module
 */
import * as nodeCrypto from "node:crypto";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const isBun = typeof G.Bun !== "undefined";
const runtime = isBun ? `bun ${G.Bun.version}` : `deno ${G.Deno.version.deno}`;
const args: string[] = isBun ? G.process.argv.slice(2) : G.Deno.args;
const arg = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = args.includes("--quick");
const ROUNDS = arg("--rounds", quick ? 5 : 15);

// --- first import of each module (dynamic, so nothing below is loaded yet) ---
const importRows: [string, number][] = [];
async function timedImport<T>(label: string, load: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const m = await load();
  importRows.push([label, performance.now() - t]);
  return m;
}
const nobleChacha = await timedImport("@noble/ciphers/chacha.js", () => import("@noble/ciphers/chacha.js"));
const nobleAes = await timedImport("@noble/ciphers/aes.js", () => import("@noble/ciphers/aes.js"));
const nobleHmac = await timedImport("@noble/hashes/hmac.js", () => import("@noble/hashes/hmac.js"));
const nobleSha2 = await timedImport("@noble/hashes/sha2.js", () => import("@noble/hashes/sha2.js"));
const nobleBlake2 = await timedImport("@noble/hashes/blake2.js", () => import("@noble/hashes/blake2.js"));
const nobleArgon = await timedImport("@noble/hashes/argon2.js", () => import("@noble/hashes/argon2.js"));
const aeadMod = await timedImport("src/crypto/aead.ts", () => import("../src/crypto/aead.ts"));
const randomMod = await timedImport("src/crypto/random.ts", () => import("../src/crypto/random.ts"));
const kdfMod = await timedImport("src/crypto/kdf.ts", () => import("../src/crypto/kdf.ts"));
const macMod = await timedImport("src/crypto/mac.ts", () => import("../src/crypto/mac.ts"));

// --- timing ---
const rows: { what: string; median: number; best: number; unit: string }[] = [];
let sink = 0;

function bench(what: string, batch: number, fn: () => number | void | Uint8Array): void {
  if (quick) batch = Math.max(1, batch >> 2);
  for (let i = 0; i < batch; i++) fn(); // warm-up
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) {
      const v = fn();
      if (typeof v === "number") sink += v;
    }
    times.push(((performance.now() - t) / batch) * 1e6);
  }
  times.sort((a, b) => a - b);
  rows.push({ what, median: times[times.length >> 1]!, best: times[0]!, unit: "ns" });
}

function benchMs(what: string, runs: number, fn: () => unknown): void {
  fn(); // warm-up (first run also pays for allocating the memory)
  const times: number[] = [];
  for (let r = 0; r < (quick ? 2 : runs); r++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  rows.push({ what, median: times[times.length >> 1]!, best: times[0]!, unit: "ms" });
}

const { createAead, aeadImplementations, CIPHER_NAMES, TAG_BYTES } = aeadMod;
const rnd = (n: number) => randomMod.fillRandom(new Uint8Array(n));
const key = rnd(32), value = rnd(150), aad = rnd(40), key24 = rnd(24);
const nonces = new randomMod.NoncePool();
const nonce = new Uint8Array(12);
nonces.next(nonce, 0);

// --- AEAD: seal and open of one record ---
for (const name of CIPHER_NAMES) {
  for (const impl of aeadImplementations(name)) {
    const aead = createAead(name, key, impl);
    const out = new Uint8Array(1024);
    const sealed = new Uint8Array(value.length + TAG_BYTES);
    aead.seal(nonce, value, aad, sealed, 0);
    const back = new Uint8Array(value.length);
    const batch = impl === "noble" ? 4000 : 20000;
    bench(`${name} seal 150 B + 40 B AAD (${impl})`, batch, () => aead.seal(nonce, value, aad, out, 0));
    bench(`${name} open 150 B + 40 B AAD (${impl})`, batch, () => aead.open(nonce, sealed, aad, back, 0));
    const bad = sealed.slice();
    bad[3]! ^= 1;
    bench(`${name} open of a tampered record (${impl})`, batch, () => aead.open(nonce, bad, aad, back, 0));
    let pos = 0;
    bench(`${name} nonce + seal, records packed in 64 KiB (${impl})`, batch, () => {
      if (pos + 12 + 166 > out.length) pos = 0;
      nonces.next(out, pos);
      const n = aead.seal(out.subarray(pos, pos + 12), value, aad, out, pos + 12);
      pos += 12 + n;
      return n;
    });
  }
}
// The bare libraries, to show what the wrapper adds.
{
  const out = new Uint8Array(166);
  bench("chacha20-poly1305 seal, bare @noble/ciphers call", 4000, () => {
    nobleChacha.chacha20poly1305(key, nonce, aad).encrypt(value, out);
  });
  bench("aes-256-gcm seal, bare @noble/ciphers call", 4000, () => nobleAes.gcm(key, nonce, aad).encrypt(value));
  bench("aes-256-gcm seal, bare node:crypto calls", 20000, () => {
    const c = nodeCrypto.createCipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    c.update(value);
    c.final();
    return c.getAuthTag();
  });
  const keyObject = nodeCrypto.createSecretKey(key);
  bench("aes-256-gcm seal, bare node:crypto calls, KeyObject key", 20000, () => {
    const c = nodeCrypto.createCipheriv("aes-256-gcm", keyObject, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    c.update(value);
    c.final();
    return c.getAuthTag();
  });
}

// OpenSSL's EVP AEAD through FFI (not used by src/crypto: a candidate for the lead, see the
// report). One EVP_CIPHER_CTX per direction keeps the key schedule; a record is 5 calls.
// Skipped when libcrypto.so.3 does not load (macOS, Windows, no OpenSSL 3, no --allow-ffi).
const openSsl = await loadOpenSsl();
if (openSsl) {
  const ctl = new Uint8Array(4);
  const sealed = new Uint8Array(166), back = new Uint8Array(150), tag = sealed.subarray(150);
  for (const name of CIPHER_NAMES) {
    const L = openSsl;
    const cipher = name === "aes-256-gcm" ? L.EVP_aes_256_gcm() : L.EVP_chacha20_poly1305();
    const ec = L.EVP_CIPHER_CTX_new(), dc = L.EVP_CIPHER_CTX_new();
    L.EVP_EncryptInit_ex(ec, cipher, null, key, nonce);
    L.EVP_DecryptInit_ex(dc, cipher, null, key, nonce);
    const seal = () => {
      L.EVP_EncryptInit_ex(ec, null, null, null, nonce);
      L.EVP_EncryptUpdate(ec, null, ctl, aad, aad.length);
      L.EVP_EncryptUpdate(ec, sealed, ctl, value, value.length);
      L.EVP_EncryptFinal_ex(ec, back, ctl);
      return L.EVP_CIPHER_CTX_ctrl(ec, 0x10, /* GET_TAG */ 16, tag);
    };
    const open = () => {
      L.EVP_DecryptInit_ex(dc, null, null, null, nonce);
      L.EVP_DecryptUpdate(dc, null, ctl, aad, aad.length);
      L.EVP_DecryptUpdate(dc, back, ctl, sealed, value.length); // not authenticated until Final says 1
      L.EVP_CIPHER_CTX_ctrl(dc, 0x11, /* SET_TAG */ 16, tag);
      return L.EVP_DecryptFinal_ex(dc, back, ctl);
    };
    seal();
    const reference = new Uint8Array(166);
    createAead(name, key).seal(nonce, value, aad, reference, 0);
    if (sealed.join() !== reference.join() || open() !== 1) {
      throw new Error(`OpenSSL ${name} disagrees with createAead`);
    }
    bench(`${name} seal 150 B + 40 B AAD (OpenSSL 3 EVP via FFI, candidate)`, 20000, seal);
    bench(`${name} open 150 B + 40 B AAD (OpenSSL 3 EVP via FFI, candidate)`, 20000, open);
  }
}

// --- nonces ---
{
  const buf = new Uint8Array(12);
  bench("nonce from NoncePool (4 KiB refills)", 200000, () => nonces.next(buf, 0));
  bench("nonce from crypto.getRandomValues per record", 100000, () => crypto.getRandomValues(buf));
  bench("nonce from node:crypto randomFillSync per record", 100000, () => nodeCrypto.randomFillSync(buf));
}

// --- lookup tag of a 24-byte key ---
{
  const tagger = macMod.createLookupTagger(key, 16);
  const out = new Uint8Array(16);
  bench("lookup tag, 24 B key: HMAC-SHA256 keyed once (noble, chosen)", 50000, () => tagger.tagInto(key24, out, 0));
  bench("lookup tag, 24 B key: node:crypto createHmac per call", 50000, () => {
    return nodeCrypto.createHmac("sha256", key).update(key24).digest();
  });
  bench("lookup tag, 24 B key: noble hmac() per call", 20000, () => nobleHmac.hmac(nobleSha2.sha256, key, key24));
  bench("lookup tag, 24 B key: noble keyed BLAKE2s per call", 20000, () => nobleBlake2.blake2s(key24, { key }));
}

// --- per open ---
{
  const salt = rnd(16);
  const d = kdfMod.ARGON2ID_DEFAULTS;
  const label = `m=${d.memoryKiB} KiB, t=${d.passes}, p=${d.parallelism}`;
  benchMs(`Argon2id ${label} (noble, chosen)`, 5, () => kdfMod.deriveKeyArgon2id("correct horse", salt));
  const argon2Sync = (nodeCrypto as unknown as Record<string, unknown>).argon2Sync as
    | ((alg: string, o: Record<string, unknown>) => Uint8Array)
    | undefined;
  if (typeof argon2Sync === "function") {
    benchMs(`Argon2id ${label} (node:crypto argon2Sync)`, 5, () =>
      argon2Sync("argon2id", {
        message: "correct horse",
        nonce: salt,
        parallelism: d.parallelism,
        tagLength: 32,
        memory: d.memoryKiB,
        passes: d.passes,
      }));
  }
  benchMs(
    "Argon2id m=65536 KiB, t=3, p=4 (RFC 9106 second choice; noble)",
    3,
    () => nobleArgon.argon2id("correct horse", salt, { m: 65536, t: 3, p: 4, dkLen: 32 }),
  );
  bench("HKDF-SHA256, 32 B out (noble, chosen)", 5000, () => kdfMod.hkdfSha256(key, salt, "emdb/v1/value-key"));
  bench("HKDF-SHA256, 32 B out (node:crypto hkdfSync)", 5000, () => {
    nodeCrypto.hkdfSync("sha256", key, salt, "emdb/v1/value-key", 32);
  });
  bench("createAead aes-256-gcm (per open)", 5000, () => createAead("aes-256-gcm", key).destroy());
  bench("createLookupTagger (per open)", 5000, () => macMod.createLookupTagger(key).destroy());
}

// deno-lint-ignore no-explicit-any
type Fn = (...args: any[]) => number;
interface OpenSsl {
  EVP_CIPHER_CTX_new: Fn;
  EVP_aes_256_gcm: Fn;
  EVP_chacha20_poly1305: Fn;
  EVP_EncryptInit_ex: Fn;
  EVP_DecryptInit_ex: Fn;
  EVP_EncryptUpdate: Fn;
  EVP_DecryptUpdate: Fn;
  EVP_EncryptFinal_ex: Fn;
  EVP_DecryptFinal_ex: Fn;
  EVP_CIPHER_CTX_ctrl: Fn;
}

/** Binds the few EVP calls with the runtime's own FFI; undefined when the library does not load. */
async function loadOpenSsl(): Promise<OpenSsl | undefined> {
  // "p" = pointer held as an opaque value, "b" = a buffer or null, "i" = int.
  const table: Record<keyof OpenSsl, [string[], string]> = {
    EVP_CIPHER_CTX_new: [[], "p"],
    EVP_aes_256_gcm: [[], "p"],
    EVP_chacha20_poly1305: [[], "p"],
    EVP_EncryptInit_ex: [["p", "p", "p", "b", "b"], "i"],
    EVP_DecryptInit_ex: [["p", "p", "p", "b", "b"], "i"],
    EVP_EncryptUpdate: [["p", "b", "b", "b", "i"], "i"],
    EVP_DecryptUpdate: [["p", "b", "b", "b", "i"], "i"],
    EVP_EncryptFinal_ex: [["p", "b", "b"], "i"],
    EVP_DecryptFinal_ex: [["p", "b", "b"], "i"],
    EVP_CIPHER_CTX_ctrl: [["p", "i", "i", "b"], "i"],
  };
  try {
    if (isBun) {
      const spec = "bun:ffi";
      const { dlopen } = await import(spec);
      const t: Record<string, string> = { p: "ptr", b: "ptr", i: "i32" };
      const symbols = Object.fromEntries(
        Object.entries(table).map(([k, [a, r]]) => [k, { args: a.map((x) => t[x]), returns: t[r] }]),
      );
      return dlopen("libcrypto.so.3", symbols).symbols as OpenSsl;
    }
    const t: Record<string, string> = { p: "pointer", b: "buffer", i: "i32" };
    const symbols = Object.fromEntries(
      Object.entries(table).map(([k, [a, r]]) => [k, { parameters: a.map((x) => t[x]), result: t[r] }]),
    );
    return G.Deno.dlopen("libcrypto.so.3", symbols).symbols as OpenSsl;
  } catch (e) {
    console.error(`OpenSSL candidate skipped: ${(e as Error).message}`);
    return undefined;
  }
}

// --- report ---
const fmt = (x: number, unit: string) =>
  unit === "ms" ? `${x.toFixed(1)} ms` : x >= 10000 ? `${(x / 1000).toFixed(1)} µs` : `${Math.round(x)} ns`;
console.log(`\n### crypto micro-benchmark — ${runtime}, ${ROUNDS} rounds\n`);
console.log("| operation | median | best |");
console.log("| --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.what} | ${fmt(r.median, r.unit)} | ${fmt(r.best, r.unit)} |`);
console.log("\n| first import (in this process) | ms |");
console.log("| --- | ---: |");
for (const [label, ms] of importRows) console.log(`| ${label} | ${ms.toFixed(1)} |`);
if (sink === 42) console.log("");
