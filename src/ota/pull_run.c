/* Owns one run of the ota_pull job: for each queue of the channel's connector, fetch, check,
 * parse, ingest in one transaction, then (only after the commit) acknowledge; and the outcome
 * recorded on the channel (ok / retrying / failed, last_error, a dead letter once per error). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "ota/channels_internal.h"
#include "ota/pull_connector.h"
#include "ota/pull_internal.h"
#include "ota/res_parse_internal.h"

struct pull_state {
    struct ota_pull *p;
    struct jobs_ctx *ctx;
    struct ota_channel_view *view;
    const struct ota_connector *conn;
    int64_t fetched, stored, duplicates, acknowledged;
    char error[512];
    bool permanent;       /* a retry cannot fix it: record, dead-letter once, complete */
    char *dead_payload;   /* the reply body for the dead letter (owned) */
    const char *dead_req; /* what was asked ("new", "undelivered", …) */
};

/* Classifies a failed request into the state; returns the run's error for transient ones. */
static int request_failed(struct pull_state *s, const char *what, int rc, struct ota_reply *r)
{
    if (rc == HERALD_ERR_CANCELLED)
        return rc;
    bool auth = rc == HERALD_ERR_SIGNATURE || r->status == 401 || r->status == 403;
    bool client = r->status >= 400 && r->status < 500 && r->status != 429;
    snprintf(s->error, sizeof(s->error), "%s: %s%s", what,
             auth                                  ? "the channel refused the credentials: "
             : rc == HERALD_ERR_UPSTREAM_MALFORMED ? "the channel sent a malformed message: "
                                                   : "",
             r->error);
    if (auth || client || rc == HERALD_ERR_UPSTREAM_MALFORMED || rc == HERALD_ERR_INVALID) {
        s->permanent = true;
        free(s->dead_payload);
        s->dead_payload = ota_scrub_raw_copy(r->body, 65536);
        return HERALD_OK;
    }
    return rc ? rc : HERALD_ERR_UPSTREAM;
}

static int parse_failed(struct pull_state *s, const char *queue, struct herald_error *err,
                        struct ota_reply *r)
{
    snprintf(s->error, sizeof(s->error), "%s: the channel sent a malformed message: %s", queue,
             herald_error_message(err));
    s->permanent = true;
    free(s->dead_payload);
    s->dead_payload = r ? ota_scrub_raw_copy(r->body, 65536) : NULL;
    return HERALD_OK;
}

static struct ota_send_opts send_opts(struct pull_state *s)
{
    return (struct ota_send_opts){.timeout_ms = s->p->o.timeout_ms,
                                  .max_attempts = 1,
                                  .max_rate_limited = 0,
                                  .should_stop = jobs_ctx_should_stop,
                                  .stop_arg = s->ctx};
}

/* Stores msg, then acknowledges it (answer: the reply it came in, for a dead letter). */
static int ingest_and_ack(struct pull_state *s, size_t q, struct ota_res_message *msg,
                          struct ota_reply *answer)
{
    struct ota_reservations *res = *s->p->o.reservations;
    if (!res) {
        snprintf(s->error, sizeof(s->error), "the reservations store is not open");
        return HERALD_ERR_INTERNAL;
    }
    struct ota_ingest_result *results = calloc(msg->n, sizeof(*results));
    struct herald_error err = {0};
    int rc = results ? ota_reservations_ingest(res, &s->view->ch, msg->items, msg->n,
                                               clock_now_ms(), results, &err)
                     : HERALD_ERR_NOMEM;
    if (rc) {
        snprintf(s->error, sizeof(s->error), "%s: cannot store the reservations: %s",
                 s->conn->queues[q], herald_error_message(&err));
        free(results);
        return rc == HERALD_ERR_INVALID ? parse_failed(s, s->conn->queues[q], &err, answer) : rc;
    }
    for (size_t i = 0; i < msg->n; i++)
        results[i].duplicate ? s->duplicates++ : s->stored++;
    rc = jobs_ctx_keepalive(s->ctx);
    struct ota_reply reply = {0};
    struct ota_send_opts o = send_opts(s);
    if (!rc)
        rc = s->conn->ack(s->p->o.chs, &s->view->ch, q, msg, results, &o, &reply);
    if (!rc)
        rc = ota_reply_check(&reply, s->p->o.max_message_bytes);
    if (!rc)
        s->acknowledged += (int64_t)msg->n;
    else if (rc != HERALD_ERR_CANCELLED) {
        /* Stored but not acknowledged: the channel delivers it again, recognised as the same
           revision; so every ack failure is retried, never dead-lettered. */
        snprintf(s->error, sizeof(s->error), "%s: acknowledgement failed: %s", s->conn->queues[q],
                 reply.error);
        rc = HERALD_ERR_UPSTREAM;
    }
    ota_reply_free(&reply);
    free(results);
    return rc;
}

static int pull_queue(struct pull_state *s, size_t q)
{
    const char *queue = s->conn->queues[q];
    struct ota_reply reply = {0};
    struct ota_send_opts o = send_opts(s);
    s->dead_req = queue;
    int rc = s->conn->fetch(s->p->o.chs, &s->view->ch, q, &o, &reply);
    size_t max = s->p->o.max_message_bytes;
    rc = rc ? ota_reply_refine(rc, &reply, max) : ota_reply_check(&reply, max);
    if (rc) {
        rc = request_failed(s, queue, rc, &reply);
        ota_reply_free(&reply);
        return rc;
    }
    if (ota_reply_is_empty_batch(&reply, s->p->o.max_message_bytes)) {
        ota_reply_free(&reply);
        return HERALD_OK;
    }
    struct ota_res_message msg = {0};
    struct herald_error err = {0};
    rc = ota_res_parse(reply.body ? reply.body : "", reply.len, s->p->o.max_message_bytes, &msg,
                       &err);
    if (rc) {
        rc = parse_failed(s, queue, &err, &reply);
    } else {
        s->fetched += (int64_t)msg.n;
        rc = msg.n ? ingest_and_ack(s, q, &msg, &reply) : HERALD_OK;
    }
    ota_res_message_free(&msg);
    ota_reply_free(&reply);
    return rc;
}

struct result_tx {
    int64_t id;
    const char *status, *error;
};

static int result_tx(struct store_conn *c, void *arg)
{
    struct result_tx *t = arg;
    return store_ota_channel_pull_result(c, t->id, clock_now_ms(), t->status, t->error);
}

/* Saves the outcome on the channel, the progress, and (once per distinct error) a dead
 * letter; the error is logged without the reply's body. */
static void record(struct pull_state *s, int rc)
{
    const char *status = rc == HERALD_ERR_CANCELLED ? "cancelled"
                         : s->permanent             ? "failed"
                         : rc                       ? "retrying"
                                                    : "ok";
    if (rc && !s->error[0])
        snprintf(s->error, sizeof(s->error), "%s", herald_strerror(rc));
    json_t *progress = jobs_ctx_progress(s->ctx);
    json_object_set_new(progress, "channelId", json_integer(s->view->ch.id));
    json_object_set_new(progress, "fetched", json_integer(s->fetched));
    json_object_set_new(progress, "stored", json_integer(s->stored));
    json_object_set_new(progress, "duplicates", json_integer(s->duplicates));
    json_object_set_new(progress, "acknowledged", json_integer(s->acknowledged));
    json_object_set_new(progress, "outcome", json_string(status));
    if (rc == HERALD_ERR_CANCELLED)
        return;
    bool failed = s->permanent || rc;
    struct result_tx t = {s->view->ch.id, status, failed ? s->error : NULL};
    int src = store_run_tx(s->p->o.st, result_tx, &t);
    if (src && src != HERALD_ERR_NOT_FOUND)
        log_warn("ota pull: cannot record the outcome",
                 json_pack("{s:s}", "error", herald_strerror(src)));
    if (failed)
        log_warn("ota pull failed",
                 json_pack("{s:I, s:s, s:s}", "channel_id", (json_int_t)s->view->ch.id, "outcome",
                           status, "error", s->error));
    if (s->permanent && strcmp(s->error, s->view->last_error) != 0)
        jobs_ctx_dead_letter(s->ctx, s->error, s->dead_req, s->dead_payload);
    if (rc && !s->permanent)
        jobs_ctx_fail(s->ctx, false, "%s", s->error);
}

int ota_pull_run(struct jobs_ctx *ctx)
{
    struct ota_pull *p = jobs_ctx_arg(ctx);
    int64_t id = json_integer_value(json_object_get(jobs_ctx_params(ctx), "channelId"));
    struct ota_channel_view *view = calloc(1, sizeof(*view));
    struct herald_error err = {0};
    int rc = view ? ota_channels_view(p->o.chs, id, view, &err) : HERALD_ERR_NOMEM;
    if (rc == HERALD_ERR_NOT_FOUND) { /* deleted since it was queued */
        free(view);
        return HERALD_OK;
    }
    const struct ota_connector *conn = rc ? NULL : ota_connector_find(view->ch.type);
    if (rc || !conn || !view->ch.enabled || view->ch.mode != OTA_MODE_PULL) {
        if (rc)
            jobs_ctx_fail(ctx, rc == HERALD_ERR_CRYPTO, "%s", herald_error_message(&err));
        if (view)
            ota_channel_wipe(&view->ch);
        free(view);
        return rc;
    }
    struct pull_state s = {.p = p, .ctx = ctx, .view = view, .conn = conn};
    for (size_t q = 0; !rc && !s.permanent && q < conn->nqueues; q++)
        rc = pull_queue(&s, q);
    record(&s, rc);
    free(s.dead_payload);
    ota_channel_wipe(&view->ch);
    free(view);
    return rc;
}
