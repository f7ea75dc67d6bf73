// The part of @noble/ciphers' chacha.js that emdb uses, typed (the vendored .js files ship without usable types).
/** ChaCha20-Poly1305 (RFC 8439): `encrypt` returns ciphertext ‖ tag, `decrypt` throws when the tag does not verify. */
export declare function chacha20poly1305(
  key: Uint8Array,
  nonce: Uint8Array,
  aad?: Uint8Array,
): {
  encrypt(plaintext: Uint8Array, output?: Uint8Array): Uint8Array;
  decrypt(sealed: Uint8Array, output?: Uint8Array): Uint8Array;
};
