/* Retention: the retention job kind (run daily by a schedule, or on demand) deleting
 * what is older than each HERALD_RETENTION_*_DAYS in bounded batches, one short transaction
 * each with a pause between them, and the status /api/jobs/status shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "privacy/internal.h"

#define BATCH 1000
#define PAUSE_MS 10
#define DAY_MS 86400000LL

static const struct {
    const char *name;
    enum store_retention_kind kind;
} kinds[STORE_RET__COUNT] = {
    {"events", STORE_RET_EVENTS},
    {"sends", STORE_RET_SENDS},
    {"feedback", STORE_RET_FEEDBACK},
    {"deadLetters", STORE_RET_DEAD_LETTERS},
    {"reservations", STORE_RET_RESERVATIONS},
};

static int days_of(const struct privacy_opts *o, enum store_retention_kind k)
{
    switch (k) {
    case STORE_RET_EVENTS:
        return o->events_days;
    case STORE_RET_SENDS:
    case STORE_RET_FEEDBACK:
        return o->sends_days;
    case STORE_RET_DEAD_LETTERS:
        return o->dead_letters_days;
    case STORE_RET_RESERVATIONS:
        return o->reservations_days;
    default:
        return 0;
    }
}

static int retention_validate(void *arg, json_t *raw, json_t **out, struct jobs_problem *problem)
{
    (void)arg;
    (void)raw;
    (void)problem;
    *out = json_object();
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}

struct step {
    enum store_retention_kind kind;
    int64_t before_ms, n;
};

static int step_tx(struct store_conn *c, void *arg)
{
    struct step *s = arg;
    return store_retention_step(c, s->kind, s->before_ms, BATCH, &s->n);
}

/* Deletes one kind's old rows; progress: {"removed":{name:n}, "kind":i, "startedAt":ms}. */
static int run_kind(struct jobs_ctx *ctx, struct privacy *p, size_t i, int64_t started)
{
    json_t *removed = json_object_get(jobs_ctx_progress(ctx), "removed");
    int days = days_of(&p->o, kinds[i].kind);
    if (!days)
        return HERALD_OK;
    struct step s = {kinds[i].kind, started - days * DAY_MS, BATCH};
    while (s.n >= BATCH) {
        if (jobs_ctx_should_stop(ctx))
            return HERALD_ERR_CANCELLED;
        int rc = store_run_tx(p->o.st, step_tx, &s);
        if (rc)
            return rc;
        json_int_t was = json_integer_value(json_object_get(removed, kinds[i].name));
        json_object_set_new(removed, kinds[i].name, json_integer(was + s.n));
        if ((rc = jobs_ctx_checkpoint(ctx, false)))
            return rc;
        nanosleep(&(struct timespec){0, PAUSE_MS * 1000000L}, NULL);
    }
    return HERALD_OK;
}

struct record_tx {
    const char *job_id;
    char *report;
};

static int record_tx(struct store_conn *c, void *arg)
{
    struct record_tx *t = arg;
    return store_retention_record(c, t->job_id, t->report, clock_now_ms());
}

static int retention_run(struct jobs_ctx *ctx)
{
    struct privacy *p = jobs_ctx_arg(ctx);
    json_t *prog = jobs_ctx_progress(ctx);
    if (!json_object_get(prog, "removed"))
        json_object_set_new(prog, "removed", json_object());
    if (!json_object_get(prog, "startedAt"))
        json_object_set_new(prog, "startedAt", json_integer(clock_now_ms()));
    int64_t started = json_integer_value(json_object_get(prog, "startedAt"));
    size_t i = (size_t)json_integer_value(json_object_get(prog, "kind"));
    for (; i < STORE_RET__COUNT; i++) {
        int rc = run_kind(ctx, p, i, started);
        if (rc)
            return rc;
        json_object_set_new(prog, "kind", json_integer((json_int_t)i + 1));
        if ((rc = jobs_ctx_checkpoint(ctx, true)))
            return rc;
    }
    struct record_tx t = {jobs_ctx_id(ctx), json_dumps(json_object_get(prog, "removed"),
                                                       JSON_COMPACT | JSON_SORT_KEYS)};
    int rc = t.report ? store_run_tx(p->o.st, record_tx, &t) : HERALD_ERR_NOMEM;
    if (!rc)
        log_emit(LOG_INFO, "retention done",
                 json_pack("{s:s, s:s}", "job_id", jobs_ctx_id(ctx), "removed", t.report));
    free(t.report);
    return rc;
}

static json_t *retention_progress(json_t *saved)
{
    return json_pack("{s:O?}", "removed", json_object_get(saved, "removed"));
}

const struct jobs_kind privacy_retention_kind = {
    .name = "retention",
    .validate = retention_validate,
    .run = retention_run,
    .progress = retention_progress,
};

enum herald_err privacy_retention_submit(struct privacy *p, char job_id[40])
{
    json_t *raw = json_object();
    struct jobs_problem problem;
    int rc = jobs_submit(p->o.jobs, "retention", raw, job_id, &problem);
    json_decref(raw);
    return rc;
}

struct last_tx {
    char *report;
    int64_t at_ms;
};

static int last_tx(struct store_conn *c, void *arg)
{
    struct last_tx *t = arg;
    free(t->report);
    return store_retention_last(c, &t->report, &t->at_ms);
}

enum herald_err privacy_retention_status(struct privacy *p, json_t **out)
{
    struct last_tx t = {0};
    int rc = store_run_read(p->o.st, last_tx, &t);
    if (rc)
        return rc;
    char at[40] = "";
    if (t.at_ms)
        clock_format_iso_ms(t.at_ms, at, sizeof(at));
    json_t *report = t.report ? json_loads(t.report, 0, NULL) : NULL;
    free(t.report);
    *out = json_pack("{s:{s:i, s:i, s:i, s:i}, s:s?, s:o}", "settings", "eventsDays",
                     p->o.events_days, "sendsDays", p->o.sends_days, "reservationsDays",
                     p->o.reservations_days, "deadLettersDays", p->o.dead_letters_days, "lastRunAt",
                     t.at_ms ? at : NULL, "lastRemoved", report ? report : json_null());
    return *out ? HERALD_OK : HERALD_ERR_NOMEM;
}
