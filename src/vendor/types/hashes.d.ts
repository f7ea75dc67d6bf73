// The parts of @noble/hashes (sha2.js, hmac.js, hkdf.js, argon2.js) that emdb uses, typed.
/** A hash state. */
export interface Hash {
  update(data: Uint8Array): Hash;
  digestInto(out: Uint8Array): void;
  destroy(): void;
}
/** A hash function with a state constructor. */
export interface CHash {
  (message: Uint8Array): Uint8Array;
  create(): Hash;
  outputLen: number;
  blockLen: number;
}
/** SHA-256. */
export declare const sha256: CHash;
/** A keyed HMAC state: clone the keyed state, update, digest. */
export interface HmacState extends Hash {
  update(data: Uint8Array): HmacState;
  _cloneInto(to?: HmacState): HmacState;
}
/** HMAC. */
export declare const hmac: {
  (hash: CHash, key: Uint8Array, message: Uint8Array): Uint8Array;
  create(hash: CHash, key: Uint8Array): HmacState;
};
/** HKDF (RFC 5869). */
export declare function hkdf(
  hash: CHash,
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array | undefined,
  length: number,
): Uint8Array;
/** Argon2id (RFC 9106). */
export declare function argon2id(
  password: Uint8Array,
  salt: Uint8Array,
  opts: { m: number; t: number; p: number; dkLen?: number; maxmem?: number },
): Uint8Array;
