/**
 * Micro-benchmark of the crypto primitives and their candidates, per record:
 * seal and open of a 150-byte value with 60 bytes of associated data (an
 * encrypted PUT's is 52) through every AEAD implementation this runtime offers
 * (OpenSSL through FFI, node:crypto, noble), a nonce, a lookup tag of a 24-byte
 * key; per open: Argon2id at the defaults, HKDF; and the first-import cost of
 * each module. Prints one markdown table.
 *
 *   node_modules/.bin/deno run -A bench/crypto_micro.ts [--rounds 15] [--quick]
 *   node_modules/.bin/bun bench/crypto_micro.ts [--rounds 15] [--quick]
 *
 * Each row: the median and the best of `rounds` timed batches, in ns per call
 * (ms for the KDF rows), after a warm-up batch. Machine noise shows as the gap
 * between the two.
 *
 * With `--e2e` it measures the end-to-end effect instead, through the public
 * API: `get` and `getInto` of 150-byte values on a 100,000-key database, and a
 * bulk load of 1,000,000 records (`setMany` per 50,000, one `flush`), for a
 * plaintext database and encrypted ones (both ciphers), interleaved, with the
 * implementation `createAead` chooses (set `EMDB_CRYPTO=node:crypto` or
 * `noble` to measure the others):
 *
 *   node_modules/.bin/deno run -A bench/crypto_micro.ts --e2e [--keys 100000] [--records 1000000] [--rounds 7]
 *   node_modules/.bin/bun bench/crypto_micro.ts --e2e [--keys 100000] [--records 1000000] [--rounds 7]
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
const e2e = args.includes("--e2e");
const ROUNDS = arg("--rounds", quick ? 5 : e2e ? 7 : 15);
if (e2e) {
  await endToEnd();
  if (isBun) G.process.exit(0);
  else G.Deno.exit(0);
}

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
const ffiMod = await import("../ffi/mod.ts");
const opensslMod = await timedImport("src/crypto/openssl_aead.ts", () => import("../src/crypto/openssl_aead.ts"));
const opensslMacMod = await timedImport("src/crypto/openssl_mac.ts", () => import("../src/crypto/openssl_mac.ts"));
{
  const t = performance.now();
  opensslMod.openSslStatus();
  importRows.push(["OpenSSL: load libcrypto and self-test both ciphers (first use)", performance.now() - t]);
}

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
const key = rnd(32), value = rnd(150), aad = rnd(60), key24 = rnd(24);
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
    bench(`${name} seal 150 B + 60 B AAD (${impl})`, batch, () => aead.seal(nonce, value, aad, out, 0));
    bench(`${name} open 150 B + 60 B AAD (${impl})`, batch, () => aead.open(nonce, sealed, aad, back, 0));
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

// The same five EVP calls of a record as src/crypto/openssl_aead.ts, made straight through the
// FFI binder: what the Aead object (argument checks, scratch copy, tag handling) adds on top.
if (opensslMod.openSslCiphers().size > 0) {
  const L = ffiMod.binder.open(
    [ffiMod.binder.env("EMDB_LIBCRYPTO") ?? ffiMod.LIBCRYPTO_CANDIDATES[ffiMod.binder.os][0]!],
    ffiMod.LIBCRYPTO,
  );
  const outl = new Uint8Array(4), sink = new Uint8Array(16);
  const sealed = new Uint8Array(166), back = new Uint8Array(150), tag = new Uint8Array(16);
  for (const name of opensslMod.openSslCiphers()) {
    const cipher = name === "aes-256-gcm" ? L.EVP_aes_256_gcm() : L.EVP_chacha20_poly1305!();
    const ec = L.EVP_CIPHER_CTX_new(), dc = L.EVP_CIPHER_CTX_new();
    L.EVP_EncryptInit_ex(ec, cipher, null, key, null);
    L.EVP_DecryptInit_ex(dc, cipher, null, key, null);
    const seal = () => {
      L.EVP_EncryptInit_ex(ec, null, null, null, nonce);
      L.EVP_EncryptUpdate(ec, null, outl, aad, aad.length);
      L.EVP_EncryptUpdate(ec, sealed, outl, value, value.length);
      L.EVP_EncryptFinal_ex(ec, sink, outl);
      return L.EVP_CIPHER_CTX_ctrl(ec, ffiMod.EVP_CTRL.AEAD_GET_TAG, 16, tag);
    };
    const open = () => {
      L.EVP_DecryptInit_ex(dc, null, null, null, nonce);
      L.EVP_DecryptUpdate(dc, null, outl, aad, aad.length);
      L.EVP_DecryptUpdate(dc, back, outl, sealed, value.length);
      L.EVP_CIPHER_CTX_ctrl(dc, ffiMod.EVP_CTRL.AEAD_SET_TAG, 16, tag);
      return L.EVP_DecryptFinal_ex(dc, sink, outl);
    };
    seal();
    if (open() !== 1) throw new Error(`bare OpenSSL ${name} does not open its own record`);
    bench(`${name} seal, bare EVP calls through the FFI binder`, 20000, seal);
    bench(`${name} open, bare EVP calls through the FFI binder`, 20000, open);
    L.EVP_CIPHER_CTX_free(ec);
    L.EVP_CIPHER_CTX_free(dc);
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
  bench(`lookup tag, 24 B key: HMAC-SHA256 keyed once (${tagger.constructor.name})`, 50000, () => {
    tagger.tagInto(key24, out, 0);
  });
  const osslTagger = opensslMacMod.createOpenSslLookupTagger(key, 16);
  if (osslTagger !== undefined) {
    bench("lookup tag, 24 B key: HMAC-SHA256 keyed once (OpenSSL HMAC_CTX via FFI)", 50000, () => {
      osslTagger.tagInto(key24, out, 0);
    });
    osslTagger.destroy();
  }
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

// --- report ---
const fmt = (x: number, unit: string) =>
  unit === "ms" ? `${x.toFixed(1)} ms` : x >= 10000 ? `${(x / 1000).toFixed(1)} µs` : `${Math.round(x)} ns`;
const ossl = opensslMod.openSslStatus();
console.log(`\n### crypto micro-benchmark — ${runtime}, ${ROUNDS} rounds\n`);
console.log(`${ossl.version ?? "no OpenSSL"}${ossl.reasons.length > 0 ? ` (${ossl.reasons.join("; ")})` : ""}\n`);
console.log("| operation | median | best |");
console.log("| --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.what} | ${fmt(r.median, r.unit)} | ${fmt(r.best, r.unit)} |`);
console.log("\n| first import (in this process) | ms |");
console.log("| --- | ---: |");
for (const [label, ms] of importRows) console.log(`| ${label} | ${ms.toFixed(1)} |`);
if (sink === 42) console.log("");

/**
 * The end-to-end effect through the public API (`--e2e`): gets on a `--keys`-key database and a
 * `--records`-record bulk load, plaintext and encrypted (both ciphers), interleaved round by round.
 */
async function endToEnd(): Promise<void> {
  const { Emdb } = await import("../mod.ts");
  const { defaultAeadImplementation } = await import("../src/crypto/aead.ts");
  const { openSslStatus } = await import("../src/crypto/openssl_aead.ts");
  const { BULK_CHUNK, shuffledOrder, Stream } = await import("./workload.ts");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  let acc = 0;
  const KEYS = arg("--keys", 100_000), RECORDS = arg("--records", 1_000_000);
  const key = new Uint8Array(32).fill(42);
  type Setup = { label: string; options: Record<string, unknown> };
  const setups: Setup[] = [
    { label: "plaintext", options: {} },
    {
      label: `aes-256-gcm (${defaultAeadImplementation("aes-256-gcm")})`,
      options: { encryption: { key }, cipher: "aes-256-gcm" },
    },
    {
      label: `chacha20-poly1305 (${defaultAeadImplementation("chacha20-poly1305")})`,
      options: { encryption: { key }, cipher: "chacha20-poly1305" },
    },
  ];
  const stream = new Stream(Math.max(KEYS, RECORDS));
  const root = mkdtempSync(join(tmpdir(), "emdb-crypto-e2e-"));
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1]!;
  const best = (xs: number[]) => Math.min(...xs);
  const results = setups.map(() => ({ get: [] as number[], getInto: [] as number[], bulk: [] as number[] }));
  try {
    // Reads: one database per setup, filled once; every round reads all keys once in a shuffled order.
    // deno-lint-ignore no-explicit-any
    const dbs: any[] = [];
    for (const [i, s] of setups.entries()) {
      const db = Emdb.open(join(root, `get-${i}.emdb`), s.options);
      for (let c = 0; c < KEYS; c += BULK_CHUNK) db.setMany(stream.pairs(c, Math.min(KEYS, c + BULK_CHUNK)));
      db.flush();
      dbs.push(db);
    }
    const order = shuffledOrder(KEYS);
    const probes = stream.keyCopies(0, KEYS);
    const target = new Uint8Array(256);
    for (const db of dbs) for (let i = 0; i < KEYS; i++) acc += db.get(probes[i]!).length; // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, db] of dbs.entries()) {
        let t = performance.now();
        for (let j = 0; j < KEYS; j++) acc += db.get(probes[order[j]!]!).length;
        results[i]!.get.push(((performance.now() - t) / KEYS) * 1e6);
        t = performance.now();
        for (let j = 0; j < KEYS; j++) acc += db.getInto(probes[order[j]!]!, target);
        results[i]!.getInto.push(((performance.now() - t) / KEYS) * 1e6);
      }
    }
    for (const db of dbs) db.close();
    // Bulk loads: a fresh database per run, chunks built before the clock starts.
    const chunks = [];
    for (let c = 0; c < RECORDS; c += BULK_CHUNK) chunks.push(stream.pairs(c, Math.min(RECORDS, c + BULK_CHUNK)));
    const bulkRuns = arg("--bulk-runs", quick ? 1 : 3);
    for (let r = 0; r < bulkRuns; r++) {
      for (const [i, s] of setups.entries()) {
        const path = join(root, `bulk-${i}-${r}.emdb`);
        const db = Emdb.open(path, s.options);
        const t = performance.now();
        for (const chunk of chunks) db.setMany(chunk);
        db.flush();
        results[i]!.bulk.push(performance.now() - t);
        db.close();
        rmSync(path, { force: true });
        rmSync(path + ".hint", { force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const plain = results[0]!;
  const s = openSslStatus();
  console.log(`\n### encrypted vs plaintext, end to end — ${runtime}\n`);
  console.log(
    `${s.version ?? "no OpenSSL"}; ${KEYS.toLocaleString("en")} keys for reads (${ROUNDS} rounds), ` +
      `${
        RECORDS.toLocaleString("en")
      } records for bulk loads (${plain.bulk.length} runs); 24-byte keys, 150-byte values\n`,
  );
  console.log(
    "| database | get, median (best) | vs plaintext | getInto, median (best) | vs plaintext | bulk load, median (best) | vs plaintext |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [i, st] of setups.entries()) {
    const r = results[i]!;
    const d = (a: number[], b: number[]) => i === 0 ? "" : `+${Math.round(median(a) - median(b))} ns`;
    console.log(
      `| ${st.label} | ${Math.round(median(r.get))} ns (${Math.round(best(r.get))}) | ${d(r.get, plain.get)} ` +
        `| ${Math.round(median(r.getInto))} ns (${Math.round(best(r.getInto))}) | ${d(r.getInto, plain.getInto)} ` +
        `| ${Math.round(median(r.bulk))} ms (${Math.round(best(r.bulk))}) | ` +
        `${i === 0 ? "" : `${(median(r.bulk) / median(plain.bulk)).toFixed(2)}×`} |`,
    );
  }
  if (acc === 42) console.log("");
}
