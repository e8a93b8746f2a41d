/* Schedules for any job kind: cron expressions, one ticking thread, and the one-node-per-tick
 * compare-and-set on the schedule row that claims a tick and queues its job together. */
#include "jobs/schedule.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "jobs/cron.h"
#include "jobs/internal.h"

#define MAX_SCHEDULES 16
#define TICK_MS 500

struct schedule {
    struct jobs_schedule_def def;
    struct cron cron;
};

struct jobs_schedule {
    struct jobs *j;
    struct schedule items[MAX_SCHEDULES];
    size_t n;
    pthread_t thread;
    atomic_bool stopping;
};

struct sched_tx {
    const struct schedule *s;
    int64_t now, due, next;
    const char *params;
    char job_id[40];
    struct store_schedule row;
    struct store_job job;
    bool have_job;
};

static int upsert_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    return store_schedule_upsert(c, t->s->def.name, t->s->def.expr, t->next, t->now);
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    return store_schedule_get(c, t->s->def.name, &t->row);
}

/* Claims the tick and queues the job in one transaction: both happen, or neither. */
static int tick_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    int rc = store_schedule_claim(c, t->s->def.name, t->due, t->next, t->now, t->job_id);
    return rc ? rc : jobs_insert_tx(c, t->job_id, t->s->def.kind, t->params, t->now);
}

/* Queues the schedule's job when its tick is due and no other node took it. */
static int tick(struct jobs_schedule *js, const struct schedule *s)
{
    struct sched_tx t = {.s = s, .now = clock_now_ms()};
    int rc = store_run_read(js->j->st, get_tx, &t);
    if (rc || t.row.next_run_ms > t.now)
        return rc;
    t.due = t.row.next_run_ms;
    t.next = cron_next(&s->cron, t.now);
    if (t.next < 0)
        t.next = INT64_MAX / 2;
    char *params = NULL;
    struct jobs_problem problem;
    rc = jobs_normalise(js->j, s->def.kind, s->def.params, &params, &problem);
    if (!rc)
        rc = jobs_new_id(t.job_id);
    t.params = params;
    if (!rc)
        rc = store_run_tx(js->j->st, tick_tx, &t);
    free(params);
    if (rc == HERALD_ERR_CONFLICT)
        return HERALD_OK; /* another node took this tick */
    if (!rc) {
        jobs_wake(js->j);
        const struct jobs_kind_entry *k = jobs_kind_find(js->j, s->def.kind);
        LOG_AT(k && k->kind->routine ? LOG_DEBUG : LOG_INFO, "scheduled job queued",
               json_pack("{s:s, s:s, s:s}", "schedule", s->def.name, "kind", s->def.kind, "job_id",
                         t.job_id));
    }
    return rc;
}

static void nap(struct jobs_schedule *js, int64_t ms)
{
    for (int64_t slept = 0; slept < ms && !atomic_load(&js->stopping); slept += 100) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *schedule_main(void *arg)
{
    struct jobs_schedule *js = arg;
    pthread_setname_np(pthread_self(), "herald-cron");
    while (!atomic_load(&js->stopping)) {
        for (size_t i = 0; i < js->n; i++) {
            int rc = tick(js, &js->items[i]);
            if (rc && rc != HERALD_ERR_NOT_FOUND)
                log_warn("schedule tick failed",
                         json_pack("{s:s, s:s}", "schedule", js->items[i].def.name, "error",
                                   herald_strerror(rc)));
        }
        nap(js, TICK_MS);
    }
    return NULL;
}

/* Parses the expression, checks the params and writes the row. */
static int add_schedule(struct jobs_schedule *js, const struct jobs_schedule_def *def, char *err,
                        size_t err_size)
{
    struct schedule *s = &js->items[js->n];
    s->def = *def;
    int rc = cron_parse(def->expr, &s->cron, err, err_size);
    if (rc)
        return rc;
    char *params = NULL;
    struct jobs_problem problem;
    if ((rc = jobs_normalise(js->j, def->kind, def->params, &params, &problem))) {
        snprintf(err, err_size, "schedule %s: %s", def->name,
                 problem.message[0] ? problem.message : herald_strerror(rc));
        return HERALD_ERR_INVALID;
    }
    free(params);
    struct sched_tx t = {.s = s, .now = clock_now_ms()};
    t.next = cron_next(&s->cron, t.now);
    if ((rc = store_run_tx(js->j->st, upsert_tx, &t)))
        return rc;
    json_incref(s->def.params);
    js->n++;
    return HERALD_OK;
}

int jobs_schedule_start(struct jobs *j, const struct jobs_schedule_def *defs, size_t n,
                        struct jobs_schedule **out, char *err, size_t err_size)
{
    *out = NULL;
    if (n > MAX_SCHEDULES)
        return HERALD_ERR_INVALID;
    struct jobs_schedule *js = calloc(1, sizeof(*js));
    if (!js)
        return HERALD_ERR_NOMEM;
    js->j = j;
    int rc = HERALD_OK;
    for (size_t i = 0; i < n && !rc; i++)
        rc = add_schedule(js, &defs[i], err, err_size);
    if (!rc && js->n && pthread_create(&js->thread, NULL, schedule_main, js) != 0)
        rc = HERALD_ERR_INTERNAL;
    if (rc) {
        for (size_t i = 0; i < js->n; i++)
            json_decref(js->items[i].def.params);
        free(js);
        return rc;
    }
    *out = js;
    return HERALD_OK;
}

void jobs_schedule_stop(struct jobs_schedule *js)
{
    if (!js)
        return;
    atomic_store(&js->stopping, true);
    if (js->n)
        pthread_join(js->thread, NULL);
    for (size_t i = 0; i < js->n; i++)
        json_decref(js->items[i].def.params);
    free(js);
}

static int status_tx(struct store_conn *c, void *arg)
{
    struct sched_tx *t = arg;
    int rc = store_schedule_get(c, t->s->def.name, &t->row);
    if (rc || !t->row.last_job_id[0])
        return rc;
    rc = store_job_get(c, t->row.last_job_id, &t->job);
    t->have_job = rc == HERALD_OK;
    return rc == HERALD_ERR_NOT_FOUND ? HERALD_OK : rc;
}

int jobs_schedule_status(struct jobs_schedule *js, const char *name,
                         struct jobs_schedule_status *out)
{
    memset(out, 0, sizeof(*out));
    out->status = "disabled";
    const struct schedule *s = NULL;
    for (size_t i = 0; js && i < js->n; i++)
        if (!strcmp(js->items[i].def.name, name))
            s = &js->items[i];
    if (!s)
        return HERALD_OK;
    struct sched_tx t = {.s = s};
    int rc = store_run_read(js->j->st, status_tx, &t);
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
