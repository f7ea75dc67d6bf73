/**
 * Number ↔ bigint conversions shared by the runtime binders.
 *
 * @module
 */

const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = -MAX;

/**
 * Converts a 64-bit FFI result to a `number`.
 *
 * Values outside the safe-integer range (such as `MAP_FAILED` read as
 * unsigned) are folded to their signed 64-bit value; if that still does not
 * fit a double exactly, `-1` is returned, which every caller treats as failure.
 *
 * @param v The raw result from the runtime.
 * @returns The value as a number.
 */
export function toNumber(v: number | bigint): number {
  if (typeof v === "number") return v;
  if (v <= MAX && v >= MIN) return Number(v);
  const signed = BigInt.asIntN(64, v);
  if (signed <= MAX && signed >= MIN) return Number(signed);
  return -1;
}

/**
 * Converts a JavaScript number argument to a 64-bit integer argument.
 *
 * @param n A safe integer.
 * @returns The same value as a bigint.
 * @throws {RangeError} When `n` is not a safe integer.
 */
export function toBigInt(n: number): bigint {
  if (!Number.isSafeInteger(n)) throw new RangeError(`FFI argument ${n} is not a safe integer`);
  return BigInt(n);
}
