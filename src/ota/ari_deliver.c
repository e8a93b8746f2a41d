/* Owns the `ota_deliver` job kind: one job at a time per channel (a lease on its state row)
 * sends the channel's pending outbox rows in order, batch by batch, records per-item outcomes and
 * backs the channel off (with a follow-up job) when the channel, not the items, fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "ota/ari.h"

#define PENDING_WINDOW (OTA_ARI_BATCH * 5) /* rows read to pick one batch from */
#define BACKOFF_FIRST_MS 1000

int ari_deliver_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    json_t *id = json_object_get(raw, "channelId");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        snprintf(problem->field, sizeof(problem->field), "channelId");
        snprintf(problem->message, sizeof(problem->message), "must be a channel id");
        return HERALD_ERR_INVALID;
    }
    *out = json_pack("{s:I}", "channelId", json_integer_value(id));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

enum claim_what { CLAIM_BATCH, CLAIM_BUSY, CLAIM_WAIT, CLAIM_EMPTY };

struct run {
    struct ota_updates *u;
    struct jobs_ctx *ctx;
    const char *holder; /* this job's id */
    struct ota_channel ch;
    const struct ari_shape *shape;
    bool first; /* first claim of this run */
    int64_t now_ms, lease_ms, retry_at_ms;
    enum claim_what what;
    struct store_ari_update *rows;
    size_t nrows, pick[OTA_ARI_BATCH], npick;
    /* the outcome */
    struct ari_item_result items[OTA_ARI_BATCH];
    bool transient; /* the channel failed: the batch goes back untouched */
    bool setup;     /* ... because of its set-up (credentials, endpoint) */
    char why[256];
};

static char *ids_json(const struct run *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->npick; i++)
        json_array_append_new(a, json_integer(r->rows[r->pick[i]].id));
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

/* Booking.com: the oldest row's month, every room-rate of it (up to a batch), instead of what
 * the window of oldest rows holds of it. Rows not inside one month stay as they are. */
static int month_rows(struct store_conn *c, struct run *r)
{
    const struct store_ari_update *first = &r->rows[0];
    char from[11], to[11];
    snprintf(from, sizeof(from), "%.7s-01", first->date_from);
    snprintf(to, sizeof(to), "%.7s-31", first->date_from);
    if (strcmp(first->date_to, to) > 0)
        return HERALD_OK;
    struct store_ari_update *rows = NULL;
    size_t n = 0;
    int rc = store_ari_pending_within(c, r->ch.id, first->kind, first->hotel_code, from, to,
                                      OTA_ARI_BATCH, &rows, &n);
    if (rc || n == 0) {
        store_ari_updates_free(rows, n);
        return rc;
    }
    store_ari_updates_free(r->rows, r->nrows);
    r->rows = rows;
    r->nrows = n;
    return HERALD_OK;
}

static int take_batch(struct store_conn *c, struct run *r, struct store_ari_state *st)
{
    int rc = store_ari_pending(c, r->ch.id, PENDING_WINDOW, &r->rows, &r->nrows);
    if (!rc && r->nrows && r->shape->month_batches)
        rc = month_rows(c, r);
    if (rc)
        return rc;
    r->npick = ari_pick_batch(r->shape, r->rows, r->nrows, r->pick);
    if (r->npick == 0) {
        r->what = CLAIM_EMPTY;
        st->holder[0] = '\0';
        st->lease_until_ms = 0;
        return store_ari_state_save(c, st, r->now_ms);
    }
    char *ids = ids_json(r);
    rc = ids ? store_ari_mark_sending(c, r->ch.id, ids, r->now_ms) : HERALD_ERR_NOMEM;
    free(ids);
    snprintf(st->holder, sizeof(st->holder), "%s", r->holder);
    st->lease_until_ms = r->now_ms + r->lease_ms;
    r->what = CLAIM_BATCH;
    return rc ? rc : store_ari_state_save(c, st, r->now_ms);
}

static int claim_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    store_ari_updates_free(r->rows, r->nrows);
    r->rows = NULL;
    r->nrows = r->npick = 0;
    struct store_ari_state st;
    int rc = store_ari_state_lock(c, r->ch.id, r->now_ms, &st);
    if (rc)
        return rc;
    st.kicked_at_ms = 0; /* this job runs: what is committed now, it (or the holder) sees */
    bool mine = strcmp(st.holder, r->holder) == 0;
    if (st.holder[0] && !mine && st.lease_until_ms > r->now_ms) {
        r->what = CLAIM_BUSY;
        return store_ari_state_save(c, &st, r->now_ms);
    }
    if (st.holder[0] && (!mine || r->first)) /* a holder that died mid-send */
        rc = store_ari_reset_sending(c, r->ch.id);
    if (!rc && st.retry_at_ms > r->now_ms) {
        r->what = CLAIM_WAIT;
        r->retry_at_ms = st.retry_at_ms;
        st.holder[0] = '\0';
        return rc ? rc : store_ari_state_save(c, &st, r->now_ms);
    }
    return rc ? rc : take_batch(c, r, &st);
}

static int64_t backoff_ms(int failures, int64_t max_ms)
{
    int64_t d = BACKOFF_FIRST_MS;
    for (int i = 1; i < failures && d < max_ms; i++)
        d *= 2;
    return d < max_ms ? d : max_ms;
}

static char *dump_or(json_t *a, const char *fallback)
{
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    return s ? s : strdup(fallback);
}

static int record_items(struct store_conn *c, struct run *r)
{
    int rc = HERALD_OK;
    for (size_t i = 0; !rc && i < r->npick; i++) {
        char *errors = dump_or(r->items[i].errors, "[]");
        char *warnings = dump_or(r->items[i].warnings, "[]");
        rc = errors && warnings ? store_ari_outcome(c, r->rows[r->pick[i]].id,
                                                    r->items[i].failed ? "failed" : "delivered",
                                                    errors, warnings, r->now_ms)
                                : HERALD_ERR_NOMEM;
        free(errors);
        free(warnings);
    }
    return rc;
}

/* The channel failed, not the items: the batch goes back to pending as it was — no attempt
 * counted, so an outage of any length never fails an update nor lets a newer one overtake it —
 * and the channel waits. Credentials or an endpoint only a person can fix: the longest wait. */
static int record_transient(struct store_conn *c, struct run *r, struct store_ari_state *st)
{
    int rc = store_ari_reset_sending(c, r->ch.id);
    st->failures++;
    int64_t max_ms = r->u->backoff_max_ms;
    st->retry_at_ms = r->now_ms + (r->setup ? max_ms : backoff_ms(st->failures, max_ms));
    st->holder[0] = '\0';
    st->lease_until_ms = 0;
    snprintf(st->last_error, sizeof(st->last_error), "%s", r->why);
    r->retry_at_ms = st->retry_at_ms;
    st->kicked_at_ms = r->now_ms; /* the follow-up job below */
    if (!rc)
        rc = store_ari_state_save(c, st, r->now_ms);
    if (rc)
        return rc;
    json_t *params = json_pack("{s:I}", "channelId", (json_int_t)r->ch.id);
    char job[40];
    struct jobs_problem problem = {0};
    rc = jobs_submit_tx(r->u->jobs, c, "ota_deliver", params, st->retry_at_ms, job, &problem);
    json_decref(params);
    return rc;
}

static int outcome_tx(struct store_conn *c, void *arg)
{
    struct run *r = arg;
    struct store_ari_state st;
    int rc = store_ari_state_lock(c, r->ch.id, r->now_ms, &st);
    if (rc)
        return rc;
    if (strcmp(st.holder, r->holder) != 0)
        return HERALD_ERR_CONFLICT; /* the lease passed and another job took the channel */
    if (r->transient)
        return record_transient(c, r, &st);
    rc = record_items(c, r);
    st.failures = 0;
    st.retry_at_ms = 0;
    st.last_error[0] = '\0';
    st.lease_until_ms = r->now_ms + r->lease_ms;
    return rc ? rc : store_ari_state_save(c, &st, r->now_ms);
}

/* Where a message is posted: the channel's updates_url when it has one (Booking.com takes
 * updates on supply-xml.booking.com, not on the secure-supply-xml host its reservations are
 * pulled from), else its base_url; ch is the run's own copy, pointed there for
 * ota_channel_post(). The path is "" or prefix + the message name without its "RQ"
 * (Booking.com: …/hotels/ota + /OTA_HotelAvailNotif). */
static void message_path(const struct ari_shape *shape, struct ota_channel *ch, enum ari_msg msg,
                         char *out, size_t cap)
{
    const char *root = ari_msg_root(msg);
    if (ch->updates_url[0])
        memcpy(ch->base_url, ch->updates_url, sizeof(ch->base_url));
    if (!shape->path_prefix[0]) {
        out[0] = '\0';
        return;
    }
    snprintf(out, cap, "%s%.*s", shape->path_prefix, (int)(strlen(root) - 2), root);
}

/* Builds, sends and reads the answer for the picked rows; fills r->items or r->transient. */
static int send_batch(struct run *r)
{
    const struct store_ari_update *items[OTA_ARI_BATCH];
    for (size_t i = 0; i < r->npick; i++)
        items[i] = &r->rows[r->pick[i]];
    enum ari_msg msg = r->shape->msg[ari_kind_parse(items[0]->kind)];
    struct buf body;
    buf_init(&body, 16u << 20);
    int rc = ari_build(msg, items[0]->hotel_code, items, r->npick, clock_now_ms(), &body);
    if (rc) { /* a row Herald wrote and cannot read: fail the batch, never loop on it */
        buf_free(&body);
        json_t *e = json_pack("{s:s, s:s, s:s}", "type", "", "code", "", "text",
                              "the update could not be written as OpenTravel XML");
        for (size_t i = 0; i < r->npick; i++) {
            r->items[i].failed = true;
            r->items[i].errors = json_pack("[O]", e);
        }
        json_decref(e);
        return HERALD_OK;
    }
    char path[128];
    message_path(r->shape, &r->ch, msg, path, sizeof(path));
    rc = jobs_ctx_renew(r->ctx); /* the whole timeout fits in what is left of the lease */
    if (rc) {
        buf_free(&body);
        return rc;
    }
    struct ota_send_opts so = {.timeout_ms = r->u->timeout_ms,
                               .max_attempts = 1,
                               .should_stop = jobs_ctx_should_stop,
                               .stop_arg = r->ctx,
                               .headers = r->shape->headers};
    struct ota_reply reply = {0};
    rc = ota_channel_post(r->u->chs, &r->ch, path, r->shape->actions[msg], body.data, body.len, &so,
                          &reply);
    buf_free(&body);
    if (rc == HERALD_ERR_CANCELLED || rc == HERALD_ERR_INVALID || rc == HERALD_ERR_NOMEM) {
        ota_reply_free(&reply);
        return rc;
    }
    enum ari_reply_kind k = ari_read_reply(reply.status, reply.body, reply.len, r->npick, r->items,
                                           r->why, sizeof(r->why));
    if (reply.status == 0 && reply.error[0])
        snprintf(r->why, sizeof(r->why), "%s", reply.error);
    r->transient = k != ARI_REPLY_DONE;
    r->setup = k == ARI_REPLY_CHANNEL;
    ota_reply_free(&reply);
    return HERALD_OK;
}

struct fail_arg {
    int64_t channel_id;
    const char *errors;
};

static int fail_tx(struct store_conn *c, void *arg)
{
    struct fail_arg *fa = arg;
    return store_ari_fail_channel(c, fa->channel_id, fa->errors, clock_now_ms());
}

/* The channel as it is now; rows of a channel that no longer takes updates fail. Returns
 * HERALD_ERR_NOT_FOUND when there is nothing to send to. */
static int load_channel(struct run *r, int64_t id)
{
    struct herald_error err = {0};
    int rc = ota_channels_get(r->u->chs, id, &r->ch, &err);
    if (rc && rc != HERALD_ERR_NOT_FOUND)
        return rc;
    const char *why = rc                     ? "the channel was deleted"
                      : !r->ch.enabled       ? "the channel is disabled"
                      : !r->ch.takes_updates ? "the channel no longer takes updates"
                                             : NULL;
    if (!why)
        return HERALD_OK;
    char errors[128];
    snprintf(errors, sizeof(errors), "[{\"type\":\"\",\"code\":\"\",\"text\":\"%s\"}]", why);
    struct fail_arg fa = {id, errors};
    rc = store_run_tx(r->u->st, fail_tx, &fa);
    return rc ? rc : HERALD_ERR_NOT_FOUND;
}

/* Sleeps until at_ms (a follow-up job woken a little early), false when the job must stop. */
static bool wait_until(struct run *r, int64_t at_ms)
{
    while (clock_now_ms() < at_ms) {
        if (jobs_ctx_should_stop(r->ctx))
            return false;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return true;
}

/* One claim → send → outcome round. Returns 0 to go on, 1 when the run is over, or an error. */
static int round_trip(struct run *r)
{
    r->now_ms = clock_now_ms();
    int rc = store_run_tx(r->u->st, claim_tx, r);
    r->first = false;
    if (rc)
        return rc;
    if (r->what == CLAIM_WAIT && r->retry_at_ms - r->now_ms <= 2000)
        return wait_until(r, r->retry_at_ms) ? 0 : HERALD_ERR_CANCELLED;
    if (r->what != CLAIM_BATCH)
        return 1;
    ari_items_clear(r->items, OTA_ARI_BATCH);
    r->transient = r->setup = false;
    rc = send_batch(r);
    if (rc)
        return rc;
    r->now_ms = clock_now_ms();
    rc = store_run_tx(r->u->st, outcome_tx, r);
    ari_items_clear(r->items, OTA_ARI_BATCH);
    if (rc == HERALD_ERR_CONFLICT)
        return 1; /* another job holds the channel now: it goes on from here */
    if (!rc && r->transient)
        jobs_notify(r->u->jobs);
    return rc ? rc : r->transient ? 1 : 0;
}

int ari_deliver_run(struct jobs_ctx *ctx)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r)
        return HERALD_ERR_NOMEM;
    r->u = jobs_ctx_arg(ctx);
    r->ctx = ctx;
    r->holder = jobs_ctx_id(ctx);
    r->first = true;
    r->lease_ms = r->u->timeout_ms * 2 + 10000;
    int64_t id = (int64_t)json_integer_value(json_object_get(jobs_ctx_params(ctx), "channelId"));
    int rc = load_channel(r, id);
    if (!rc)
        r->shape = ari_shape_of(r->ch.type);
    while (!rc) {
        rc = round_trip(r);
        if (!rc)
            rc = jobs_ctx_keepalive(ctx);
    }
    if (r->transient)
        log_info("ota_deliver: the channel failed, retried with backoff",
                 json_pack("{s:I, s:s}", "channel_id", (json_int_t)id, "error", r->why));
    store_ari_updates_free(r->rows, r->nrows);
    ari_items_clear(r->items, OTA_ARI_BATCH);
    ota_channel_wipe(&r->ch);
    free(r);
    return rc == 1 || rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}
