/* Reading reservations (ota/reservations.h): the filtered, paged list and one reservation with
 * its revisions, as JSON for api/ota_reservations.c. */
#include <string.h>

#include "base/clock.h"
#include "ota/res_parse_internal.h"
#include "ota/reservations_internal.h"
#include "store/ota_reservations.h"

static json_t *iso_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char ts[40];
    clock_format_iso_ms(ms, ts, sizeof(ts));
    return json_string(ts);
}

/* A nullable text column; invalid UTF-8 (never expected) becomes null. */
static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

static json_t *summary_json(const struct store_ota_res *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "channelId", json_integer(r->channel_id));
    json_object_set_new(o, "hotelCode", str_or_null(r->hotel_code));
    json_object_set_new(o, "resId", str_or_null(r->res_id));
    json_object_set_new(o, "status", str_or_null(r->status));
    json_object_set_new(o, "arrival", str_or_null(r->arrival));
    json_object_set_new(o, "departure", str_or_null(r->departure));
    json_object_set_new(o, "guestEmail", str_or_null(r->guest_email));
    json_object_set_new(o, "guestName", str_or_null(r->guest_name));
    json_object_set_new(o, "revisionCount", json_integer(r->revisions));
    json_object_set_new(o, "currentRevisionId", json_integer(r->current_revision_id));
    json_object_set_new(o, "createdAt", iso_or_null(r->created_at_ms));
    json_object_set_new(o, "updatedAt", iso_or_null(r->updated_at_ms));
    return o;
}

static json_t *guest_json(const struct store_ota_rev *v)
{
    json_t *g = json_object();
    if (!g)
        return NULL;
    json_object_set_new(g, "email", str_or_null(v->guest_email));
    json_object_set_new(g, "givenName", str_or_null(v->guest_given_name));
    json_object_set_new(g, "surname", str_or_null(v->guest_surname));
    json_object_set_new(g, "phone", str_or_null(v->guest_phone));
    json_object_set_new(g, "language", str_or_null(v->language));
    json_object_set_new(g, "country", str_or_null(v->country));
    json_object_set_new(g, "consent", str_or_null(v->consent));
    json_object_set_new(g, "consentText", str_or_null(v->consent_text));
    return g;
}

static json_t *revision_json(const struct store_ota_rev *v)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *rooms = v->rooms ? json_loads(v->rooms, 0, NULL) : NULL;
    json_object_set_new(o, "id", json_integer(v->id));
    json_object_set_new(o, "seq", json_integer(v->seq));
    json_object_set_new(o, "revisionKey", str_or_null(v->revision_key));
    json_object_set_new(o, "message", str_or_null(v->message_kind));
    json_object_set_new(o, "status", str_or_null(v->status));
    json_object_set_new(o, "arrival", str_or_null(v->arrival));
    json_object_set_new(o, "departure", str_or_null(v->departure));
    json_object_set_new(o, "rooms", rooms ? rooms : json_array());
    json_object_set_new(o, "adults", json_integer(v->adults));
    json_object_set_new(o, "children", json_integer(v->children));
    json_object_set_new(o, "total", str_or_null(v->total));
    json_object_set_new(o, "currency", str_or_null(v->currency));
    json_object_set_new(o, "bookingChannel", str_or_null(v->booking_channel));
    json_object_set_new(o, "guest", guest_json(v));
    json_object_set_new(o, "comments", str_or_null(v->comments));
    json_object_set_new(o, "createdAt", iso_or_null(v->created_ms));
    json_object_set_new(o, "modifiedAt", iso_or_null(v->modified_ms));
    json_object_set_new(o, "receivedAt", iso_or_null(v->received_at_ms));
    return o;
}

struct list_tx {
    struct store_ota_res_filter f;
    struct store_ota_res *rows;
    size_t n;
};

static int list_fn(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_ota_res_free_array(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    return store_ota_res_list(c, &t->f, &t->rows, &t->n);
}

static bool status_known(const char *s)
{
    for (int k = OTA_RES_COMMIT; k <= OTA_RES_NO_SHOW; k++)
        if (strcmp(s, ota_res_status_name((enum ota_res_status)k)) == 0)
            return true;
    return false;
}

static enum herald_err check_query(const struct ota_res_query *q, struct herald_error *err)
{
    char d[OTA_DATE_LEN];
    if (q->status && !status_known(q->status))
        return herald_error_set(err, HERALD_ERR_INVALID, "status",
                                "status must be one of commit, modify, cancel, reserved, "
                                "in_house, checked_out, no_show");
    if (q->arrival_from && (strlen(q->arrival_from) != 10 || !ota_parse_date(q->arrival_from, d)))
        return herald_error_set(err, HERALD_ERR_INVALID, "arrivalFrom",
                                "arrivalFrom must be a date YYYY-MM-DD");
    if (q->arrival_to && (strlen(q->arrival_to) != 10 || !ota_parse_date(q->arrival_to, d)))
        return herald_error_set(err, HERALD_ERR_INVALID, "arrivalTo",
                                "arrivalTo must be a date YYYY-MM-DD");
    if (q->hotel_code && strlen(q->hotel_code) >= OTA_HOTEL_CODE_MAX)
        return herald_error_set(err, HERALD_ERR_INVALID, "hotelCode", "hotelCode is too long");
    return HERALD_OK;
}

enum herald_err ota_reservations_list(struct ota_reservations *r, const struct ota_res_query *q,
                                      json_t **items, int64_t *next_after, struct herald_error *err)
{
    *items = NULL;
    *next_after = 0;
    enum herald_err rc = check_query(q, err);
    if (rc)
        return rc;
    int limit = q->limit < 1 ? 1 : q->limit > 100 ? 100 : q->limit;
    struct list_tx t = {
        {q->hotel_code, q->status, q->arrival_from, q->arrival_to, q->after_id, limit}, NULL, 0};
    rc = store_run_read(r->st, list_fn, &t);
    json_t *a = rc ? NULL : json_array();
    if (!rc && !a)
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < t.n; i++)
        if (json_array_append_new(a, summary_json(&t.rows[i])))
            rc = HERALD_ERR_NOMEM;
    if (!rc && t.n == (size_t)limit)
        *next_after = t.rows[t.n - 1].id;
    store_ota_res_free_array(t.rows, t.n);
    if (rc) {
        json_decref(a);
        return herald_error_set(err, rc, NULL, NULL);
    }
    *items = a;
    return HERALD_OK;
}

struct get_tx {
    int64_t id;
    struct store_ota_res res;
    struct store_ota_rev *revs;
    size_t n;
};

static int get_fn(struct store_conn *c, void *arg)
{
    struct get_tx *t = arg;
    store_ota_res_clear(&t->res);
    store_ota_rev_free_array(t->revs, t->n);
    t->revs = NULL;
    t->n = 0;
    enum herald_err rc = store_ota_res_get(c, t->id, &t->res);
    return rc ? rc : store_ota_rev_list(c, t->id, &t->revs, &t->n);
}

enum herald_err ota_reservations_get(struct ota_reservations *r, int64_t id, json_t **out,
                                     struct herald_error *err)
{
    *out = NULL;
    struct get_tx t = {.id = id};
    enum herald_err rc = store_run_read(r->st, get_fn, &t);
    json_t *o = rc ? NULL : summary_json(&t.res);
    json_t *revs = o ? json_array() : NULL;
    if (!rc && !revs)
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < t.n; i++)
        if (json_array_append_new(revs, revision_json(&t.revs[i])))
            rc = HERALD_ERR_NOMEM;
    if (!rc)
        json_object_set_new(o, "revisions", revs);
    store_ota_res_clear(&t.res);
    store_ota_rev_free_array(t.revs, t.n);
    if (rc) {
        json_decref(o);
        if (revs && rc)
            json_decref(revs);
        return herald_error_set(err, rc, NULL,
                                rc == HERALD_ERR_NOT_FOUND ? "no such reservation" : NULL);
    }
    *out = o;
    return HERALD_OK;
}
