#include "sync/periodic.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "jobs/cron.h"

#define SCHEDULE_NAME "periodic_sync"

struct periodic {
    struct store *st;
    struct sync_engine *engine;
    const struct cfg *cfg;
    struct cron cron;
    char params[256];
    bool enabled;
    pthread_t thread;
    atomic_bool stopping;
};

struct sched_tx {
    struct periodic *p;
    int64_t now, due, next;
    char job_id[40];
    struct store_schedule row;
};

static int upsert_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    return store_schedule_upsert(c, SCHEDULE_NAME, t->p->cfg->sync_schedule, t->next, t->now);
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    return store_schedule_get(c, SCHEDULE_NAME, &t->row);
}

/* Claims the tick and queues the job in one transaction: both happen, or neither. */
static int tick_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    int rc = store_schedule_claim(c, SCHEDULE_NAME, t->due, t->next, t->now, t->job_id);
    return rc ? rc : store_job_insert(c, t->job_id, "sync", t->p->params, "{}", t->now);
}

static void nap(struct periodic *p, int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !atomic_load(&p->stopping); slept += 100) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;
    pthread_setname_np(pthread_self(), "herald-cron");
    while (!atomic_load(&p->stopping)) {
        struct sched_tx t = {.p = p, .now = clock_now_ms()};
        int rc = store_run_read(p->st, get_tx, &t);
        if (!rc && t.row.next_run_ms <= t.now) {
            t.due = t.row.next_run_ms;
            t.next = cron_next(&p->cron, t.now);
            if (t.next < 0)
                t.next = INT64_MAX / 2;
            rc = sync_new_job_id(t.job_id);
            if (!rc)
                rc = store_run_tx(p->st, tick_tx, &t);
            if (!rc) {
                sync_engine_wake(p->engine);
                log_info("periodic sync queued", json_pack("{s:s}", "job_id", t.job_id));
            } else if (rc == HERALD_ERR_CONFLICT) {
                rc = HERALD_OK; /* another node took this tick */
            }
        }
        if (rc && rc != HERALD_ERR_NOT_FOUND)
            log_warn("periodic sync tick failed", json_pack("{s:s}", "error", herald_strerror(rc)));
        nap(p, 500);
    }
    return NULL;
}

int periodic_start(struct store *st, struct sync_engine *engine, const struct cfg *cfg,
                   struct periodic **out, char *err, size_t err_size)
{
    struct periodic *p = calloc(1, sizeof(*p));
    if (!p)
        return HERALD_ERR_NOMEM;
    p->st = st;
    p->engine = engine;
    p->cfg = cfg;
    *out = p;
    if (strcmp(cfg->sync_schedule, "off") != 0) {
        int rc = cron_parse(cfg->sync_schedule, &p->cron, err, err_size);
        if (rc) {
            free(p);
            *out = NULL;
            return rc;
        }
    }
    json_t *platforms = json_array();
    if (sync_platform_configured(engine, "lemlist"))
        json_array_append_new(platforms, json_string("lemlist"));
    if (sync_platform_configured(engine, "smartlead"))
        json_array_append_new(platforms, json_string("smartlead"));
    p->enabled = strcmp(cfg->sync_schedule, "off") != 0 && json_array_size(platforms) > 0;
    json_t *params = json_pack("{s:o, s:s}", "platforms", platforms, "syncMode", "incremental");
    char *text = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER);
    snprintf(p->params, sizeof(p->params), "%s", text ? text : "{}");
    free(text);
    json_decref(params);
    if (!p->enabled)
        return HERALD_OK;
    struct sched_tx t = {.p = p, .now = clock_now_ms()};
    t.next = cron_next(&p->cron, t.now);
    int rc = store_run_tx(st, upsert_tx, &t);
    if (!rc && pthread_create(&p->thread, NULL, periodic_main, p) != 0)
        rc = HERALD_ERR_INTERNAL;
    if (rc) {
        free(p);
        *out = NULL;
    }
    return rc;
}

void periodic_stop(struct periodic *p)
{
    if (!p)
        return;
    atomic_store(&p->stopping, true);
    if (p->enabled)
        pthread_join(p->thread, NULL);
    free(p);
}

struct status_tx {
    struct store_schedule row;
    struct store_job job;
    bool have_job;
};

static int status_tx(struct store_conn *c, void *arg)
{
    struct status_tx *t = arg;
    int rc = store_schedule_get(c, SCHEDULE_NAME, &t->row);
    if (rc || !t->row.last_job_id[0])
        return rc;
    rc = store_job_get(c, t->row.last_job_id, &t->job);
    t->have_job = rc == HERALD_OK;
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

int periodic_get_status(struct periodic *p, struct periodic_status *out)
{
    memset(out, 0, sizeof(*out));
    out->status = "disabled";
    if (!p || !p->enabled)
        return HERALD_OK;
    struct status_tx t = {0};
    int rc = store_run_read(p->st, status_tx, &t);
    if (rc)
        return rc;
    out->status = "healthy";
    out->last_run_ms = t.row.last_run_ms;
    out->next_run_ms = t.row.next_run_ms;
    if (t.have_job) {
        if (!strcmp(t.job.status, "failed") || (t.job.error && strcmp(t.job.status, "completed")))
            out->status = "failing";
        if (t.job.error)
            snprintf(out->last_error, sizeof(out->last_error), "%s", t.job.error);
        store_job_clear(&t.job);
    }
    return HERALD_OK;
}
