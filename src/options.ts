/**
 * Options accepted by `Emdb.open`, their defaults and their validation.
 *
 * Unknown or misspelled keys are rejected with a `TypeError` naming the key
 * (and the closest known key), so a typo never silently falls back to a default.
 *
 * @module
 */

/** What `Emdb.open` does when it finds damaged data followed by valid data. */
export type CorruptionPolicy = "refuse" | "salvage";

/** Options for `Emdb.open`, `Emdb.openDefault` and `Emdb.openInMemory`. */
export interface EmdbOptions {
  /**
   * Create the database when the file does not exist.
   * Default `true`; with `false` a missing file throws `EmdbError` code `NOT_FOUND`.
   */
  create?: boolean;
  /**
   * What to do when damaged bytes are followed by valid records (a bit flip mid-file).
   * `"refuse"` (default) throws `EmdbError` code `CORRUPTED` with the byte offset and
   * leaves the file untouched. `"salvage"` keeps the valid prefix, moves every byte
   * from the damage onwards to a side file `<path>.corrupt-<offset>` and opens.
   */
  onCorruption?: CorruptionPolicy;
  /**
   * Load the index snapshot written by `checkpoint()` (`<path>.hint`) to skip most of
   * the replay. Default `true`. A stale or damaged snapshot is detected and ignored.
   */
  useCheckpoint?: boolean;
  /**
   * Write a checkpoint on `close()` when the journal grew since the last one.
   * Default `true`.
   */
  checkpointOnClose?: boolean;
  /**
   * The most the journal file is grown ahead of its data, so that most flushes do not
   * also have to persist a new file size. The file grows by doubling (at least 1 MiB
   * at a time, in 64 KiB units) but never more than this ahead; `0` grows it only as
   * each write needs. Default 64 MiB, maximum 1 GiB. The spare space is trimmed again
   * on `close()`.
   */
  preallocateBytes?: number;
  /**
   * Time to live, in milliseconds, of every record written without its own `ttl` or
   * `expiresAt`. Default: none (records never expire). `Infinity` means none.
   */
  defaultTtl?: number;
  /**
   * The clock every time-based feature reads (TTL, expiry), in Unix milliseconds.
   * Default `Date.now`. Tests inject their own instead of sleeping.
   */
  clock?: () => number;
  /** When writes become durable; see {@linkcode FlushPolicy}. Default `"manual"`. */
  flushPolicy?: FlushPolicy;
  /**
   * Encrypt every record (keys included) with authenticated encryption; see
   * {@linkcode EncryptionOptions}. A new database is created encrypted; an
   * encrypted one needs the same key or passphrase (`KEY_MISMATCH` otherwise,
   * `KEY_REQUIRED` without). Default: none (plaintext).
   */
  encryption?: EncryptionOptions;
  /** The cipher of a new encrypted database. Default `"aes-256-gcm"`; an existing one keeps its own. */
  cipher?: Cipher;
  /** Argon2id costs for a new passphrase-protected database. */
  kdf?: KdfOptions;
  /**
   * Compact automatically when garbage passes a ratio (see {@linkcode AutoCompactOptions}).
   * Default: off. `true` uses the defaults.
   */
  autoCompact?: boolean | AutoCompactOptions;
  /** For `Emdb.openDefault`: the application folder name. Default `"emdb"`. */
  appName?: string;
  /** For `Emdb.openDefault`: the database file name. Default `"emdb-default.emdb"`. */
  databaseName?: string;
  /** For `Emdb.openDefault`: the data root instead of the OS default. */
  dataRoot?: string;
}

/**
 * When writes become durable.
 *
 * - `"manual"` (default): at `flush()` (and `close()`); a process crash keeps
 *   every write, a machine crash keeps what was flushed.
 * - `"always"`: every write is flushed (one fdatasync) before it returns.
 * - `{ interval: ms }`: a write is flushed within `ms` milliseconds: the first
 *   write after a flush arms a timer on the event loop (no thread of its own;
 *   unref'd, so it never keeps the process alive), and any write made when the
 *   last flush is older than `ms` flushes at once, so the bound holds even when
 *   the event loop is kept busy.
 * - `"writeThrough"`: the journal is opened with `O_DSYNC`
 *   (`FILE_FLAG_WRITE_THROUGH` on Windows): every write is durable when the
 *   system call returns, with no separate sync.
 */
export type FlushPolicy = "manual" | "always" | "writeThrough" | { interval: number };

/** Automatic compaction: when both limits are passed, a compaction starts in the background. */
export interface AutoCompactOptions {
  /** Garbage bytes ÷ journal bytes that start a compaction. Default 0.5. */
  garbageRatio?: number;
  /** At least this many garbage bytes first. Default 64 MiB. */
  minGarbageBytes?: number;
}

/**
 * At-rest encryption: a raw 32-byte key, or a passphrase stretched with
 * Argon2id (its salt and parameters are stored in the file).
 */
export type EncryptionOptions = { key: Uint8Array } | { passphrase: string | Uint8Array };

/** The ciphers an encrypted database can use. */
export type Cipher = "aes-256-gcm" | "chacha20-poly1305";

/** Argon2id cost settings for a new passphrase-protected database (the defaults: 19,456 KiB, 2 passes, 1 lane). */
export interface KdfOptions {
  /** Memory in KiB. */
  memoryKiB?: number;
  /** Passes over the memory. */
  passes?: number;
  /** Lanes. */
  parallelism?: number;
}

/** {@linkcode EmdbOptions} with every default filled in. */
export interface ResolvedOptions {
  create: boolean;
  onCorruption: CorruptionPolicy;
  useCheckpoint: boolean;
  checkpointOnClose: boolean;
  preallocateBytes: number;
  defaultTtl: number;
  clock: () => number;
  flushPolicy: FlushPolicy;
  autoCompact: Required<AutoCompactOptions> | undefined;
  encryption: EncryptionOptions | undefined;
  cipher: Cipher | undefined;
  kdf: Required<KdfOptions>;
  appName: string | undefined;
  databaseName: string | undefined;
  dataRoot: string | undefined;
}

const DEFAULTS: ResolvedOptions = {
  create: true,
  onCorruption: "refuse",
  useCheckpoint: true,
  checkpointOnClose: true,
  preallocateBytes: 64 * 1024 * 1024,
  defaultTtl: Infinity,
  clock: Date.now,
  flushPolicy: "manual",
  autoCompact: undefined,
  encryption: undefined,
  cipher: undefined,
  kdf: { memoryKiB: 19_456, passes: 2, parallelism: 1 },
  appName: undefined,
  databaseName: undefined,
  dataRoot: undefined,
};

const KNOWN = Object.keys(DEFAULTS) as (keyof ResolvedOptions)[];

/** Edit distance, to suggest the intended key for a misspelled option. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      const cost = a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + cost);
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggestion(key: string): string {
  let best = "";
  let bestD = Infinity;
  for (const k of KNOWN) {
    const d = distance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= Math.max(2, key.length / 3) ? ` (did you mean "${best}"?)` : "";
}

function expectBoolean(key: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new TypeError(`Option "${key}" must be a boolean, got ${typeof v}`);
  return v;
}

function expectName(key: string, v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`Option "${key}" must be a string, got ${typeof v}`);
  return v;
}

function checkEncryption(v: unknown): EncryptionOptions {
  if (v === null || typeof v !== "object") throw new TypeError(`Option "encryption" must be { key } or { passphrase }`);
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === "key") {
    const key = (v as { key: unknown }).key;
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new RangeError(`Option "encryption.key" must be a 32-byte Uint8Array`);
    }
    return { key };
  }
  if (keys.length === 1 && keys[0] === "passphrase") {
    const p = (v as { passphrase: unknown }).passphrase;
    if ((typeof p !== "string" && !(p instanceof Uint8Array)) || p.length === 0) {
      throw new RangeError(`Option "encryption.passphrase" must be a non-empty string or Uint8Array`);
    }
    return { passphrase: p };
  }
  throw new TypeError(`Option "encryption" must be exactly { key } or { passphrase }, got keys ${keys.join(", ")}`);
}

function checkKdf(v: unknown): Required<KdfOptions> {
  if (v === null || typeof v !== "object") throw new TypeError(`Option "kdf" must be an object`);
  const out = { ...DEFAULTS.kdf };
  for (const [k, x] of Object.entries(v)) {
    if (k !== "memoryKiB" && k !== "passes" && k !== "parallelism") throw new TypeError(`Unknown option "kdf.${k}"`);
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1) {
      throw new RangeError(`Option "kdf.${k}" must be a positive integer, got ${x}`);
    }
    out[k] = x;
  }
  return out;
}

function checkFlushPolicy(v: unknown): FlushPolicy {
  if (v === "manual" || v === "always" || v === "writeThrough") return v;
  if (v !== null && typeof v === "object" && Object.keys(v).join() === "interval") {
    const ms = (v as { interval: unknown }).interval;
    if (typeof ms === "number" && ms > 0 && Number.isFinite(ms)) return { interval: ms };
    throw new RangeError(`Option "flushPolicy": interval must be a positive number of milliseconds, got ${ms}`);
  }
  throw new TypeError(
    `Option "flushPolicy" must be "manual", "always", "writeThrough" or { interval: ms }, got ${JSON.stringify(v)}`,
  );
}

function checkAutoCompact(v: unknown): Required<AutoCompactOptions> | undefined {
  if (v === false) return undefined;
  const out = { garbageRatio: 0.5, minGarbageBytes: 64 * 1024 * 1024 };
  if (v === true) return out;
  if (v === null || typeof v !== "object") throw new TypeError(`Option "autoCompact" must be a boolean or an object`);
  for (const [k, x] of Object.entries(v)) {
    if (k === "garbageRatio") {
      if (typeof x !== "number" || !(x > 0 && x < 1)) {
        throw new RangeError(`Option "autoCompact.garbageRatio" must be between 0 and 1 (exclusive), got ${x}`);
      }
      out.garbageRatio = x;
    } else if (k === "minGarbageBytes") {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) {
        throw new RangeError(`Option "autoCompact.minGarbageBytes" must be a non-negative integer, got ${x}`);
      }
      out.minGarbageBytes = x;
    } else {
      throw new TypeError(`Unknown option "autoCompact.${k}"`);
    }
  }
  return out;
}

/**
 * Checks a time to live in milliseconds: a non-negative number, `Infinity` meaning "never expires".
 *
 * @param what The option's name, for the message.
 * @param v The value.
 * @returns The value.
 * @throws {TypeError} When not a number.
 * @throws {RangeError} When negative or NaN.
 */
export function checkTtl(what: string, v: unknown): number {
  if (typeof v !== "number") throw new TypeError(`${what} must be a number of milliseconds, got ${typeof v}`);
  if (!(v >= 0)) throw new RangeError(`${what} must be a non-negative number of milliseconds, got ${v}`);
  return v;
}

/**
 * Checks an options object and fills in the defaults.
 *
 * @param options What the caller passed (may be `undefined`).
 * @returns Every option with its value.
 * @throws {TypeError} For an unknown key or a value of the wrong type.
 * @throws {RangeError} For a number out of range.
 */
export function resolveOptions(options: EmdbOptions | undefined): ResolvedOptions {
  if (options === undefined) return { ...DEFAULTS };
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  const out: ResolvedOptions = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    switch (key) {
      case "create":
      case "useCheckpoint":
      case "checkpointOnClose":
        out[key] = expectBoolean(key, value);
        break;
      case "onCorruption":
        if (value !== "refuse" && value !== "salvage") {
          throw new TypeError(`Option "onCorruption" must be "refuse" or "salvage", got ${JSON.stringify(value)}`);
        }
        out.onCorruption = value;
        break;
      case "preallocateBytes":
        if (typeof value !== "number" || !Number.isSafeInteger(value)) {
          throw new TypeError(`Option "preallocateBytes" must be an integer number of bytes`);
        }
        if (value < 0 || value > 1024 ** 3) {
          throw new RangeError(`Option "preallocateBytes" must be between 0 and 1 GiB, got ${value}`);
        }
        out.preallocateBytes = value;
        break;
      case "defaultTtl":
        out.defaultTtl = checkTtl("defaultTtl", value);
        break;
      case "clock":
        if (typeof value !== "function") throw new TypeError(`Option "clock" must be a function returning Unix ms`);
        out.clock = value as () => number;
        break;
      case "flushPolicy":
        out.flushPolicy = checkFlushPolicy(value);
        break;
      case "autoCompact":
        out.autoCompact = checkAutoCompact(value);
        break;
      case "encryption":
        out.encryption = checkEncryption(value);
        break;
      case "cipher":
        if (value !== "aes-256-gcm" && value !== "chacha20-poly1305") {
          throw new TypeError(
            `Option "cipher" must be "aes-256-gcm" or "chacha20-poly1305", got ${JSON.stringify(value)}`,
          );
        }
        out.cipher = value;
        break;
      case "kdf":
        out.kdf = checkKdf(value);
        break;
      case "appName":
      case "databaseName":
      case "dataRoot":
        out[key] = expectName(key, value);
        break;
      default:
        throw new TypeError(`Unknown option "${key}"${suggestion(key)}`);
    }
  }
  return out;
}
