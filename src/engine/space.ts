/**
 * One namespace's in-memory state: its hash index, its ordered index (built
 * on first use), its expiry queue and the bytes its live records occupy.
 *
 * @module
 */
import { HashIndex } from "../index/hash_index.ts";
import { OrderedIndex, type OrderedKeySource } from "../index/ordered_index.ts";
import { ExpiryQueue } from "./expiry.ts";

/** Most namespaces a database may hold at once (bounds memory for crafted files). */
export const MAX_NAMESPACES = 4096;

/** A namespace: id 0 is the default one, whose name is `""`. */
export class Space {
  /** The namespace id written in records. */
  readonly id: number;
  /** The namespace's name (`""` for the default namespace). */
  readonly name: string;
  /** Set when the namespace is dropped: handles to it then refuse to work. */
  dropped = false;
  /** Key → offset of the live record. */
  readonly hash: HashIndex = new HashIndex();
  /** Keys in byte order (built on the first ordered read). */
  readonly ordered: OrderedIndex;
  /** Records that carry an expiry. */
  readonly expiry: ExpiryQueue = new ExpiryQueue();
  /** Journal bytes held by live records (padding included). */
  liveBytes = 0;

  /**
   * @param id The namespace id.
   * @param name The namespace name.
   * @param keys How the ordered index reads keys.
   */
  constructor(id: number, name: string, keys: OrderedKeySource) {
    this.id = id;
    this.name = name;
    this.ordered = new OrderedIndex(keys);
  }

  /** Live keys (expired keys not yet evicted included). */
  get size(): number {
    return this.hash.size;
  }

  /** Forgets every key (a CLEAR record, or a drop). */
  reset(): void {
    this.hash.clear();
    this.ordered.clear();
    this.expiry.clear();
    this.liveBytes = 0;
  }

  /** Bytes of memory this namespace's structures hold. */
  byteSize(): number {
    return this.hash.byteSize() + this.ordered.byteSize() + this.expiry.byteSize();
  }
}
