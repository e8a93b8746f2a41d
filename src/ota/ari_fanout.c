/* Owns the fan-out of an intent into the outbox (rows per channel, kind and — for Booking.com —
 * month; supersession; deltas; the `ota_deliver` jobs, in one transaction), the listing of the
 * outbox and the domain's life cycle (ota_updates_register / _free). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "ota/ari.h"

/* A job queued this long ago and never started is presumed lost: queue another. */
#define ARI_KICK_STALE_MS 300000

struct fan {
    struct ota_updates *u;
    const struct ari_intent *it;
    const struct ota_channel *chans;
    size_t nchans;
    struct ota_fanout *res;
    char *body;
    int64_t now_ms, intent_id;
};

/* The last day of s's month, in s's month ("2027-02-28"). */
static void month_end(const char *s, char out[11])
{
    int y = atoi(s), m = atoi(s + 5);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int d = days[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y, m, d);
    memcpy(out, tmp, 11);
}

/* The first day of the month after s's. */
static void next_month(const char *s, char out[11])
{
    int y = atoi(s), m = atoi(s + 5);
    m = m == 12 ? 1 : m + 1;
    y = m == 1 ? y + 1 : y;
    char tmp[40];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-01", y, m);
    memcpy(out, tmp, 11);
}

/* One row: deltas check, insert, supersede older pending rows it covers. */
static int put_row(struct store_conn *c, struct fan *f, struct store_ari_update *row, bool deltas,
                   struct ota_fanout *res)
{
    bool same = false;
    int rc = deltas ? store_ari_unchanged(c, row, &same) : HERALD_OK;
    if (rc || same) {
        res->unchanged += same;
        return rc;
    }
    int64_t id = 0, superseded = 0;
    rc = store_ari_update_insert(c, row, f->now_ms, &id);
    if (!rc)
        rc = store_ari_supersede(c, row, id, f->now_ms, &superseded);
    res->queued++;
    res->superseded += (int)superseded;
    return rc;
}

/* The rows of one template for one channel: the whole range, or one per calendar month. */
static int put_template(struct store_conn *c, struct fan *f, const struct ota_channel *ch,
                        const struct ari_shape *shape, const struct ari_tpl *t,
                        struct ota_fanout *res)
{
    const struct ari_intent *it = f->it;
    struct store_ari_update row = {.intent_id = f->intent_id,
                                   .channel_id = ch->id,
                                   .weekdays = it->weekdays,
                                   .fields = t->fields,
                                   .payload = t->payload};
    snprintf(row.kind, sizeof(row.kind), "%s", ari_kind_name(t->kind));
    snprintf(row.hotel_code, sizeof(row.hotel_code), "%s", it->hotel_code);
    snprintf(row.room_type, sizeof(row.room_type), "%s", it->room_type);
    snprintf(row.rate_plan, sizeof(row.rate_plan), "%s", it->rate_plan ? it->rate_plan : "");
    char cur[11];
    snprintf(cur, sizeof(cur), "%s", it->from);
    int rc = HERALD_OK;
    while (!rc && strcmp(cur, it->to) <= 0) {
        snprintf(row.date_from, sizeof(row.date_from), "%s", cur);
        char end[11];
        month_end(cur, end);
        bool whole = !shape->month_batches || strcmp(end, it->to) >= 0;
        snprintf(row.date_to, sizeof(row.date_to), "%s", whole ? it->to : end);
        rc = put_row(c, f, &row, shape->deltas, res);
        if (whole)
            break;
        next_month(cur, cur);
    }
    return rc;
}

static int queue_job(struct store_conn *c, struct ota_updates *u, int64_t channel_id, int64_t at_ms)
{
    json_t *params = json_pack("{s:I}", "channelId", (json_int_t)channel_id);
    char id[40];
    struct jobs_problem problem = {0};
    int rc = params ? jobs_submit_tx(u->jobs, c, "ota_deliver", params, at_ms, id, &problem)
                    : HERALD_ERR_NOMEM;
    json_decref(params);
    return rc;
}

static int fan_tx(struct store_conn *c, void *arg)
{
    struct fan *f = arg;
    const struct ari_intent *it = f->it;
    int rc = store_ari_intent_insert(c, it->kind, it->hotel_code, it->room_type,
                                     it->rate_plan ? it->rate_plan : "", it->from, it->to, f->body,
                                     f->now_ms, &f->intent_id);
    for (size_t i = 0; !rc && i < f->nchans; i++) {
        const struct ota_channel *ch = &f->chans[i];
        const struct ari_shape *shape = ari_shape_of(ch->type);
        struct ota_fanout *res = &f->res[i];
        *res = (struct ota_fanout){.channel_id = ch->id, .type = ch->type};
        snprintf(res->channel_name, sizeof(res->channel_name), "%s", ch->name);
        bool takes = false, kick = false;
        for (size_t k = 0; k < it->ntpl; k++)
            takes |= shape->msg[it->tpl[k].kind] != ARI_MSG_NONE;
        /* The channel's state row first, as the delivery job locks it: one lock order. */
        if (takes)
            rc = store_ari_kick(c, ch->id, f->now_ms, f->now_ms - ARI_KICK_STALE_MS, &kick);
        for (size_t k = 0; !rc && k < it->ntpl; k++)
            if (shape->msg[it->tpl[k].kind] != ARI_MSG_NONE)
                rc = put_template(c, f, ch, shape, &it->tpl[k], res);
        if (!rc && kick) /* even with nothing queued: the kick promises a job */
            rc = queue_job(c, f->u, ch->id, 0);
    }
    return rc;
}

/* The channels an intent of this hotel goes to: enabled, taking updates, same hotel code. */
static int matching_channels(struct ota_updates *u, const char *hotel, struct ota_channel **out,
                             size_t *n)
{
    struct ota_channel *all = NULL;
    size_t nall = 0, k = 0;
    struct herald_error err = {0};
    int rc = ota_channels_all(u->chs, &all, &nall, &err);
    if (rc)
        return rc;
    for (size_t i = 0; i < nall; i++) {
        bool take = all[i].enabled && all[i].takes_updates && strcmp(all[i].hotel_code, hotel) == 0;
        if (take && k != i)
            all[k] = all[i];
        k += take;
    }
    for (size_t i = k; i < nall; i++)
        ota_channel_wipe(&all[i]);
    *out = all;
    *n = k;
    return HERALD_OK;
}

static char *intent_body(const struct ari_intent *it)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "kind", it->kind, "hotelCode",
                          it->hotel_code, "roomType", it->room_type, "ratePlan",
                          it->rate_plan ? it->rate_plan : "", "from", it->from, "to", it->to,
                          "weekdays", it->weekdays);
    for (size_t i = 0; o && i < it->ntpl; i++)
        json_object_set_new(o, ari_kind_name(it->tpl[i].kind),
                            json_loads(it->tpl[i].payload, 0, NULL));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

enum herald_err ari_fan_out(struct ota_updates *u, const struct ari_intent *it,
                            struct ota_intent_result *out)
{
    struct fan f = {.u = u, .it = it, .now_ms = clock_now_ms()};
    struct ota_channel *chans = NULL;
    int rc = matching_channels(u, it->hotel_code, &chans, &f.nchans);
    if (rc)
        return rc;
    f.chans = chans;
    f.res = calloc(f.nchans ? f.nchans : 1, sizeof(*f.res));
    f.body = intent_body(it);
    rc = f.res && f.body ? store_run_tx(u->st, fan_tx, &f) : HERALD_ERR_NOMEM;
    ota_channels_free_array(chans, f.nchans);
    free(f.body);
    if (rc) {
        free(f.res);
        return rc;
    }
    jobs_notify(u->jobs);
    out->intent_id = f.intent_id;
    out->channels = f.res;
    out->nchannels = f.nchans;
    return HERALD_OK;
}

struct list_arg {
    const struct store_ari_filter *f;
    int64_t after;
    int limit;
    struct store_ari_update **out;
    size_t *n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_arg *a = arg;
    store_ari_updates_free(*a->out, *a->n);
    *a->out = NULL;
    *a->n = 0;
    return store_ari_list(c, a->f, a->after, a->limit, a->out, a->n);
}

enum herald_err ota_updates_list(struct ota_updates *u, const struct store_ari_filter *f,
                                 int64_t after_id, int limit, struct store_ari_update **out,
                                 size_t *n)
{
    *out = NULL;
    *n = 0;
    struct list_arg a = {f, after_id, limit, out, n};
    return store_run_read(u->st, list_tx, &a);
}

enum herald_err ota_updates_register(const struct ota_updates_opts *opts, struct ota_updates **out)
{
    struct ota_updates *u = calloc(1, sizeof(*u));
    if (!u)
        return HERALD_ERR_NOMEM;
    *u = (struct ota_updates){.st = opts->st,
                              .chs = opts->chs,
                              .jobs = opts->jobs,
                              .timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 30000};
    if (opts->job_lease_ms > 0 && u->timeout_ms > opts->job_lease_ms / 2)
        u->timeout_ms = (long)(opts->job_lease_ms / 2);
    int rc = HERALD_OK;
    if (!u->chs && !opts->key_file)
        rc = HERALD_ERR_INVALID;
    else if (!u->chs) {
        rc = ota_channels_open(opts->st, opts->key_file, &u->chs);
        u->own_chs = !rc;
    }
    static const struct jobs_kind kind = {
        .name = "ota_deliver",
        .validate = ari_deliver_validate,
        .run = ari_deliver_run,
    };
    if (!rc)
        rc = jobs_register(opts->jobs, &kind, u);
    if (rc) {
        ota_updates_free(u);
        return rc;
    }
    *out = u;
    return HERALD_OK;
}

void ota_updates_free(struct ota_updates *u)
{
    if (u && u->own_chs)
        ota_channels_close(u->chs);
    free(u);
}
