/**
 * Time to live: turning write options into the expiry stored in a record.
 *
 * A record's expiry is an absolute time in Unix milliseconds read from the
 * database's clock (`clock` option, `Date.now` by default); 0 means "never".
 * A record whose expiry is at or before the clock's time is dead: every read
 * ignores it, and a replay treats it as a deletion of its key.
 *
 * @module
 */
import { checkTtl } from "./options.ts";

/** Per-write expiry options. */
export interface SetOptions {
  /** Time to live in milliseconds (`Infinity`: never expires). Overrides the database's `defaultTtl`. */
  ttl?: number;
  /** Absolute expiry in Unix milliseconds (from the database's clock). Not together with `ttl`. */
  expiresAt?: number;
}

/**
 * The expiry a write stores.
 *
 * @param options What the caller passed (may be `undefined`).
 * @param defaultTtl The database's default time to live (`Infinity`: none).
 * @param now The clock's time.
 * @returns Unix ms, or 0 for "never".
 * @throws {TypeError} For an unknown option, or `ttl` together with `expiresAt`.
 * @throws {RangeError} For a negative or overflowing time.
 */
export function expiryFor(options: SetOptions | undefined, defaultTtl: number, now: number): number {
  let ttl = defaultTtl;
  if (options !== undefined) {
    if (options === null || typeof options !== "object") throw new TypeError("Write options must be an object");
    for (const k of Object.keys(options)) {
      if (k !== "ttl" && k !== "expiresAt") throw new TypeError(`Unknown write option "${k}"`);
    }
    if (options.ttl !== undefined && options.expiresAt !== undefined) {
      throw new TypeError('Give "ttl" or "expiresAt", not both');
    }
    if (options.expiresAt !== undefined) {
      const at = options.expiresAt;
      if (typeof at !== "number" || !Number.isFinite(at) || at < 0) {
        throw new RangeError(`"expiresAt" must be a finite, non-negative number of Unix ms, got ${at}`);
      }
      return Math.max(1, Math.floor(at));
    }
    if (options.ttl !== undefined) ttl = checkTtl('"ttl"', options.ttl);
  }
  if (ttl === Infinity) return 0;
  const at = Math.floor(now + ttl);
  if (!Number.isSafeInteger(at)) throw new RangeError(`"ttl" of ${ttl} ms overflows the clock`);
  return Math.max(1, at);
}
