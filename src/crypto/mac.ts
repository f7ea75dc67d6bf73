/**
 * A keyed lookup tag: HMAC-SHA256 (RFC 2104, FIPS 198-1) of a record key under
 * a secret tag key, so an index can find encrypted keys without storing them
 * in clear.
 *
 * Where the system's OpenSSL passes its RFC 4231 self-test (and `EMDB_CRYPTO`
 * does not name another implementation), tags come from its `HMAC_CTX`
 * (`openssl_mac.ts`); otherwise from `@noble/hashes` here. Both give the same
 * bytes. The noble HMAC is keyed once: the inner and outer SHA-256 states after the padded
 * key are kept, and each tag starts from a copy of them (`@noble/hashes`'
 * `_cloneInto`, the same reuse its PBKDF2 does). A tag then costs two SHA-256
 * compressions for keys up to 55 bytes and allocates nothing.
 *
 * @module
 */
// @ts-types="../vendor/types/hashes.d.ts"
import { hmac, type HmacState } from "../vendor/noble_hashes/hmac.js";
// @ts-types="../vendor/types/hashes.d.ts"
import { sha256 } from "../vendor/noble_hashes/sha2.js";
import { preferredImplementation } from "./aead.ts";
import { createOpenSslLookupTagger } from "./openssl_mac.ts";

/** Bytes of a full HMAC-SHA256 tag. */
export const MAX_TAG_BYTES = 32;

/** Fewest tag bytes accepted (RFC 2104 §5: not less than half the hash output). */
export const MIN_TAG_BYTES = 16;

type Sha256Hmac = HmacState;

/** HMAC-SHA256 under one key, reusable for any number of messages. */
export interface LookupTagger {
  /** Bytes written per tag. */
  readonly tagLength: number;
  /**
   * Writes the tag of `data` (the first `tagLength` bytes of HMAC-SHA256) into `out` at `outPos`.
   *
   * @param data The message (a record key).
   * @param out Where the tag goes.
   * @param outPos The offset in `out`.
   * @throws {RangeError} When `out` has no room for the tag.
   * @throws {TypeError} After {@linkcode LookupTagger.destroy}.
   */
  tagInto(data: Uint8Array, out: Uint8Array, outPos: number): void;
  /**
   * The tag of `data` as fresh bytes.
   *
   * @param data The message.
   * @returns `tagLength` bytes.
   */
  tag(data: Uint8Array): Uint8Array;
  /** Wipes the keyed states (best effort) and disables the tagger. */
  destroy(): void;
}

/**
 * Keys an HMAC-SHA256 once for many tags.
 *
 * @param key The tag key (32 bytes from HKDF is the intended use; any length works).
 * @param tagLength Bytes of each tag, 16..32 (a truncated HMAC); 32 by default.
 * @returns The tagger.
 * @throws {RangeError} On a tag length out of range or an empty key.
 * @example Tag record keys
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLookupTagger } from "./mac.ts";
 *
 * const tagger = createLookupTagger(new Uint8Array(32).fill(9), 16);
 * const a = tagger.tag(new TextEncoder().encode("user:1"));
 * assert.equal(a.length, 16);
 * assert.deepEqual(tagger.tag(new TextEncoder().encode("user:1")), a);
 * assert.notDeepEqual(tagger.tag(new TextEncoder().encode("user:2")), a);
 * tagger.destroy();
 * ```
 */
export function createLookupTagger(key: Uint8Array, tagLength: number = MAX_TAG_BYTES): LookupTagger {
  if (!Number.isInteger(tagLength) || tagLength < MIN_TAG_BYTES || tagLength > MAX_TAG_BYTES) {
    throw new RangeError(`Tag length must be ${MIN_TAG_BYTES}..${MAX_TAG_BYTES}, got ${tagLength}`);
  }
  if (!(key instanceof Uint8Array) || key.length === 0) throw new RangeError("Cannot key a tagger with an empty key");
  // OpenSSL's HMAC (~0.2 µs a tag) unless EMDB_CRYPTO asks for another implementation.
  const pref = preferredImplementation();
  const fast = pref === undefined || pref === "openssl" ? createOpenSslLookupTagger(key, tagLength) : undefined;
  return fast ?? new HmacTagger(key, tagLength);
}

class HmacTagger implements LookupTagger {
  readonly tagLength: number;
  #keyed: Sha256Hmac;
  #work: Sha256Hmac;
  #digest = new Uint8Array(MAX_TAG_BYTES);
  #destroyed = false;

  constructor(key: Uint8Array, tagLength: number) {
    this.tagLength = tagLength;
    this.#keyed = hmac.create(sha256, key) as Sha256Hmac;
    this.#work = this.#keyed._cloneInto();
  }

  tagInto(data: Uint8Array, out: Uint8Array, outPos: number): void {
    if (this.#destroyed) throw new TypeError("Cannot tag: the tagger was destroyed");
    const n = this.tagLength;
    if (!(outPos >= 0 && outPos + n <= out.length)) {
      throw new RangeError(`Cannot tag: ${n} bytes at ${outPos} do not fit in ${out.length}`);
    }
    const work = this.#keyed._cloneInto(this.#work);
    work.update(data);
    const d = this.#digest;
    work.digestInto(d);
    for (let i = 0; i < n; i++) out[outPos + i] = d[i]!;
  }

  tag(data: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.tagLength);
    this.tagInto(data, out, 0);
    return out;
  }

  destroy(): void {
    this.#keyed.destroy();
    this.#work.destroy();
    this.#digest.fill(0);
    this.#destroyed = true;
  }
}
