/**
 * An {@linkcode Aead} over OpenSSL's EVP contexts, called through the FFI
 * layer (`ffi/libcrypto.ts`): the system's libcrypto (1.1 or 3) does all the
 * cryptography, nothing is written here.
 *
 * Why: a `node:crypto` cipher object costs a key schedule and several
 * allocations per record (about 1 µs in Bun, 4-10 µs in Deno for a 150-byte
 * value), and Bun's `node:crypto` has no ChaCha20-Poly1305 (noble: 6-10 µs).
 * Here the key is set once per context, one context per direction, and a
 * record is five calls and at most one view allocated (for AES-256-GCM and a
 * 150-byte value: 0.3 µs for the bare calls, 0.4-0.7 µs through this object,
 * in both runtimes; see `bench/crypto_micro.ts`):
 *
 * ```text
 * seal  EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce)    new nonce, same key
 *       EVP_EncryptUpdate(ctx, NULL, &n, aad, |aad|)        associated data
 *       EVP_EncryptUpdate(ctx, out, &n, plaintext, |p|)     ciphertext into out
 *       EVP_EncryptFinal_ex(ctx, sink, &n)
 *       EVP_CIPHER_CTX_ctrl(ctx, AEAD_GET_TAG, 16, tag)
 * open  EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce)
 *       EVP_DecryptUpdate(ctx, NULL, &n, aad, |aad|)
 *       EVP_DecryptUpdate(ctx, scratch, &n, ciphertext, |c|)  into a private scratch buffer
 *       EVP_CIPHER_CTX_ctrl(ctx, AEAD_SET_TAG, 16, tag)
 *       EVP_DecryptFinal_ex(ctx, sink, &n) == 1             the verdict; only then is scratch copied out
 * ```
 *
 * The library is loaded once, lazily, and only when the runtime already grants
 * FFI (it never prompts); each cipher is then checked against published
 * known-answer vectors (seal, open, a refused tamper, an open after the
 * refusal) before it is offered. Anything that fails — no library, no FFI, a
 * cipher the build lacks, a wrong answer — leaves the cipher out, and
 * `createAead` falls back to `node:crypto` or `@noble/ciphers`.
 *
 * Contexts stay inside the object; `destroy()` frees them (OpenSSL cleanses
 * the key schedule), and a `FinalizationRegistry` frees those of a forgotten
 * object. No copy of the key is kept on the JavaScript side.
 *
 * @module
 */
import {
  binder,
  type BoundLibrary,
  EVP_CTRL,
  type Handle,
  LIBCRYPTO,
  LIBCRYPTO_CANDIDATES,
  type SymbolTable,
} from "../../ffi/mod.ts";
import type { Aead, CipherName } from "./aead.ts";
import { checkOpen, checkSeal, KEY_BYTES, TAG_BYTES } from "./aead_checks.ts";

type LibCrypto = BoundLibrary<typeof LIBCRYPTO>;

/** What loading OpenSSL found, for diagnostics (`bench/crypto_micro.ts`, tests). */
export interface OpenSslStatus {
  /** The library version (`"OpenSSL 3.0.19"`), or `undefined` when none loaded. */
  readonly version: string | undefined;
  /** The ciphers that passed the self-test and are offered. */
  readonly ciphers: readonly CipherName[];
  /** Why OpenSSL, or one of its ciphers, is not offered (empty when both are). */
  readonly reasons: readonly string[];
}

interface Loaded {
  lib: LibCrypto | undefined;
  ciphers: Map<CipherName, Handle>;
  status: OpenSslStatus;
}

let loaded: Loaded | undefined;

/** Largest single update call: `int` lengths in the EVP API. */
const MAX_CHUNK = 1 << 30;
/** Plaintexts up to this many bytes are copied out of the scratch buffer by a loop rather than through a view. */
const SMALL = 512;
/** Scratch bytes kept between opens; larger plaintexts use (and wipe) a temporary buffer. */
const MAX_KEPT_SCRATCH = 64 * 1024;

/**
 * The ciphers OpenSSL offers here (loading and self-testing the library on the first call).
 *
 * @returns The ciphers that passed the self-test; empty when OpenSSL is not usable.
 * @example
 * ```ts
 * import { openSslCiphers } from "./openssl_aead.ts";
 * openSslCiphers().has("aes-256-gcm"); // true where libcrypto loads
 * ```
 */
export function openSslCiphers(): ReadonlySet<CipherName> {
  return new Set(load().ciphers.keys());
}

/**
 * What loading OpenSSL found: its version, the ciphers offered, and why
 * anything is missing (loading and self-testing on the first call).
 *
 * @returns The status.
 * @example
 * ```ts
 * import { openSslStatus } from "./openssl_aead.ts";
 * const s = openSslStatus();
 * console.log(s.version ?? `no OpenSSL: ${s.reasons.join("; ")}`);
 * ```
 */
export function openSslStatus(): OpenSslStatus {
  return load().status;
}

/**
 * Makes an {@linkcode Aead} over two OpenSSL contexts (one per direction) keyed
 * with `key`. The key is handed to OpenSSL and not kept here; the caller may
 * wipe its copy.
 *
 * @param name The cipher.
 * @param key 32 bytes.
 * @returns The sealer/opener.
 * @throws {TypeError} When OpenSSL does not offer `name` here (see {@linkcode openSslStatus}).
 * @throws {RangeError} On a key that is not 32 bytes.
 * @throws {Error} When OpenSSL cannot make a context (out of memory).
 * @example Seal and open through OpenSSL when it is there
 * ```ts
 * import assert from "node:assert/strict";
 * import { createOpenSslAead, openSslCiphers } from "./openssl_aead.ts";
 *
 * if (openSslCiphers().has("aes-256-gcm")) {
 *   const aead = createOpenSslAead("aes-256-gcm", new Uint8Array(32).fill(1));
 *   const nonce = new Uint8Array(12), aad = new Uint8Array(8), value = new Uint8Array([1, 2, 3]);
 *   const sealed = new Uint8Array(3 + 16);
 *   aead.seal(nonce, value, aad, sealed, 0);
 *   const back = new Uint8Array(3);
 *   assert.equal(aead.open(nonce, sealed, aad, back, 0), 3);
 *   assert.deepEqual(back, value);
 *   aead.destroy();
 * }
 * ```
 */
export function createOpenSslAead(name: CipherName, key: Uint8Array): Aead {
  const l = load();
  const cipher = l.ciphers.get(name);
  if (l.lib === undefined || cipher === undefined) {
    throw new TypeError(`Cannot use OpenSSL for ${name}: ${l.status.reasons.join("; ") || "not offered"}`);
  }
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`Cannot use the key: ${name} takes ${KEY_BYTES} bytes`);
  }
  return new OpenSslAead(l.lib, cipher, name, key);
}

/** Frees the contexts of an {@linkcode OpenSslAead} nobody destroyed. */
const forgotten = new FinalizationRegistry<{ lib: LibCrypto; enc: Handle; dec: Handle }>((h) => {
  h.lib.EVP_CIPHER_CTX_free(h.enc);
  h.lib.EVP_CIPHER_CTX_free(h.dec);
});

class OpenSslAead implements Aead {
  readonly name: CipherName;
  readonly implementation = "openssl" as const;
  #lib: LibCrypto;
  #enc: Handle | null;
  #dec: Handle | null;
  #destroyed = false;
  /** `int *outl` of every call. */
  #outl = new Uint8Array(4);
  #outl32 = new Int32Array(this.#outl.buffer);
  /** The tag, on its way out of (seal) or into (open) OpenSSL. */
  #tag = new Uint8Array(TAG_BYTES);
  /** `Final`'s output: nothing is written there by these ciphers. */
  #sink = new Uint8Array(TAG_BYTES);
  /** Where `open` decrypts before the verdict; wiped after every open. */
  #scratch = new Uint8Array(1024);

  constructor(lib: LibCrypto, cipher: Handle, name: CipherName, key: Uint8Array) {
    this.name = name;
    this.#lib = lib;
    const enc = lib.EVP_CIPHER_CTX_new();
    const dec = lib.EVP_CIPHER_CTX_new();
    if (
      enc === null || dec === null ||
      lib.EVP_EncryptInit_ex(enc, cipher, null, key, null) !== 1 ||
      lib.EVP_DecryptInit_ex(dec, cipher, null, key, null) !== 1
    ) {
      if (enc !== null) lib.EVP_CIPHER_CTX_free(enc);
      if (dec !== null) lib.EVP_CIPHER_CTX_free(dec);
      lib.ERR_clear_error();
      throw new Error(`Cannot key OpenSSL's ${name}: EVP_CIPHER_CTX_new or EVP_*Init_ex failed`);
    }
    this.#enc = enc;
    this.#dec = dec;
    forgotten.register(this, { lib, enc, dec }, this);
  }

  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    checkSeal(this.#destroyed, nonce, plaintext, out, outPos);
    const L = this.#lib, c = this.#enc, n = plaintext.length, outl = this.#outl;
    // Each EVP function has its own call site (no shared helper): a call site that sees several
    // bound functions is not inlined, which doubled the cost of a record in both runtimes.
    let ok = L.EVP_EncryptInit_ex(c, null, null, null, nonce) === 1;
    if (ok && aad.length > 0) {
      ok = aad.length <= MAX_CHUNK
        ? L.EVP_EncryptUpdate(c, null, outl, aad, aad.length) === 1
        : this.#huge(true, null, aad);
    }
    if (ok && n > 0) {
      const o = outPos === 0 ? out : out.subarray(outPos, outPos + n);
      ok = n <= MAX_CHUNK
        ? L.EVP_EncryptUpdate(c, o, outl, plaintext, n) === 1 && this.#outl32[0] === n
        : this.#huge(true, o, plaintext);
    }
    ok = ok && L.EVP_EncryptFinal_ex(c, this.#sink, outl) === 1 && this.#outl32[0] === 0;
    ok = ok && L.EVP_CIPHER_CTX_ctrl(c, EVP_CTRL.AEAD_GET_TAG, TAG_BYTES, this.#tag) === 1;
    if (!ok) {
      L.ERR_clear_error();
      throw new Error(`Cannot seal with OpenSSL's ${this.name}: an EVP call failed`);
    }
    const tag = this.#tag, at = outPos + n;
    for (let i = 0; i < TAG_BYTES; i++) out[at + i] = tag[i]!;
    return n + TAG_BYTES;
  }

  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    checkOpen(this.#destroyed, nonce, sealed, out, outPos);
    const n = sealed.length - TAG_BYTES;
    if (n < 0) return -1; // shorter than a tag: cannot be authentic
    const L = this.#lib, d = this.#dec, tag = this.#tag, outl = this.#outl;
    for (let i = 0; i < TAG_BYTES; i++) tag[i] = sealed[n + i]!;
    let scratch = this.#scratch;
    if (n > scratch.length) {
      scratch = new Uint8Array(n);
      if (n <= MAX_KEPT_SCRATCH) this.#scratch = scratch;
    }
    let ok = L.EVP_DecryptInit_ex(d, null, null, null, nonce) === 1;
    if (ok && aad.length > 0) {
      ok = aad.length <= MAX_CHUNK
        ? L.EVP_DecryptUpdate(d, null, outl, aad, aad.length) === 1
        : this.#huge(false, null, aad);
    }
    // Plaintext, not yet authenticated: it stays in the scratch buffer until Final says 1.
    if (ok && n > 0) {
      ok = n <= MAX_CHUNK
        ? L.EVP_DecryptUpdate(d, scratch, outl, sealed, n) === 1 && this.#outl32[0] === n
        : this.#huge(false, scratch, sealed.subarray(0, n));
    }
    ok = ok && L.EVP_CIPHER_CTX_ctrl(d, EVP_CTRL.AEAD_SET_TAG, TAG_BYTES, tag) === 1;
    const authentic = ok && L.EVP_DecryptFinal_ex(d, this.#sink, outl) === 1;
    if (!authentic) {
      if (n > 0) scratch.fill(0, 0, n);
      L.ERR_clear_error();
      return -1;
    }
    if (n <= SMALL) {
      // A short copy by hand: a subarray view costs more than the copy in Bun (an allocation each).
      for (let i = 0; i < n; i++) {
        out[outPos + i] = scratch[i]!;
        scratch[i] = 0;
      }
    } else {
      out.set(n === scratch.length ? scratch : scratch.subarray(0, n), outPos);
      scratch.fill(0, 0, n);
    }
    return n;
  }

  /** `EVP_*Update` over an input past 1 GiB, in 1 GiB calls (`int` lengths); `out` null for associated data. */
  #huge(encrypt: boolean, out: Uint8Array | null, input: Uint8Array): boolean {
    const L = this.#lib, ctx = encrypt ? this.#enc : this.#dec, len = input.length;
    const update = encrypt ? L.EVP_EncryptUpdate : L.EVP_DecryptUpdate;
    for (let at = 0; at < len; at += MAX_CHUNK) {
      const m = Math.min(MAX_CHUNK, len - at);
      const o = out === null ? null : out.subarray(at, at + m);
      if (update(ctx, o, this.#outl, input.subarray(at, at + m), m) !== 1) return false;
      if (o !== null && this.#outl32[0] !== m) return false;
    }
    return true;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    forgotten.unregister(this);
    if (this.#enc !== null) this.#lib.EVP_CIPHER_CTX_free(this.#enc);
    if (this.#dec !== null) this.#lib.EVP_CIPHER_CTX_free(this.#dec);
    this.#enc = null;
    this.#dec = null;
    this.#scratch.fill(0);
    this.#tag.fill(0);
  }
}

// ---- loading and self-test ----------------------------------------------------------------

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));

/** One published answer per cipher: the same vectors as tests/crypto_test.ts. */
const KNOWN_ANSWERS: Record<CipherName, { key: string; nonce: string; aad: string; plain: string; sealed: string }> = {
  // The GCM specification (McGrew & Viega), test case 16: AES-256, 60 bytes, 20 bytes of AAD.
  "aes-256-gcm": {
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    plain: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    sealed: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662" +
      "76fc6ece0f4e1768cddf8853bb2d551b",
  },
  // RFC 8439 §2.8.2 ("Ladies and Gentlemen of the class of '99…").
  "chacha20-poly1305": {
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plain: "4c616469657320616e642047656e746c656d656e206f662074686520636c6173" +
      "73206f66202739393a204966204920636f756c64206f6666657220796f75206f" +
      "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73" +
      "637265656e20776f756c642062652069742e",
    sealed: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116" +
      "1ae10b594f09e26a7e902ecbd0600691",
  },
};

/** Seals and opens the cipher's known answer, refuses a flipped tag bit, and opens again after the refusal. */
function selfTest(lib: LibCrypto, cipher: Handle, name: CipherName): string | undefined {
  const v = KNOWN_ANSWERS[name];
  const key = hex(v.key), nonce = hex(v.nonce), aad = hex(v.aad), plain = hex(v.plain), sealed = hex(v.sealed);
  let aead: OpenSslAead | undefined;
  try {
    aead = new OpenSslAead(lib, cipher, name, key);
    const out = new Uint8Array(sealed.length);
    aead.seal(nonce, plain, aad, out, 0);
    if (!equal(out, sealed)) return `${name} sealed a known answer wrongly`;
    const back = new Uint8Array(plain.length);
    if (aead.open(nonce, sealed, aad, back, 0) !== plain.length || !equal(back, plain)) {
      return `${name} did not open a known answer`;
    }
    const bad = sealed.slice();
    bad[bad.length - 1]! ^= 1;
    back.fill(0);
    if (aead.open(nonce, bad, aad, back, 0) !== -1 || back.some((b) => b !== 0)) {
      return `${name} accepted a tampered tag`;
    }
    if (aead.open(nonce, sealed, aad, back, 0) !== plain.length || !equal(back, plain)) {
      return `${name} did not open after a refused tag`;
    }
    return undefined;
  } catch (e) {
    return `${name} self-test failed: ${(e as Error).message}`;
  } finally {
    aead?.destroy();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `OpenSSL_version_num()` as text: `0x30000130` → `"OpenSSL 3.0.19"`, `0x1010117f` → `"OpenSSL 1.1.1w"`. */
function versionText(v: number | undefined): string {
  if (v === undefined) return "OpenSSL (version unknown)";
  const major = Math.floor(v / 0x10000000) & 0xf, minor = (v >>> 20) & 0xff;
  if (major >= 3) return `OpenSSL ${major}.${minor}.${(v >>> 4) & 0xff}`;
  const letter = (v >>> 4) & 0xff;
  return `OpenSSL ${major}.${minor}.${(v >>> 12) & 0xff}${letter > 0 ? String.fromCharCode(96 + letter) : ""}`;
}

/**
 * Opens the system's libcrypto with `table`, only when the runtime already
 * grants FFI (never prompting): `EMDB_LIBCRYPTO` if set, else the candidates
 * of this OS.
 *
 * @param table The symbols to bind.
 * @returns The bound library, or why it did not load (every path tried).
 */
export function openLibcrypto<T extends SymbolTable>(table: T): { lib: BoundLibrary<T> } | { reason: string } {
  if (!binder.allowed({ kind: "ffi" }, false)) {
    return { reason: `${binder.runtimeName} does not grant FFI (never asked for: the fallback is used)` };
  }
  const override = binder.env("EMDB_LIBCRYPTO");
  const candidates = override ? [override] : LIBCRYPTO_CANDIDATES[binder.os];
  if (candidates.length === 0) return { reason: `no libcrypto candidates on ${binder.os}` };
  try {
    return { lib: binder.open(candidates, table) };
  } catch (e) {
    return { reason: `libcrypto did not load: ${(e as Error).message}` };
  }
}

function load(): Loaded {
  if (loaded !== undefined) return loaded;
  const reasons: string[] = [];
  const ciphers = new Map<CipherName, Handle>();
  let version: string | undefined;
  const opened = openLibcrypto(LIBCRYPTO);
  const lib = "lib" in opened ? opened.lib : undefined;
  if ("reason" in opened) reasons.push(opened.reason);
  if (lib !== undefined) {
    version = versionText(lib.OpenSSL_version_num?.());
    const found: [CipherName, Handle | null | undefined][] = [
      ["aes-256-gcm", lib.EVP_aes_256_gcm()],
      ["chacha20-poly1305", lib.EVP_chacha20_poly1305?.()],
    ];
    for (const [name, cipher] of found) {
      if (cipher === null || cipher === undefined) {
        reasons.push(`${version} has no ${name}`);
        continue;
      }
      const failure = selfTest(lib, cipher, name);
      if (failure === undefined) ciphers.set(name, cipher);
      else reasons.push(`${version}: ${failure}`);
    }
  }
  loaded = { lib, ciphers, status: { version, ciphers: [...ciphers.keys()], reasons } };
  return loaded;
}
