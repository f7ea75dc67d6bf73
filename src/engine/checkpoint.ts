/**
 * Writing a checkpoint: the entries of every namespace's indexes, bound to a
 * marker record in the journal (see `hint.ts` for the file's layout).
 *
 * @module
 */
import type { Io } from "../io/io.ts";
import { encodeHint, type HintProtection, type HintSpace } from "./hint.ts";
import type { Keyspace } from "./keyspace.ts";
import type { Keyring } from "../crypto/keyring.ts";
import { createLookupTagger } from "../crypto/mac.ts";
import { TAG_BYTES } from "../crypto/aead.ts";
import { fillRandom, NONCE_BYTES } from "../crypto/random.ts";

/**
 * How an encrypted database's checkpoint is protected: an HMAC of the whole
 * file under the hint key, and namespace names sealed with the record key
 * (associated data: a label, the file id and the namespace id).
 */
export function hintProtection(keyring: Keyring, fileId: Uint8Array): HintProtection {
  const tagger = createLookupTagger(keyring.hintKey, 32);
  const aad = (nsId: number) => {
    const a = new Uint8Array(NAME_LABEL.length + 16 + 4);
    a.set(NAME_LABEL);
    a.set(fileId.subarray(0, 16), NAME_LABEL.length);
    new DataView(a.buffer).setUint32(NAME_LABEL.length + 16, nsId, true);
    return a;
  };
  return {
    mac: (bytes) => tagger.tag(bytes),
    sealName(nsId, name) {
      const out = new Uint8Array(NONCE_BYTES + name.length + TAG_BYTES);
      const nonce = fillRandom(new Uint8Array(NONCE_BYTES));
      out.set(nonce);
      keyring.aead.seal(nonce, name, aad(nsId), out, NONCE_BYTES);
      return out;
    },
    openName(nsId, sealed) {
      if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
      const out = new Uint8Array(sealed.length - NONCE_BYTES - TAG_BYTES);
      const n = keyring.aead.open(sealed.subarray(0, NONCE_BYTES), sealed.subarray(NONCE_BYTES), aad(nsId), out, 0);
      return n === out.length ? out : undefined;
    },
  };
}

const NAME_LABEL = new TextEncoder().encode("emdb hint name");

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
  io.writeFileAtomic(
    `${path}.hint`,
    encodeHint(hint, keyring === undefined ? undefined : hintProtection(keyring, fileId)),
  );
}
