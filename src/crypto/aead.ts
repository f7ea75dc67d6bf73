/**
 * Authenticated encryption of one record: AES-256-GCM or ChaCha20-Poly1305
 * (RFC 8439), 32-byte key, 12-byte nonce, 16-byte tag, with associated data.
 *
 * Sealed bytes are `ciphertext ‖ tag` (the nonce is stored by the caller):
 *
 * ```
 * sealed = ciphertext (|plaintext| bytes) ‖ tag (16 bytes)
 * ```
 *
 * Three implementations, all well kept, none written here, fastest first:
 *
 * - `"openssl"` — the system's libcrypto (OpenSSL 1.1 or 3) through the FFI
 *   layer, one keyed EVP context per direction (`openssl_aead.ts`); offered
 *   only when it loads without a prompt and passes known-answer tests.
 * - `"node:crypto"` — the runtime's OpenSSL/BoringSSL through `createCipheriv`,
 *   a fresh cipher object per record: AES-256-GCM in Deno and Bun;
 *   ChaCha20-Poly1305 in Deno (Bun 1.4 has none).
 * - `"noble"` — `@noble/ciphers` (audited, pure JS), for ChaCha20-Poly1305.
 *
 * {@linkcode createAead} takes the first of {@linkcode aeadImplementations}
 * (the choice is by capability, never by runtime name; see
 * `bench/crypto_micro.ts` for the figures). All give the same bytes. The
 * environment variable `EMDB_CRYPTO` (`openssl`, `node:crypto` or `noble`)
 * puts one first where it has the cipher, for tests and comparisons.
 * `@noble/ciphers`' AES-GCM is not offered: 15-20× slower than `node:crypto`,
 * which both runtimes have, and its module alone costs ~15 ms at import.
 *
 * `open` never hands out unauthenticated bytes: `out` is written only after the
 * tag has been verified.
 *
 * @module
 */
import type * as NodeCrypto from "node:crypto";
import process from "node:process";
import { binder } from "../../ffi/mod.ts";
// @ts-types="../vendor/types/chacha.d.ts"
import { chacha20poly1305 } from "../vendor/noble_ciphers/chacha.js";
import { checkOpen, checkSeal, KEY_BYTES, TAG_BYTES } from "./aead_checks.ts";
import { createOpenSslAead, openSslCiphers } from "./openssl_aead.ts";

export { KEY_BYTES, TAG_BYTES };

/** The ciphers a database can use. */
export type CipherName = "aes-256-gcm" | "chacha20-poly1305";

/**
 * Who does the work: the system's OpenSSL through FFI, the runtime's
 * `node:crypto`, or `@noble/ciphers` (ChaCha20-Poly1305 only).
 */
export type AeadImplementation = "openssl" | "node:crypto" | "noble";

/** The ciphers {@linkcode createAead} accepts. */
export const CIPHER_NAMES: readonly CipherName[] = ["aes-256-gcm", "chacha20-poly1305"];

/** The implementations, in the order they are preferred. */
const IMPLEMENTATIONS: readonly AeadImplementation[] = ["openssl", "node:crypto", "noble"];

/** One key, ready to seal and open records. */
export interface Aead {
  /** The cipher. */
  readonly name: CipherName;
  /** Which implementation does the work. */
  readonly implementation: AeadImplementation;
  /**
   * Encrypts and authenticates `plaintext` (and authenticates `aad`), writing
   * `ciphertext ‖ tag` into `out` at `outPos`. `out` must not overlap `plaintext`.
   *
   * @param nonce 12 bytes, never used twice with this key.
   * @param plaintext The bytes to encrypt (may be empty).
   * @param aad Associated data: authenticated, not encrypted, not written (may be empty).
   * @param out Where the sealed bytes go.
   * @param outPos The offset in `out`.
   * @returns The bytes written: `plaintext.length + 16`.
   * @throws {RangeError} On a nonce that is not 12 bytes, or too little room in `out`.
   * @throws {TypeError} After {@linkcode Aead.destroy}.
   */
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number;
  /**
   * Verifies and decrypts `ciphertext ‖ tag`, writing the plaintext into `out`
   * at `outPos` only when the tag, the nonce, the key and `aad` all match.
   * `out` must not overlap `sealed`.
   *
   * @param nonce The 12 bytes it was sealed with.
   * @param sealed `ciphertext ‖ tag`.
   * @param aad The associated data it was sealed with.
   * @param out Where the plaintext goes (`sealed.length - 16` bytes).
   * @param outPos The offset in `out`.
   * @returns The plaintext length, or -1 when authentication fails (`out` is then untouched).
   * @throws {RangeError} On a nonce that is not 12 bytes, or too little room in `out`.
   * @throws {TypeError} After {@linkcode Aead.destroy}.
   */
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number;
  /** Overwrites this object's copy of the key with zeros (best effort: a runtime may hold copies) and disables it. */
  destroy(): void;
}

let nodeCryptoModule: typeof NodeCrypto | undefined;

/**
 * `node:crypto`, loaded on first use: importing it costs ~40 ms at start-up
 * under Deno (~12 ms under Bun), which a database without encryption, or one
 * served by OpenSSL, never needs to pay.
 */
function nodeCrypto(): typeof NodeCrypto {
  return nodeCryptoModule ??= process.getBuiltinModule("node:crypto") as typeof NodeCrypto;
}

let nodeCiphers: ReadonlySet<string> | undefined;

/** The ciphers `node:crypto` has here (loads it). */
function nodeHas(name: string): boolean {
  return (nodeCiphers ??= new Set(nodeCrypto().getCiphers())).has(name);
}

/**
 * The implementations of `name` this runtime offers, fastest first (OpenSSL
 * is loaded and self-tested on the first call).
 *
 * @param name The cipher.
 * @returns For AES-256-GCM `["openssl", "node:crypto"]` (or without `"openssl"`
 *   where libcrypto does not load); for ChaCha20-Poly1305 a subset of
 *   `["openssl", "node:crypto", "noble"]` that always holds `"noble"`.
 * @example
 * ```ts
 * import { aeadImplementations } from "./aead.ts";
 * aeadImplementations("aes-256-gcm"); // ["openssl", "node:crypto"] on Linux with OpenSSL
 * ```
 */
export function aeadImplementations(name: CipherName): AeadImplementation[] {
  checkName(name);
  const impls: AeadImplementation[] = [];
  if (openSslCiphers().has(name)) impls.push("openssl");
  if (nodeHas(name)) impls.push("node:crypto");
  if (name === "chacha20-poly1305") impls.push("noble");
  return impls;
}

let preferred: AeadImplementation | undefined | null = null;

/**
 * `EMDB_CRYPTO`, read once (`undefined` when unset or not permitted).
 *
 * @returns The implementation the environment asks for, if any.
 * @throws {TypeError} When `EMDB_CRYPTO` names no implementation.
 * @example
 * ```ts
 * import { preferredImplementation } from "./aead.ts";
 * console.log(preferredImplementation() ?? "fastest offered");
 * ```
 */
export function preferredImplementation(): AeadImplementation | undefined {
  if (preferred !== null) return preferred;
  const v = binder.env("EMDB_CRYPTO");
  if (v !== undefined && v !== "" && !IMPLEMENTATIONS.includes(v as AeadImplementation)) {
    throw new TypeError(`EMDB_CRYPTO must be one of ${IMPLEMENTATIONS.join(", ")}, got "${v}"`);
  }
  preferred = v === undefined || v === "" ? undefined : v as AeadImplementation;
  return preferred;
}

/**
 * The implementation {@linkcode createAead} takes for `name` when none is
 * given: `EMDB_CRYPTO` where it has the cipher, else the fastest offered.
 *
 * @param name The cipher.
 * @returns The implementation.
 * @throws {TypeError} On an unknown cipher, or an `EMDB_CRYPTO` that names no implementation.
 * @example
 * ```ts
 * import { defaultAeadImplementation } from "./aead.ts";
 * defaultAeadImplementation("chacha20-poly1305"); // "openssl", "node:crypto" or "noble"
 * ```
 */
export function defaultAeadImplementation(name: CipherName): AeadImplementation {
  const offered = aeadImplementations(name);
  const wanted = preferredImplementation();
  if (wanted !== undefined && offered.includes(wanted)) return wanted;
  return offered[0] ?? "node:crypto";
}

/**
 * Makes an {@linkcode Aead} for one key. The key bytes are copied (or handed
 * to OpenSSL); the caller may wipe its own copy afterwards.
 *
 * @param name `"aes-256-gcm"` or `"chacha20-poly1305"`.
 * @param key 32 bytes.
 * @param implementation Who does the work; defaults to {@linkcode defaultAeadImplementation}.
 * @returns The sealer/opener.
 * @throws {TypeError} On an unknown cipher name, or an implementation this runtime (or noble) lacks.
 * @throws {RangeError} On a key that is not 32 bytes.
 * @example Seal and open a record
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAead } from "./aead.ts";
 * import { fillRandom, NoncePool } from "./random.ts";
 *
 * const aead = createAead("aes-256-gcm", fillRandom(new Uint8Array(32)));
 * const nonce = new Uint8Array(12);
 * new NoncePool().next(nonce, 0);
 * const aad = new TextEncoder().encode("kind=put ns=0 at=4096");
 * const value = new TextEncoder().encode("Ada Lovelace");
 *
 * const sealed = new Uint8Array(value.length + 16);
 * aead.seal(nonce, value, aad, sealed, 0);
 * const back = new Uint8Array(value.length);
 * assert.equal(aead.open(nonce, sealed, aad, back, 0), value.length);
 * assert.deepEqual(back, value);
 *
 * sealed[0]! ^= 1; // tampered
 * assert.equal(aead.open(nonce, sealed, aad, back, 0), -1);
 * aead.destroy();
 * ```
 */
export function createAead(name: CipherName, key: Uint8Array, implementation?: AeadImplementation): Aead {
  checkName(name);
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`Cannot use the key: ${name} takes ${KEY_BYTES} bytes, got ${describe(key)}`);
  }
  const impl = implementation ?? defaultAeadImplementation(name);
  if (impl === "openssl") return createOpenSslAead(name, key);
  if (impl === "node:crypto") {
    if (!nodeHas(name)) {
      throw new TypeError(`Cannot use node:crypto for ${name}: this runtime's node:crypto lacks it`);
    }
    return new NodeAead(name, key);
  }
  if (impl === "noble") {
    if (name !== "chacha20-poly1305") throw new TypeError(`Cannot use noble for ${name}: only for chacha20-poly1305`);
    return new NobleChaChaAead(key);
  }
  throw new TypeError(`Cannot use implementation "${String(impl)}": expected "openssl", "node:crypto" or "noble"`);
}

function checkName(name: CipherName): void {
  if (name !== "aes-256-gcm" && name !== "chacha20-poly1305") {
    throw new TypeError(`Unknown cipher "${String(name)}": expected "aes-256-gcm" or "chacha20-poly1305"`);
  }
}

function describe(x: unknown): string {
  return x instanceof Uint8Array ? `${x.length} bytes` : typeof x;
}

/** Through `createCipheriv`: one short-lived OpenSSL/BoringSSL context per record. */
class NodeAead implements Aead {
  readonly name: CipherName;
  readonly implementation: AeadImplementation = "node:crypto";
  #key: Uint8Array;
  #destroyed = false;

  constructor(name: CipherName, key: Uint8Array) {
    this.name = name;
    this.#key = key.slice();
  }

  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    const n = plaintext.length;
    checkSeal(this.#destroyed, nonce, plaintext, out, outPos);
    // The "aes-256-gcm" overload's type; chacha20-poly1305 has the same methods.
    const c = nodeCrypto().createCipheriv(this.name as "aes-256-gcm", this.#key, nonce, {
      authTagLength: TAG_BYTES,
    }) as NodeCrypto.CipherGCM;
    if (aad.length > 0) c.setAAD(aad);
    const body = c.update(plaintext);
    const tail = c.final(); // empty for both ciphers, written for form
    out.set(body, outPos);
    if (tail.length > 0) out.set(tail, outPos + body.length);
    out.set(c.getAuthTag(), outPos + n);
    return n + TAG_BYTES;
  }

  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    checkOpen(this.#destroyed, nonce, sealed, out, outPos);
    const n = sealed.length - TAG_BYTES;
    if (n < 0) return -1; // shorter than a tag: cannot be authentic
    const d = nodeCrypto().createDecipheriv(this.name as "aes-256-gcm", this.#key, nonce, {
      authTagLength: TAG_BYTES,
    }) as NodeCrypto.DecipherGCM;
    d.setAuthTag(sealed.subarray(n));
    if (aad.length > 0) d.setAAD(aad);
    const body = d.update(sealed.subarray(0, n)); // not yet authenticated: kept away from `out`
    let tail: Uint8Array;
    try {
      tail = d.final(); // throws when the tag does not match
    } catch {
      body.fill(0);
      return -1;
    }
    out.set(body, outPos);
    if (tail.length > 0) out.set(tail, outPos + body.length);
    body.fill(0);
    return n;
  }

  destroy(): void {
    this.#key.fill(0);
    this.#destroyed = true;
  }
}

/** ChaCha20-Poly1305 through `@noble/ciphers`: pure JS, a fresh cipher state per record. */
class NobleChaChaAead implements Aead {
  readonly name: CipherName = "chacha20-poly1305";
  readonly implementation: AeadImplementation = "noble";
  #key: Uint8Array;
  #destroyed = false;

  constructor(key: Uint8Array) {
    this.#key = key.slice();
  }

  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    const n = plaintext.length;
    checkSeal(this.#destroyed, nonce, plaintext, out, outPos);
    chacha20poly1305(this.#key, nonce, aad).encrypt(plaintext, out.subarray(outPos, outPos + n + TAG_BYTES));
    return n + TAG_BYTES;
  }

  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array, outPos: number): number {
    checkOpen(this.#destroyed, nonce, sealed, out, outPos);
    const n = sealed.length - TAG_BYTES;
    if (n < 0) return -1; // shorter than a tag: cannot be authentic
    try {
      // noble verifies the tag first and throws on a mismatch before writing `out`; every other
      // failure (sizes, overlap) was ruled out by checkOpen.
      chacha20poly1305(this.#key, nonce, aad).decrypt(sealed, out.subarray(outPos, outPos + n));
    } catch {
      return -1;
    }
    return n;
  }

  destroy(): void {
    this.#key.fill(0);
    this.#destroyed = true;
  }
}
