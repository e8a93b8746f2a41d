/* Stay-triggered automations (ota/automations.h): the rules (validation, views, create, list,
 * change, delete), their sends' listing, and the scheduling of one send per revision. */
#include "ota/automations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "mail/mime.h"
#include "ota/automations_internal.h"
#include "store/automations.h"
#include "store/ota_reservations.h"

#define NAME_MAX_BYTES 200
#define OFFSET_MAX_DAYS 365
#define RULES_MAX 1000 /* enabled automations read per revision */

static const char *const known_fields[] = {"name",     "trigger", "offsetDays", "templateId",
                                           "kind",     "lists",   "hotelCodes", "fromEmail",
                                           "fromName", "replyTo", "tracking",   "enabled"};
static const char *const triggers[] = {"pre_arrival", "post_stay", "booking_confirmed",
                                       "cancelled"};

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static int invalid(struct herald_error *err, const char *field, const char *msg)
{
    return herald_error_set(err, HERALD_ERR_INVALID, field, "%s", msg);
}

static int replace(char **dst, const char *src)
{
    char *d = strdup(src);
    if (!d)
        return HERALD_ERR_NOMEM;
    free(*dst);
    *dst = d;
    return HERALD_OK;
}

static int check_unknown(json_t *body, struct herald_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (!one_of(key, known_fields, sizeof(known_fields) / sizeof(known_fields[0])))
            return invalid(err, key, "unknown field");
    }
    return HERALD_OK;
}

/* A one-line text field of at most max bytes (absent: *dst unchanged). */
static int take_text(json_t *body, const char *field, size_t max, char **dst,
                     struct herald_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v)
        return HERALD_OK;
    const char *s = json_is_null(v) ? "" : json_string_value(v);
    if (!s)
        return invalid(err, field, "must be a string");
    if (strlen(s) > max || strpbrk(s, "\r\n"))
        return herald_error_set(err, HERALD_ERR_INVALID, field, "one line of at most %zu bytes",
                                max);
    return replace(dst, s);
}

static int take_int(json_t *body, const char *field, long long min, long long max, long long *dst,
                    struct herald_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v)
        return HERALD_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return herald_error_set(err, HERALD_ERR_INVALID, field, "an integer from %lld to %lld", min,
                                max);
    *dst = json_integer_value(v);
    return HERALD_OK;
}

static int take_bool(json_t *body, const char *field, bool *dst, struct herald_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v)
        return HERALD_OK;
    if (!json_is_boolean(v))
        return invalid(err, field, "must be true or false");
    *dst = json_is_true(v);
    return HERALD_OK;
}

/* lists: 0..100 positive ids, stored as a JSON array text. */
static int take_lists(json_t *body, char **dst, struct herald_error *err)
{
    json_t *v = json_object_get(body, "lists");
    if (!v)
        return HERALD_OK;
    if (json_is_null(v))
        return replace(dst, "[]");
    if (!json_is_array(v) || json_array_size(v) > AUTOMATION_LISTS_MAX)
        return invalid(err, "lists", "an array of at most 100 list ids");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_integer(x) || json_integer_value(x) <= 0) {
            char f[48];
            snprintf(f, sizeof(f), "lists[%zu]", i);
            return invalid(err, f, "a list id is a positive integer");
        }
    }
    char *text = json_dumps(v, JSON_COMPACT);
    int rc = text ? replace(dst, text) : HERALD_ERR_NOMEM;
    free(text);
    return rc;
}

/* hotelCodes: 0..100 non-empty one-line strings of at most 64 bytes. */
static int take_codes(json_t *body, char **dst, struct herald_error *err)
{
    json_t *v = json_object_get(body, "hotelCodes");
    if (!v)
        return HERALD_OK;
    if (json_is_null(v))
        return replace(dst, "[]");
    if (!json_is_array(v) || json_array_size(v) > 100)
        return invalid(err, "hotelCodes", "an array of at most 100 hotel codes");
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        const char *s = json_string_value(x);
        if (!s || !*s || strlen(s) > 63 || strpbrk(s, "\r\n")) {
            char f[48];
            snprintf(f, sizeof(f), "hotelCodes[%zu]", i);
            return invalid(err, f, "a hotel code is a string of 1 to 63 bytes");
        }
    }
    char *text = json_dumps(v, JSON_COMPACT);
    int rc = text ? replace(dst, text) : HERALD_ERR_NOMEM;
    free(text);
    return rc;
}

static int take_choice(json_t *body, const char *field, const char *const *set, size_t n, char *dst,
                       size_t size, struct herald_error *err)
{
    json_t *v = json_object_get(body, field);
    if (!v)
        return HERALD_OK;
    const char *s = json_string_value(v);
    if (!one_of(s, set, n))
        return invalid(err, field,
                       strcmp(field, "kind") == 0
                           ? "must be service or marketing"
                           : "must be pre_arrival, post_stay, booking_confirmed or cancelled");
    snprintf(dst, size, "%s", s);
    return HERALD_OK;
}

/* The whole rule after a create or patch: required fields, kinds and lists agree. */
static int check_rule(const struct store_automation *a, struct herald_error *err)
{
    if (!a->name || !*a->name)
        return invalid(err, "name", "required");
    if (!a->trigger[0])
        return invalid(err, "trigger", "required");
    if (a->template_id <= 0)
        return invalid(err, "templateId", "required");
    bool marketing = strcmp(a->kind, "marketing") == 0, no_lists = strcmp(a->lists, "[]") == 0;
    if (marketing && no_lists)
        return invalid(err, "lists",
                       "a marketing automation needs the lists whose confirmed "
                       "subscribers (consent) it may mail");
    if (!marketing && !no_lists)
        return invalid(err, "lists",
                       "only marketing automations take lists (service mail goes "
                       "to the stay's guest)");
    if (!a->from_email || !*a->from_email)
        return invalid(err, "fromEmail", "required (or set HERALD_MAIL_FROM)");
    if (!mail_mime_address_ok(a->from_email))
        return invalid(err, "fromEmail", "must be an email address");
    if (a->reply_to && *a->reply_to && !mail_mime_address_ok(a->reply_to))
        return invalid(err, "replyTo", "must be an email address");
    return HERALD_OK;
}

int automation_apply_body(const struct ota_automations *m, json_t *body, bool create,
                          struct store_automation *a, struct herald_error *err)
{
    if (!json_is_object(body))
        return invalid(err, "", "the body must be a JSON object");
    if (create) {
        int rc = replace(&a->lists, "[]");
        rc = rc ? rc : replace(&a->hotel_codes, "[]");
        rc = rc ? rc : replace(&a->from_email, m->mail_from);
        rc = rc ? rc : replace(&a->from_name, "");
        rc = rc ? rc : replace(&a->reply_to, "");
        if (rc)
            return rc;
        snprintf(a->kind, sizeof(a->kind), "service");
        a->tracking = a->enabled = true;
    }
    long long offset = a->offset_days, template_id = a->template_id;
    int rc = check_unknown(body, err);
    rc = rc ? rc : take_text(body, "name", NAME_MAX_BYTES, &a->name, err);
    rc = rc ? rc : take_choice(body, "trigger", triggers, 4, a->trigger, sizeof(a->trigger), err);
    rc = rc ? rc : take_int(body, "offsetDays", 0, OFFSET_MAX_DAYS, &offset, err);
    rc = rc ? rc : take_int(body, "templateId", 1, INT64_MAX, &template_id, err);
    rc = rc ? rc
            : take_choice(body, "kind", (const char *const[]){"service", "marketing"}, 2, a->kind,
                          sizeof(a->kind), err);
    rc = rc ? rc : take_lists(body, &a->lists, err);
    rc = rc ? rc : take_codes(body, &a->hotel_codes, err);
    rc = rc ? rc : take_text(body, "fromEmail", 320, &a->from_email, err);
    rc = rc ? rc : take_text(body, "fromName", 200, &a->from_name, err);
    rc = rc ? rc : take_text(body, "replyTo", 320, &a->reply_to, err);
    rc = rc ? rc : take_bool(body, "tracking", &a->tracking, err);
    rc = rc ? rc : take_bool(body, "enabled", &a->enabled, err);
    a->offset_days = (int)offset;
    a->template_id = template_id;
    return rc ? rc : check_rule(a, err);
}

size_t automation_ids(const char *json_text, int64_t *out, size_t cap)
{
    json_t *v = json_loads(json_text ? json_text : "[]", 0, NULL);
    size_t n = 0, i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (n < cap && json_is_integer(x))
            out[n++] = json_integer_value(x);
    }
    json_decref(v);
    return n;
}

bool automation_covers(const struct store_automation *a, const char *hotel_code)
{
    json_t *v = json_loads(a->hotel_codes ? a->hotel_codes : "[]", 0, NULL);
    bool covers = json_array_size(v) == 0;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!covers && json_string_value(x) && strcmp(json_string_value(x), hotel_code) == 0)
            covers = true;
    }
    json_decref(v);
    return covers;
}

static json_t *array_or_empty(const char *text)
{
    json_t *v = json_loads(text ? text : "[]", 0, NULL);
    return json_is_array(v) ? v : (json_decref(v), json_array());
}

json_t *automation_view(const struct store_automation *a)
{
    char created[40], updated[40];
    clock_format_iso_ms(a->created_at_ms, created, sizeof(created));
    clock_format_iso_ms(a->updated_at_ms, updated, sizeof(updated));
    return json_pack("{s:I, s:s, s:s, s:i, s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:b, s:b, s:s, s:s}",
                     "id", (json_int_t)a->id, "name", a->name, "trigger", a->trigger, "offsetDays",
                     a->offset_days, "templateId", (json_int_t)a->template_id, "kind", a->kind,
                     "lists", array_or_empty(a->lists), "hotelCodes",
                     array_or_empty(a->hotel_codes), "fromEmail", a->from_email, "fromName",
                     a->from_name, "replyTo", a->reply_to, "tracking", a->tracking, "enabled",
                     a->enabled, "createdAt", created, "updatedAt", updated);
}

static const char *send_status(const struct store_automation_send *s)
{
    if (strcmp(s->status, "queued") != 0 || !s->delivery[0])
        return s->status;
    return strcmp(s->delivery, "pending") == 0 ? "queued" : s->delivery;
}

json_t *automation_send_view(const struct store_automation_send *s)
{
    char due[40], created[40], updated[40], sent[40];
    clock_format_iso_ms(s->due_at_ms, due, sizeof(due));
    clock_format_iso_ms(s->created_at_ms, created, sizeof(created));
    clock_format_iso_ms(s->updated_at_ms, updated, sizeof(updated));
    clock_format_iso_ms(s->sent_at_ms, sent, sizeof(sent));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s}", "id",
                     (json_int_t)s->id, "automationId", (json_int_t)s->automation_id,
                     "reservationId", (json_int_t)s->reservation_id, "revisionId",
                     (json_int_t)s->revision_id, "contactId", (json_int_t)s->contact_id,
                     "hotelCode", s->hotel_code, "status", send_status(s), "dueAt", due,
                     "campaignId", s->campaign_id ? json_integer(s->campaign_id) : json_null(),
                     "reason", s->reason[0] ? json_string(s->reason) : json_null(), "sentAt",
                     s->sent_at_ms ? json_string(sent) : json_null(), "createdAt", created,
                     "updatedAt", updated);
}

/* ---------------- scheduling per revision ---------------- */

/* Days since 1970-01-01 of "YYYY-MM-DD"; false when it is not such a date. */
static bool epoch_day(const char *date, int64_t *day)
{
    int64_t ms;
    if (!date || strlen(date) != 10 || clock_parse_iso(date, &ms) != HERALD_OK)
        return false;
    *day = ms / 86400000;
    return true;
}

int64_t ota_automation_due_ms(const char *trigger, int offset_days, int send_hour,
                              const struct ota_reservation *res, int64_t now_ms)
{
    const int64_t day_ms = 86400000, hour = (int64_t)send_hour * 3600000;
    int64_t day;
    if (strcmp(trigger, "pre_arrival") == 0)
        return epoch_day(res->arrival, &day) ? (day - offset_days) * day_ms + hour : 0;
    if (strcmp(trigger, "post_stay") == 0)
        return epoch_day(res->departure, &day) ? (day + offset_days) * day_ms + hour : 0;
    if (offset_days == 0)
        return now_ms;
    return (now_ms / day_ms + offset_days) * day_ms + hour;
}

struct rev {
    const struct ota_reservation *res;
    int64_t reservation_id, revision_id, contact_id, now_ms;
    bool cancelled; /* the reservation's CURRENT status is cancel or no-show */
};

static int insert_send(struct store_conn *c, const struct store_automation *a, const struct rev *r,
                       int64_t due)
{
    struct store_automation_send s = {.automation_id = a->id,
                                      .reservation_id = r->reservation_id,
                                      .revision_id = r->revision_id,
                                      .contact_id = r->contact_id,
                                      .due_at_ms = due};
    snprintf(s.hotel_code, sizeof(s.hotel_code), "%s", r->res->hotel_code);
    snprintf(s.status, sizeof(s.status), "scheduled");
    int64_t id; /* 0: this revision has its send already */
    return store_automation_send_insert(c, &s, r->now_ms, &id);
}

/* What a reservation's earlier sends of one automation say. */
struct history {
    int64_t scheduled_id; /* the scheduled send, 0: none */
    bool any;             /* any send not cancelled */
    int64_t last_queued_due;
};

static int read_history(struct store_conn *c, int64_t automation_id, int64_t reservation_id,
                        struct history *h)
{
    struct store_automation_send *rows;
    size_t n;
    memset(h, 0, sizeof(*h));
    int rc = store_automation_sends_of(c, automation_id, reservation_id, &rows, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        if (strcmp(rows[i].status, "scheduled") == 0)
            h->scheduled_id = rows[i].id;
        if (strcmp(rows[i].status, "cancelled") != 0)
            h->any = true;
        if (strcmp(rows[i].status, "queued") == 0)
            h->last_queued_due = rows[i].due_at_ms;
    }
    free(rows);
    return rc;
}

static int apply_rule(struct store_conn *c, struct ota_automations *m,
                      const struct store_automation *a, const struct rev *r)
{
    struct history h;
    int rc = read_history(c, a->id, r->reservation_id, &h);
    if (rc)
        return rc;
    bool changed;
    if (strcmp(a->trigger, "cancelled") == 0) {
        if (!r->cancelled || h.any || !r->contact_id)
            return HERALD_OK;
        return insert_send(
            c, a, r,
            ota_automation_due_ms(a->trigger, a->offset_days, m->o.send_hour, r->res, r->now_ms));
    }
    if (r->cancelled)
        return h.scheduled_id
                   ? store_automation_send_close(c, h.scheduled_id, "cancelled",
                                                 "reservation cancelled", r->now_ms, &changed)
                   : HERALD_OK;
    bool confirmed = strcmp(a->trigger, "booking_confirmed") == 0;
    if (!r->contact_id || (confirmed && (h.any || r->res->status == OTA_RES_RESERVED)))
        return HERALD_OK; /* no recipient; a confirmation goes once per reservation, not for a
                             waitlisted one */
    int64_t due =
        ota_automation_due_ms(a->trigger, a->offset_days, m->o.send_hour, r->res, r->now_ms);
    if (due == 0)
        return HERALD_OK;
    /* booked after the pre-arrival moment but before arrival: at once */
    if (strcmp(a->trigger, "pre_arrival") == 0 && due < r->now_ms &&
        r->now_ms < ota_automation_due_ms(a->trigger, 0, 0, r->res, r->now_ms))
        due = r->now_ms;
    if (h.scheduled_id)
        return store_automation_send_reschedule(c, h.scheduled_id, r->revision_id, r->contact_id,
                                                due, r->now_ms, &changed);
    if (h.last_queued_due == due)
        return HERALD_OK; /* already sent for these dates */
    return insert_send(c, a, r, due);
}

enum herald_err ota_automations_on_revision(struct ota_automations *m, struct store_conn *c,
                                            const struct ota_reservation *res,
                                            int64_t reservation_id, int64_t revision_id,
                                            int64_t contact_id, int64_t now_ms)
{
    /* Ingestion calls this only for a revision that became the reservation's current one (a
     * stale revision, a Modify from before the Cancel that arrived after it, must not
     * schedule, reschedule nor cancel anything), so the reservation's status is its own. */
    bool cancelled = res->status == OTA_RES_CANCEL || res->status == OTA_RES_NO_SHOW;
    struct rev r = {res, reservation_id, revision_id, contact_id, now_ms, cancelled};
    struct store_automation *rules;
    size_t n;
    int rc = store_automation_list(c, 0, RULES_MAX, true, &rules, &n);
    for (size_t i = 0; !rc && i < n; i++)
        if (automation_covers(&rules[i], res->hotel_code))
            rc = apply_rule(c, m, &rules[i], &r);
    store_automations_free(rules, n);
    return rc;
}

enum herald_err ota_automations_marketing_lists(struct store_conn *c, const char *hotel_code,
                                                int64_t *lists, size_t cap, size_t *n)
{
    struct store_automation *rules;
    size_t count;
    *n = 0;
    int rc = store_automation_list(c, 0, RULES_MAX, true, &rules, &count);
    for (size_t i = 0; !rc && i < count; i++) {
        if (strcmp(rules[i].kind, "marketing") != 0 || !automation_covers(&rules[i], hotel_code))
            continue;
        int64_t ids[AUTOMATION_LISTS_MAX];
        size_t k = automation_ids(rules[i].lists, ids, AUTOMATION_LISTS_MAX);
        for (size_t j = 0; j < k; j++) {
            bool seen = false;
            for (size_t x = 0; x < *n && !seen; x++)
                seen = lists[x] == ids[j];
            if (!seen && *n < cap)
                lists[(*n)++] = ids[j];
        }
    }
    store_automations_free(rules, count);
    return rc;
}
