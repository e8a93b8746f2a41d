/* Who may push to a channel: HTTP Basic, WS-Security UsernameToken (PasswordText and
 * PasswordDigest with Created/Nonce replay protection) or a Standard Webhooks signature. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "ota/push_internal.h"
#include "store/ota_inbound.h"

#define NONCE_MAX 64
#define WSSE_DIGEST_SUFFIX "#PasswordDigest"

/* Equal strings, in time independent of where they differ and of the secret's length. */
static bool secret_equal(const char *given, size_t given_len, const char *expected)
{
    uint8_t a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
    crypto_sha256(given, given_len, a);
    crypto_sha256(expected, strlen(expected), b);
    return crypto_ct_equal(a, sizeof(a), b, sizeof(b));
}

static bool has_password(const struct ota_channel *ch)
{
    return ch->username[0] && ch->password[0];
}

static enum herald_err refuse(struct herald_error *err, const char *why)
{
    return herald_error_set(err, HERALD_ERR_UNAUTHORIZED, NULL, "%s", why);
}

static enum herald_err auth_basic(const struct ota_channel *ch, const char *header,
                                  struct herald_error *err)
{
    if (strncasecmp(header, "Basic ", 6) != 0)
        return refuse(err, "only Basic credentials are accepted in Authorization");
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    uint8_t raw[1024];
    size_t n;
    if (!ota_b64_decode(b64, strlen(b64), raw, sizeof(raw) - 1, &n))
        return refuse(err, "malformed Basic credentials");
    raw[n] = '\0';
    char *colon = memchr(raw, ':', n);
    bool ok = false;
    if (colon && has_password(ch)) {
        size_t ulen = (size_t)(colon - (char *)raw);
        bool user_ok = secret_equal((char *)raw, ulen, ch->username);
        bool pass_ok = secret_equal(colon + 1, n - ulen - 1, ch->password);
        ok = user_ok & pass_ok;
    }
    explicit_bzero(raw, sizeof(raw));
    return ok ? HERALD_OK : refuse(err, "wrong user name or password");
}

/* wsu:Created within the tolerance of now. */
static bool created_fresh(const char *created, int64_t now_ms, int tolerance_s)
{
    int64_t at;
    return created[0] && clock_parse_iso(created, &at) == HERALD_OK &&
           at >= now_ms - (int64_t)tolerance_s * 1000 && at <= now_ms + (int64_t)tolerance_s * 1000;
}

struct wsse_token {
    char username[OTA_SECRET_MAX];
    char password[OTA_SECRET_MAX];
    char type[160];
    char nonce[OTA_SEEN_VALUE_MAX];
    char created[64];
};

bool ota_wsse_password_digest(const char *nonce_b64, const char *created, const char *password,
                              char out[OTA_WSSE_DIGEST_LEN])
{
    uint8_t nonce[NONCE_MAX], md[EVP_MAX_MD_SIZE];
    size_t nlen;
    unsigned int mdlen = 0;
    if (!ota_b64_decode(nonce_b64, strlen(nonce_b64), nonce, sizeof(nonce), &nlen) || nlen == 0)
        return false;
    size_t clen = strlen(created), plen = strlen(password);
    uint8_t *buf = malloc(nlen + clen + plen);
    if (!buf)
        return false;
    memcpy(buf, nonce, nlen);
    memcpy(buf + nlen, created, clen);
    memcpy(buf + nlen + clen, password, plen);
    int ok = EVP_Digest(buf, nlen + clen + plen, md, &mdlen, EVP_sha1(), NULL);
    explicit_bzero(buf, nlen + clen + plen);
    free(buf);
    if (!ok || mdlen != 20)
        return false;
    crypto_b64(md, mdlen, out);
    return true;
}

/* The token's PasswordDigest against the channel's password. */
static bool digest_matches(const struct wsse_token *t, const char *password)
{
    char expected[OTA_WSSE_DIGEST_LEN];
    return ota_wsse_password_digest(t->nonce, t->created, password, expected) &&
           secret_equal(t->password, strlen(t->password), expected);
}

static bool read_token(const struct ota_xml_doc *doc, struct wsse_token *t)
{
    xmlNode *sec = ota_xml_child(ota_xml_soap_header(doc), "Security");
    xmlNode *tok = ota_xml_child(sec, "UsernameToken");
    if (!tok)
        return false;
    xmlNode *pw = ota_xml_child(tok, "Password");
    ota_xml_text(ota_xml_child(tok, "Username"), t->username, sizeof(t->username));
    ota_xml_text(pw, t->password, sizeof(t->password));
    ota_xml_attr(pw, "Type", t->type, sizeof(t->type));
    ota_xml_text(ota_xml_child(tok, "Nonce"), t->nonce, sizeof(t->nonce));
    ota_xml_text(ota_xml_child(tok, "Created"), t->created, sizeof(t->created));
    return true;
}

static enum herald_err auth_wsse(struct ota_push *p, const struct ota_channel *ch,
                                 const struct ota_xml_doc *doc, int64_t now_ms,
                                 struct herald_error *err)
{
    struct wsse_token t = {0};
    if (!doc || !read_token(doc, &t))
        return refuse(err, "credentials are required (HTTP Basic, WS-Security UsernameToken or "
                           "a Standard Webhooks signature)");
    size_t tl = strlen(t.type), sl = strlen(WSSE_DIGEST_SUFFIX);
    bool digest = tl >= sl && strcmp(t.type + tl - sl, WSSE_DIGEST_SUFFIX) == 0;
    enum herald_err rc = HERALD_OK;
    bool user_ok = has_password(ch) && secret_equal(t.username, strlen(t.username), ch->username);
    bool pass_ok =
        has_password(ch) && (digest ? digest_matches(&t, ch->password)
                                    : secret_equal(t.password, strlen(t.password), ch->password));
    if (!(user_ok & pass_ok))
        rc = refuse(err, "wrong user name or password");
    else if ((digest || t.created[0]) && !created_fresh(t.created, now_ms, p->o.tolerance_s))
        rc = refuse(err, "wsu:Created is missing or outside the tolerance");
    else if (digest) {
        bool fresh = false;
        int64_t expires = now_ms + 2 * (int64_t)p->o.tolerance_s * 1000;
        rc = push_mark_seen(p, ch->id, "wsse_nonce", t.nonce, now_ms, expires, &fresh);
        if (!rc && !fresh)
            rc = refuse(err, "the UsernameToken nonce was already used");
    }
    explicit_bzero(&t, sizeof(t));
    return rc;
}

enum herald_err push_authenticate(struct ota_push *p, const struct ota_channel *ch,
                                  const struct ota_push_request *rq, const struct ota_xml_doc *doc,
                                  int64_t now_ms, struct herald_error *err)
{
    if (rq->authorization)
        return auth_basic(ch, rq->authorization, err);
    if (ota_webhook_present(&rq->webhook))
        return ota_webhook_verify(ch->webhook_secret[0] ? ch->webhook_secret : NULL, &rq->webhook,
                                  rq->body, rq->len, now_ms / 1000, p->o.tolerance_s, err);
    return auth_wsse(p, ch, doc, now_ms, err);
}
