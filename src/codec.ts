/**
 * Keys and values as bytes: strings are UTF-8, `Uint8Array`s are taken as is.
 *
 * Strings must be well-formed UTF-16: a lone surrogate has no UTF-8 form and
 * would be silently replaced by U+FFFD (two different keys would then become
 * the same key), so it is refused with a `TypeError` instead.
 *
 * @module
 */
import { MAX_KEY_BYTES } from "./format/record.ts";

/** A key: a string (stored as UTF-8) or raw bytes. */
export type Key = string | Uint8Array;
/** A value: a string (stored as UTF-8) or raw bytes. */
export type Value = string | Uint8Array;

const encoder = new TextEncoder();

/**
 * Writes a string's UTF-8 bytes into `out` at `pos`.
 *
 * @returns The number of bytes written.
 * @throws {TypeError} For a string with a lone surrogate.
 * @throws {RangeError} When `out` is too small (callers size it at 3 bytes per char).
 */
export function writeUtf8(s: string, out: Uint8Array, pos: number): number {
  const n = s.length;
  if (n < 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[pos + i] = c;
    }
    if (i === n) return n;
  }
  if (!s.isWellFormed()) throw new TypeError("Strings must be well-formed UTF-16 (this one has a lone surrogate)");
  const r = encoder.encodeInto(s, out.subarray(pos));
  if (r.read !== n) throw new RangeError("Output buffer too small for string");
  return r.written;
}

/**
 * Writes a key's bytes into `out` at `pos`; `out` must have room for
 * 3 × 65,535 bytes after `pos` when the key is a string.
 *
 * @returns The key's length in bytes.
 * @throws {TypeError} When the key is neither a string nor a Uint8Array.
 * @throws {RangeError} When the key is longer than 65,535 bytes.
 */
export function writeKey(key: Key, out: Uint8Array, pos: number): number {
  let len: number;
  if (typeof key === "string") {
    if (key.length > MAX_KEY_BYTES) {
      throw new RangeError(`Key too long: ${key.length} chars (max ${MAX_KEY_BYTES} bytes)`);
    }
    len = writeUtf8(key, out, pos);
  } else if (key instanceof Uint8Array) {
    len = key.byteLength;
    if (len > MAX_KEY_BYTES) throw new RangeError(`Key too long: ${len} bytes (max ${MAX_KEY_BYTES})`);
    out.set(key, pos);
  } else {
    throw new TypeError(`Key must be a string or Uint8Array, got ${describe(key)}`);
  }
  if (len > MAX_KEY_BYTES) throw new RangeError(`Key too long: ${len} bytes (max ${MAX_KEY_BYTES})`);
  return len;
}

/** The most bytes a key can take once encoded (0 for a key of the wrong type, rejected later). */
export function keyBound(key: Key): number {
  return typeof key === "string" ? 3 * key.length : key instanceof Uint8Array ? key.byteLength : 0;
}

/** Strings up to this many chars are sized by their worst case (3 bytes a char) rather than measured. */
const MEASURE_ABOVE = 4096;

/**
 * The exact number of UTF-8 bytes of a well-formed string.
 *
 * @param s The string.
 * @returns Its UTF-8 length.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) i++; // a surrogate pair: 2 chars, 4 bytes
    else n += 2;
  }
  return n;
}

/**
 * The most bytes a value can take once encoded: exact for bytes and for long
 * strings (measured), the worst case (3 bytes a char) for short strings.
 *
 * @throws {TypeError} When the value is neither a string nor a Uint8Array.
 */
export function valueBound(value: Value): number {
  if (typeof value === "string") return value.length > MEASURE_ABOVE ? utf8Length(value) : value.length * 3;
  if (value instanceof Uint8Array) return value.byteLength;
  throw new TypeError(`Value must be a string or Uint8Array, got ${describe(value)}`);
}

/**
 * Writes a value's bytes into `out` at `pos`.
 *
 * @returns The number of bytes written.
 */
export function writeValue(value: Value, out: Uint8Array, pos: number): number {
  if (typeof value === "string") return writeUtf8(value, out, pos);
  out.set(value, pos);
  return value.byteLength;
}

/** Names a value's type for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}
