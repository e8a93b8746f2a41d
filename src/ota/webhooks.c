/* Standard Webhooks verification for inbound OTA webhooks and HMAC-signed pushes: headers,
 * tolerance, whsec_ secrets, constant-time comparison of every v1 signature; base64 decoding. */
#include "ota/webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crypto.h"

#define KEY_MAX 128 /* longest HMAC key accepted, decoded */
#define SIG_B64_LEN 44

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool ota_b64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    while (in_len && in[in_len - 1] == '=')
        in_len--;
    if (in_len % 4 == 1)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return false;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = n;
    return true;
}

bool ota_webhook_present(const struct ota_webhook_headers *h)
{
    return h->id || h->timestamp || h->signature;
}

/* The HMAC key from "whsec_<base64>" (the prefix optional). */
static bool secret_key(const char *secret, uint8_t key[KEY_MAX], size_t *key_len)
{
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    return *secret && ota_b64_decode(secret, strlen(secret), key, KEY_MAX, key_len) && *key_len > 0;
}

/* base64(HMAC-SHA256(key, id "." timestamp "." body)) into out (SIG_B64_LEN + 1 bytes). */
static enum herald_err expected_signature(const uint8_t *key, size_t key_len, const char *id,
                                          const char *ts, const char *body, size_t len,
                                          char out[SIG_B64_LEN + 1])
{
    size_t id_len = strlen(id), ts_len = strlen(ts), total = id_len + ts_len + 2 + len;
    char *content = malloc(total ? total : 1);
    if (!content)
        return HERALD_ERR_NOMEM;
    memcpy(content, id, id_len);
    content[id_len] = '.';
    memcpy(content + id_len + 1, ts, ts_len);
    content[id_len + 1 + ts_len] = '.';
    if (len)
        memcpy(content + id_len + ts_len + 2, body, len);
    uint8_t mac[CRYPTO_SHA256_LEN];
    int rc = crypto_hmac_sha256(key, key_len, content, total, mac);
    free(content);
    if (rc)
        return HERALD_ERR_SIGNATURE;
    crypto_b64(mac, sizeof(mac), out);
    return HERALD_OK;
}

enum herald_err ota_webhook_sign(const char *secret, const char *id, const char *timestamp,
                                 const char *body, size_t len, char *out, size_t out_size)
{
    uint8_t key[KEY_MAX];
    size_t key_len;
    char sig[SIG_B64_LEN + 1];
    if (!secret_key(secret, key, &key_len) || out_size < SIG_B64_LEN + 4)
        return HERALD_ERR_SIGNATURE;
    enum herald_err rc = expected_signature(key, key_len, id, timestamp, body, len, sig);
    explicit_bzero(key, sizeof(key));
    if (!rc)
        snprintf(out, out_size, "v1,%s", sig);
    return rc;
}

/* The headers are there and well-formed; the timestamp is within tolerance. */
static enum herald_err check_headers(const struct ota_webhook_headers *h, int64_t now_s,
                                     int tolerance_s, struct herald_error *err)
{
    if (!h->id || !*h->id || !h->timestamp || !*h->timestamp || !h->signature || !*h->signature)
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL,
                                "webhook-id, webhook-timestamp and webhook-signature are required");
    if (strlen(h->id) > OTA_WEBHOOK_ID_MAX || strpbrk(h->id, " \t\r\n"))
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL, "webhook-id is malformed");
    if (strspn(h->timestamp, "0123456789") != strlen(h->timestamp) || strlen(h->timestamp) > 12)
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL,
                                "webhook-timestamp must be Unix seconds");
    long long ts = strtoll(h->timestamp, NULL, 10);
    if (ts < now_s - tolerance_s || ts > now_s + tolerance_s)
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL,
                                "webhook-timestamp is outside the %d s tolerance", tolerance_s);
    return HERALD_OK;
}

/* Compares every "v1,<sig>" entry with the expected signature in constant time. */
static bool any_signature_matches(const char *header, const char expected[SIG_B64_LEN + 1])
{
    bool match = false;
    const char *p = header;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 3 && strncmp(p, "v1,", 3) == 0 &&
            crypto_ct_equal(p + 3, n - 3, expected, SIG_B64_LEN))
            match = true;
        p += n;
    }
    return match;
}

enum herald_err ota_webhook_verify(const char *secret, const struct ota_webhook_headers *h,
                                   const char *body, size_t len, int64_t now_s, int tolerance_s,
                                   struct herald_error *err)
{
    enum herald_err rc = check_headers(h, now_s, tolerance_s, err);
    if (rc)
        return rc;
    uint8_t key[KEY_MAX];
    size_t key_len;
    if (!secret || !secret_key(secret, key, &key_len))
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL,
                                "this channel has no usable webhook secret");
    char expected[SIG_B64_LEN + 1];
    rc = expected_signature(key, key_len, h->id, h->timestamp, body, len, expected);
    explicit_bzero(key, sizeof(key));
    if (rc == HERALD_ERR_NOMEM)
        return rc;
    if (rc || !any_signature_matches(h->signature, expected))
        return herald_error_set(err, HERALD_ERR_SIGNATURE, NULL, "no valid signature");
    return HERALD_OK;
}
