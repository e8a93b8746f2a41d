/* GET /api/events: filtered, newest first, at most 100 a page, with an opaque cursor. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "events/key.h"
#include "store/store.h"

#define CURSOR_TAG "evc1:"

static void encode_cursor(int64_t id, char out[64])
{
    char plain[48];
    int n = snprintf(plain, sizeof(plain), CURSOR_TAG "%" PRId64, id);
    crypto_b64url((const uint8_t *)plain, (size_t)n, out);
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

static bool decode_cursor(const char *s, int64_t *id)
{
    char plain[48];
    size_t n = 0, len = strlen(s);
    if (len == 0 || len > 60)
        return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= sizeof(plain))
                return false;
            plain[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    plain[n] = '\0';
    size_t tag = strlen(CURSOR_TAG);
    if (n <= tag || strncmp(plain, CURSOR_TAG, tag) != 0)
        return false;
    char *end;
    long long v = strtoll(plain + tag, &end, 10);
    if (*end || v <= 0)
        return false;
    *id = v;
    return true;
}

static bool charset_ok(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

struct list_tx {
    const struct store_event_filter *filter;
    struct store_event *rows;
    size_t count;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *tx = arg;
    store_events_free(tx->rows, tx->count);
    tx->rows = NULL;
    tx->count = 0;
    return store_event_list(c, tx->filter, &tx->rows, &tx->count);
}

static enum http_result invalid(struct http_request *req, const char *field, const char *message)
{
    http_reply_error(req, HERALD_ERR_INVALID, message, field);
    return HTTP_REPLIED;
}

static json_t *event_json(const struct store_event *e)
{
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o}", "id", (json_int_t)e->id, "eventKey",
        e->event_key, "platform", e->platform, "campaignId", e->campaign_id, "eventType",
        e->event_type, "email", e->email, "sourceId", e->source_id, "namespace", e->namespace_,
        "occurredAt", e->has_occurred_at ? api_time(e->occurred_at_ms) : json_null(), "createdAt",
        api_time(e->created_at_ms));
    if (o && e->payload) {
        json_t *props = json_loads(e->payload, 0, NULL);
        if (props)
            json_object_set_new(o, "properties", props);
    }
    return o;
}

enum http_result api_events_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct store_event_filter f = {0};
    long long limit;
    if (http_query_int(req, "limit", 1, 100, 50, &limit))
        return HTTP_REPLIED;
    f.limit = (int)limit;
    f.platform = http_req_query(req, "platform");
    if (f.platform && !evkey_platform_known(f.platform))
        return invalid(req, "platform", "platform must be one of lemlist, smartlead, ota, herald");
    f.campaign_id = http_req_query(req, "campaignId");
    if (f.campaign_id && !charset_ok(f.campaign_id, 128, "_.:-"))
        return invalid(req, "campaignId",
                       "campaignId must be 1-128 characters of A-Z a-z 0-9 _ . : -");
    f.event_type = http_req_query(req, "eventType");
    if (f.event_type && !charset_ok(f.event_type, 64, "_.-"))
        return invalid(req, "eventType", "eventType must be 1-64 characters of A-Z a-z 0-9 _ . -");
    f.namespace_ = http_req_query(req, "namespace");
    if (f.namespace_ && !charset_ok(f.namespace_, 64, "_.:-"))
        return invalid(req, "namespace",
                       "namespace must be 1-64 characters of A-Z a-z 0-9 _ . : -");
    char email[255];
    const char *email_in = http_req_query(req, "email");
    if (email_in) {
        size_t n = strlen(email_in);
        if (n > 254)
            return invalid(req, "email", "email must be a valid address");
        for (size_t i = 0; i <= n; i++)
            email[i] = (char)tolower((unsigned char)email_in[i]);
        if (!evkey_email_valid(email))
            return invalid(req, "email", "email must be a valid address");
        f.email = email;
    }
    const char *from = http_req_query(req, "from"), *to = http_req_query(req, "to");
    if (from) {
        if (clock_parse_iso(from, &f.from_ms))
            return invalid(req, "from", "from must be an ISO-8601 date or date-time");
        f.has_from = true;
    }
    if (to) {
        if (clock_parse_iso(to, &f.to_ms))
            return invalid(req, "to", "to must be an ISO-8601 date or date-time");
        f.has_to = true;
    }
    if (f.has_from && f.has_to && f.from_ms > f.to_ms)
        return invalid(req, "from", "from must not be after to");
    const char *cursor = http_req_query(req, "cursor");
    if (cursor) {
        if (!decode_cursor(cursor, &f.before_id))
            return invalid(req, "cursor", "cursor is not one this server issued");
        f.has_before_id = true;
    }
    struct list_tx tx = {&f, NULL, 0};
    int rc = store_run_read(app->store, list_tx, &tx);
    if (rc)
        return api_fail(req, rc);
    json_t *events = json_array();
    for (size_t i = 0; events && i < tx.count; i++)
        json_array_append_new(events, event_json(&tx.rows[i]));
    json_t *next = json_null();
    if (tx.count == (size_t)f.limit && tx.count > 0) {
        char c[64];
        encode_cursor(tx.rows[tx.count - 1].id, c);
        json_decref(next);
        next = json_string(c);
    }
    store_events_free(tx.rows, tx.count);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:o, s:o, s:i}", "success", 1, "events", events, "nextCursor",
                              next, "limit", f.limit));
    return HTTP_REPLIED;
}
