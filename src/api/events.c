/* Owns GET /api/events: parsing its query (filters, limit, the opaque cursor), calling
 * events_list() and writing the page as JSON. */

/* The page is written straight into the reply buffer, not built as a jansson tree: this
   endpoint is read far more often than anything else, and a tree of 100 events cost thousands
   of allocations per request. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/text.h"
#include "events/key.h"
#include "events/query.h"

#define CURSOR_TAG "evc1" /* cursors read "evc1:<id>" */

/* Answers 400 for `field`; returns false for read_filter(). */
static bool invalid(struct http_request *req, const char *field, const char *message)
{
    http_reply_error(req, HERALD_ERR_INVALID, message, field);
    return false;
}

/* `prefix` is the separator and quoted name, e.g. ",\"email\":" (no printf on this path: it
 * runs a thousand times per page). */
static int append_field(struct buf *b, const char *prefix, const char *value)
{
    int rc = buf_append_str(b, prefix);
    if (!rc)
        rc = value ? buf_append_json_string(b, value) : buf_append_str(b, "null");
    return rc;
}

static int append_time(struct buf *b, const char *prefix, bool has, int64_t ms)
{
    char iso[40];
    int rc = buf_append_str(b, prefix);
    if (rc || !has)
        return rc ? rc : buf_append_str(b, "null");
    clock_format_iso_ms(ms, iso, sizeof(iso));
    rc = buf_append(b, "\"", 1);
    rc = rc ? rc : buf_append_str(b, iso);
    return rc ? rc : buf_append(b, "\"", 1);
}

/* One event as JSON. Its properties are embedded as stored: every writer (this API, the sync
 * connectors) stores jansson's compact dump of an object, so the text is valid JSON already;
 * anything not shaped like an object is left out, as an unparsable payload always was. */
static int append_event(struct buf *b, const struct store_event *e)
{
    char id[32];
    snprintf(id, sizeof(id), "{\"id\":%" PRId64, e->id);
    int rc = buf_append_str(b, id);
    const char *prefixes[] = {
        ",\"eventKey\":", ",\"platform\":", ",\"campaignId\":", ",\"eventType\":",
        ",\"email\":",    ",\"sourceId\":", ",\"namespace\":"};
    const char *values[] = {e->event_key, e->platform,  e->campaign_id, e->event_type,
                            e->email,     e->source_id, e->namespace_};
    for (size_t i = 0; !rc && i < sizeof(values) / sizeof(values[0]); i++)
        rc = append_field(b, prefixes[i], values[i]);
    if (!rc)
        rc = append_time(b, ",\"occurredAt\":", e->has_occurred_at, e->occurred_at_ms);
    if (!rc)
        rc = append_time(b, ",\"createdAt\":", true, e->created_at_ms);
    size_t n = e->payload ? strlen(e->payload) : 0;
    if (!rc && n >= 2 && e->payload[0] == '{' && e->payload[n - 1] == '}') {
        rc = buf_append_str(b, ",\"properties\":");
        if (!rc)
            rc = buf_append(b, e->payload, n);
    }
    return rc ? rc : buf_append(b, "}", 1);
}

/* {"success":true,"events":[...],"nextCursor":...,"limit":N} */
static int render_page(struct buf *b, const struct store_event *rows, size_t count, int limit)
{
    int rc = buf_append_str(b, "{\"success\":true,\"events\":[");
    for (size_t i = 0; !rc && i < count; i++) {
        if (i)
            rc = buf_append(b, ",", 1);
        if (!rc)
            rc = append_event(b, &rows[i]);
    }
    if (!rc && count == (size_t)limit && count > 0) {
        char c[64];
        api_id_cursor_encode(CURSOR_TAG, rows[count - 1].id, c);
        rc = buf_printf(b, "],\"nextCursor\":\"%s\",\"limit\":%d}", c, limit);
    } else if (!rc) {
        rc = buf_printf(b, "],\"nextCursor\":null,\"limit\":%d}", limit);
    }
    return rc;
}

/* from, to and cursor; answers 400 itself and returns false on a bad one. */
static bool read_window(struct http_request *req, struct events_filter *f)
{
    const char *from = http_req_query(req, "from"), *to = http_req_query(req, "to");
    if (from) {
        if (clock_parse_iso(from, &f->from_ms))
            return invalid(req, "from", "from must be an ISO-8601 date or date-time");
        f->has_from = true;
    }
    if (to) {
        if (clock_parse_iso(to, &f->to_ms))
            return invalid(req, "to", "to must be an ISO-8601 date or date-time");
        f->has_to = true;
    }
    if (f->has_from && f->has_to && f->from_ms > f->to_ms)
        return invalid(req, "from", "from must not be after to");
    const char *cursor = http_req_query(req, "cursor");
    if (cursor) {
        if (!api_id_cursor_decode(CURSOR_TAG, cursor, &f->before_id))
            return invalid(req, "cursor", "cursor is not one this server issued");
        f->has_before_id = true;
    }
    return true;
}

/* Reads and checks the query string into f (email lowercased into email_buf); answers 400
 * itself and returns false on a bad argument. */
static bool read_filter(struct http_request *req, struct events_filter *f, char email_buf[255])
{
    long long limit;
    if (http_query_int(req, "limit", 1, 100, 50, &limit))
        return false;
    f->limit = (int)limit;
    f->platform = http_req_query(req, "platform");
    if (f->platform && !evkey_platform_known(f->platform))
        return invalid(req, "platform", "platform must be one of lemlist, smartlead, ota, herald");
    f->campaign_id = http_req_query(req, "campaignId");
    if (f->campaign_id && !text_ident_ok(f->campaign_id, 128, "_.:-"))
        return invalid(req, "campaignId",
                       "campaignId must be 1-128 characters of A-Z a-z 0-9 _ . : -");
    f->event_type = http_req_query(req, "eventType");
    if (f->event_type && !text_ident_ok(f->event_type, 64, "_.-"))
        return invalid(req, "eventType", "eventType must be 1-64 characters of A-Z a-z 0-9 _ . -");
    f->namespace_ = http_req_query(req, "namespace");
    if (f->namespace_ && !text_ident_ok(f->namespace_, 64, "_.:-"))
        return invalid(req, "namespace",
                       "namespace must be 1-64 characters of A-Z a-z 0-9 _ . : -");
    const char *email = http_req_query(req, "email");
    if (email) {
        size_t n = strlen(email);
        if (n > 254)
            return invalid(req, "email", "email must be a valid address");
        for (size_t i = 0; i <= n; i++)
            email_buf[i] = (char)tolower((unsigned char)email[i]);
        if (!evkey_email_valid(email_buf))
            return invalid(req, "email", "email must be a valid address");
        f->email = email_buf;
    }
    return read_window(req, f);
}

enum http_result api_events_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct events_filter f = {0};
    char email[255];
    if (!read_filter(req, &f, email))
        return HTTP_REPLIED;
    struct events_page page;
    int rc = events_list(app->store, &f, &page);
    if (rc)
        return api_fail(req, rc);
    struct buf b;
    buf_init(&b, (size_t)64 << 20);
    rc = render_page(&b, page.rows, page.count, f.limit);
    events_page_free(&page);
    if (rc)
        http_reply_error(req, HERALD_ERR_NOMEM, NULL, NULL);
    else
        http_reply_raw(req, 200, "application/json", b.data, b.len);
    buf_free(&b);
    return HTTP_REPLIED;
}
