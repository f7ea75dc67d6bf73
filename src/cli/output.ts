/**
 * What `emdb` writes: buffered standard output that waits when the reader is
 * slow and stops quietly when the reader goes away (`emdb dump | head`), the
 * one-line messages on standard error, and the text forms of keys and values.
 *
 * @module
 */
import * as fs from "node:fs";
import type { Key } from "../codec.ts";

/** The part of a writable stream (`process.stdout`) {@linkcode Output} uses. */
export interface WritableLike {
  /** Writes a chunk; returns false when the caller should wait for `"drain"`. */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  /** Listens to `"drain"`, `"error"`, `"close"`. */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Stops listening. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

const encoder = new TextEncoder();
/** Bytes buffered before they are handed to the stream. */
const CHUNK = 64 * 1024;

/**
 * Buffered output to a stream, with backpressure. After the stream fails
 * (`EPIPE`: the reader closed the pipe), writes are dropped and
 * {@linkcode Output.broken} is set, so long commands can stop early.
 *
 * @example
 * ```ts
 * import { Output } from "./output.ts";
 * const chunks: Uint8Array[] = [];
 * const out = new Output({ write: (c, cb) => (chunks.push(c), cb?.(), true), on: () => {}, off: () => {} });
 * await out.write("hello\n");
 * await out.end();
 * console.log(new TextDecoder().decode(chunks[0])); // "hello\n"
 * ```
 */
export class Output {
  #stream: WritableLike;
  #parts: Uint8Array[] = [];
  #size = 0;
  /** Text queued after the last part (encoded once per chunk, not once per line). */
  #text = "";
  #broken = false;

  /** @param stream Where to write (`process.stdout`). */
  constructor(stream: WritableLike) {
    this.#stream = stream;
    stream.on("error", () => {
      this.#broken = true;
    });
  }

  /** True once the stream failed (the reader went away): further output is dropped. */
  get broken(): boolean {
    return this.#broken;
  }

  /**
   * Queues text or bytes; hands them to the stream once about 64 KiB are queued.
   *
   * @param data What to write.
   * @returns A promise when the stream had to be waited for (await it), else nothing.
   */
  write(data: string | Uint8Array): Promise<void> | void {
    if (this.#broken) return;
    if (typeof data === "string") {
      this.#text += data;
      if (this.#size + this.#text.length >= CHUNK) return this.flush();
      return;
    }
    this.#encodeText();
    this.#parts.push(data);
    this.#size += data.length;
    if (this.#size >= CHUNK) return this.flush();
  }

  /**
   * Hands what is queued to the stream and waits when the stream asks to.
   *
   * @returns When the stream can take more.
   */
  flush(): Promise<void> {
    this.#encodeText();
    if (this.#size === 0 || this.#broken) return Promise.resolve();
    const chunk = this.#take();
    if (this.#stream.write(chunk)) return Promise.resolve();
    return this.#wait(["drain", "error", "close"]);
  }

  /**
   * Writes everything queued and waits until the stream has taken it.
   *
   * @returns When the last byte was written (or the stream failed).
   */
  end(): Promise<void> {
    this.#encodeText();
    if (this.#broken) return Promise.resolve();
    const chunk = this.#take();
    return new Promise((resolve) => {
      const onError = () => resolve();
      this.#stream.on("error", onError);
      this.#stream.write(chunk, () => {
        this.#stream.off("error", onError);
        resolve();
      });
    });
  }

  #encodeText(): void {
    if (this.#text === "") return;
    const bytes = encoder.encode(this.#text);
    this.#text = "";
    this.#parts.push(bytes);
    this.#size += bytes.length;
  }

  #take(): Uint8Array {
    const parts = this.#parts;
    this.#parts = [];
    const size = this.#size;
    this.#size = 0;
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(size);
    let p = 0;
    for (const b of parts) {
      out.set(b, p);
      p += b.length;
    }
    return out;
  }

  #wait(events: readonly string[]): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        for (const e of events) this.#stream.off(e, done);
        resolve();
      };
      for (const e of events) this.#stream.on(e, done);
    });
  }
}

/**
 * Writes a line to standard error, synchronously (so that it is out before the
 * process exits). A failing standard error is ignored: there is nowhere left
 * to report it.
 *
 * @param text The text (a newline is not added).
 */
export function writeStderr(text: string): void {
  try {
    const bytes = encoder.encode(text);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(2, bytes, done, bytes.length - done);
  } catch {
    // Standard error is closed or full: nothing more can be said.
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes strict UTF-8.
 *
 * @param bytes The bytes.
 * @returns The text, or `undefined` when the bytes are not valid UTF-8.
 */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Escapes a string for one line: `\\`, `\t`, `\n`, `\r`, other control characters as `\xNN`. */
function escapeText(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\\\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case "\\":
        return "\\\\";
      case "\t":
        return "\\t";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      default:
        return `\\x${hex2(c.charCodeAt(0))}`;
    }
  });
}

/**
 * The one-line, lossless text form of a key or value used by `scan`: UTF-8
 * text as is, with `\\`, tab, newline, carriage return and other control
 * characters escaped; bytes that are not UTF-8 text as `\xNN` (printable
 * ASCII kept). A tab or newline never appears in the result.
 *
 * @param data A key (string or bytes) or a value.
 * @returns The escaped text.
 *
 * @example
 * ```ts
 * import { escapeForLine } from "./output.ts";
 * console.log(escapeForLine("a\tb")); // "a\\tb"
 * console.log(escapeForLine(Uint8Array.of(0x61, 0xff))); // "a\\xff"
 * ```
 */
export function escapeForLine(data: Key | Uint8Array): string {
  if (typeof data === "string") return escapeText(data);
  const text = utf8OrUndefined(data);
  if (text !== undefined) return escapeText(text);
  let s = "";
  for (const b of data) {
    s += b === 0x5c ? "\\\\" : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${hex2(b)}`;
  }
  return s;
}

/**
 * A key's bytes (a string key as UTF-8).
 *
 * @param key The key.
 * @returns Its bytes.
 */
export function keyBytes(key: Key): Uint8Array {
  return typeof key === "string" ? encoder.encode(key) : key;
}

/**
 * A number with thousands separators.
 *
 * @param n The number.
 * @returns E.g. `"1,234,567"`.
 */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * A byte size for people: `"512 B"`, `"1.5 KiB"`, `"12.3 MiB"`.
 *
 * @param n Bytes.
 * @returns The size.
 */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}
