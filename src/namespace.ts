/**
 * Namespace handles and namespace names.
 *
 * @module
 */
import { EmdbError } from "./errors.ts";
import type { Engine } from "./engine/engine.ts";
import type { Space } from "./engine/space.ts";
import { MAX_NAME_BYTES } from "./format/record.ts";
import { KvStore } from "./store.ts";
import { AtomicOperation } from "./transaction.ts";

const utf8 = new TextEncoder();

/**
 * Checks a namespace name: a string of 1 to 255 UTF-8 bytes, well-formed,
 * without control characters.
 *
 * @param name The name.
 * @returns The name.
 * @throws {TypeError} For a non-string, a lone surrogate or a control character.
 * @throws {RangeError} For an empty or over-long name.
 */
export function checkNamespaceName(name: unknown): string {
  if (typeof name !== "string") throw new TypeError(`A namespace name must be a string, got ${typeof name}`);
  if (name === "") throw new RangeError("A namespace name must not be empty (the default namespace is the database)");
  if (!name.isWellFormed()) throw new TypeError("A namespace name must be well-formed UTF-16 (no lone surrogates)");
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new TypeError("A namespace name must not contain control characters");
  const bytes = utf8.encode(name).length;
  if (bytes > MAX_NAME_BYTES) {
    throw new RangeError(`A namespace name holds at most ${MAX_NAME_BYTES} UTF-8 bytes, got ${bytes}`);
  }
  return name;
}

/**
 * A namespace: its own keyspace inside the database, with the same read,
 * write, expiry and iteration surface as the database itself. Get one with
 * `db.namespace(name)`; writes to different namespaces never collide, and a
 * transaction can span several.
 *
 * @example
 * ```ts
 * import { Emdb } from "@emdb/emdb";
 * using db = Emdb.openInMemory();
 * const sessions = db.namespace("sessions");
 * sessions.set("s1", "alice", { ttl: 3_600_000 });
 * console.log(sessions.size, db.namespaces()); // 1 ["sessions"]
 * ```
 */
export class Namespace extends KvStore {
  #id: number;
  #name: string;

  /** @internal Made by `Emdb.namespace()`. */
  constructor(engine: Engine, space: Space) {
    super(engine);
    this.#id = space.id;
    this.#name = space.name;
  }

  /** The namespace's name. */
  get name(): string {
    return this.#name;
  }

  /** @internal The namespace's state, looked up by id on every call (a compaction replaces it). */
  protected space(): Space {
    this.engine.check();
    const space = this.engine.keyspace.spaces.get(this.#id);
    if (space === undefined || space.name !== this.#name) {
      throw new EmdbError("NAMESPACE_DROPPED", `Cannot use namespace "${this.#name}": it was dropped`, {
        path: this.engine.path,
      });
    }
    return space;
  }

  /** @internal The namespace's state, for transactions. */
  spaceForTransaction(): Space {
    return this.space();
  }

  /**
   * Starts an atomic operation on this namespace (see {@linkcode AtomicOperation}).
   *
   * @returns The builder.
   *
   * @example
   * ```ts
   * import { Emdb } from "@emdb/emdb";
   * using db = Emdb.openInMemory();
   * const ns = db.namespace("n");
   * console.log(ns.atomic().check({ key: "k", version: null }).set("k", "v").commit().ok); // true
   * ```
   */
  atomic(): AtomicOperation {
    return new AtomicOperation(this.engine, () => this.space());
  }
}
