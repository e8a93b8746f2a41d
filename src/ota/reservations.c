/* Reservation ingestion (ota/reservations.h): one transaction per batch, revisions stored once
 * by revision_key, an event of platform "ota" per new revision and the revision hook. */
#include "ota/reservations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "events/key.h"
#include "ota/reservations_internal.h"
#include "ota/xml.h"
#include "store/ota_reservations.h"

enum herald_err ota_reservations_open(struct store *st, struct ota_reservations **out)
{
    ota_xml_init(); /* at start-up, before the server's threads */
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return HERALD_ERR_NOMEM;
    (*out)->st = st;
    return HERALD_OK;
}

void ota_reservations_close(struct ota_reservations *r)
{
    free(r);
}

void ota_reservations_set_hook(struct ota_reservations *r, const struct ota_revision_hook *hook)
{
    if (hook)
        r->hook = *hook;
    else
        memset(&r->hook, 0, sizeof(r->hook));
}

static const char *const kind_names[] = {
    [OTA_MSG_RES_NOTIF] = "OTA_HotelResNotifRQ",
    [OTA_MSG_RES_MODIFY_NOTIF] = "OTA_HotelResModifyNotifRQ",
    [OTA_MSG_CANCEL] = "OTA_CancelRQ",
    [OTA_MSG_RES_RETRIEVE] = "OTA_ResRetrieveRS",
};

const char *ota_msg_kind_name(enum ota_msg_kind kind)
{
    return (unsigned)kind < 4 ? kind_names[kind] : "OTA_HotelResNotifRQ";
}

static char *rooms_json(const struct ota_reservation *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < res->nrooms; i++) {
        const struct ota_room_stay *s = &res->rooms[i];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s?, s:s?, s:i, s:i, s:s?}", "roomType", s->room_type,
                         "ratePlan", s->rate_plan, "arrival", s->arrival[0] ? s->arrival : NULL,
                         "departure", s->departure[0] ? s->departure : NULL, "adults", s->adults,
                         "children", s->children, "amount", s->amount[0] ? s->amount : NULL));
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

/* The revision row for one parsed reservation (pointers into res; rooms malloc'ed). */
static enum herald_err make_rev(const struct ota_reservation *res, int64_t reservation_id,
                                int64_t seq, int64_t now_ms, struct store_ota_rev *v)
{
    memset(v, 0, sizeof(*v));
    v->rooms = rooms_json(res);
    if (!v->rooms)
        return HERALD_ERR_NOMEM;
    const struct ota_guest *g = &res->guest;
    v->reservation_id = reservation_id;
    v->seq = seq;
    v->revision_key = (char *)res->revision_key;
    v->message_kind = (char *)ota_msg_kind_name(res->kind);
    v->status = (char *)ota_res_status_name(res->status);
    v->arrival = (char *)res->arrival;
    v->departure = (char *)res->departure;
    v->adults = res->adults;
    v->children = res->children;
    v->total = (char *)res->total;
    v->currency = (char *)res->currency;
    v->language = (char *)g->language;
    v->country = (char *)g->country;
    v->booking_channel = (char *)res->booking_channel;
    v->guest_email = (char *)g->email;
    v->guest_given_name = (char *)g->given_name;
    v->guest_surname = (char *)g->surname;
    v->guest_phone = (char *)g->phone;
    v->consent = g->consent_given ? "given" : g->consent_refused ? "refused" : NULL;
    v->consent_text = (char *)g->consent_text;
    v->comments = res->comments;
    v->created_ms = res->created_ms;
    v->modified_ms = res->modified_ms;
    v->received_at_ms = now_ms;
    return HERALD_OK;
}

static const char *event_type(const struct ota_reservation *res, bool created)
{
    switch (res->status) {
    case OTA_RES_COMMIT:
        return created ? "reservationCreated" : "reservationModified";
    case OTA_RES_MODIFY:
        return "reservationModified";
    case OTA_RES_CANCEL:
        return "reservationCancelled";
    default:
        return "reservationStatusChanged";
    }
}

/* The event's campaign is the hotel code, squeezed into the event key's alphabet. */
static void campaign_of(const char *hotel, char *out, size_t cap)
{
    size_t k = 0;
    for (; hotel[k] && k + 1 < cap; k++) {
        char ch = hotel[k];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' || ch == '-';
        out[k] = ok ? ch : '-';
    }
    out[k] = '\0';
}

struct ev_ctx {
    const struct ota_channel *ch;
    const struct ota_reservation *res;
    const char *hotel;
    const char *email; /* the event's: the revision's guest, else the reservation's */
    int64_t reservation_id, revision_id, now_ms;
    bool created;
};

static char *event_payload(const struct ev_ctx *e)
{
    const struct ota_reservation *r = e->res;
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:s, s:s, s:s?, s:s?, s:I, s:i, s:i, s:s?, s:s?, s:s?, s:s?, s:s?}",
        "reservationId", (json_int_t)e->reservation_id, "revisionId", (json_int_t)e->revision_id,
        "channelId", (json_int_t)e->ch->id, "hotelCode", e->hotel, "status",
        ota_res_status_name(r->status), "arrival", r->arrival[0] ? r->arrival : NULL, "departure",
        r->departure[0] ? r->departure : NULL, "rooms", (json_int_t)r->nrooms, "adults", r->adults,
        "children", r->children, "total", r->total[0] ? r->total : NULL, "currency",
        r->currency[0] ? r->currency : NULL, "bookingChannel",
        r->booking_channel[0] ? r->booking_channel : NULL, "language",
        r->guest.language[0] ? r->guest.language : NULL, "country",
        r->guest.country[0] ? r->guest.country : NULL);
    if (o) /* free text from the channel: set apart, so a bad value only drops itself */
        json_object_set_new(o, "resId", json_string(r->res_id));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* The revision's event (platform "ota"). A guest without an email address makes no event:
 * the event store keys events by email. */
static enum herald_err insert_event(struct store_conn *c, const struct ev_ctx *e)
{
    if (!e->email[0])
        return HERALD_OK;
    char campaign[OTA_HOTEL_CODE_MAX], source[96];
    campaign_of(e->hotel, campaign, sizeof(campaign));
    snprintf(source, sizeof(source), "ch%" PRId64 ":%s", e->ch->id, e->res->revision_key);
    struct evkey_input in = {"ota", campaign, event_type(e->res, e->created), e->email, source,
                             NULL,  NULL};
    struct evkey_fields f;
    struct evkey_problem problem;
    if (!campaign[0] || evkey_validate(&in, &f, &problem))
        return HERALD_OK; /* not keyable (e.g. an empty hotel code): the revision stands alone */
    char key[EVKEY_MAX_LEN];
    evkey_compute(&f, key);
    char *payload = event_payload(e);
    int64_t occurred = e->res->modified_ms  ? e->res->modified_ms
                       : e->res->created_ms ? e->res->created_ms
                                            : e->now_ms;
    struct store_event ev = {.event_key = key,
                             .platform = f.platform,
                             .campaign_id = f.campaign_id,
                             .event_type = f.event_type,
                             .email = f.email,
                             .source_id = f.source_id,
                             .payload = payload ? payload : "{}",
                             .has_occurred_at = true,
                             .occurred_at_ms = occurred,
                             .created_at_ms = e->now_ms};
    const struct store_event *evs[1] = {&ev};
    bool created = false;
    enum herald_err rc = store_event_insert_many(c, evs, 1, &created, NULL);
    free(payload);
    return rc;
}

struct ingest_tx {
    struct ota_reservations *r;
    const struct ota_channel *ch;
    const struct ota_reservation *items;
    size_t n;
    int64_t now_ms;
    struct ota_ingest_result *results;
    struct herald_error *err;
};

static enum herald_err ingest_one(struct store_conn *c, struct ingest_tx *t, size_t i)
{
    const struct ota_reservation *res = &t->items[i];
    struct ota_ingest_result *out = &t->results[i];
    const char *hotel = res->hotel_code[0] ? res->hotel_code : t->ch->hotel_code;
    struct store_ota_res_key key;
    enum herald_err rc = store_ota_res_upsert(c, t->ch->id, hotel, res->res_id,
                                              ota_res_status_name(res->status), t->now_ms, &key);
    out->reservation_id = key.id;
    struct store_ota_rev v;
    if (!rc)
        rc = make_rev(res, out->reservation_id, key.revisions + 1, t->now_ms, &v);
    if (rc)
        return rc;
    rc = store_ota_rev_insert(c, &v, &out->revision_id, &out->duplicate);
    v.id = out->revision_id;
    char name[260];
    snprintf(name, sizeof(name), "%s%s%s", res->guest.given_name,
             res->guest.given_name[0] && res->guest.surname[0] ? " " : "", res->guest.surname);
    if (!rc && !out->duplicate)
        rc = store_ota_res_apply(c, out->reservation_id, &v, name, res->modified_ms, t->now_ms);
    free(v.rooms);
    if (rc || out->duplicate)
        return rc;
    /* A revision without an address (a bare cancellation) is the same guest's. */
    struct ev_ctx e = {t->ch,
                       res,
                       hotel,
                       res->guest.email[0] ? res->guest.email : key.guest_email,
                       out->reservation_id,
                       out->revision_id,
                       t->now_ms,
                       key.created};
    rc = insert_event(c, &e);
    /* The test store_ota_res_apply() made of this revision becoming the summary. */
    bool current = res->modified_ms == 0 || key.current_modified_ms <= res->modified_ms;
    bool first_guest = !key.guest_email[0] && res->guest.email[0];
    int hook_rc = !rc && (current || first_guest) && t->r->hook.on_revision
                      ? t->r->hook.on_revision(t->r->hook.arg, c, t->ch, res, out->reservation_id,
                                               out->revision_id, current, t->now_ms)
                      : HERALD_OK;
    /* A race the hook lost (e.g. two writers creating one guest's contact on PostgreSQL) asks
       for the transaction to run again: kept soft, so store_run_tx retries it. */
    if (hook_rc == HERALD_ERR_DB_SOFT)
        rc = hook_rc;
    else if (hook_rc)
        rc = herald_error_set(t->err, HERALD_ERR_INTERNAL, "hook",
                              "the revision hook refused reservation %zu", i);
    return rc;
}

static int ingest_fn(struct store_conn *c, void *arg)
{
    struct ingest_tx *t = arg;
    memset(t->results, 0, t->n * sizeof(*t->results)); /* the transaction may be retried */
    for (size_t i = 0; i < t->n; i++) {
        enum herald_err rc = ingest_one(c, t, i);
        if (rc)
            return rc;
    }
    return HERALD_OK;
}

enum herald_err ota_reservations_ingest(struct ota_reservations *r, const struct ota_channel *ch,
                                        const struct ota_reservation *items, size_t n,
                                        int64_t now_ms, struct ota_ingest_result *results,
                                        struct herald_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!items[i].res_id[0] || !items[i].revision_key[0] ||
            (!items[i].hotel_code[0] && !ch->hotel_code[0]))
            return herald_error_set(err, HERALD_ERR_INVALID, "reservation",
                                    "reservation %zu has no id, hotel code or revision key", i);
    if (n == 0)
        return HERALD_OK;
    struct ingest_tx t = {r, ch, items, n, now_ms, results, err};
    enum herald_err rc = store_run_tx(r->st, ingest_fn, &t);
    if (rc) {
        memset(results, 0, n * sizeof(*results));
        if (err && !err->code)
            herald_error_set(err, rc, NULL, NULL);
    }
    return rc;
}
