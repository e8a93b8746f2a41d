/* Cryptography through OpenSSL: hashing, randomness, constant-time comparison, and the
 * AES-256-GCM file format used by encrypted backups. */
#ifndef HERALD_BASE_CRYPTO_H
#define HERALD_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CRYPTO_SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);
/* Lowercase hex of `len` bytes into `out` (2*len+1 bytes, NUL-terminated). */
void crypto_hex(const uint8_t *in, size_t len, char *out);
/* SHA-256 of a file's contents as 64 hex digits + NUL; HERALD_ERR_IO when it cannot be read. */
int crypto_sha256_file(const char *path, char out[2 * CRYPTO_SHA256_LEN + 1]);
/* SHA-256 of a NUL-terminated string as 64 hex digits + NUL. */
void crypto_sha256_hex(const char *s, char out[2 * CRYPTO_SHA256_LEN + 1]);
/* Fills `out` from the OS CSPRNG; HERALD_ERR_CRYPTO if it cannot. */
enum herald_err crypto_random(void *out, size_t len);
/* Unpadded base64url of `len` bytes; `out` needs 4*ceil(len/3)+1 bytes. */
void crypto_b64url(const uint8_t *in, size_t len, char *out);
/* Decodes unpadded base64url into `out` (at most out_cap bytes); *out_len = bytes written.
 * HERALD_ERR_INVALID for a character outside the alphabet or output longer than out_cap. */
int crypto_b64url_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len);
/* Standard padded base64 (RFC 4648 section 4); `out` needs 4*ceil(len/3)+1 bytes. */
void crypto_b64(const uint8_t *in, size_t len, char *out);
/* Compares two byte strings in time that depends only on their lengths. */
bool crypto_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

#define CRYPTO_AES_KEY_LEN 32
/* Reads a 256-bit key from a file: 32 raw bytes, or 64 hex digits (surrounding whitespace
 * ignored). HERALD_ERR_IO / HERALD_ERR_CONFIG on failure. */
enum herald_err crypto_load_key_file(const char *path, uint8_t key[CRYPTO_AES_KEY_LEN]);
/* Creates a new random key file at `path` (64 hex digits, mode 0600, never overwriting):
 * HERALD_ERR_DUPLICATE when it exists, HERALD_ERR_IO when it cannot be written. */
enum herald_err crypto_create_key_file(const char *path);
/* Encrypts file `in_path` into `out_path` with AES-256-GCM (magic, random nonce, ciphertext,
 * tag). */
enum herald_err crypto_encrypt_file(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *in_path,
                                    const char *out_path);
/* Decrypts what crypto_encrypt_file wrote; HERALD_ERR_BACKUP_INVALID when the tag does not
 * verify (wrong key or damaged file). The output is removed on failure. */
enum herald_err crypto_decrypt_file(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *in_path,
                                    const char *out_path);
/* True when the file starts with the encrypted-backup magic. */
bool crypto_file_is_encrypted(const char *path);

/* HMAC-SHA256 of data keyed with key (RFC 2104). HERALD_ERR_CRYPTO when OpenSSL fails. */
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       uint8_t out[CRYPTO_SHA256_LEN]);

/* ---- AES-256-GCM of a buffer (OTA channel credentials at rest) ----
 * A sealed buffer is nonce (12 random bytes) | ciphertext | tag (16 bytes): len + 28 bytes.
 * `aad` (may be NULL with aad_len 0) is authenticated, not stored: opening needs the same
 * (it binds a sealed value to its context, e.g. the column it belongs to). */
#define CRYPTO_SEAL_OVERHEAD 28
/* Seals `len` bytes into `out` (len + CRYPTO_SEAL_OVERHEAD bytes). HERALD_ERR_CRYPTO. */
enum herald_err crypto_seal(const uint8_t key[CRYPTO_AES_KEY_LEN], const void *aad, size_t aad_len,
                            const void *in, size_t len, uint8_t *out);
/* Opens what crypto_seal() wrote (`len` bytes, at least CRYPTO_SEAL_OVERHEAD) into `out`
 * (len - CRYPTO_SEAL_OVERHEAD bytes); *out_len gets that. HERALD_ERR_CRYPTO when the tag
 * does not verify (wrong key, other aad, damaged) or the input is too short; `out` is then
 * wiped. */
enum herald_err crypto_open(const uint8_t key[CRYPTO_AES_KEY_LEN], const void *aad, size_t aad_len,
                            const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
/* Wipes `len` bytes in a way the compiler keeps (OPENSSL_cleanse). */
void crypto_wipe(void *p, size_t len);

#endif
