/* Owns /api/ota/rates, /api/ota/availability (PUT: the hotel's intent, fanned out to its
 * channels), /api/ota/updates (GET: the delivery outbox, paginated) and /api/ota/updates/retry
 * (POST: failed rows sent again). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "ota/updates.h"

#define CODE_MAX (STORE_ARI_CODE_MAX - 1)

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ?weekdays: a list of day names → a mask (0: every day). Answers 400 itself. */
static bool parse_weekdays(struct http_request *req, json_t *list, int *mask)
{
    *mask = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        int bit = ota_weekday_bit(json_string_value(v));
        if (!bit) {
            http_reply_error(req, HERALD_ERR_INVALID,
                             "each weekday is one of mon, tue, wed, thu, fri, sat, sun",
                             "weekdays");
            return false;
        }
        *mask |= bit;
    }
    return true;
}

static enum http_result reply_intent(struct http_request *req, struct ota_intent_result *res)
{
    json_t *chans = json_array();
    int total = 0;
    for (size_t i = 0; chans && i < res->nchannels; i++) {
        const struct ota_fanout *f = &res->channels[i];
        total += f->queued;
        json_array_append_new(chans,
                              json_pack("{s:I, s:s, s:s, s:i, s:i, s:i}", "channelId",
                                        (json_int_t)f->channel_id, "name", f->channel_name, "type",
                                        ota_channel_type_name(f->type), "queued", f->queued,
                                        "unchanged", f->unchanged, "superseded", f->superseded));
    }
    json_t *body = json_pack("{s:b, s:I, s:i, s:o}", "success", 1, "intentId",
                             (json_int_t)res->intent_id, "queued", total, "channels", chans);
    ota_intent_result_clear(res);
    if (!body)
        return api_fail(req, HERALD_ERR_NOMEM);
    http_reply_json(req, 202, body);
    return HTTP_REPLIED;
}

/* amounts: [{"guests":2,"amount":"120.00"}, …] */
static bool parse_amounts(struct http_request *req, json_t *list, struct ota_rates_input *in)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        long long guests = 0;
        const char *amount = NULL;
        const struct http_field spec[] = {
            {"guests", HF_INT, true, 1, OTA_ARI_MAX_AMOUNTS, &guests},
            {"amount", HF_STRING, true, 1, 16, &amount},
        };
        char path[32];
        snprintf(path, sizeof(path), "amounts[%zu]", i);
        if (http_parse_object(req, item, spec, 2, path))
            return false;
        in->amounts[i] = (struct ota_rate_amount){(int)guests, amount};
    }
    in->namounts = json_array_size(list);
    return true;
}

enum http_result api_ota_rates_put(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_rates_input in = {0};
    json_t *doc = NULL, *amounts = NULL, *weekdays = NULL;
    const struct http_field spec[] = {
        {"hotelCode", HF_STRING, true, 1, CODE_MAX, &in.hotel_code},
        {"roomType", HF_STRING, true, 1, CODE_MAX, &in.room_type},
        {"ratePlan", HF_STRING, true, 1, CODE_MAX, &in.rate_plan},
        {"from", HF_STRING, true, 10, 10, &in.from},
        {"to", HF_STRING, true, 10, 10, &in.to},
        {"currency", HF_STRING, true, 3, 3, &in.currency},
        {"amounts", HF_ARRAY, true, 1, OTA_ARI_MAX_AMOUNTS, &amounts},
        {"weekdays", HF_ARRAY, false, 1, 7, &weekdays},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    enum http_result out = HTTP_REPLIED;
    if (!parse_amounts(req, amounts, &in) || !parse_weekdays(req, weekdays, &in.weekdays))
        goto done;
    struct ota_intent_result res;
    struct herald_error err = {0};
    int rc = ota_updates_put_rates(app->ota_updates, &in, &res, &err);
    out = rc ? api_fail_err(req, &err) : reply_intent(req, &res);
done:
    json_decref(doc);
    return out;
}

/* An optional boolean: -1 when absent. */
static int tristate(json_t *doc, const char *name)
{
    json_t *v = json_object_get(doc, name);
    return v ? json_is_true(v) : -1;
}

enum http_result api_ota_availability_put(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct ota_avail_input in = {0};
    json_t *doc = NULL, *weekdays = NULL;
    long long count = -1, min_los = 0, max_los = 0;
    bool cta = false, ctd = false;
    const struct http_field spec[] = {
        {"hotelCode", HF_STRING, true, 1, CODE_MAX, &in.hotel_code},
        {"roomType", HF_STRING, true, 1, CODE_MAX, &in.room_type},
        {"ratePlan", HF_STRING, false, 1, CODE_MAX, &in.rate_plan},
        {"from", HF_STRING, true, 10, 10, &in.from},
        {"to", HF_STRING, true, 10, 10, &in.to},
        {"count", HF_INT, false, 0, OTA_ARI_MAX_COUNT, &count},
        {"status", HF_STRING, false, 4, 5, &in.status},
        {"minLos", HF_INT, false, 1, OTA_ARI_MAX_LOS, &min_los},
        {"maxLos", HF_INT, false, 1, OTA_ARI_MAX_LOS, &max_los},
        {"closedToArrival", HF_BOOL, false, 0, 0, &cta},
        {"closedToDeparture", HF_BOOL, false, 0, 0, &ctd},
        {"weekdays", HF_ARRAY, false, 1, 7, &weekdays},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    enum http_result out = HTTP_REPLIED;
    if (!parse_weekdays(req, weekdays, &in.weekdays))
        goto done;
    in.has_count = count >= 0;
    in.count = (int)(count >= 0 ? count : 0);
    in.min_los = (int)min_los;
    in.max_los = (int)max_los;
    in.cta = tristate(doc, "closedToArrival");
    in.ctd = tristate(doc, "closedToDeparture");
    struct ota_intent_result res;
    struct herald_error err = {0};
    int rc = ota_updates_put_availability(app->ota_updates, &in, &res, &err);
    out = rc ? api_fail_err(req, &err) : reply_intent(req, &res);
done:
    json_decref(doc);
    return out;
}

static json_t *weekdays_json(int mask)
{
    if (mask == 127)
        return json_null();
    json_t *a = json_array();
    for (int d = 0; a && d < 7; d++)
        if (mask & (1 << d))
            json_array_append_new(a, json_string(day_names[d]));
    return a;
}

static json_t *time_or_null(int64_t ms)
{
    return ms ? api_time(ms) : json_null();
}

/* Why a pending row waits: its channel's last failure (the rows themselves are not charged for
 * it, so without this an outage or refused credentials would not show on them). */
static json_t *channel_error_json(const struct store_ari_update *u)
{
    bool pending = !strcmp(u->status, "pending") || !strcmp(u->status, "sending");
    if (!pending || !u->channel_error[0])
        return json_null();
    return json_pack("{s:s, s:i, s:o}", "text", u->channel_error, "failures", u->channel_failures,
                     "retryAt", time_or_null(u->channel_retry_at_ms));
}

static json_t *update_json(const struct store_ari_update *u)
{
    bool sending = strcmp(u->status, "sending") == 0;
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:o, s:s, s:b, s:i, s:o, s:o, s:o}",
        "id", (json_int_t)u->id, "intentId", (json_int_t)u->intent_id, "channelId",
        (json_int_t)u->channel_id, "channel", u->channel_name, "kind", u->kind, "hotelCode",
        u->hotel_code, "roomType", u->room_type, "ratePlan", u->rate_plan[0] ? u->rate_plan : NULL,
        "from", u->date_from, "to", u->date_to, "weekdays", weekdays_json(u->weekdays), "status",
        sending ? "pending" : u->status, "sending", sending, "attempts", u->attempts, "errors",
        json_loads(u->errors, 0, NULL), "warnings", json_loads(u->warnings, 0, NULL), "values",
        json_loads(u->payload, 0, NULL));
    if (!o)
        return NULL;
    json_object_set_new(o, "supersededBy",
                        u->superseded_by ? json_integer(u->superseded_by) : json_null());
    json_object_set_new(o, "createdAt", api_time(u->created_at_ms));
    json_object_set_new(o, "updatedAt", api_time(u->updated_at_ms));
    json_object_set_new(o, "deliveredAt", time_or_null(u->delivered_at_ms));
    json_object_set_new(o, "channelError", channel_error_json(u));
    return o;
}

/* The filters of GET /api/ota/updates; answers 400 itself. */
static bool parse_filter(struct http_request *req, struct store_ari_filter *f)
{
    static const char *const statuses[] = {"pending", "sending", "delivered", "failed",
                                           "superseded"};
    memset(f, 0, sizeof(*f));
    f->status = http_req_query(req, "status");
    f->hotel_code = http_req_query(req, "hotelCode");
    f->kind = http_req_query(req, "kind");
    bool ok = !f->status || !*f->status;
    for (size_t i = 0; !ok && i < 5; i++)
        ok = strcmp(f->status, statuses[i]) == 0;
    if (!ok) {
        http_reply_error(req, HERALD_ERR_INVALID,
                         "status is one of pending, delivered, failed, superseded", "status");
        return false;
    }
    if (f->kind && *f->kind && strcmp(f->kind, "rates") && strcmp(f->kind, "restrictions") &&
        strcmp(f->kind, "inventory")) {
        http_reply_error(req, HERALD_ERR_INVALID, "kind is one of rates, restrictions, inventory",
                         "kind");
        return false;
    }
    const char *names[] = {"channelId", "intentId"};
    int64_t *outs[] = {&f->channel_id, &f->intent_id};
    for (int i = 0; i < 2; i++) {
        const char *v = http_req_query(req, names[i]);
        if (v && !api_positive_id(v, outs[i])) {
            http_reply_error(req, HERALD_ERR_INVALID, "must be a positive id", names[i]);
            return false;
        }
    }
    return true;
}

enum http_result api_ota_updates_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int limit;
    int64_t after;
    struct store_ari_filter f;
    if (!api_page_args(req, "ari1", &limit, &after) || !parse_filter(req, &f))
        return HTTP_REPLIED;
    struct store_ari_update *rows = NULL;
    size_t n = 0;
    int rc = ota_updates_list(app->ota_updates, &f, after, limit, &rows, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, update_json(&rows[i]));
    int64_t next = n == (size_t)limit && n > 0 ? rows[n - 1].id : 0;
    store_ari_updates_free(rows, n);
    return api_reply_page(req, "updates", arr, "ari1", next, limit);
}

/* ids: [1, 2, …] → the JSON text the store filters on; answers 400 itself. */
static bool ids_text(struct http_request *req, json_t *list, char **out)
{
    *out = NULL;
    if (!list)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            http_reply_error(req, HERALD_ERR_INVALID, "each id is a positive integer", "ids");
            return false;
        }
    }
    *out = json_dumps(list, JSON_COMPACT);
    if (!*out)
        api_fail(req, HERALD_ERR_NOMEM);
    return *out != NULL;
}

enum http_result api_ota_updates_retry(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL, *list = NULL;
    long long channel_id = 0;
    const struct http_field spec[] = {
        {"channelId", HF_INT, false, 1, INT64_MAX, &channel_id},
        {"ids", HF_ARRAY, false, 1, 1000, &list},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    char *ids = NULL;
    enum http_result out = HTTP_REPLIED;
    if (!ids_text(req, list, &ids))
        goto done;
    struct ota_retry_result res;
    int rc = ota_updates_retry(app->ota_updates, channel_id, ids, &res);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no such channel", "channelId");
        goto done;
    }
    if (rc) {
        out = api_fail(req, rc);
        goto done;
    }
    http_reply_json(req, 200,
                    json_pack("{s:b, s:I, s:I}", "success", 1, "requeued", (json_int_t)res.requeued,
                              "stillFailed", (json_int_t)res.left));
done:
    free(ids);
    json_decref(doc);
    return out;
}
