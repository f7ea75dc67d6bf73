/**
 * Writing a checkpoint: the entries of every namespace's indexes, bound to a
 * marker record in the journal (see `hint.ts` for the file's layout).
 *
 * @module
 */
import type { Io } from "../io/io.ts";
import { encodeHint, type HintSpace } from "./hint.ts";
import type { Keyspace } from "./keyspace.ts";

/**
 * Writes `<path>.hint` atomically (temp file, sync, rename, sync the folder).
 *
 * @param io The file system.
 * @param path The database path.
 * @param ks The keyspace to describe.
 * @param fileId The journal's file id.
 * @param marker Offset of the CHECKPOINT record just appended (and flushed).
 * @param nonce Its 16 random bytes.
 * @param covered Where the journal ends (right after the marker).
 */
export function writeCheckpoint(
  io: Io,
  path: string,
  ks: Keyspace,
  fileId: Uint8Array,
  marker: number,
  nonce: Uint8Array,
  covered: number,
): void {
  const spaces: HintSpace[] = [];
  for (const space of ks.spaces.values()) {
    const entries = space.hash.exportEntries();
    const expiring: number[] = [];
    space.expiry.forEach((at, off) => expiring.push(off, at));
    spaces.push({
      nsId: space.id,
      name: space.name,
      liveBytes: space.liveBytes,
      hashes: entries.hashes,
      offsets: entries.offsets,
      expiring: Float64Array.from(expiring),
      ordered: space.ordered.built ? space.ordered.export() : undefined,
    });
  }
  const bytes = encodeHint({ fileId, covered, marker, nonce, k0: ks.k0, k1: ks.k1, derivedKey: false, spaces });
  io.writeFileAtomic(`${path}.hint`, bytes);
}
