/* A batch of stored events as one Mixpanel import body (a JSON array, gzip'd on demand) that
 * remembers where each event lies, so that part of it can be sent again or dead-lettered. */
#include "sync/mixpanel_batch.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "base/gzip.h"
#include "sync/mixpanel.h"

#define MAX_UNCOMPRESSED (2000 * 1000) /* Mixpanel: stay under 2 MB */

void mixpanel_insert_id(const char *event_key, char out[33])
{
    uint8_t digest[CRYPTO_SHA256_LEN];
    crypto_sha256(event_key, strlen(event_key), digest);
    crypto_hex(digest, 16, out);
}

static int append_i64(struct buf *b, int64_t v)
{
    char digits[24], *p = digits + sizeof(digits);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

/* Appends `,"name":` and value as a JSON string (nothing when value is NULL). */
static int append_field(struct buf *b, const char *name, const char *value)
{
    if (!value)
        return HERALD_OK;
    int rc = buf_append(b, ",\"", 2);
    rc = rc ? rc : buf_append_str(b, name);
    rc = rc ? rc : buf_append(b, "\":", 2);
    return rc ? rc : buf_append_json_string(b, value);
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* p at a string's opening quote: the character after its closing one, NULL if unterminated. */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && !*++p)
            return NULL;
    return *p ? p + 1 : NULL;
}

/* p at any JSON value: the character after it. Structure is followed only as far as needed to
   find the value's end (strings with their escapes, nesting depth); NULL if it runs out. */
static const char *skip_value(const char *p)
{
    int depth = 0;
    for (;;) {
        if (*p == '"') {
            if (!(p = skip_string(p)))
                return NULL;
        } else if (depth == 0 && *p && strchr(",}] \n\t\r", *p)) {
            return p;
        } else if (!*p) {
            return NULL;
        } else {
            depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
            p++;
        }
        if (depth == 0 && (*p == ',' || *p == '}' || *p == ']'))
            return p;
    }
}

/* The still-escaped text of the top-level string member `name` of a JSON object (the payload a
 * sync stored), without building a tree: a real Lemlist activity is a kilobyte of JSON, and
 * parsing each one to read its "type" cost more than writing the whole Mixpanel event. */
static bool top_level_string(const char *json, const char *name, const char **val, size_t *len)
{
    size_t name_len = strlen(name);
    const char *p = skip_ws(json);
    if (*p != '{')
        return false;
    p = skip_ws(p + 1);
    while (*p == '"') {
        const char *key = p + 1, *end = skip_string(p);
        if (!end)
            return false;
        bool match = (size_t)(end - 1 - key) == name_len && memcmp(key, name, name_len) == 0;
        p = skip_ws(end);
        if (*p != ':')
            return false;
        p = skip_ws(p + 1);
        if (match) {
            if (*p != '"' || !(end = skip_string(p)))
                return false;
            *val = p + 1;
            *len = (size_t)(end - 1 - *val);
            return true;
        }
        if (!(p = skip_value(p)))
            return false;
        p = skip_ws(p);
        if (*p != ',')
            return false;
        p = skip_ws(p + 1);
    }
    return false;
}

/* Whether len bytes are a JSON string's content that can be copied as they are: printable
   ASCII and the escapes JSON knows, except \u (a lone surrogate must not reach Mixpanel). */
static bool plain_string_content(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return false;
        if (c == '\\' && (++i == len || !s[i] || !strchr("\"\\/bfnrt", s[i])))
            return false;
    }
    return true;
}

/* Only synced events carry an upstream type. The common value (ASCII, as Lemlist's and
   Smartlead's types are) is copied as stored, still escaped; any other is decoded and checked
   by jansson, which parses the whole payload for it. */
static int append_upstream_type(struct buf *b, const char *payload)
{
    const char *type;
    size_t len;
    if (!payload || !top_level_string(payload, "type", &type, &len))
        return HERALD_OK;
    if (!plain_string_content(type, len)) {
        json_t *doc = json_loads(payload, 0, NULL);
        json_t *value = json_object_get(doc, "type");
        int rc = json_is_string(value) ? append_field(b, "upstream_type", json_string_value(value))
                                       : HERALD_OK;
        json_decref(doc);
        return rc;
    }
    int rc = buf_append_str(b, ",\"upstream_type\":\"");
    rc = rc ? rc : buf_append(b, type, len);
    return rc ? rc : buf_append(b, "\"", 1);
}

enum herald_err mixpanel_hashed_id(const char *hash_key, const char *email, char out[65])
{
    char lower[512];
    size_t n = strlen(email);
    if (n >= sizeof(lower))
        return HERALD_ERR_INVALID;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)email[i]);
    uint8_t mac[CRYPTO_SHA256_LEN];
    int rc = crypto_hmac_sha256(hash_key, strlen(hash_key), lower, n, mac);
    if (rc)
        return rc;
    crypto_hex(mac, sizeof(mac), out);
    return HERALD_OK;
}

/* One event as Mixpanel import JSON, written straight into the batch: at 100,000 events a
 * second building jansson trees (or printf) for each one costs more than the rest together. */
static int append_event(const struct store_event *e, const char *hash_key, struct buf *b)
{
    char insert_id[33], distinct[65];
    bool hash = hash_key != NULL;
    mixpanel_insert_id(e->event_key, insert_id);
    int rc = hash ? mixpanel_hashed_id(hash_key, e->email, distinct) : HERALD_OK;
    rc = rc ? rc : buf_append_str(b, "{\"event\":");
    rc = rc ? rc : buf_append_json_string(b, e->event_type);
    rc = rc ? rc : buf_append_str(b, ",\"properties\":{\"time\":");
    rc = rc ? rc : append_i64(b, e->has_occurred_at ? e->occurred_at_ms : e->created_at_ms);
    rc = rc ? rc : buf_append_str(b, ",\"$insert_id\":\"");
    rc = rc ? rc : buf_append(b, insert_id, 32);
    rc = rc ? rc : buf_append(b, "\"", 1);
    rc = rc ? rc : append_field(b, "distinct_id", hash ? distinct : e->email);
    rc = rc ? rc : append_field(b, "herald_event_key", e->event_key);
    rc = rc ? rc : append_field(b, "platform", e->platform);
    rc = rc ? rc : append_field(b, "campaign_id", e->campaign_id);
    rc = rc ? rc : append_field(b, "email", hash ? NULL : e->email);
    rc = rc ? rc : append_field(b, "source_id", e->source_id);
    rc = rc ? rc : append_field(b, "namespace", e->namespace_);
    rc = rc ? rc : append_upstream_type(b, e->payload);
    return rc ? rc : buf_append(b, "}}", 2);
}

void mixpanel_batch_free(struct mixpanel_batch *b)
{
    free(b->json);
    free(b->end);
    memset(b, 0, sizeof(*b));
}

enum herald_err mixpanel_batch_build(const struct store_event *rows, size_t n, const char *hash_key,
                                     struct mixpanel_batch *out)
{
    memset(out, 0, sizeof(*out));
    out->end = calloc(n, sizeof(size_t));
    struct buf body;
    buf_init(&body, (size_t)64 << 20);
    int rc = out->end ? buf_append(&body, "[", 1) : HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = append_event(&rows[i], hash_key, &body);
        out->end[i] = body.len;
        rc = rc ? rc : buf_append(&body, i + 1 < n ? "," : "]", 1);
    }
    rc = rc ? rc : buf_steal(&body, &out->json, NULL);
    buf_free(&body);
    out->n = n;
    if (rc)
        mixpanel_batch_free(out);
    return rc;
}

static size_t event_start(const struct mixpanel_batch *b, size_t i)
{
    return i == 0 ? 1 : b->end[i - 1] + 1;
}

char *mixpanel_batch_event(const struct mixpanel_batch *b, size_t i)
{
    size_t start = event_start(b, i);
    return strndup(b->json + start, b->end[i] - start);
}

char *mixpanel_batch_gzip(const struct mixpanel_batch *b, size_t from, size_t to, size_t *gz_len,
                          bool *too_big)
{
    size_t start = event_start(b, from), len = b->end[to - 1] - start;
    *too_big = len + 2 > MAX_UNCOMPRESSED && to - from > 1;
    if (*too_big)
        return NULL;
    char *part = NULL;
    const char *json = b->json; /* the whole batch is an array already */
    if (from > 0 || to < b->n) {
        if (!(part = malloc(len + 2)))
            return NULL;
        part[0] = '[';
        memcpy(part + 1, b->json + start, len);
        part[len + 1] = ']';
        json = part;
    }
    char *gz = NULL;
    /* Level 1: on a 2 MB batch it is several times faster than the default and still shrinks
       JSON about fivefold; the link to Mixpanel is rarely the bottleneck. */
    if (gzip_compress(json, len + 2, 1, &gz, gz_len))
        gz = NULL;
    free(part);
    return gz;
}
