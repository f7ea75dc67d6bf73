/**
 * Transactions: reads that see the transaction's own writes, optimistic
 * checks against record versions, and a commit that writes everything as one
 * batch record (all or nothing, in memory and across a crash).
 *
 * @module
 */
import type { Key, Value } from "./codec.ts";
import { writeKey, writeValue } from "./codec.ts";
import { EmdbError } from "./errors.ts";
import type { BatchWrite, Engine } from "./engine/engine.ts";
import { Space } from "./engine/space.ts";
import { expiryFor, type SetOptions } from "./ttl.ts";

/** A check on a key's version: `null` requires the key to be absent. */
export interface VersionCheck {
  /** The key. */
  key: Key;
  /** The version read with `getEntry`, or `null` for "absent". */
  version: number | null;
}

/** The result of {@linkcode AtomicOperation.commit}. */
export type CommitResult = { ok: true; version: number } | { ok: false };

interface Pending {
  space: Space;
  key: Uint8Array;
  keyText: boolean;
  value: Uint8Array | undefined;
  expires: number;
}

interface Check {
  space: Space;
  key: Uint8Array;
  version: number | null;
  label: Key;
}

let scratch = new Uint8Array(4096);

/** Encodes into a shared scratch buffer, then copies out the exact bytes (one allocation). */
function encoded(bound: number, write: (out: Uint8Array) => number): Uint8Array {
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  return scratch.slice(0, write(scratch));
}

function keyBytes(key: Key): Uint8Array {
  const bound = typeof key === "string" ? 3 * key.length : key instanceof Uint8Array ? key.length : 0;
  return encoded(bound, (out) => writeKey(key, out, 0));
}

function valueBytes(value: Value): Uint8Array {
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value !== "string") throw new TypeError(`Value must be a string or Uint8Array, got ${typeof value}`);
  return encoded(3 * value.length, (out) => writeValue(value, out, 0));
}

const latin1 = new TextDecoder("latin1");

/** A map key for (namespace, key bytes): one char per byte (windows-1252 decoding is one-to-one on bytes). */
function slot(space: Space, key: Uint8Array): string {
  if (key.length > 32) return `${space.id}:${latin1.decode(key)}`;
  let s = `${space.id}:`;
  for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]!);
  return s;
}

/** The shared state of a transaction and all its namespace views. */
class TxState {
  readonly engine: Engine;
  readonly writes: Map<string, Pending> = new Map();
  readonly checks: Check[] = [];
  readonly creates: [number, string][] = [];
  readonly created: Map<string, Space> = new Map();
  done = false;
  readonly now: number;

  constructor(engine: Engine) {
    this.engine = engine;
    this.now = engine.opts.clock();
  }

  live(): void {
    if (this.done) throw new TypeError("This transaction has ended; use the callback's tx only inside the callback");
    this.engine.check();
  }

  expires(options: SetOptions | undefined): number {
    return expiryFor(options, this.engine.opts.defaultTtl, this.now);
  }

  /** The current version of a key outside this transaction (`null`: absent). */
  versionOf(space: Space, key: Uint8Array): number | null {
    if (!this.engine.keyspace.spaces.has(space.id) || space.dropped) return null;
    const off = this.engine.findBytes(space, key);
    return off < 0 ? null : this.engine.versionAt(off);
  }

  /** Commits: checks, then one batch. Returns the commit's version (or -1 when nothing was written). */
  commit(): number {
    this.live();
    this.done = true;
    for (const c of this.checks) {
      const current = this.versionOf(c.space, c.key);
      if (current !== c.version) {
        throw new EmdbError(
          "CONFLICT",
          `Cannot commit: key ${
            JSON.stringify(typeof c.label === "string" ? c.label : Array.from(c.label))
          } is at version ${current}, the transaction expected ${c.version}`,
          { path: this.engine.path },
        );
      }
    }
    const writes: BatchWrite[] = [...this.writes.values()];
    return this.engine.commit(this.creates, writes, this.now);
  }
}

/**
 * The view of a transaction on one namespace: reads see the transaction's own
 * writes, writes are kept until the commit.
 */
export class TransactionView {
  /** @internal */
  protected readonly state: TxState;
  #space: Space;

  /** @internal */
  constructor(state: TxState, space: Space) {
    this.state = state;
    this.#space = space;
  }

  /** @internal */
  protected get spaceRef(): Space {
    return this.#space;
  }

  /** The key's bytes, its map slot, and what this transaction staged for it. */
  #pending(key: Key): [Uint8Array, string, Pending | undefined] {
    this.state.live();
    const k = keyBytes(key);
    const at = slot(this.#space, k);
    return [k, at, this.state.writes.get(at)];
  }

  #committed(k: Uint8Array): number {
    const space = this.#space;
    if (!this.state.engine.keyspace.spaces.has(space.id) || space.dropped) return -1;
    return this.state.engine.findBytes(space, k);
  }

  /**
   * Reads a value, seeing this transaction's own writes.
   *
   * @param key The key.
   * @returns A copy of the value, or `undefined`.
   */
  get(key: Key): Uint8Array | undefined {
    const [k, , p] = this.#pending(key);
    if (p !== undefined) return p.value?.slice();
    const off = this.#committed(k);
    return off < 0 ? undefined : this.state.engine.valueCopy(off);
  }

  /**
   * Reads a value as UTF-8, seeing this transaction's own writes.
   *
   * @param key The key.
   * @returns The string, or `undefined`.
   * @throws {TypeError} When the value is not UTF-8.
   */
  getString(key: Key): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : new TextDecoder("utf-8", { fatal: true }).decode(v);
  }

  /**
   * Tells whether a key is present, seeing this transaction's own writes.
   *
   * @param key The key.
   * @returns `true` when present.
   */
  has(key: Key): boolean {
    const [k, , p] = this.#pending(key);
    if (p !== undefined) return p.value !== undefined;
    return this.#committed(k) >= 0;
  }

  /**
   * Reads a committed value with its version (the transaction's own writes have no version yet).
   *
   * @param key The key.
   * @returns `{ value, version }` of the committed record, or `undefined`.
   */
  getEntry(key: Key): { value: Uint8Array; version: number } | undefined {
    const [k] = this.#pending(key);
    const off = this.#committed(k);
    if (off < 0) return undefined;
    return { value: this.state.engine.valueCopy(off), version: this.state.engine.versionAt(off) };
  }

  /**
   * Stages a write.
   *
   * @param key The key.
   * @param value The value.
   * @param options `ttl` or `expiresAt`.
   */
  set(key: Key, value: Value, options?: SetOptions): void {
    const [k, at] = this.#pending(key);
    const v = valueBytes(value);
    const expires = this.state.expires(options);
    this.state.writes.set(at, {
      space: this.#space,
      key: k,
      keyText: typeof key === "string",
      value: v,
      expires,
    });
  }

  /**
   * Stages a deletion.
   *
   * @param key The key.
   * @returns Whether the key was present (as this transaction sees it).
   */
  delete(key: Key): boolean {
    const [k, at, p] = this.#pending(key);
    const present = p !== undefined ? p.value !== undefined : this.#committed(k) >= 0;
    this.state.writes.set(at, {
      space: this.#space,
      key: k,
      keyText: typeof key === "string",
      value: undefined,
      expires: 0,
    });
    return present;
  }

  /**
   * Requires, at commit, that the key is still at `version` (from `getEntry`),
   * or absent when `version` is `null`; otherwise the commit throws
   * `EmdbError` code `CONFLICT` and writes nothing.
   *
   * @param key The key.
   * @param version The expected version, or `null` for "absent".
   */
  check(key: Key, version: number | null): void {
    this.state.live();
    if (version !== null && (typeof version !== "number" || !Number.isSafeInteger(version))) {
      throw new TypeError("check() takes a version number from getEntry(), or null for an absent key");
    }
    this.state.checks.push({ space: this.#space, key: keyBytes(key), version, label: key });
  }
}

/**
 * A transaction, as given to the callback of `db.transaction(tx => …)`. Its
 * methods work on the default namespace; `tx.namespace(name)` gives the same
 * methods on another namespace (created by the commit if it does not exist).
 *
 * @example Move a balance atomically
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * db.setMany([["a", "10"], ["b", "0"]]);
 * db.transaction((tx) => {
 *   tx.set("a", String(Number(tx.getString("a")) - 5));
 *   tx.set("b", String(Number(tx.getString("b")) + 5));
 * });
 * console.log(db.getString("a"), db.getString("b")); // "5" "5"
 * ```
 */
export class Transaction extends TransactionView {
  /**
   * The same operations on a namespace. A namespace that does not exist yet is
   * created by the commit (and not at all if the transaction rolls back).
   *
   * @param name The namespace name, or a namespace handle.
   * @returns The view.
   */
  namespace(name: string | { readonly name: string }): TransactionView {
    this.state.live();
    const n = typeof name === "string" ? name : name.name;
    const ks = this.state.engine.keyspace;
    const existing = ks.byName.get(n);
    if (existing !== undefined) return new TransactionView(this.state, existing);
    let space = this.state.created.get(n);
    if (space === undefined) {
      // A provisional namespace: its NAMESPACE record goes first in the commit's batch.
      const id = this.state.engine.nextNamespaceId() + this.state.creates.length;
      space = new Space(id, n, ks);
      this.state.created.set(n, space);
      this.state.creates.push([id, n]);
    }
    return new TransactionView(this.state, space);
  }
}

/**
 * Runs a transaction callback and commits what it staged.
 *
 * @param engine The engine.
 * @param main The default namespace.
 * @param fn The callback.
 * @param checkName Validates a namespace name.
 * @returns What the callback returned.
 */
export function runTransaction<T>(
  engine: Engine,
  main: Space,
  fn: (tx: Transaction) => T,
  checkName: (n: unknown) => string,
): T {
  if (typeof fn !== "function") throw new TypeError("transaction() takes a callback");
  const state = new TxState(engine);
  const tx = new Transaction(state, main);
  const original = tx.namespace.bind(tx);
  tx.namespace = (name) => original(typeof name === "string" ? checkName(name) : name);
  let result: T;
  try {
    result = engine.exclusive("a transaction callback is running; use its tx", () => fn(tx));
  } catch (e) {
    state.done = true;
    throw e;
  }
  if (result !== null && typeof result === "object" && typeof (result as { then?: unknown }).then === "function") {
    state.done = true;
    throw new TypeError("transaction() callbacks must be synchronous (it returned a promise); nothing was written");
  }
  state.commit();
  return result;
}

/**
 * An atomic operation in Deno KV's style: checks, then writes, committed as
 * one batch if every check holds.
 *
 * @example
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * const res = db.atomic().check({ key: "counter", version: null }).set("counter", "1").commit();
 * console.log(res.ok); // true
 * const again = db.atomic().check({ key: "counter", version: null }).set("counter", "2").commit();
 * console.log(again.ok); // false: the key exists now
 * ```
 */
export class AtomicOperation {
  #engine: Engine;
  #space: () => Space;
  #ops: ((tx: TransactionView) => void)[] = [];

  /** @internal Made by `atomic()`; `space` resolves the namespace at commit. */
  constructor(engine: Engine, space: () => Space) {
    this.#engine = engine;
    this.#space = space;
  }

  /**
   * Adds checks: each key must still be at its version (`null`: absent).
   *
   * @param checks The checks.
   * @returns This builder.
   */
  check(...checks: VersionCheck[]): this {
    for (const c of checks) {
      if (c === null || typeof c !== "object") throw new TypeError("check() takes { key, version } objects");
      this.#ops.push((tx) => tx.check(c.key, c.version));
    }
    return this;
  }

  /**
   * Adds a write.
   *
   * @param key The key.
   * @param value The value.
   * @param options `ttl` or `expiresAt`.
   * @returns This builder.
   */
  set(key: Key, value: Value, options?: SetOptions): this {
    this.#ops.push((tx) => tx.set(key, value, options));
    return this;
  }

  /**
   * Adds a deletion.
   *
   * @param key The key.
   * @returns This builder.
   */
  delete(key: Key): this {
    this.#ops.push((tx) => tx.delete(key));
    return this;
  }

  /**
   * Commits: when every check holds, writes everything as one batch.
   *
   * @returns `{ ok: true, version }`, or `{ ok: false }` when a check failed (nothing written).
   * @throws {EmdbError} `CLOSED`, `BUSY`, `IO`, `NAMESPACE_DROPPED`.
   */
  commit(): CommitResult {
    const state = new TxState(this.#engine);
    const view = new TransactionView(state, this.#space());
    try {
      this.#engine.exclusive("an atomic operation is being staged", () => {
        for (const op of this.#ops) op(view);
      });
      const version = state.commit();
      return { ok: true, version: version < 0 ? this.#engine.header.versionBase + this.#engine.end : version };
    } catch (e) {
      if (e instanceof EmdbError && e.code === "CONFLICT") return { ok: false };
      throw e;
    }
  }
}
