/**
 * The key-value commands: `get`, `set`, `delete`, `scan` and `namespaces`.
 *
 * @module
 */
import type { Key } from "../codec.ts";
import type { Emdb } from "../db.ts";
import { checkNamespaceName } from "../namespace.ts";
import type { KvStore, RangeOptions } from "../store.ts";
import { fromBase64, intOption, keyArg, oneOf, type OptionSpecs, quoteArg, toBase64 } from "./args.ts";
import type { ByteSource, Command, Context } from "./command.ts";
import { openTarget } from "./database.ts";
import { badInput, CliError, EXIT, usageError } from "./exit_codes.ts";
import { escapeForLine, keyBytes, utf8OrUndefined } from "./output.ts";
import { entryLine } from "./records.ts";

const NS: OptionSpecs[string] = {
  type: "string",
  arg: "name",
  help: "work in this namespace (default: the default one)",
};
const KEY_BASE64: OptionSpecs[string] = {
  type: "boolean",
  help: "keys (and bounds) are given in base64: for keys that are bytes, not text",
};

/**
 * The store a command works on: the database, or one of its namespaces.
 *
 * @param db The open database.
 * @param ns The `--ns` value.
 * @param create Whether a missing namespace is created (writes) or is "not found" (reads).
 * @returns The store.
 * @throws {CliError} Exit code 1 when the namespace does not exist and `create` is false.
 */
export function storeOf(db: Emdb, ns: string | undefined, create: boolean): KvStore {
  if (ns === undefined || ns === "") return db;
  checkNamespaceName(ns);
  if (!create && !db.namespaces().includes(ns)) {
    throw new CliError(EXIT.NOT_FOUND, `namespace ${JSON.stringify(ns)} does not exist`);
  }
  return db.namespace(ns);
}

/** A key, shown in a message. */
export function showKey(key: Key): string {
  return typeof key === "string" ? JSON.stringify(key) : `(base64) ${toBase64(key)}`;
}

/**
 * The time a key has left, for the JSON form: `undefined` when it never expires.
 *
 * @returns Milliseconds (> 0), `undefined` for none, or -1 when it expired (skip it).
 */
export function ttlLeft(store: KvStore, key: Key): number | undefined | -1 {
  const t = store.ttl(key);
  if (t === undefined || t <= 0) return -1;
  return t === Infinity ? undefined : t;
}

function str(ctx: Context, name: string): string | undefined {
  const v = ctx.args.values[name];
  return typeof v === "string" ? v : undefined;
}

function flag(ctx: Context, name: string): boolean {
  return ctx.args.values[name] === true;
}

const get: Command = {
  name: "get",
  synopsis: "<key>",
  summary: "print a key's value",
  details: [
    "Prints the value as text followed by a newline. A value that is not UTF-8 text",
    "needs --raw, --base64 or --json. Exits with 1 when the key does not exist.",
  ].join("\n"),
  options: {
    ns: NS,
    raw: { type: "boolean", help: "write the value's bytes exactly, with no newline" },
    json: { type: "boolean", help: "one JSON line, as dump writes it (with the time left to live)" },
    base64: { type: "boolean", help: "the value in base64" },
    "key-base64": KEY_BASE64,
  },
  positionals: { names: ["key"], min: 1 },
  run(ctx) {
    const form = oneOf(ctx.args.values, ["raw", "json", "base64"]);
    const key = keyArg("key", ctx.args.positionals[0]!, flag(ctx, "key-base64"));
    const ns = str(ctx, "ns");
    using db = openTarget(ctx.target(), false);
    const store = storeOf(db, ns, false);
    const value = store.get(key);
    if (value === undefined) throw new CliError(EXIT.NOT_FOUND, `key ${showKey(key)} not found`);
    if (form === "raw") {
      ctx.out.write(value);
    } else if (form === "base64") {
      ctx.out.write(`${toBase64(value)}\n`);
    } else if (form === "json") {
      const ttl = ttlLeft(store, key);
      ctx.out.write(entryLine(ns ?? "", key, value, ttl === -1 ? undefined : ttl));
    } else {
      const text = utf8OrUndefined(value);
      if (text === undefined) {
        throw usageError(
          `the value of ${showKey(key)} is not UTF-8 text (${value.length} bytes): use --raw, --base64 or --json`,
        );
      }
      ctx.out.write(`${text}\n`);
    }
    return Promise.resolve(EXIT.OK);
  },
};

async function readAll(source: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const enc = new TextEncoder();
  for await (const c of source) {
    const b = typeof c === "string" ? enc.encode(c) : c;
    parts.push(b);
    n += b.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const set: Command = {
  name: "set",
  synopsis: "<key> [value]",
  summary: "store a value (creates the database and the namespace when missing)",
  details: [
    "The value is the second argument, or standard input with --stdin (its bytes exactly).",
    "The write is durable when the command returns.",
  ].join("\n"),
  options: {
    ns: NS,
    ttl: { type: "string", arg: "ms", help: "time to live in milliseconds (default: never expires)" },
    base64: { type: "boolean", help: "the value is given in base64" },
    stdin: { type: "boolean", help: "read the value from standard input" },
    "key-base64": KEY_BASE64,
  },
  positionals: { names: ["key", "value"], min: 1 },
  async run(ctx) {
    const key = keyArg("key", ctx.args.positionals[0]!, flag(ctx, "key-base64"));
    const given = ctx.args.positionals[1];
    const fromStdin = flag(ctx, "stdin");
    if (fromStdin && given !== undefined) {
      throw usageError("set: give the value as an argument or with --stdin, not both");
    }
    if (!fromStdin && given === undefined) throw usageError("set: missing <value> (or --stdin)");
    const ttlText = str(ctx, "ttl");
    const ttl = ttlText === undefined ? undefined : intOption("ttl", ttlText, 1);
    const ns = str(ctx, "ns");
    if (ns !== undefined && ns !== "") checkNamespaceName(ns);
    let value: string | Uint8Array;
    if (fromStdin) {
      const bytes = await readAll(ctx.stdin);
      if (flag(ctx, "base64")) {
        const decoded = fromBase64(new TextDecoder().decode(bytes).trim());
        if (decoded === undefined) throw badInput("standard input is not valid base64");
        value = decoded;
      } else {
        value = bytes;
      }
    } else if (flag(ctx, "base64")) {
      const decoded = fromBase64(given!);
      if (decoded === undefined) throw usageError(`the value ${quoteArg(given!)} is not valid base64`);
      value = decoded;
    } else {
      value = given!;
    }
    using db = openTarget(ctx.target(), true);
    storeOf(db, ns, true).set(key, value, ttl === undefined ? undefined : { ttl });
    db.close();
    return EXIT.OK;
  },
};

const del: Command = {
  name: "delete",
  synopsis: "<key>",
  summary: "delete a key (exits with 1 when it did not exist)",
  details: "",
  options: { ns: NS, "key-base64": KEY_BASE64 },
  positionals: { names: ["key"], min: 1 },
  run(ctx) {
    const key = keyArg("key", ctx.args.positionals[0]!, flag(ctx, "key-base64"));
    using db = openTarget(ctx.target(), false);
    const existed = storeOf(db, str(ctx, "ns"), false).delete(key);
    db.close();
    if (!existed) throw new CliError(EXIT.NOT_FOUND, `key ${showKey(key)} not found`);
    return Promise.resolve(EXIT.OK);
  },
};

const scan: Command = {
  name: "scan",
  synopsis: "",
  summary: "list keys and values in key order (streaming)",
  details: [
    "Each line is `key<TAB>value`, both escaped to stay on one line (\\\\, \\t, \\n, \\r,",
    "and \\xNN for control characters and bytes that are not UTF-8 text).",
    "--json writes dump's JSON Lines instead (load reads them); --raw writes the bytes unescaped.",
    "Bounds compare bytes: --start is inclusive, --end exclusive, --after is the last key of",
    "the previous page (with --limit, for paging).",
  ].join("\n"),
  options: {
    ns: NS,
    prefix: { type: "string", arg: "p", help: "only keys that start with p" },
    start: { type: "string", arg: "s", help: "first key (inclusive)" },
    end: { type: "string", arg: "e", help: "last key (exclusive)" },
    after: { type: "string", arg: "a", help: "start just past this key (in the walk's direction)" },
    reverse: { type: "boolean", help: "from the last key down" },
    limit: { type: "string", arg: "n", help: "at most n keys" },
    "keys-only": { type: "boolean", help: "keys only, one per line" },
    json: { type: "boolean", help: "JSON Lines (as dump writes them)" },
    raw: { type: "boolean", help: "key and value bytes unescaped (tab between, newline after)" },
    "key-base64": KEY_BASE64,
  },
  positionals: { names: [], min: 0 },
  async run(ctx) {
    const form = oneOf(ctx.args.values, ["json", "raw"]);
    const b64 = flag(ctx, "key-base64");
    const range: RangeOptions = {};
    for (const bound of ["prefix", "start", "end", "after"] as const) {
      const v = str(ctx, bound);
      if (v !== undefined) range[bound] = keyArg(`--${bound}`, v, b64);
    }
    if (flag(ctx, "reverse")) range.reverse = true;
    const limit = str(ctx, "limit");
    if (limit !== undefined) range.limit = intOption("limit", limit, 0);
    const ns = str(ctx, "ns") ?? "";
    const keysOnly = flag(ctx, "keys-only");
    using db = openTarget(ctx.target(), false);
    const store = storeOf(db, ns, false);
    const out = ctx.out;
    const tab = Uint8Array.of(0x09);
    const nl = Uint8Array.of(0x0a);
    const entries: Iterable<[Key, Uint8Array | undefined]> = keysOnly
      ? (function* () {
        for (const k of store.rangeKeys(range)) yield [k, undefined];
      })()
      : store.range(range);
    for (const [key, value] of entries) {
      let pending: Promise<void> | void;
      if (form === "json") {
        if (value === undefined) {
          pending = out.write(
            `{"ns":${JSON.stringify(ns)},${
              typeof key === "string" ? `"key":${JSON.stringify(key)}` : `"key_b64":"${toBase64(key)}"`
            }}\n`,
          );
        } else {
          const ttl = ttlLeft(store, key);
          if (ttl === -1) continue;
          pending = out.write(entryLine(ns, key, value, ttl));
        }
      } else if (form === "raw") {
        out.write(keyBytes(key));
        if (value !== undefined) {
          out.write(tab);
          out.write(value);
        }
        pending = out.write(nl);
      } else {
        pending = out.write(
          value === undefined ? `${escapeForLine(key)}\n` : `${escapeForLine(key)}\t${escapeForLine(value)}\n`,
        );
      }
      if (pending) await pending;
      if (out.broken) break;
    }
    return EXIT.OK;
  },
};

const namespaces: Command = {
  name: "namespaces",
  synopsis: "",
  summary: "list the namespaces (the default one excluded), one per line",
  details: "",
  options: { json: { type: "boolean", help: 'a JSON array of { "name", "keys" }' } },
  positionals: { names: [], min: 0 },
  run(ctx) {
    using db = openTarget(ctx.target(), false);
    const names = db.namespaces();
    if (ctx.args.values.json === true) {
      const list = names.map((name) => ({ name, keys: db.namespace(name).size }));
      ctx.out.write(`${JSON.stringify(list)}\n`);
    } else {
      for (const n of names) ctx.out.write(`${n}\n`);
    }
    return Promise.resolve(EXIT.OK);
  },
};

/** The key-value commands. */
export const KV_COMMANDS: readonly Command[] = [get, set, del, scan, namespaces];
