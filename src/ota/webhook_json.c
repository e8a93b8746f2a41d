/* The JSON events of inbound OTA webhooks (booking_new, booking_modification,
 * booking_cancellation) mapped onto struct ota_reservation, with their revision key. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/webhooks.h"

#define MAX_ROOMS 64
#define MAX_COMMENTS 4000

static enum herald_err bad(struct herald_error *err, const char *field, const char *what)
{
    return herald_error_set(err, HERALD_ERR_INVALID, field, "%s %s", field, what);
}

/* Copies an optional string member (a number is written as text) into out. */
static enum herald_err get_str(json_t *obj, const char *name, const char *path, char *out,
                               size_t cap, bool required, struct herald_error *err)
{
    char field[96];
    snprintf(field, sizeof(field), "%s.%s", path, name);
    json_t *v = json_object_get(obj, name);
    out[0] = '\0';
    if (!v || json_is_null(v))
        return required ? bad(err, field, "is required") : HERALD_OK;
    if (json_is_integer(v))
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, cap, "%.2f", json_real_value(v));
    else if (!json_is_string(v))
        return bad(err, field, "must be a string");
    else if (json_string_length(v) >= cap)
        return bad(err, field, "is too long");
    else
        snprintf(out, cap, "%s", json_string_value(v));
    for (const char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            return bad(err, field, "must not hold control characters");
    if (required && !out[0])
        return bad(err, field, "must not be empty");
    return HERALD_OK;
}

static enum herald_err get_date(json_t *obj, const char *name, const char *path,
                                char out[OTA_DATE_LEN], bool required, struct herald_error *err)
{
    char text[32], field[96];
    int64_t ms;
    out[0] = '\0';
    enum herald_err rc = get_str(obj, name, path, text, sizeof(text), required, err);
    if (rc || !text[0])
        return rc;
    snprintf(field, sizeof(field), "%s.%s", path, name);
    if (strlen(text) != OTA_DATE_LEN - 1 || clock_parse_iso(text, &ms))
        return bad(err, field, "must be a date YYYY-MM-DD");
    memcpy(out, text, OTA_DATE_LEN);
    return HERALD_OK;
}

static enum herald_err get_time(json_t *obj, const char *name, int64_t *out,
                                struct herald_error *err)
{
    char text[64], field[96];
    enum herald_err rc = get_str(obj, name, "data", text, sizeof(text), false, err);
    *out = 0;
    snprintf(field, sizeof(field), "data.%s", name);
    if (!rc && text[0] && clock_parse_iso(text, out))
        return bad(err, field, "must be an ISO-8601 time");
    return rc;
}

static enum herald_err get_int(json_t *obj, const char *name, const char *path, int *out,
                               struct herald_error *err)
{
    char field[96];
    snprintf(field, sizeof(field), "%s.%s", path, name);
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return HERALD_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 99)
        return bad(err, field, "must be an integer from 0 to 99");
    *out = (int)json_integer_value(v);
    return HERALD_OK;
}

static enum herald_err parse_room(json_t *r, const char *path, struct ota_room_stay *out,
                                  struct herald_error *err)
{
    if (!json_is_object(r))
        return bad(err, path, "must be an object");
    enum herald_err rc =
        get_str(r, "roomType", path, out->room_type, sizeof(out->room_type), false, err);
    if (!rc)
        rc = get_str(r, "ratePlan", path, out->rate_plan, sizeof(out->rate_plan), false, err);
    if (!rc)
        rc = get_date(r, "arrival", path, out->arrival, false, err);
    if (!rc)
        rc = get_date(r, "departure", path, out->departure, false, err);
    if (!rc)
        rc = get_int(r, "adults", path, &out->adults, err);
    if (!rc)
        rc = get_int(r, "children", path, &out->children, err);
    if (!rc)
        rc = get_str(r, "amount", path, out->amount, sizeof(out->amount), false, err);
    return rc;
}

/* Rooms: each inherits the stay's dates when it has none; totals are summed. */
static enum herald_err parse_rooms(json_t *data, struct ota_reservation *res,
                                   struct herald_error *err)
{
    json_t *rooms = json_object_get(data, "rooms");
    if (!rooms || json_is_null(rooms))
        return HERALD_OK;
    if (!json_is_array(rooms) || json_array_size(rooms) > MAX_ROOMS)
        return bad(err, "data.rooms", "must be an array of at most 64 rooms");
    size_t n = json_array_size(rooms);
    res->rooms = n ? calloc(n, sizeof(*res->rooms)) : NULL;
    if (n && !res->rooms)
        return HERALD_ERR_NOMEM;
    res->nrooms = n;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "data.rooms[%zu]", i);
        struct ota_room_stay *room = &res->rooms[i];
        enum herald_err rc = parse_room(json_array_get(rooms, i), path, room, err);
        if (rc)
            return rc;
        if (!room->arrival[0])
            memcpy(room->arrival, res->arrival, OTA_DATE_LEN);
        if (!room->departure[0])
            memcpy(room->departure, res->departure, OTA_DATE_LEN);
        res->adults += room->adults;
        res->children += room->children;
    }
    return HERALD_OK;
}

static bool email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " <>,;\"") &&
           strchr(at + 1, '.');
}

static enum herald_err parse_guest(json_t *data, struct ota_guest *g, struct herald_error *err)
{
    json_t *o = json_object_get(data, "guest");
    if (!o || json_is_null(o))
        return HERALD_OK;
    if (!json_is_object(o))
        return bad(err, "data.guest", "must be an object");
    const char *p = "data.guest";
    enum herald_err rc = get_str(o, "givenName", p, g->given_name, sizeof(g->given_name), 0, err);
    if (!rc)
        rc = get_str(o, "surname", p, g->surname, sizeof(g->surname), false, err);
    if (!rc)
        rc = get_str(o, "email", p, g->email, sizeof(g->email), false, err);
    if (!rc)
        rc = get_str(o, "phone", p, g->phone, sizeof(g->phone), false, err);
    if (!rc)
        rc = get_str(o, "language", p, g->language, sizeof(g->language), false, err);
    if (!rc)
        rc = get_str(o, "country", p, g->country, sizeof(g->country), false, err);
    if (rc)
        return rc;
    for (char *c = g->email; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (char *c = g->country; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    if (g->email[0] && !email_ok(g->email))
        return bad(err, "data.guest.email", "must be an email address");
    json_t *nl = json_object_get(o, "newsletter");
    if (nl && !json_is_null(nl)) {
        if (!json_is_boolean(nl))
            return bad(err, "data.guest.newsletter", "must be true or false");
        g->consent_given = json_is_true(nl);
        g->consent_refused = !g->consent_given;
        snprintf(g->consent_text, sizeof(g->consent_text), "newsletter:%s",
                 g->consent_given ? "yes" : "no");
    }
    return HERALD_OK;
}

static const struct {
    const char *name;
    enum ota_res_status status;
} status_names[] = {
    {"reserved", OTA_RES_RESERVED},
    {"in_house", OTA_RES_IN_HOUSE},
    {"checked_out", OTA_RES_CHECKED_OUT},
    {"no_show", OTA_RES_NO_SHOW},
};

static const struct {
    const char *type;
    enum ota_msg_kind kind;
    enum ota_res_status status;
} event_types[] = {
    {"booking_new", OTA_MSG_RES_NOTIF, OTA_RES_COMMIT},
    {"booking_modification", OTA_MSG_RES_MODIFY_NOTIF, OTA_RES_MODIFY},
    {"booking_cancellation", OTA_MSG_CANCEL, OTA_RES_CANCEL},
};

static enum herald_err parse_status(json_t *data, struct ota_reservation *res,
                                    struct herald_error *err)
{
    char name[16];
    enum herald_err rc = get_str(data, "status", "data", name, sizeof(name), false, err);
    if (rc || !name[0])
        return rc;
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (strcmp(name, status_names[i].name) == 0) {
            res->status = status_names[i].status;
            return HERALD_OK;
        }
    return bad(err, "data.status", "must be reserved, in_house, checked_out or no_show");
}

/* The fields of data shared by every event type. */
static enum herald_err parse_data(json_t *data, const char *default_hotel,
                                  struct ota_reservation *res, bool cancel,
                                  struct herald_error *err)
{
    enum herald_err rc =
        get_str(data, "hotelCode", "data", res->hotel_code, sizeof(res->hotel_code), false, err);
    if (!rc && !res->hotel_code[0])
        snprintf(res->hotel_code, sizeof(res->hotel_code), "%s", default_hotel);
    if (!rc)
        rc = get_str(data, "reservationId", "data", res->res_id, sizeof(res->res_id), true, err);
    if (!rc)
        rc = get_date(data, "arrival", "data", res->arrival, !cancel, err);
    if (!rc)
        rc = get_date(data, "departure", "data", res->departure, !cancel, err);
    if (!rc && res->arrival[0] && res->departure[0] && strcmp(res->arrival, res->departure) > 0)
        rc = bad(err, "data.departure", "must not be before arrival");
    if (!rc)
        rc = get_str(data, "total", "data", res->total, sizeof(res->total), false, err);
    if (!rc)
        rc = get_str(data, "currency", "data", res->currency, sizeof(res->currency), false, err);
    if (!rc)
        rc = get_str(data, "bookingChannel", "data", res->booking_channel,
                     sizeof(res->booking_channel), false, err);
    if (!rc)
        rc = get_time(data, "createdAt", &res->created_ms, err);
    if (!rc)
        rc = get_time(data, "modifiedAt", &res->modified_ms, err);
    if (!rc)
        rc = parse_status(data, res, err);
    if (!rc)
        rc = parse_guest(data, &res->guest, err);
    return rc ? rc : parse_rooms(data, res, err);
}

static enum herald_err parse_comments(json_t *data, struct ota_reservation *res,
                                      struct herald_error *err)
{
    json_t *c = json_object_get(data, "comments");
    if (!c || json_is_null(c))
        return HERALD_OK;
    if (!json_is_string(c) || json_string_length(c) > MAX_COMMENTS)
        return bad(err, "data.comments", "must be a string of at most 4000 bytes");
    res->comments = strdup(json_string_value(c));
    return res->comments ? HERALD_OK : HERALD_ERR_NOMEM;
}

static enum herald_err parse_event(json_t *doc, const char *default_hotel,
                                   struct ota_res_message *out, struct herald_error *err)
{
    if (!json_is_object(doc))
        return herald_error_set(err, HERALD_ERR_INVALID, NULL, "the body must be a JSON object");
    const char *type = json_string_value(json_object_get(doc, "type"));
    size_t t = 0, nt = sizeof(event_types) / sizeof(event_types[0]);
    while (type && t < nt && strcmp(type, event_types[t].type) != 0)
        t++;
    if (!type || t == nt)
        return bad(err, "type",
                   "must be booking_new, booking_modification or booking_cancellation");
    json_t *data = json_object_get(doc, "data");
    if (!json_is_object(data))
        return bad(err, "data", "must be an object");
    struct ota_reservation *res = calloc(1, sizeof(*res));
    if (!res)
        return HERALD_ERR_NOMEM;
    out->items = res;
    out->n = 1;
    out->kind = event_types[t].kind;
    res->status = event_types[t].status;
    snprintf(out->root_name, sizeof(out->root_name), "%s", type);
    enum herald_err rc = parse_data(data, default_hotel, res, out->kind == OTA_MSG_CANCEL, err);
    if (!rc)
        rc = parse_comments(data, res, err);
    if (!rc) {
        res->kind = out->kind;
        ota_reservation_compute_key(res); /* the same key an OpenTravel message would get */
    }
    return rc;
}

enum herald_err ota_webhook_parse(const char *body, size_t len, const char *default_hotel_code,
                                  struct ota_res_message *out, struct herald_error *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return herald_error_set(err, HERALD_ERR_INVALID, NULL, "the body is not valid JSON");
    enum herald_err rc = parse_event(doc, default_hotel_code ? default_hotel_code : "", out, err);
    json_decref(doc);
    if (rc)
        ota_webhook_message_free(out);
    return rc;
}

void ota_webhook_message_free(struct ota_res_message *msg)
{
    ota_res_message_free(msg);
    memset(msg, 0, sizeof(*msg));
}
