/* Open and click tracking (tracking.h): rewriting a rendered HTML part's links to signed click
 * URLs, the open pixel, and recording opens and clicks with their events. */
#include "mail/tracking.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/crypto.h"
#include "mail/events.h"
#include "store/campaigns.h"

#define URL_MAX 4096

enum herald_err mail_tracking_pct_encode(const char *s, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char chunk[256];
    size_t n = 0;
    int rc = HERALD_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && !rc; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            chunk[n++] = (char)*p;
        } else {
            chunk[n++] = '%';
            chunk[n++] = hex[*p >> 4];
            chunk[n++] = hex[*p & 15];
        }
        if (n > sizeof(chunk) - 4) {
            rc = buf_append(out, chunk, n);
            n = 0;
        }
    }
    return rc ? rc : buf_append(out, chunk, n);
}

static int put_utf8(unsigned long cp, char *out, size_t *n, size_t cap)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || *n + 4 >= cap)
        return -1;
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

/* One entity at s[0] == '&' (len bytes available): its decoded bytes appended to out. Returns
 * the bytes consumed, 0 for an entity not handled. */
static size_t decode_entity(const char *s, size_t len, char *out, size_t *n, size_t cap)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        size_t l = strlen(named[i].name);
        if (len >= l && strncasecmp(s, named[i].name, l) == 0 && *n + 1 < cap) {
            out[(*n)++] = named[i].c;
            return l;
        }
    }
    if (len < 4 || s[1] != '#')
        return 0;
    bool hexa = s[2] == 'x' || s[2] == 'X';
    char *end = NULL;
    unsigned long cp = strtoul(s + (hexa ? 3 : 2), &end, hexa ? 16 : 10);
    if (!end || end == s + (hexa ? 3 : 2) || (size_t)(end - s) >= len || *end != ';')
        return 0;
    return put_utf8(cp, out, n, cap) ? 0 : (size_t)(end - s) + 1;
}

/* The URL an attribute value means (entities decoded) into url; false when it cannot be
 * decoded or is too long. */
static bool decode_attr(const char *v, size_t len, char url[URL_MAX])
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (v[i] == '&') {
            size_t used = decode_entity(v + i, len - i, url, &n, URL_MAX);
            if (!used)
                return false;
            i += used;
        } else {
            if (n + 1 >= URL_MAX || v[i] == '\0')
                return false;
            url[n++] = v[i++];
        }
    }
    url[n] = '\0';
    return true;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool trackable(const struct mail_tracking_link *l, const char *url)
{
    if (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://"))
        return false;
    size_t pl = strlen(l->public_url);
    if (strncmp(url, l->public_url, pl) == 0 && (strncmp(url + pl, "/unsubscribe/", 13) == 0 ||
                                                 strncmp(url + pl, "/preferences/", 13) == 0))
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static enum herald_err append_click_url(const struct mail_tracking_link *l, const char *url,
                                        struct buf *out)
{
    struct mail_token t = {MAIL_TOKEN_CLICK, l->contact_id, l->campaign_id, 0, 0};
    char tok[MAIL_TOKEN_MAX];
    mail_token_make(l->keys, &t, url, tok);
    int rc = buf_printf(out, "%s/t/c/%s?u=", l->public_url, tok);
    return rc ? rc : mail_tracking_pct_encode(url, out);
}

/* Finds the next href attribute value at or after p: *val, *vlen and the quote. NULL when
 * there is none. */
static const char *next_href(const char *p, const char *end, const char **val, size_t *vlen)
{
    for (; p + 6 < end; p++) {
        if ((*p != 'h' && *p != 'H') || strncasecmp(p, "href=", 5) != 0)
            continue;
        if (!isspace((unsigned char)p[-1]))
            continue;
        char q = p[5];
        if (q != '"' && q != '\'')
            continue;
        const char *v = p + 6;
        const char *close = memchr(v, q, (size_t)(end - v));
        if (!close)
            return NULL;
        *val = v;
        *vlen = (size_t)(close - v);
        return p;
    }
    return NULL;
}

enum herald_err mail_tracking_rewrite_links(const struct mail_tracking_link *l, const char *html,
                                            size_t len, struct buf *out)
{
    const char *p = html, *end = html + len, *val;
    size_t vlen;
    char url[URL_MAX];
    int rc = HERALD_OK;
    const char *h = len > 0 ? next_href(html + 1, end, &val, &vlen) : NULL;
    for (; h && !rc; h = next_href(val + vlen, end, &val, &vlen)) {
        if (!decode_attr(val, vlen, url) || !trackable(l, url))
            continue;
        rc = buf_append(out, p, (size_t)(val - p));
        if (!rc)
            rc = append_click_url(l, url, out);
        p = val + vlen;
    }
    return rc ? rc : buf_append(out, p, (size_t)(end - p));
}

enum herald_err mail_tracking_append_pixel(const struct mail_tracking_link *l, struct buf *out)
{
    struct mail_token t = {MAIL_TOKEN_OPEN, l->contact_id, l->campaign_id, 0, 0};
    char tok[MAIL_TOKEN_MAX];
    mail_token_make(l->keys, &t, NULL, tok);
    return buf_printf(out,
                      "<img src=\"%s/t/o/%s.gif\" width=\"1\" height=\"1\" alt=\"\" "
                      "style=\"display:block;border:0;width:1px;height:1px\">",
                      l->public_url, tok);
}

struct track_tx {
    const struct mail_token *tok;
    const char *kind, *url;
    int64_t now_ms;
};

static int track_tx(struct store_conn *c, void *arg)
{
    struct track_tx *t = arg;
    int64_t queue_id = 0;
    char *email = NULL;
    int rc = store_send_queue_find(c, t->tok->campaign_id, t->tok->contact_id, &queue_id, &email);
    if (rc == HERALD_ERR_NOT_FOUND)
        return HERALD_OK; /* a test send: nothing to count */
    if (!rc)
        rc = store_mail_feedback_insert(c, t->tok->campaign_id, t->tok->contact_id, queue_id,
                                        t->kind, t->url, NULL, t->now_ms);
    char source[64];
    if (t->url) {
        char hash[2 * CRYPTO_SHA256_LEN + 1];
        crypto_sha256_hex(t->url, hash);
        snprintf(source, sizeof(source), "%lld:%.16s", (long long)queue_id, hash);
    } else {
        snprintf(source, sizeof(source), "%lld", (long long)queue_id);
    }
    struct mail_event ev = {t->url ? MAIL_EV_CLICKED : MAIL_EV_OPENED,
                            t->tok->campaign_id,
                            email,
                            source,
                            t->now_ms,
                            NULL};
    if (!rc)
        rc = mail_events_insert(c, &ev, 1, t->now_ms);
    free(email);
    return rc;
}

enum herald_err mail_tracking_open(struct store *st, const struct mail_keyring *k,
                                   const char *token, int64_t now_ms)
{
    struct mail_token tok;
    int rc = mail_token_parse(k, MAIL_TOKEN_OPEN, token, NULL, now_ms / 1000, &tok);
    if (rc)
        return HERALD_ERR_TOKEN_INVALID;
    struct track_tx t = {&tok, "open", NULL, now_ms};
    return store_run_tx(st, track_tx, &t);
}

enum herald_err mail_tracking_click(struct store *st, const struct mail_keyring *k,
                                    const char *token, const char *url, int64_t now_ms)
{
    if (!url || strlen(url) >= URL_MAX ||
        (!starts_with_ci(url, "http://") && !starts_with_ci(url, "https://")))
        return HERALD_ERR_TOKEN_INVALID;
    struct mail_token tok;
    int rc = mail_token_parse(k, MAIL_TOKEN_CLICK, token, url, now_ms / 1000, &tok);
    if (rc)
        return HERALD_ERR_TOKEN_INVALID;
    struct track_tx t = {&tok, "click", url, now_ms};
    return store_run_tx(st, track_tx, &t);
}
