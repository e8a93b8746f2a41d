/* Owns the ota_pull job kind's registration and validation, and the per-node scheduler thread
 * that queues one pull per due channel (compare-and-set on ota_channels.next_pull_at_ms). */
#include "ota/pull.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "ota/pull_internal.h"
#include "store/ota_channels.h"

#define DUE_MAX 32

static int pull_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    json_t *id = json_object_get(raw, "channelId");
    if (!json_is_integer(id) || json_integer_value(id) < 1) {
        snprintf(problem->field, sizeof(problem->field), "channelId");
        snprintf(problem->message, sizeof(problem->message), "must be a positive channel id");
        return HERALD_ERR_INVALID;
    }
    *out = json_pack("{s:I}", "channelId", json_integer_value(id));
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

static const struct jobs_kind pull_kind = {
    .name = OTA_PULL_KIND,
    .validate = pull_validate,
    .run = ota_pull_run,
};

struct due_tx {
    struct store_ota_due rows[DUE_MAX];
    size_t n;
};

static int due_tx(struct store_conn *c, void *arg)
{
    struct due_tx *t = arg;
    return store_ota_channel_due(c, clock_now_ms(), t->rows, DUE_MAX, &t->n);
}

struct claim_tx {
    struct ota_pull *p;
    const struct store_ota_due *due;
};

/* The job goes in with the compare-and-set, so it exists exactly when this node won. */
static int claim_tx(struct store_conn *c, void *arg)
{
    const struct claim_tx *t = arg;
    char id[40];
    struct jobs_problem problem;
    json_t *raw = json_pack("{s:I}", "channelId", (json_int_t)t->due->id);
    int rc =
        raw ? jobs_submit_tx(t->p->jobs, c, OTA_PULL_KIND, raw, 0, id, &problem) : HERALD_ERR_NOMEM;
    json_decref(raw);
    if (!rc)
        rc = store_ota_channel_claim_pull(c, t->due->id, t->due->token,
                                          clock_now_ms() + t->due->poll_seconds * 1000, id);
    return rc;
}

static void tick(struct ota_pull *p)
{
    struct due_tx t = {.n = 0};
    int rc = store_run_read(p->o.st, due_tx, &t);
    if (rc) {
        log_warn("ota pull: cannot read due channels",
                 json_pack("{s:s}", "error", herald_strerror(rc)));
        return;
    }
    for (size_t i = 0; i < t.n && !atomic_load(&p->stopping); i++) {
        rc = store_run_tx(p->o.st, claim_tx, &(struct claim_tx){p, &t.rows[i]});
        if (!rc)
            jobs_notify(p->jobs);
        else if (rc != HERALD_ERR_CONFLICT)
            log_warn("ota pull: cannot queue a pull",
                     json_pack("{s:I, s:s}", "channel_id", (json_int_t)t.rows[i].id, "error",
                               herald_strerror(rc)));
    }
}

static void *scheduler_main(void *arg)
{
    struct ota_pull *p = arg;
    int period = p->o.tick_ms > 0 ? p->o.tick_ms : 1000;
    pthread_mutex_lock(&p->mu);
    while (!atomic_load(&p->stopping)) {
        pthread_mutex_unlock(&p->mu);
        tick(p);
        pthread_mutex_lock(&p->mu);
        struct timespec until = clock_deadline_in(period);
        while (!atomic_load(&p->stopping) &&
               pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum herald_err ota_pull_start(struct jobs *j, const struct ota_pull_opts *o, struct ota_pull **out)
{
    struct ota_pull *p = calloc(1, sizeof(*p));
    if (!p)
        return HERALD_ERR_NOMEM;
    p->o = *o;
    p->jobs = j;
    pthread_mutex_init(&p->mu, NULL);
    clock_cond_init(&p->cv);
    int rc = jobs_register(j, &pull_kind, p);
    if (rc) {
        ota_pull_stop(p);
        return rc;
    }
    *out = p;
    return HERALD_OK;
}

enum herald_err ota_pull_schedule(struct ota_pull *p)
{
    if (!p || p->started)
        return HERALD_OK;
    if (pthread_create(&p->thread, NULL, scheduler_main, p) != 0)
        return HERALD_ERR_INTERNAL;
    p->started = true;
    return HERALD_OK;
}

void ota_pull_halt(struct ota_pull *p)
{
    if (!p || p->halted)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    p->halted = true;
}

void ota_pull_stop(struct ota_pull *p)
{
    if (!p)
        return;
    ota_pull_halt(p);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
