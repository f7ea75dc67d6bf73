/**
 * Randomness from the runtime's CSPRNG: fresh 96-bit nonces, cheap per record,
 * and random bytes for keys, salts and database ids.
 *
 * Both come from `crypto.getRandomValues` (Web Crypto, synchronous in Deno and
 * Bun, backed by the OS generator). Nonces are cut from a pool refilled 4 KiB at
 * a time: one call to the OS generator serves 341 records.
 *
 * A random 96-bit nonce must not repeat under one key. With random nonces NIST
 * SP 800-38D §8.3 caps one key at 2^32 sealed records (collision chance below
 * 2^-32); {@linkcode RANDOM_NONCE_LIMIT} names that number so an engine can
 * count seals and ask for a new key before it is reached.
 *
 * @module
 */

/** Bytes of every nonce: 96 bits, as both AES-256-GCM and ChaCha20-Poly1305 (RFC 8439) take. */
export const NONCE_BYTES = 12;

/**
 * How many records one key may seal with random 96-bit nonces (NIST SP 800-38D
 * §8.3: at most 2^32 invocations with random IVs).
 */
export const RANDOM_NONCE_LIMIT = 2 ** 32;

/** Bytes drawn from the OS generator per refill; `getRandomValues` takes at most 65,536. */
const POOL_BYTES = 4092; // 341 nonces

/**
 * Fills `out` with bytes from the runtime's CSPRNG (in chunks of 65,536, the
 * most one `getRandomValues` call takes).
 *
 * @param out The bytes to overwrite.
 * @returns `out`.
 * @example Make a 32-byte key
 * ```ts
 * import { fillRandom } from "./random.ts";
 * const key = fillRandom(new Uint8Array(32));
 * ```
 */
export function fillRandom(out: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  }
  return out;
}

/**
 * A source of fresh random 96-bit nonces, cheap per record: 12 bytes are cut
 * from a pool that is refilled from the OS generator when it runs out; each
 * pool byte is handed out once.
 *
 * @example Write a nonce in front of a sealed record
 * ```ts
 * import { NoncePool, NONCE_BYTES } from "./random.ts";
 * const nonces = new NoncePool();
 * const record = new Uint8Array(NONCE_BYTES + 100);
 * nonces.next(record, 0); // record[0..12) is now a fresh nonce
 * ```
 */
export class NoncePool {
  #pool = new Uint8Array(POOL_BYTES);
  #pos = POOL_BYTES;

  /**
   * Writes a fresh 12-byte nonce into `out` at `outPos`.
   *
   * @param out Where the nonce goes.
   * @param outPos The offset in `out`.
   * @throws {RangeError} When `out` has no room for 12 bytes at `outPos`.
   */
  next(out: Uint8Array, outPos: number): void {
    if (!(outPos >= 0 && outPos + NONCE_BYTES <= out.length)) {
      throw new RangeError(`Cannot write a nonce: ${NONCE_BYTES} bytes at ${outPos} do not fit in ${out.length}`);
    }
    const pool = this.#pool;
    let p = this.#pos;
    if (p === POOL_BYTES) {
      crypto.getRandomValues(pool);
      p = 0;
    }
    for (let i = 0; i < NONCE_BYTES; i++) {
      out[outPos + i] = pool[p + i]!;
    }
    this.#pos = p + NONCE_BYTES;
  }
}
