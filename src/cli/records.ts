/**
 * The JSON Lines format of `dump`, `load`, `scan --json` and `get --json`:
 * one object per key,
 *
 * ```text
 * {"ns":"","key":"user:1","value":"Ada"}
 * {"ns":"logs","key_b64":"AAE=","value_b64":"/w==","ttl":59874}
 * ```
 *
 * - `ns`: the namespace (`""`: the default one; optional on input, default `""`);
 * - `key` (a key written as a string) or `key_b64` (a key written as bytes, base64):
 *   the distinction is kept, so a key reads back as the type it was written with;
 * - `value` (the value when it is UTF-8 text) or `value_b64` (any other bytes, base64);
 * - `ttl`: milliseconds the key had left to live when it was dumped (absent: never
 *   expires); on input it counts from the moment of the load.
 *
 * Input is strict: an unknown field, a missing or doubled key or value, a wrong
 * type, bad base64 or a lone surrogate is refused with the line's number.
 *
 * @module
 */
import type { Key } from "../codec.ts";
import { MAX_KEY_BYTES } from "../format/record.ts";
import { checkNamespaceName } from "../namespace.ts";
import { fromBase64, toBase64 } from "./args.ts";
import type { ByteSource } from "./command.ts";
import { badInput } from "./exit_codes.ts";
import { utf8OrUndefined } from "./output.ts";

/** One key of a dump. */
export interface DumpEntry {
  /** Namespace name (`""`: the default namespace). */
  ns: string;
  /** The key (a string when it was written as one). */
  key: Key;
  /** The value: text for `"value"`, bytes for `"value_b64"`. */
  value: string | Uint8Array;
  /** Milliseconds left to live, or `undefined` for none. */
  ttl: number | undefined;
}

/**
 * One line of the format (with its newline).
 *
 * @param ns The namespace.
 * @param key The key.
 * @param value The value's bytes.
 * @param ttl Milliseconds left, or `undefined`.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { entryLine } from "./records.ts";
 * console.log(entryLine("", "k", new TextEncoder().encode("v"), undefined)); // {"ns":"","key":"k","value":"v"}
 * ```
 */
export function entryLine(ns: string, key: Key, value: Uint8Array, ttl: number | undefined): string {
  let s = `{"ns":${JSON.stringify(ns)},`;
  s += typeof key === "string" ? `"key":${JSON.stringify(key)},` : `"key_b64":"${toBase64(key)}",`;
  const text = utf8OrUndefined(value);
  s += text !== undefined ? `"value":${JSON.stringify(text)}` : `"value_b64":"${toBase64(value)}"`;
  if (ttl !== undefined) s += `,"ttl":${ttl}`;
  return `${s}}\n`;
}

const FIELDS = new Set(["ns", "key", "key_b64", "value", "value_b64", "ttl"]);
const encoder = new TextEncoder();

/**
 * Parses and checks one line of input.
 *
 * @param text The line (without its newline).
 * @param line Its number (from 1), for messages.
 * @returns The entry.
 * @throws {CliError} Exit code 6 naming the line and the problem.
 *
 * @example
 * ```ts
 * import { parseEntryLine } from "./records.ts";
 * console.log(parseEntryLine('{"key":"k","value_b64":"AQI="}', 1).value); // Uint8Array [1, 2]
 * ```
 */
export function parseEntryLine(text: string, line: number): DumpEntry {
  const bad = (why: string) => badInput(`line ${line}: ${why}`);
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw bad("not a JSON object");
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) {
    if (!FIELDS.has(k)) {
      throw bad(`unknown field ${JSON.stringify(k)} (fields: ns, key or key_b64, value or value_b64, ttl)`);
    }
  }
  const ns = r.ns ?? "";
  if (typeof ns !== "string") throw bad('"ns" must be a string');
  if (ns !== "") {
    try {
      checkNamespaceName(ns);
    } catch (e) {
      throw bad(`"ns": ${(e as Error).message}`);
    }
  }
  const key = pick(r, "key", "key_b64", bad);
  // A string of n UTF-16 units takes at most 3n UTF-8 bytes: only long ones need encoding to be measured.
  const keyBytes = typeof key !== "string"
    ? key.length
    : 3 * key.length <= MAX_KEY_BYTES
    ? 0
    : encoder.encode(key).length;
  if (keyBytes > MAX_KEY_BYTES) throw bad(`the key is longer than ${MAX_KEY_BYTES} bytes`);
  const value = pick(r, "value", "value_b64", bad);
  let ttl: number | undefined;
  if (r.ttl !== undefined) {
    if (typeof r.ttl !== "number" || !Number.isFinite(r.ttl) || r.ttl < 0) {
      throw bad('"ttl" must be a non-negative number of milliseconds');
    }
    ttl = r.ttl;
  }
  return { ns, key, value, ttl };
}

/** The text field or the base64 field of a pair: exactly one of them. */
function pick(
  r: Record<string, unknown>,
  text: string,
  b64: string,
  bad: (why: string) => Error,
): string | Uint8Array {
  const t = r[text];
  const b = r[b64];
  if (t === undefined && b === undefined) throw bad(`"${text}" or "${b64}" is missing`);
  if (t !== undefined && b !== undefined) throw bad(`give "${text}" or "${b64}", not both`);
  if (t !== undefined) {
    if (typeof t !== "string") throw bad(`"${text}" must be a string (use "${b64}" for bytes)`);
    if (!t.isWellFormed()) throw bad(`"${text}" holds a lone surrogate (not representable in UTF-8)`);
    return t;
  }
  if (typeof b !== "string") throw bad(`"${b64}" must be a base64 string`);
  const bytes = fromBase64(b);
  if (bytes === undefined) throw bad(`"${b64}" is not valid base64`);
  return bytes;
}

/**
 * Splits a byte stream into lines (LF or CRLF), decoded as strict UTF-8.
 * Blank lines are skipped.
 *
 * @param source Chunks of bytes (a file or standard input).
 * @param onBytes Called with the bytes read so far (for progress).
 * @returns `[line number, text]` pairs.
 * @throws {CliError} Exit code 6 for a line that is not UTF-8.
 */
export async function* readLines(
  source: ByteSource,
  onBytes?: (n: number) => void,
): AsyncGenerator<[number, string]> {
  const dec = new TextDecoder("utf-8", { fatal: true });
  let pending: Uint8Array[] = [];
  let line = 0;
  let read = 0;
  const decode = (parts: Uint8Array[]): string => {
    let bytes: Uint8Array;
    if (parts.length === 1) {
      bytes = parts[0]!;
    } else {
      bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        bytes.set(p, o);
        o += p.length;
      }
    }
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      return dec.decode(bytes);
    } catch {
      throw badInput(`line ${line}: not valid UTF-8`);
    }
  };
  for await (const raw of source) {
    const chunk = typeof raw === "string" ? encoder.encode(raw) : raw;
    read += chunk.length;
    onBytes?.(read);
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      pending.push(chunk.subarray(start, nl));
      line++;
      const text = decode(pending);
      pending = [];
      if (text.trim() !== "") yield [line, text];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.slice(start));
  }
  if (pending.length > 0) {
    line++;
    const text = decode(pending);
    if (text.trim() !== "") yield [line, text];
  }
}
