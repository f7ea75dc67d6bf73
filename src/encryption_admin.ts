/**
 * Encryption admin on a closed database: encrypt a plaintext one, decrypt an
 * encrypted one, or change its key. Each is a rewrite of the live records
 * under the new keys (the compaction protocol: `<path>.compact`, sync, rename
 * over the journal, sync the folder), so a crash at any step leaves a
 * database that opens with the old keys or with the new ones, every record
 * present. Expiries, namespaces and versions are kept; the cipher is kept
 * unless another is asked for.
 *
 * @module
 */
import { Keyring, masterKey } from "./crypto/keyring.ts";
import { openEngine } from "./engine/open_engine.ts";
import { compact } from "./engine/compact.ts";
import type { Io } from "./io/io.ts";
import { assertSystemAccess, systemIo } from "./io/system_io.ts";
import { type Cipher, type EmdbOptions, type EncryptionOptions, type KdfOptions, resolveOptions } from "./options.ts";
import { toFilePath } from "./paths.ts";

/** Choices for the new keys. */
export interface RekeyOptions {
  /** The cipher of the rewritten database. Default: the current one (`"aes-256-gcm"` when encrypting). */
  cipher?: Cipher;
  /** Argon2id costs when the new key is a passphrase. */
  kdf?: KdfOptions;
}

/**
 * Rewrites the database at `path`, opened with `current`, under `next` (or in
 * plaintext when `next` is `undefined`).
 *
 * @param ioOverride Another I/O backend (tests inject faults through it).
 * @throws {EmdbError} As `Emdb.open`, and `NOT_FOUND` for a missing database.
 */
export function rekey(
  path: string | URL,
  current: EncryptionOptions | undefined,
  next: EncryptionOptions | undefined,
  options: RekeyOptions = {},
  ioOverride?: Io,
): void {
  const file = toFilePath(path);
  if (ioOverride === undefined) assertSystemAccess(file);
  const io = ioOverride ?? systemIo();
  const openOptions: EmdbOptions = { create: false, ...(current === undefined ? {} : { encryption: current }) };
  const opts = resolveOptions(openOptions);
  // Checked before anything is opened: a bad new key or cipher must not cost a rewrite.
  const target = next === undefined ? undefined : resolveOptions({ encryption: next, ...options });
  const engine = openEngine(io, io.realPath(file), opts);
  try {
    let keyring: Keyring | undefined;
    if (target !== undefined) {
      const { master, kdf } = masterKey(target.encryption!, undefined, target.kdf);
      const cipher = target.cipher ?? engine.keyspace.crypto?.keyring.cipher ?? "aes-256-gcm";
      keyring = new Keyring(master, cipher, kdf);
      master.fill(0);
    }
    compact(engine, true, { keyring });
  } finally {
    engine.close();
  }
}
