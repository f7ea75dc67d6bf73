/**
 * Writing a checkpoint: the entries of every namespace's indexes, bound to a
 * marker record in the journal (see `hint.ts` for the file's layout).
 *
 * @module
 */
import type { Io } from "../io/io.ts";
import { encodeHint, type HintSpace } from "./hint.ts";
import type { Keyspace } from "./keyspace.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { createLookupTagger } from "../crypto/mac.ts";

/** The HMAC that authenticates an encrypted database's checkpoint file. */
export function hintMac(keyring: Keyring): (bytes: Uint8Array) => Uint8Array {
  const tagger = createLookupTagger(keyring.hintKey, 32);
  return (bytes) => tagger.tag(bytes);
}

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
      // An encrypted database keeps no ordered list on disk: it would reveal the order of its keys.
      ordered: space.ordered.built && ks.crypto === undefined ? space.ordered.export() : undefined,
    });
  }
  const keyring = ks.crypto?.keyring;
  const hint = { fileId, covered, marker, nonce, k0: ks.k0, k1: ks.k1, derivedKey: keyring !== undefined, spaces };
  io.writeFileAtomic(`${path}.hint`, encodeHint(hint, keyring === undefined ? undefined : hintMac(keyring)));
}
