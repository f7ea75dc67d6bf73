/**
 * Key derivation: Argon2id (RFC 9106) from a passphrase, HKDF-SHA256
 * (RFC 5869) for sub-keys. Both synchronous, both from `@noble/hashes`
 * (audited, pure JS), the same code and the same bytes in every runtime.
 *
 * Argon2id defaults are the Rust crate's (and OWASP's minimum): m = 19,456 KiB,
 * t = 2, p = 1, which cost about 0.3 s here (see `bench/crypto_micro.ts`).
 * Parameters read from a file are checked against {@linkcode ARGON2ID_LIMITS}
 * before any memory is taken, so a damaged or hostile file cannot ask for
 * gigabytes.
 *
 * @module
 */
// @ts-types="../vendor/types/hashes.d.ts"
import { argon2id } from "../vendor/noble_hashes/argon2.js";
// @ts-types="../vendor/types/hashes.d.ts"
import { hkdf } from "../vendor/noble_hashes/hkdf.js";
// @ts-types="../vendor/types/hashes.d.ts"
import { sha256 } from "../vendor/noble_hashes/sha2.js";

/** Argon2id cost parameters (RFC 9106 §3.1). */
export interface Argon2idParams {
  /** m: memory in KiB, at least 8 × `parallelism`. */
  readonly memoryKiB: number;
  /** t: passes over the memory. */
  readonly passes: number;
  /** p: lanes. */
  readonly parallelism: number;
}

/** The defaults for a new database: m = 19,456 KiB (19 MiB), t = 2, p = 1 (the Rust crate's, OWASP's minimum). */
export const ARGON2ID_DEFAULTS: Readonly<Argon2idParams> = Object.freeze({
  memoryKiB: 19_456,
  passes: 2,
  parallelism: 1,
});

/** The largest parameters accepted: 1 GiB of memory, 64 passes, 64 lanes. */
export const ARGON2ID_LIMITS: Readonly<Argon2idParams> = Object.freeze({
  memoryKiB: 1_048_576,
  passes: 64,
  parallelism: 64,
});

/** Bytes of the Argon2id salt: 16, as RFC 9106 §3.1 recommends. */
export const SALT_BYTES = 16;

/** Bytes of every derived key. */
export const DERIVED_KEY_BYTES = 32;

/**
 * Checks Argon2id parameters (from options or from a file).
 *
 * @param params The parameters.
 * @throws {RangeError} When a value is not an integer, or outside 1..{@linkcode ARGON2ID_LIMITS}, or
 *   `memoryKiB` < 8 × `parallelism`.
 */
export function checkArgon2idParams(params: Argon2idParams): void {
  const { memoryKiB, passes, parallelism } = params;
  const within = (v: number, max: number) => Number.isInteger(v) && v >= 1 && v <= max;
  if (!within(parallelism, ARGON2ID_LIMITS.parallelism)) {
    throw new RangeError(`Argon2id parallelism must be 1..${ARGON2ID_LIMITS.parallelism}, got ${parallelism}`);
  }
  if (!within(passes, ARGON2ID_LIMITS.passes)) {
    throw new RangeError(`Argon2id passes must be 1..${ARGON2ID_LIMITS.passes}, got ${passes}`);
  }
  if (!within(memoryKiB, ARGON2ID_LIMITS.memoryKiB) || memoryKiB < 8 * parallelism) {
    throw new RangeError(
      `Argon2id memoryKiB must be ${
        8 * parallelism
      }..${ARGON2ID_LIMITS.memoryKiB} (8 × parallelism or more), got ${memoryKiB}`,
    );
  }
}

/**
 * The bytes of a passphrase: a string is normalized to Unicode NFC (so the same
 * passphrase typed on any system gives the same key, as RFC 8265's
 * OpaqueString profile does) and encoded as UTF-8; bytes are taken as they are.
 *
 * @param passphrase The passphrase.
 * @returns Fresh bytes the caller may wipe.
 * @throws {TypeError} On a string with a lone surrogate (it has no UTF-8 form), or a value of another type.
 * @throws {RangeError} On an empty passphrase.
 */
export function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (typeof passphrase === "string") {
    if (!passphrase.isWellFormed()) throw new TypeError("Cannot use the passphrase: it holds a lone surrogate");
    bytes = new TextEncoder().encode(passphrase.normalize("NFC"));
  } else if (passphrase instanceof Uint8Array) {
    bytes = passphrase.slice();
  } else {
    throw new TypeError(`Cannot use the passphrase: expected a string or Uint8Array, got ${typeof passphrase}`);
  }
  if (bytes.length === 0) throw new RangeError("Cannot use an empty passphrase");
  return bytes;
}

/**
 * Derives a 32-byte key from a passphrase with Argon2id (RFC 9106, version
 * 0x13, no secret, no associated data). Synchronous; takes about 0.3 s with
 * the defaults.
 *
 * @param passphrase A non-empty string (NFC-normalized, UTF-8) or bytes.
 * @param salt 16 random bytes, stored beside the data.
 * @param params Costs; {@linkcode ARGON2ID_DEFAULTS} when omitted.
 * @returns 32 fresh bytes.
 * @throws {RangeError} On an empty passphrase, a salt that is not 16 bytes, or parameters out of range.
 * @throws {TypeError} On a passphrase that is neither a string nor bytes, or holds a lone surrogate.
 * @example Derive a database key (small costs keep the example quick)
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveKeyArgon2id } from "./kdf.ts";
 *
 * const salt = new Uint8Array(16).fill(7); // a new database draws 16 random bytes
 * const params = { memoryKiB: 64, passes: 1, parallelism: 1 };
 * const key = deriveKeyArgon2id("correct horse battery staple", salt, params);
 * assert.equal(key.length, 32);
 * assert.deepEqual(deriveKeyArgon2id("correct horse battery staple", salt, params), key);
 * ```
 */
export function deriveKeyArgon2id(
  passphrase: string | Uint8Array,
  salt: Uint8Array,
  params: Argon2idParams = ARGON2ID_DEFAULTS,
): Uint8Array {
  checkArgon2idParams(params);
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_BYTES) {
    throw new RangeError(`Argon2id salt must be ${SALT_BYTES} bytes`);
  }
  const password = passphraseBytes(passphrase);
  try {
    return argon2id(password, salt, {
      m: params.memoryKiB,
      t: params.passes,
      p: params.parallelism,
      dkLen: DERIVED_KEY_BYTES,
      maxmem: ARGON2ID_LIMITS.memoryKiB * 1024,
    });
  } finally {
    password.fill(0);
  }
}

/**
 * HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info`.
 *
 * @param ikm Input key material (a raw or derived key).
 * @param salt Extract salt; may be empty (then 32 zero bytes, as the RFC says).
 * @param info Context that tells sub-keys apart (for example `"emdb/v1/value-key"`).
 * @param length Bytes wanted, 1..8160 (255 × 32); 32 by default.
 * @returns `length` fresh bytes.
 * @throws {RangeError} On a length out of range.
 * @example Two independent sub-keys from one key
 * ```ts
 * import assert from "node:assert/strict";
 * import { hkdfSha256 } from "./kdf.ts";
 *
 * const key = new Uint8Array(32).fill(1);
 * const dbId = new Uint8Array(16).fill(2);
 * const values = hkdfSha256(key, dbId, "emdb/v1/value-key");
 * const tags = hkdfSha256(key, dbId, "emdb/v1/lookup-tag-key");
 * assert.notDeepEqual(values, tags);
 * ```
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: string | Uint8Array,
  length: number = DERIVED_KEY_BYTES,
): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new RangeError(`HKDF-SHA256 length must be 1..8160, got ${length}`);
  }
  const infoBytes = typeof info === "string" ? new TextEncoder().encode(info) : info;
  return hkdf(sha256, ikm, salt.length === 0 ? undefined : salt, infoBytes, length);
}
