/* Signed link tokens (token.h): the key file, encoding (varints, base32) and the MAC check. */
#include "mail/token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/crypto.h"

#define MAC_LEN 10
#define RAW_MAX (1 + 4 * 10 + MAC_LEN) /* kind, four varints of at most 10 bytes, MAC */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

enum herald_err mail_keyring_load(const char *path, struct mail_keyring *out)
{
    enum herald_err rc = crypto_load_key_file(path, out->key);
    if (rc != HERALD_ERR_IO)
        return rc;
    struct stat sb;
    if (stat(path, &sb) == 0 || errno != ENOENT)
        return HERALD_ERR_IO;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return HERALD_ERR_IO;
    }
    rc = crypto_create_key_file(path);
    if (rc && rc != HERALD_ERR_DUPLICATE) /* another node or process may have won the race */
        return rc;
    return crypto_load_key_file(path, out->key);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(b | (v ? 0x80 : 0));
    } while (v);
    return n;
}

static bool get_varint(const uint8_t *p, size_t len, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 63; shift += 7) {
        if (*pos >= len)
            return false;
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)v;
            return v <= INT64_MAX;
        }
    }
    return false;
}

static void mac(const struct mail_keyring *k, const uint8_t *body, size_t len, const char *bound,
                uint8_t out[MAC_LEN])
{
    /* The MAC covers body | 0x00 | bound: the separator keeps (body, bound) pairs distinct. */
    size_t blen = bound ? strlen(bound) : 0;
    uint8_t stackbuf[512];
    uint8_t *msg = len + 1 + blen <= sizeof(stackbuf) ? stackbuf : NULL;
    uint8_t full[CRYPTO_SHA256_LEN];
    if (msg) {
        memcpy(msg, body, len);
        msg[len] = 0;
        if (blen)
            memcpy(msg + len + 1, bound, blen);
        crypto_hmac_sha256(k->key, sizeof(k->key), msg, len + 1 + blen, full);
    } else {
        /* A long bound string (a click URL) is hashed first; still bound, still one MAC. */
        uint8_t digest[CRYPTO_SHA256_LEN];
        crypto_sha256(bound, blen, digest);
        uint8_t both[RAW_MAX + 1 + CRYPTO_SHA256_LEN];
        memcpy(both, body, len);
        both[len] = 1;
        memcpy(both + len + 1, digest, sizeof(digest));
        crypto_hmac_sha256(k->key, sizeof(k->key), both, len + 1 + sizeof(digest), full);
    }
    memcpy(out, full, MAC_LEN);
}

static size_t encode_body(const struct mail_token *t, uint8_t *raw)
{
    size_t n = 0;
    raw[n++] = (uint8_t)t->kind;
    n += put_varint(raw + n, (uint64_t)t->contact_id);
    n += put_varint(raw + n, (uint64_t)t->campaign_id);
    n += put_varint(raw + n, (uint64_t)t->list_id);
    n += put_varint(raw + n, (uint64_t)t->expires_s);
    return n;
}

void mail_token_make(const struct mail_keyring *k, const struct mail_token *t, const char *bound,
                     char out[MAIL_TOKEN_MAX])
{
    uint8_t raw[RAW_MAX];
    size_t n = encode_body(t, raw);
    mac(k, raw, n, bound, raw + n);
    n += MAC_LEN;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits)
        out[o++] = b32[(acc << (5 - bits)) & 31];
    out[o] = '\0';
}

static int b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

static bool decode_b32(const char *s, uint8_t *raw, size_t cap, size_t *len)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b32_value(*s);
        if (v < 0)
            return false;
        acc = acc << 5 | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n >= cap)
                return false;
            raw[n++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    *len = n;
    return bits < 5 && (acc & ((1u << bits) - 1)) == 0; /* canonical: no stray trailing bits */
}

enum herald_err mail_token_parse(const struct mail_keyring *k, enum mail_token_kind kind,
                                 const char *token, const char *bound, int64_t now_s,
                                 struct mail_token *out)
{
    uint8_t raw[RAW_MAX];
    size_t len;
    if (!token || strlen(token) >= MAIL_TOKEN_MAX || !decode_b32(token, raw, sizeof(raw), &len) ||
        len < 1 + 4 + MAC_LEN || raw[0] != (uint8_t)kind)
        return HERALD_ERR_TOKEN_INVALID;
    size_t body = len - MAC_LEN, pos = 1;
    uint8_t want[MAC_LEN];
    mac(k, raw, body, bound, want);
    if (!crypto_ct_equal(want, MAC_LEN, raw + body, MAC_LEN))
        return HERALD_ERR_TOKEN_INVALID;
    struct mail_token t = {.kind = kind};
    if (!get_varint(raw, body, &pos, &t.contact_id) ||
        !get_varint(raw, body, &pos, &t.campaign_id) || !get_varint(raw, body, &pos, &t.list_id) ||
        !get_varint(raw, body, &pos, &t.expires_s) || pos != body)
        return HERALD_ERR_TOKEN_INVALID;
    if (t.expires_s && now_s >= t.expires_s)
        return HERALD_ERR_TOKEN_EXPIRED;
    *out = t;
    return HERALD_OK;
}
