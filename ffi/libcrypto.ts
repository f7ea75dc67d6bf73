/**
 * OpenSSL's libcrypto symbols used for record encryption, as data: the EVP
 * AEAD calls of AES-256-GCM and ChaCha20-Poly1305 (OpenSSL 1.1.0 and later,
 * same names and meanings in 3.x).
 *
 * Contexts and cipher descriptions are `handle`s (opaque pointers, `null` for
 * `NULL`); keys, nonces and data are `buffer`s; an `int *outl` out-parameter is
 * a 4-byte buffer. Only the symbols `src/crypto/openssl_aead.ts` calls are
 * declared. `EVP_chacha20_poly1305` is optional: a build without ChaCha still
 * serves AES-256-GCM. HMAC-SHA256 (the lookup tags of encrypted keys) is a
 * second table, {@linkcode LIBCRYPTO_HMAC}.
 *
 * Library lookup: `EMDB_LIBCRYPTO` (a path or soname) replaces the candidates.
 * macOS lists only absolute paths of OpenSSL 3 as Homebrew and MacPorts
 * install it: a bare name there would also search the current folder, and
 * Apple's own `/usr/lib/libcrypto.dylib` (LibreSSL, no stable ABI) aborts the
 * process when loaded unversioned. No Windows candidates: there the runtime's
 * `node:crypto` does the work.
 *
 * @module
 */
import type { SymbolTable } from "./types.ts";

/** The EVP calls of an AEAD record, and a few for housekeeping. */
export const LIBCRYPTO = {
  /** EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void) */
  EVP_CIPHER_CTX_new: { parameters: [], result: "handle" },
  /** void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx) — also cleanses the key schedule */
  EVP_CIPHER_CTX_free: { parameters: ["handle"], result: "void" },
  /** const EVP_CIPHER *EVP_aes_256_gcm(void) */
  EVP_aes_256_gcm: { parameters: [], result: "handle" },
  /** const EVP_CIPHER *EVP_chacha20_poly1305(void) — absent from builds with no-chacha or no-poly1305 */
  EVP_chacha20_poly1305: { parameters: [], result: "handle", optional: true },
  /**
   * int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
   *                        const unsigned char *key, const unsigned char *iv)
   * — once with the cipher and key; then per record with only the iv (NULL elsewhere)
   */
  EVP_EncryptInit_ex: {
    parameters: ["handle", "handle", "handle", "buffer_or_null", "buffer_or_null"],
    result: "i32",
  },
  /** int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl, const unsigned char *key, const unsigned char *iv) */
  EVP_DecryptInit_ex: {
    parameters: ["handle", "handle", "handle", "buffer_or_null", "buffer_or_null"],
    result: "i32",
  },
  /**
   * int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl)
   * — out NULL: `in` is associated data
   */
  EVP_EncryptUpdate: { parameters: ["handle", "buffer_or_null", "buffer", "buffer", "i32"], result: "i32" },
  /** int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in, int inl) */
  EVP_DecryptUpdate: { parameters: ["handle", "buffer_or_null", "buffer", "buffer", "i32"], result: "i32" },
  /** int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl) — writes nothing for these ciphers */
  EVP_EncryptFinal_ex: { parameters: ["handle", "buffer", "buffer"], result: "i32" },
  /** int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl) — 1 only when the tag verifies */
  EVP_DecryptFinal_ex: { parameters: ["handle", "buffer", "buffer"], result: "i32" },
  /** int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr) — the tag, in and out */
  EVP_CIPHER_CTX_ctrl: { parameters: ["handle", "i32", "i32", "buffer_or_null"], result: "i32" },
  /** void ERR_clear_error(void) — empties this thread's error queue after a refused tag */
  ERR_clear_error: { parameters: [], result: "void" },
  /** unsigned long OpenSSL_version_num(void) — 64 bits on LP64 (Linux, macOS) */
  OpenSSL_version_num: { parameters: [], result: "u64", optional: true },
} as const satisfies SymbolTable;

/**
 * HMAC through the `HMAC_CTX` calls (OpenSSL 1.1 and 3; deprecated in 3 but
 * exported unless built with `no-deprecated`), opened as a set of its own so
 * that a library without them still serves the AEAD table.
 */
export const LIBCRYPTO_HMAC = {
  /** HMAC_CTX *HMAC_CTX_new(void) */
  HMAC_CTX_new: { parameters: [], result: "handle" },
  /** void HMAC_CTX_free(HMAC_CTX *ctx) — also cleanses the keyed state */
  HMAC_CTX_free: { parameters: ["handle"], result: "void" },
  /** const EVP_MD *EVP_sha256(void) */
  EVP_sha256: { parameters: [], result: "handle" },
  /**
   * int HMAC_Init_ex(HMAC_CTX *ctx, const void *key, int key_len, const EVP_MD *md, ENGINE *impl)
   * — once with the key and digest; then per message with NULL, 0, NULL, NULL (the keyed state is reused)
   */
  HMAC_Init_ex: { parameters: ["handle", "buffer_or_null", "i32", "handle", "handle"], result: "i32" },
  /** int HMAC_Update(HMAC_CTX *ctx, const unsigned char *data, size_t len) */
  HMAC_Update: { parameters: ["handle", "buffer", "u64"], result: "i32" },
  /** int HMAC_Final(HMAC_CTX *ctx, unsigned char *md, unsigned int *len) */
  HMAC_Final: { parameters: ["handle", "buffer", "buffer"], result: "i32" },
} as const satisfies SymbolTable;

/** `EVP_CIPHER_CTX_ctrl` commands (the AEAD names, equal to the GCM ones in every version). */
export const EVP_CTRL = {
  /** EVP_CTRL_AEAD_GET_TAG: copy the tag after `EVP_EncryptFinal_ex`. */
  AEAD_GET_TAG: 0x10,
  /** EVP_CTRL_AEAD_SET_TAG: the expected tag, before `EVP_DecryptFinal_ex`. */
  AEAD_SET_TAG: 0x11,
} as const;

/** Where to look for libcrypto, first match wins; `EMDB_LIBCRYPTO` overrides. */
export const LIBCRYPTO_CANDIDATES = {
  linux: [
    "libcrypto.so.3",
    "libcrypto.so.1.1",
    "/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
    "/usr/lib/aarch64-linux-gnu/libcrypto.so.3",
    "/usr/lib64/libcrypto.so.3",
    "/usr/lib/libcrypto.so.3",
    "/lib/libcrypto.so.3",
  ],
  darwin: [
    "/opt/homebrew/opt/openssl@3/lib/libcrypto.3.dylib",
    "/usr/local/opt/openssl@3/lib/libcrypto.3.dylib",
    "/opt/local/lib/libcrypto.3.dylib",
  ],
  windows: [],
} as const;
