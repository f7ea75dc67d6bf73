/**
 * A {@linkcode LookupTagger} over OpenSSL's `HMAC_CTX` (HMAC-SHA256), called
 * through the FFI layer (`ffi/libcrypto.ts`, `LIBCRYPTO_HMAC`): the system's
 * libcrypto does the hashing, nothing is written here.
 *
 * Every read and write of an encrypted database tags its key, so the tag is
 * on the per-record path next to the AEAD: the keyed `@noble/hashes` state
 * costs about 1-1.6 µs per 24-byte key, OpenSSL (SHA extensions where the CPU
 * has them) about 0.2 µs, three calls:
 *
 * ```text
 * HMAC_Init_ex(ctx, NULL, 0, NULL, NULL)   back to the keyed state (key and digest set once)
 * HMAC_Update(ctx, data, |data|)
 * HMAC_Final(ctx, md, &len)                32 bytes; the first tagLength are the tag
 * ```
 *
 * Offered only when libcrypto loads without a prompt, has the calls, and
 * matches RFC 4231 test cases 1, 2 and 6; otherwise
 * {@linkcode createOpenSslLookupTagger} returns `undefined` and the caller
 * keeps `@noble/hashes`.
 *
 * @module
 */
import { type BoundLibrary, type Handle, LIBCRYPTO_HMAC } from "../../ffi/mod.ts";
import type { LookupTagger } from "./mac.ts";
import { openLibcrypto } from "./openssl_aead.ts";

type LibHmac = BoundLibrary<typeof LIBCRYPTO_HMAC>;

const DIGEST_BYTES = 32;

let loaded: { lib: LibHmac; sha256: Handle } | { reason: string } | undefined;

/**
 * Why OpenSSL's HMAC is not used here, or `undefined` when it is (loading and
 * self-testing on the first call).
 *
 * @returns The reason, or `undefined`.
 * @example
 * ```ts
 * import { openSslHmacUnavailable } from "./openssl_mac.ts";
 * console.log(openSslHmacUnavailable() ?? "HMAC-SHA256 through OpenSSL");
 * ```
 */
export function openSslHmacUnavailable(): string | undefined {
  const l = load();
  return "reason" in l ? l.reason : undefined;
}

/**
 * Keys an HMAC-SHA256 context once for many tags, when OpenSSL's HMAC is
 * usable here. Arguments are checked by the caller (`createLookupTagger`).
 *
 * @param key The tag key (non-empty). Handed to OpenSSL, not kept here.
 * @param tagLength Bytes of each tag, 16..32.
 * @returns The tagger, or `undefined` when OpenSSL's HMAC is not usable (see {@linkcode openSslHmacUnavailable}).
 * @throws {Error} When OpenSSL cannot make or key a context (out of memory).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createOpenSslLookupTagger } from "./openssl_mac.ts";
 *
 * const tagger = createOpenSslLookupTagger(new Uint8Array(32).fill(9), 16);
 * if (tagger !== undefined) {
 *   assert.equal(tagger.tag(new TextEncoder().encode("user:1")).length, 16);
 *   tagger.destroy();
 * }
 * ```
 */
export function createOpenSslLookupTagger(key: Uint8Array, tagLength: number): LookupTagger | undefined {
  const l = load();
  if ("reason" in l) return undefined;
  return new OpenSslTagger(l.lib, l.sha256, key, tagLength);
}

/** Frees the context of a tagger nobody destroyed. */
const forgotten = new FinalizationRegistry<{ lib: LibHmac; ctx: Handle }>((h) => h.lib.HMAC_CTX_free(h.ctx));

class OpenSslTagger implements LookupTagger {
  readonly tagLength: number;
  #lib: LibHmac;
  #ctx: Handle | null;
  #md = new Uint8Array(DIGEST_BYTES);
  #mdLen = new Uint8Array(4);
  #destroyed = false;

  constructor(lib: LibHmac, sha256: Handle, key: Uint8Array, tagLength: number) {
    this.tagLength = tagLength;
    this.#lib = lib;
    const ctx = lib.HMAC_CTX_new();
    if (ctx === null || lib.HMAC_Init_ex(ctx, key, key.length, sha256, null) !== 1) {
      if (ctx !== null) lib.HMAC_CTX_free(ctx);
      throw new Error("Cannot key OpenSSL's HMAC-SHA256: HMAC_CTX_new or HMAC_Init_ex failed");
    }
    this.#ctx = ctx;
    forgotten.register(this, { lib, ctx }, this);
  }

  tagInto(data: Uint8Array, out: Uint8Array, outPos: number): void {
    if (this.#destroyed) throw new TypeError("Cannot tag: the tagger was destroyed");
    const n = this.tagLength;
    if (!(outPos >= 0 && outPos + n <= out.length)) {
      throw new RangeError(`Cannot tag: ${n} bytes at ${outPos} do not fit in ${out.length}`);
    }
    const L = this.#lib, ctx = this.#ctx, md = this.#md;
    const ok = L.HMAC_Init_ex(ctx, null, 0, null, null) === 1 &&
      (data.length === 0 || L.HMAC_Update(ctx, data, data.length) === 1) &&
      L.HMAC_Final(ctx, md, this.#mdLen) === 1;
    if (!ok) throw new Error("Cannot tag: an OpenSSL HMAC call failed");
    for (let i = 0; i < n; i++) out[outPos + i] = md[i]!;
  }

  tag(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.tagLength);
    this.tagInto(data, out, 0);
    return out;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    forgotten.unregister(this);
    if (this.#ctx !== null) this.#lib.HMAC_CTX_free(this.#ctx);
    this.#ctx = null;
    this.#md.fill(0);
  }
}

// ---- loading and self-test ----------------------------------------------------------------

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** RFC 4231 test cases 1, 2 and 6 (a key longer than the block is hashed first). */
const KNOWN_ANSWERS: { key: Uint8Array; data: Uint8Array; mac: string }[] = [
  {
    key: new Uint8Array(20).fill(0x0b),
    data: ascii("Hi There"),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  {
    key: ascii("Jefe"),
    data: ascii("what do ya want for nothing?"),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    key: new Uint8Array(131).fill(0xaa),
    data: ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
];

function selfTest(lib: LibHmac, sha256: Handle): string | undefined {
  for (const [i, v] of KNOWN_ANSWERS.entries()) {
    let t: OpenSslTagger | undefined;
    try {
      t = new OpenSslTagger(lib, sha256, v.key, DIGEST_BYTES);
      // Twice: the second tag starts from the reused keyed state.
      for (let round = 0; round < 2; round++) {
        const got = Array.from(t.tag(v.data), (b) => b.toString(16).padStart(2, "0")).join("");
        if (got !== v.mac) return `OpenSSL's HMAC-SHA256 got RFC 4231 vector ${i + 1} wrong`;
      }
    } catch (e) {
      return `OpenSSL's HMAC-SHA256 self-test failed: ${(e as Error).message}`;
    } finally {
      t?.destroy();
    }
  }
  return undefined;
}

function load(): { lib: LibHmac; sha256: Handle } | { reason: string } {
  if (loaded !== undefined) return loaded;
  const opened = openLibcrypto(LIBCRYPTO_HMAC);
  if ("reason" in opened) return (loaded = opened);
  const sha256 = opened.lib.EVP_sha256();
  if (sha256 === null) return (loaded = { reason: "libcrypto has no SHA-256" });
  const failure = selfTest(opened.lib, sha256);
  loaded = failure === undefined ? { lib: opened.lib, sha256 } : { reason: failure };
  return loaded;
}
