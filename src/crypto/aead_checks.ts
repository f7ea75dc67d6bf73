/**
 * The sizes and argument checks every {@linkcode "./aead.ts".Aead}
 * implementation shares, in one place so that `node:crypto`, `@noble/ciphers`
 * and OpenSSL refuse exactly the same calls.
 *
 * @module
 */
import { NONCE_BYTES } from "./random.ts";

/** Bytes of a key. */
export const KEY_BYTES = 32;

/** Bytes of the authentication tag appended to every sealed record. */
export const TAG_BYTES = 16;

/** True when `length` bytes of `out` at `outPos` share memory with `input`. */
function overlaps(input: Uint8Array, out: Uint8Array, outPos: number, length: number): boolean {
  if (input.buffer !== out.buffer || length === 0 || input.length === 0) return false;
  const a = out.byteOffset + outPos;
  return a < input.byteOffset + input.length && input.byteOffset < a + length;
}

/**
 * Checks a `seal` call; cheap enough for every record.
 *
 * @param destroyed Whether the cipher was destroyed.
 * @param nonce The nonce (12 bytes).
 * @param input The plaintext.
 * @param out Where the sealed bytes go.
 * @param outPos The offset in `out`.
 * @throws {TypeError} After destroy.
 * @throws {RangeError} On a wrong nonce size, too little room, or an overlap.
 */
export function checkSeal(
  destroyed: boolean,
  nonce: Uint8Array,
  input: Uint8Array,
  out: Uint8Array,
  outPos: number,
): void {
  if (destroyed) throw new TypeError("Cannot seal: the cipher was destroyed");
  if (nonce.length !== NONCE_BYTES) {
    throw new RangeError(`Cannot seal: the nonce must be 12 bytes, got ${nonce.length}`);
  }
  const length = input.length + TAG_BYTES;
  if (!(outPos >= 0 && outPos + length <= out.length)) {
    throw new RangeError(`Cannot seal: ${length} bytes at ${outPos} do not fit in ${out.length}`);
  }
  if (overlaps(input, out, outPos, length)) throw new RangeError("Cannot seal: out overlaps the plaintext");
}

/**
 * Checks an `open` call; cheap enough for every record.
 *
 * @param destroyed Whether the cipher was destroyed.
 * @param nonce The nonce (12 bytes).
 * @param input The sealed bytes.
 * @param out Where the plaintext goes.
 * @param outPos The offset in `out`.
 * @throws {TypeError} After destroy.
 * @throws {RangeError} On a wrong nonce size, too little room, or an overlap.
 */
export function checkOpen(
  destroyed: boolean,
  nonce: Uint8Array,
  input: Uint8Array,
  out: Uint8Array,
  outPos: number,
): void {
  if (destroyed) throw new TypeError("Cannot open: the cipher was destroyed");
  if (nonce.length !== NONCE_BYTES) {
    throw new RangeError(`Cannot open: the nonce must be 12 bytes, got ${nonce.length}`);
  }
  const length = Math.max(0, input.length - TAG_BYTES);
  if (!(outPos >= 0 && outPos + length <= out.length)) {
    throw new RangeError(`Cannot open: ${length} bytes at ${outPos} do not fit in ${out.length}`);
  }
  if (overlaps(input, out, outPos, length)) throw new RangeError("Cannot open: out overlaps the sealed bytes");
}
