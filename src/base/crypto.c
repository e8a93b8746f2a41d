/* Owns hashing, MACs, randomness, encodings and sealed secrets over OpenSSL (crypto.h). */
#include "base/crypto.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"

static const char enc_magic[8] = {'H', 'R', 'L', 'D', 'E', 'N', 'C', '1'};
#define GCM_NONCE_LEN 12
#define GCM_TAG_LEN 16

static EVP_MD *sha256_md; /* fetched once, kept for the process's life */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* OpenSSL 3's SHA256() looks the algorithm up on every call: a third of a microsecond with
   the implementation fetched once, a full one without (every event key and $insert_id). */
void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || EVP_Digest(data, len, out, NULL, sha256_md, NULL) != 1)
        SHA256(data, len, out);
}

void crypto_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void crypto_sha256_hex(const char *s, char out[2 * CRYPTO_SHA256_LEN + 1])
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(s, strlen(s), digest);
    crypto_hex(digest, sizeof(digest), out);
}

int crypto_sha256_file(const char *path, char out[2 * CRYPTO_SHA256_LEN + 1])
{
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t buf[65536], digest[CRYPTO_SHA256_LEN];
    size_t n;
    int rc = HERALD_ERR_IO;
    if (!f || !md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto done;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (EVP_DigestUpdate(md, buf, n) != 1)
            goto done;
    if (ferror(f) || EVP_DigestFinal_ex(md, digest, NULL) != 1)
        goto done;
    crypto_hex(digest, sizeof(digest), out);
    rc = HERALD_OK;
done:
    EVP_MD_CTX_free(md);
    if (f)
        fclose(f);
    return rc;
}

enum herald_err crypto_random(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? HERALD_OK : HERALD_ERR_CRYPTO;
}

static void b64_encode(const uint8_t *in, size_t len, char *out, const char *tbl, bool pad)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < len || pad)
            out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        if (i + 2 < len || pad)
            out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

void crypto_b64url(const uint8_t *in, size_t len, char *out)
{
    b64_encode(in, len, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
               false);
}

static int b64url_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int crypto_b64url_decode(const char *in, uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in; in++) {
        int v = b64url_value((unsigned char)*in);
        if (v < 0)
            return HERALD_ERR_INVALID;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= out_cap)
                return HERALD_ERR_INVALID;
            out[n++] = (uint8_t)((acc >> bits) & 0xff);
        }
    }
    *out_len = n;
    return HERALD_OK;
}

void crypto_b64(const uint8_t *in, size_t len, char *out)
{
    b64_encode(in, len, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
               true);
}

bool crypto_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

enum herald_err crypto_load_key_file(const char *path, uint8_t key[CRYPTO_AES_KEY_LEN])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return HERALD_ERR_IO;
    uint8_t raw[256];
    size_t n = fread(raw, 1, sizeof(raw), f);
    fclose(f);
    int rc = HERALD_ERR_CONFIG;
    if (n == CRYPTO_AES_KEY_LEN) {
        memcpy(key, raw, CRYPTO_AES_KEY_LEN);
        rc = HERALD_OK;
        goto done;
    }
    size_t start = 0, end = n;
    while (start < end && isspace(raw[start]))
        start++;
    while (end > start && isspace(raw[end - 1]))
        end--;
    if (end - start != 2 * CRYPTO_AES_KEY_LEN)
        goto done;
    for (size_t i = 0; i < CRYPTO_AES_KEY_LEN; i++) {
        int hi = hexval(raw[start + 2 * i]), lo = hexval(raw[start + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto done;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    rc = HERALD_OK;
done:
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

enum herald_err crypto_create_key_file(const char *path)
{
    uint8_t key[CRYPTO_AES_KEY_LEN];
    char hex[2 * CRYPTO_AES_KEY_LEN + 2];
    int rc = crypto_random(key, sizeof(key));
    if (rc)
        return rc;
    crypto_hex(key, sizeof(key), hex);
    hex[2 * CRYPTO_AES_KEY_LEN] = '\n';
    hex[2 * CRYPTO_AES_KEY_LEN + 1] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? HERALD_ERR_DUPLICATE : HERALD_ERR_IO;
        goto done;
    }
    rc = HERALD_OK;
    if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0)
        rc = HERALD_ERR_IO;
    if (close(fd) != 0)
        rc = HERALD_ERR_IO;
    if (rc)
        unlink(path);
done:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

bool crypto_file_is_encrypted(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char head[sizeof(enc_magic)];
    bool yes = fread(head, 1, sizeof(head), f) == sizeof(head) &&
               memcmp(head, enc_magic, sizeof(head)) == 0;
    fclose(f);
    return yes;
}

enum herald_err crypto_encrypt_file(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *in_path,
                                    const char *out_path)
{
    int rc = HERALD_ERR_IO;
    FILE *in = fopen(in_path, "rb"), *out = fopen(out_path, "wb");
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t nonce[GCM_NONCE_LEN], tag[GCM_TAG_LEN], ibuf[65536], obuf[65536 + 32];
    int olen;
    if (!in || !out || !ctx)
        goto done;
    rc = HERALD_ERR_CRYPTO;
    if (crypto_random(nonce, sizeof(nonce)) ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &olen, (const uint8_t *)enc_magic, sizeof(enc_magic)) != 1)
        goto done;
    rc = HERALD_ERR_IO;
    if (fwrite(enc_magic, 1, sizeof(enc_magic), out) != sizeof(enc_magic) ||
        fwrite(nonce, 1, sizeof(nonce), out) != sizeof(nonce))
        goto done;
    size_t n;
    while ((n = fread(ibuf, 1, sizeof(ibuf), in)) > 0) {
        if (EVP_EncryptUpdate(ctx, obuf, &olen, ibuf, (int)n) != 1) {
            rc = HERALD_ERR_CRYPTO;
            goto done;
        }
        if (fwrite(obuf, 1, (size_t)olen, out) != (size_t)olen)
            goto done;
    }
    if (ferror(in))
        goto done;
    if (EVP_EncryptFinal_ex(ctx, obuf, &olen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) != 1) {
        rc = HERALD_ERR_CRYPTO;
        goto done;
    }
    if (fwrite(obuf, 1, (size_t)olen, out) != (size_t)olen ||
        fwrite(tag, 1, sizeof(tag), out) != sizeof(tag) || fflush(out) != 0 ||
        fsync(fileno(out)) != 0)
        goto done;
    rc = HERALD_OK;
done:
    EVP_CIPHER_CTX_free(ctx);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0 && rc == HERALD_OK)
        rc = HERALD_ERR_IO;
    if (rc && out)
        unlink(out_path);
    return rc;
}

/* Checks the magic and reads the nonce and the trailing tag of an encrypted file, leaving `in`
 * at the ciphertext; *body is its length. HERALD_ERR_IO, or HERALD_ERR_BACKUP_INVALID when
 * the file is too short or not ours. */
static int read_envelope(FILE *in, uint8_t nonce[GCM_NONCE_LEN], uint8_t tag[GCM_TAG_LEN],
                         long *body)
{
    uint8_t head[sizeof(enc_magic)];
    if (fseek(in, 0, SEEK_END) != 0)
        return HERALD_ERR_IO;
    long total = ftell(in);
    if (total < (long)(sizeof(head) + GCM_NONCE_LEN + GCM_TAG_LEN))
        return HERALD_ERR_BACKUP_INVALID;
    *body = total - (long)(sizeof(head) + GCM_NONCE_LEN + GCM_TAG_LEN);
    if (fseek(in, total - GCM_TAG_LEN, SEEK_SET) != 0 ||
        fread(tag, 1, GCM_TAG_LEN, in) != GCM_TAG_LEN)
        return HERALD_ERR_BACKUP_INVALID;
    rewind(in);
    if (fread(head, 1, sizeof(head), in) != sizeof(head) ||
        memcmp(head, enc_magic, sizeof(head)) != 0 ||
        fread(nonce, 1, GCM_NONCE_LEN, in) != GCM_NONCE_LEN)
        return HERALD_ERR_BACKUP_INVALID;
    return HERALD_OK;
}

enum herald_err crypto_decrypt_file(const uint8_t key[CRYPTO_AES_KEY_LEN], const char *in_path,
                                    const char *out_path)
{
    int rc = HERALD_ERR_IO;
    FILE *in = fopen(in_path, "rb"), *out = NULL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t nonce[GCM_NONCE_LEN], tag[GCM_TAG_LEN], ibuf[65536], obuf[65536 + 32];
    int olen;
    long body;
    if (!in || !ctx)
        goto done;
    rc = read_envelope(in, nonce, tag, &body);
    if (rc)
        goto done;
    rc = HERALD_ERR_BACKUP_INVALID;
    out = fopen(out_path, "wb");
    if (!out) {
        rc = HERALD_ERR_IO;
        goto done;
    }
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &olen, (const uint8_t *)enc_magic, sizeof(enc_magic)) != 1) {
        rc = HERALD_ERR_CRYPTO;
        goto done;
    }
    while (body > 0) {
        size_t want = body < (long)sizeof(ibuf) ? (size_t)body : sizeof(ibuf);
        if (fread(ibuf, 1, want, in) != want)
            goto done;
        body -= (long)want;
        if (EVP_DecryptUpdate(ctx, obuf, &olen, ibuf, (int)want) != 1)
            goto done;
        if (fwrite(obuf, 1, (size_t)olen, out) != (size_t)olen) {
            rc = HERALD_ERR_IO;
            goto done;
        }
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, obuf, &olen) != 1)
        goto done;
    if (fflush(out) != 0) {
        rc = HERALD_ERR_IO;
        goto done;
    }
    rc = HERALD_OK;
done:
    EVP_CIPHER_CTX_free(ctx);
    if (in)
        fclose(in);
    if (out && fclose(out) != 0 && rc == HERALD_OK)
        rc = HERALD_ERR_IO;
    if (rc && out)
        unlink(out_path);
    return rc;
}

/* Each thread keeps one HMAC context and the key it was last given: the callers (mail tokens,
 * click links, hashed distinct ids) sign many messages with one key, and re-using the keyed
 * context costs 0.3 us where EVP_Q_mac() fetches and keys from scratch (1.6-3.5 us; a mail
 * with twenty tracked links spent a tenth of its sending time there). The key copy is wiped when
 * its thread exits; the main thread's lasts as long as the process (as the keys themselves do). */
struct hmac_cache {
    EVP_MAC_CTX *ctx;
    bool keyed;
    size_t key_len;
    uint8_t key[128];
};

static EVP_MAC *hmac_alg; /* fetched once, kept for the process's life */
static pthread_key_t hmac_tls;
static bool hmac_tls_ok;
static bool hmac_reinit_ok; /* a NULL-key EVP_MAC_init() restarts with the held key */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_cache_free(void *p)
{
    struct hmac_cache *c = p;
    EVP_MAC_CTX_free(c->ctx);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static bool hmac_init(EVP_MAC_CTX *ctx, const void *key, size_t key_len)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    return key ? EVP_MAC_init(ctx, key, key_len, params) == 1
               : EVP_MAC_init(ctx, NULL, 0, NULL) == 1;
}

static bool hmac_once_with(EVP_MAC_CTX *ctx, const void *key, size_t key_len, const void *data,
                           size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    size_t out_len = 0;
    return hmac_init(ctx, key, key_len) && EVP_MAC_update(ctx, data, len) == 1 &&
           EVP_MAC_final(ctx, out, &out_len, CRYPTO_SHA256_LEN) == 1 &&
           out_len == CRYPTO_SHA256_LEN;
}

/* OpenSSL 3.0.0-3.0.2 accept a NULL-key re-init and then MAC with a finished state (issue
   17811): a known answer decides whether the same-key shortcut may be taken. */
static bool hmac_reinit_works(void)
{
    static const char key[] = "Jefe", data[] = "what do ya want for nothing?";
    static const uint8_t want[CRYPTO_SHA256_LEN] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43}; /* RFC 4231 case 2 */
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
    uint8_t first[CRYPTO_SHA256_LEN], again[CRYPTO_SHA256_LEN];
    bool ok = ctx && hmac_once_with(ctx, key, 4, data, sizeof(data) - 1, first) &&
              hmac_once_with(ctx, NULL, 0, data, sizeof(data) - 1, again) &&
              memcmp(first, want, sizeof(want)) == 0 && memcmp(again, want, sizeof(want)) == 0;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

static void hmac_setup(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    hmac_tls_ok = hmac_alg && pthread_key_create(&hmac_tls, hmac_cache_free) == 0;
    hmac_reinit_ok = hmac_tls_ok && hmac_reinit_works();
}

/* This thread's context; NULL when one cannot be had (the caller falls back). */
static struct hmac_cache *hmac_cache(void)
{
    pthread_once(&hmac_once, hmac_setup);
    if (!hmac_alg || !hmac_tls_ok)
        return NULL;
    struct hmac_cache *c = pthread_getspecific(hmac_tls);
    if (c)
        return c;
    if (!(c = calloc(1, sizeof(*c))))
        return NULL;
    if (!(c->ctx = EVP_MAC_CTX_new(hmac_alg)) || pthread_setspecific(hmac_tls, c) != 0) {
        EVP_MAC_CTX_free(c->ctx);
        free(c);
        return NULL;
    }
    return c;
}

static bool hmac_cached(struct hmac_cache *c, const void *key, size_t key_len, const void *data,
                        size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
    bool same =
        hmac_reinit_ok && c->keyed && c->key_len == key_len && memcmp(c->key, key, key_len) == 0;
    c->keyed = hmac_once_with(c->ctx, same ? NULL : key, key_len, data, len, out);
    if (c->keyed && !same) {
        memcpy(c->key, key, key_len);
        c->key_len = key_len;
    }
    return c->keyed;
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       uint8_t out[CRYPTO_SHA256_LEN])
{
    struct hmac_cache *c = key_len > 0 && key_len <= sizeof(c->key) ? hmac_cache() : NULL;
    if (c && hmac_cached(c, key, key_len, data, len, out))
        return HERALD_OK;
    size_t out_len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len, out,
                   CRYPTO_SHA256_LEN, &out_len) ||
        out_len != CRYPTO_SHA256_LEN)
        return HERALD_ERR_CRYPTO;
    return HERALD_OK;
}

/* ---- AES-256-GCM of a buffer ---- */

void crypto_wipe(void *p, size_t len)
{
    if (p && len)
        OPENSSL_cleanse(p, len);
}

enum herald_err crypto_seal(const uint8_t key[CRYPTO_AES_KEY_LEN], const void *aad, size_t aad_len,
                            const void *in, size_t len, uint8_t *out)
{
    if (len > INT32_MAX - GCM_TAG_LEN || aad_len > INT32_MAX)
        return HERALD_ERR_CRYPTO;
    uint8_t *nonce = out, *ct = out + GCM_NONCE_LEN, *tag = ct + len;
    if (crypto_random(nonce, GCM_NONCE_LEN))
        return HERALD_ERR_CRYPTO;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int olen = 0, rc = HERALD_ERR_CRYPTO;
    if (ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
        (aad_len == 0 || EVP_EncryptUpdate(ctx, NULL, &olen, aad, (int)aad_len) == 1) &&
        (len == 0 || EVP_EncryptUpdate(ctx, ct, &olen, in, (int)len) == 1) &&
        EVP_EncryptFinal_ex(ctx, ct + len, &olen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1)
        rc = HERALD_OK;
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

enum herald_err crypto_open(const uint8_t key[CRYPTO_AES_KEY_LEN], const void *aad, size_t aad_len,
                            const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (len < CRYPTO_SEAL_OVERHEAD || len > INT32_MAX || aad_len > INT32_MAX)
        return HERALD_ERR_CRYPTO;
    size_t n = len - CRYPTO_SEAL_OVERHEAD;
    const uint8_t *nonce = in, *ct = in + GCM_NONCE_LEN, *tag = ct + n;
    uint8_t tagcopy[GCM_TAG_LEN];
    memcpy(tagcopy, tag, GCM_TAG_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int olen = 0, rc = HERALD_ERR_CRYPTO;
    if (ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE_LEN, NULL) == 1 &&
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, nonce) == 1 &&
        (aad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &olen, aad, (int)aad_len) == 1) &&
        (n == 0 || EVP_DecryptUpdate(ctx, out, &olen, ct, (int)n) == 1) &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tagcopy) == 1 &&
        EVP_DecryptFinal_ex(ctx, out + n, &olen) == 1) {
        *out_len = n;
        rc = HERALD_OK;
    } else if (n) {
        OPENSSL_cleanse(out, n);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
