/**
 * The key hierarchy of an encrypted database, and the header's encryption
 * block that lets an open check a key before touching any record.
 *
 * ```text
 * master key  = the caller's 32-byte key, or Argon2id(passphrase, salt, m, t, p)
 * record key  = HKDF-SHA256(master, "", "emdb/v2/record")   AEAD of every record
 * tag key     = HKDF-SHA256(master, "", "emdb/v2/lookup")   HMAC-SHA256 lookup tags of keys
 * index key   = HKDF-SHA256(master, "", "emdb/v2/index")    the hash index's 64-bit key (never stored)
 * check key   = HKDF-SHA256(master, "", "emdb/v2/check")    the key-check block below
 * hint key    = HKDF-SHA256(master, "", "emdb/v2/hint")     HMAC of checkpoint files
 * ```
 *
 * The encryption block (128 bytes at offset 64 of the journal header):
 *
 * ```text
 * offset size field
 *  0      1   block version  1
 *  1      1   cipher         1 AES-256-GCM, 2 ChaCha20-Poly1305
 *  2      1   key source     0 a raw 32-byte key, 1 a passphrase through Argon2id
 *  3      1   reserved       0
 *  4      4   memory         u32, Argon2id memory in KiB (0 for a raw key)
 *  8      4   passes         u32, Argon2id passes
 * 12      4   parallelism    u32, Argon2id lanes
 * 16     16   salt           Argon2id salt (random per database; zero for a raw key)
 * 32     12   check nonce
 * 44     48   check          AEAD(check key, nonce, 32 zero bytes, "emdb key check" ‖ file id): ciphertext ‖ tag
 * 92     36   reserved       zero
 * ```
 *
 * @module
 */
import { type Aead, type CipherName, createAead, KEY_BYTES } from "./aead.ts";
import { ARGON2ID_DEFAULTS, type Argon2idParams, checkArgon2idParams, deriveKeyArgon2id, hkdfSha256 } from "./kdf.ts";
import { createLookupTagger, type LookupTagger } from "./mac.ts";
import { fillRandom, NONCE_BYTES } from "./random.ts";

/** Bytes of the encryption block. */
export const BLOCK_BYTES = 128;
const CHECK_PLAINTEXT = new Uint8Array(32);
const CHECK_LABEL = new TextEncoder().encode("emdb key check");
const NO_SALT = new Uint8Array(0);

/** How a database's key is given. */
export type KeySource = { key: Uint8Array } | { passphrase: string | Uint8Array };

/** What the encryption block says. */
export interface EncryptionBlock {
  cipher: CipherName;
  /** Argon2id parameters and salt, or `undefined` for a raw key. */
  kdf: { params: Argon2idParams; salt: Uint8Array } | undefined;
  checkNonce: Uint8Array;
  check: Uint8Array;
}

const CIPHER_IDS: Record<CipherName, number> = { "aes-256-gcm": 1, "chacha20-poly1305": 2 };

/**
 * Decodes an encryption block.
 *
 * @param b The 128 bytes.
 * @returns The block, or why it is not one.
 */
export function decodeBlock(b: Uint8Array): EncryptionBlock | string {
  if (b[0] !== 1) return `unknown encryption block version ${b[0]}`;
  const cipher = b[1] === 1 ? "aes-256-gcm" : b[1] === 2 ? "chacha20-poly1305" : undefined;
  if (cipher === undefined) return `unknown cipher ${b[1]}`;
  const dv = new DataView(b.buffer, b.byteOffset, BLOCK_BYTES);
  let kdf: EncryptionBlock["kdf"];
  if (b[2] === 1) {
    const params = {
      memoryKiB: dv.getUint32(4, true),
      passes: dv.getUint32(8, true),
      parallelism: dv.getUint32(12, true),
    };
    try {
      checkArgon2idParams(params);
    } catch (e) {
      return `Argon2id parameters out of range (${(e as Error).message})`;
    }
    kdf = { params, salt: b.slice(16, 32) };
  } else if (b[2] !== 0) {
    return `unknown key source ${b[2]}`;
  }
  return { cipher, kdf, checkNonce: b.slice(32, 44), check: b.slice(44, 92) };
}

/**
 * The sub-keys of a database, derived from its master key.
 */
export class Keyring {
  /** The cipher of every record. */
  readonly cipher: CipherName;
  /** Seals and opens records. */
  readonly aead: Aead;
  /** Lookup tags of keys. */
  readonly tagger: LookupTagger;
  /** The hash index's key. */
  readonly indexKey: [number, number];
  /** The checkpoint MAC's key. */
  readonly hintKey: Uint8Array;
  #check: Aead;
  /** How the master key came to be (written back into new files' blocks). */
  readonly kdf: EncryptionBlock["kdf"];

  /**
   * @param master The 32-byte master key.
   * @param cipher The records' cipher.
   * @param kdf The Argon2id parameters and salt it came from, if any.
   */
  constructor(master: Uint8Array, cipher: CipherName, kdf: EncryptionBlock["kdf"]) {
    this.cipher = cipher;
    this.kdf = kdf;
    this.aead = createAead(cipher, hkdfSha256(master, NO_SALT, "emdb/v2/record"));
    this.tagger = createLookupTagger(hkdfSha256(master, NO_SALT, "emdb/v2/lookup"), 16);
    const ik = hkdfSha256(master, NO_SALT, "emdb/v2/index", 8);
    const w = new DataView(ik.buffer);
    this.indexKey = [w.getInt32(0, true), w.getInt32(4, true)];
    this.hintKey = hkdfSha256(master, NO_SALT, "emdb/v2/hint");
    this.#check = createAead(cipher, hkdfSha256(master, NO_SALT, "emdb/v2/check"));
  }

  /** Whether this keyring opens the block's check (the key is right). */
  verifies(block: EncryptionBlock, fileId: Uint8Array): boolean {
    const out = new Uint8Array(32);
    return this.#check.open(block.checkNonce, block.check, aadOf(fileId), out, 0) === 32;
  }

  /**
   * Encodes the encryption block of a file with this keyring.
   *
   * @param fileId The file's id (the check is bound to it).
   * @returns 128 bytes.
   */
  block(fileId: Uint8Array): Uint8Array {
    const b = new Uint8Array(BLOCK_BYTES);
    const dv = new DataView(b.buffer);
    b[0] = 1;
    b[1] = CIPHER_IDS[this.cipher];
    if (this.kdf !== undefined) {
      b[2] = 1;
      dv.setUint32(4, this.kdf.params.memoryKiB, true);
      dv.setUint32(8, this.kdf.params.passes, true);
      dv.setUint32(12, this.kdf.params.parallelism, true);
      b.set(this.kdf.salt, 16);
    }
    const nonce = fillRandom(new Uint8Array(NONCE_BYTES));
    b.set(nonce, 32);
    this.#check.seal(nonce, CHECK_PLAINTEXT, aadOf(fileId), b, 44);
    return b;
  }

  /** Wipes the sub-keys (best effort). */
  destroy(): void {
    this.aead.destroy();
    this.tagger.destroy();
    this.#check.destroy();
    this.hintKey.fill(0);
  }
}

function aadOf(fileId: Uint8Array): Uint8Array {
  const aad = new Uint8Array(CHECK_LABEL.length + 16);
  aad.set(CHECK_LABEL);
  aad.set(fileId.subarray(0, 16), CHECK_LABEL.length);
  return aad;
}

/**
 * The master key from what the caller gave: their raw key, or a passphrase
 * stretched by Argon2id with the block's salt and parameters (fresh ones for a
 * new database).
 *
 * @param source The key or passphrase.
 * @param kdf The stored Argon2id settings (for an existing passphrase database), or `undefined`.
 * @param params Argon2id parameters for a new passphrase database.
 * @returns The master key and the settings to store.
 * @throws {RangeError} For a key that is not 32 bytes or an empty passphrase.
 */
export function masterKey(
  source: KeySource,
  kdf: EncryptionBlock["kdf"],
  params: Argon2idParams = ARGON2ID_DEFAULTS,
): { master: Uint8Array; kdf: EncryptionBlock["kdf"] } {
  if ("key" in source) {
    if (!(source.key instanceof Uint8Array) || source.key.length !== KEY_BYTES) {
      throw new RangeError(`An encryption key must be a ${KEY_BYTES}-byte Uint8Array`);
    }
    return { master: source.key.slice(), kdf: undefined };
  }
  const p = source.passphrase;
  if ((typeof p !== "string" && !(p instanceof Uint8Array)) || p.length === 0) {
    throw new RangeError("A passphrase must be a non-empty string or Uint8Array");
  }
  const settings = kdf ?? { params, salt: fillRandom(new Uint8Array(16)) };
  return { master: deriveKeyArgon2id(p, settings.salt, settings.params), kdf: settings };
}
