/**
 * The numbers `Emdb.stats()` reports.
 *
 * @module
 */

/** Numbers describing an open database. */
export interface EmdbStats {
  /** Live keys (in every namespace). */
  liveRecords: number;
  /** Namespaces other than the default one. */
  namespaceCount: number;
  /** Bytes of journal holding data (where the next write goes). */
  logicalSizeBytes: number;
  /** Bytes the journal file occupies, preallocated space included. */
  fileSizeBytes: number;
  /** Zero-filled space reserved ahead of the data. */
  preallocatedBytes: number;
  /** Journal bytes held by live records (expired records excluded). */
  liveBytes: number;
  /**
   * Journal bytes no live record needs: overwritten, deleted and expired records,
   * tombstones and markers. Compaction gives them back.
   */
  garbageBytes: number;
  /** `garbageBytes` ÷ the journal's data bytes (0 when empty). */
  garbageRatio: number;
  /** Bytes of memory held by the indexes (hash, ordered, expiry) and the read-verification map. */
  indexBytes: number;
  /** `indexBytes / liveRecords` (0 when empty). */
  indexBytesPerKey: number;
  /** Journal offset covered by the last checkpoint (0 when none). */
  checkpointOffset: number;
  /** How this handle was opened: `"new"`, `"replay"`, `"checkpoint"` or `"memory"`. */
  openedFrom: "new" | "replay" | "checkpoint" | "memory";
  /** Journal bytes replayed by the open. */
  replayedBytes: number;
  /** Compactions this handle completed. */
  compactions: number;
  /** Whether records are encrypted (the `encryption` option). */
  encrypted: boolean;
  /** The records' cipher, for an encrypted database; `undefined` otherwise. */
  cipher: "aes-256-gcm" | "chacha20-poly1305" | undefined;
}
