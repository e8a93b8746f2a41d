/* The campaign_start job kind (campaigns.h): materialises a scheduled campaign's send queue in
 * chunks (idempotent INSERT … SELECT … ON CONFLICT DO NOTHING), then snapshots a template's
 * content into the campaign, sets its recipients and moves it to running for the sender. */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "mail/campaigns_internal.h"
#include "mail/sender.h"

#define FILL_CHUNK 5000

static int start_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    json_t *id = json_object_get(raw, "campaignId");
    if (!json_is_object(raw) || !json_is_integer(id) || json_integer_value(id) < 1) {
        snprintf(problem->field, sizeof(problem->field), "campaignId");
        snprintf(problem->message, sizeof(problem->message), "a campaign id");
        return HERALD_ERR_INVALID;
    }
    *out = json_pack("{s:I}", "campaignId", (json_int_t)json_integer_value(id));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

struct chunk_tx {
    int64_t id;
    const char *job;
    int64_t after, last, inserted;
    bool ours; /* still scheduled, by this job */
};

static int ours(struct store_conn *c, int64_t id, const char *job, bool *yes)
{
    struct store_campaign cp;
    int rc = store_campaign_get(c, id, &cp);
    if (rc == HERALD_ERR_NOT_FOUND) {
        *yes = false;
        return HERALD_OK;
    }
    *yes = !rc && strcmp(cp.status, "scheduled") == 0 && strcmp(cp.start_job_id, job) == 0;
    if (!rc)
        store_campaign_clear(&cp);
    return rc;
}

static int chunk_tx(struct store_conn *c, void *arg)
{
    struct chunk_tx *t = arg;
    t->inserted = 0;
    t->last = t->after;
    int rc = ours(c, t->id, t->job, &t->ours);
    if (rc || !t->ours)
        return rc;
    return store_send_queue_fill(c, t->id, t->after, FILL_CHUNK, clock_now_ms(), &t->inserted,
                                 &t->last);
}

struct go_tx {
    int64_t id;
    const char *job;
    int64_t recipients;
    bool ours, finished;
};

static int go_tx(struct store_conn *c, void *arg)
{
    struct go_tx *t = arg;
    int64_t now = clock_now_ms();
    int rc = ours(c, t->id, t->job, &t->ours);
    if (rc || !t->ours)
        return rc;
    rc = store_campaign_snapshot(c, t->id, now);
    if (!rc)
        rc = store_send_queue_count(c, t->id, &t->recipients);
    if (!rc)
        rc = store_campaign_set_recipients(c, t->id, t->recipients, now);
    if (!rc)
        rc = store_campaign_transition(c, t->id, "scheduled", "running", NULL, now);
    if (!rc)
        rc = store_campaign_finish_if_done(c, t->id, now, &t->finished);
    return rc;
}

static int fill(struct jobs_ctx *ctx, struct mail_campaigns *m, int64_t id, bool *still_ours)
{
    json_t *progress = jobs_ctx_progress(ctx);
    int64_t after = json_integer_value(json_object_get(progress, "afterContactId"));
    int64_t total = json_integer_value(json_object_get(progress, "queued"));
    for (;;) {
        struct chunk_tx t = {id, jobs_ctx_id(ctx), after, after, 0, false};
        int rc = store_run_tx(m->o.store, chunk_tx, &t);
        if (rc || !t.ours) {
            *still_ours = t.ours;
            return rc;
        }
        if (t.last == after)
            break;
        after = t.last;
        total += t.inserted;
        json_object_set_new(progress, "afterContactId", json_integer(after));
        json_object_set_new(progress, "queued", json_integer(total));
        if ((rc = jobs_ctx_checkpoint(ctx, false)))
            return rc;
    }
    *still_ours = true;
    return HERALD_OK;
}

static int start_run(struct jobs_ctx *ctx)
{
    struct mail_campaigns *m = jobs_ctx_arg(ctx);
    int64_t id = json_integer_value(json_object_get(jobs_ctx_params(ctx), "campaignId"));
    bool still_ours = false;
    int rc = fill(ctx, m, id, &still_ours);
    if (rc || !still_ours)
        return rc; /* cancelled, deleted or rescheduled meanwhile: nothing more to do */
    struct go_tx g = {id, jobs_ctx_id(ctx), 0, false, false};
    rc = store_run_tx(m->o.store, go_tx, &g);
    if (rc)
        return rc;
    json_object_set_new(jobs_ctx_progress(ctx), "recipients", json_integer(g.recipients));
    if (g.ours)
        mail_sender_wake(m->o.sender);
    log_info("campaign started",
             json_pack("{s:I, s:I, s:b}", "campaign", (json_int_t)id, "recipients",
                       (json_int_t)g.recipients, "finished", g.finished));
    return HERALD_OK;
}

const struct jobs_kind mail_campaign_start_kind = {
    .name = "campaign_start",
    .validate = start_validate,
    .run = start_run,
    .progress = NULL,
    .dead_letter_kind = NULL,
    .retries = NULL,
};
