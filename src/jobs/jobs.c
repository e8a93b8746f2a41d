/* The job API: submit (validate + normalise through the kind, then the one insert), cancel,
 * get, list, dead letters (the one writer) and their retry in one transaction. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "jobs/internal.h"

int jobs_new_id(char id[40])
{
    uint8_t r[16];
    int rc = crypto_random(r, sizeof(r));
    if (rc)
        return rc;
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* UUID version 4 */
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    char hex[33];
    crypto_hex(r, sizeof(r), hex);
    snprintf(id, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return HERALD_OK;
}

bool jobs_id_valid(const char *id)
{
    if (!id || strlen(id) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? id[i] != '-'
                                                    : !isxdigit((unsigned char)id[i]))
            return false;
    return true;
}

int jobs_insert_tx(struct store_conn *c, const char *id, const char *kind, const char *params,
                   int64_t now_ms)
{
    return store_job_insert(c, id, kind, params, "{}", now_ms);
}

int jobs_dead_letter_tx(struct store_conn *c, const char *job_id, const char *kind,
                        const char *reason, const char *request, const char *payload)
{
    return store_dead_letter_insert(c, job_id, kind, reason, request, payload, clock_now_ms());
}

struct dl_write_tx {
    const char *job_id, *kind, *reason, *request, *payload;
};

static int dl_write_tx(struct store_conn *c, void *arg)
{
    struct dl_write_tx *t = arg;
    return jobs_dead_letter_tx(c, t->job_id, t->kind, t->reason, t->request, t->payload);
}

enum herald_err jobs_dead_letter(struct store *st, const char *job_id, const char *kind,
                                 const char *reason, const char *request, const char *payload)
{
    struct dl_write_tx t = {job_id, kind, reason, request, payload};
    int rc = store_run_tx(st, dl_write_tx, &t);
    if (rc)
        log_error("cannot record a dead letter",
                  json_pack("{s:s?, s:s, s:s, s:s}", "job_id", job_id, "kind", kind, "reason",
                            reason, "error", herald_strerror(rc)));
    return rc;
}

int jobs_normalise(const struct jobs *j, const char *kind, json_t *raw, char **text,
                   struct jobs_problem *problem)
{
    const struct jobs_kind_entry *k = jobs_kind_find(j, kind);
    *text = NULL;
    if (!k)
        return HERALD_ERR_NOT_FOUND;
    json_t *params = NULL;
    int rc = k->kind->validate(k->arg, raw, &params, problem);
    if (!rc && !(*text = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        rc = HERALD_ERR_NOMEM;
    json_decref(params);
    return rc;
}

struct submit_tx {
    const char *id, *kind, *params;
    int64_t run_after_ms; /* 0: at once */
};

static int submit_tx(struct store_conn *c, void *arg)
{
    struct submit_tx *t = arg;
    int64_t now = clock_now_ms();
    if (t->run_after_ms > now)
        return store_job_insert_at(c, t->id, t->kind, t->params, "{}", now, t->run_after_ms);
    return jobs_insert_tx(c, t->id, t->kind, t->params, now);
}

enum herald_err jobs_submit_at(struct jobs *j, const char *kind, json_t *raw, int64_t run_after_ms,
                               char id[40], struct jobs_problem *problem)
{
    memset(problem, 0, sizeof(*problem));
    char *text;
    int rc = jobs_normalise(j, kind, raw, &text, problem);
    if (!rc)
        rc = jobs_new_id(id);
    struct submit_tx t = {id, kind, text, run_after_ms};
    if (!rc)
        rc = store_run_tx(j->st, submit_tx, &t);
    free(text);
    if (!rc)
        jobs_wake(j);
    return rc;
}

enum herald_err jobs_submit(struct jobs *j, const char *kind, json_t *raw, char id[40],
                            struct jobs_problem *problem)
{
    return jobs_submit_at(j, kind, raw, 0, id, problem);
}

enum herald_err jobs_submit_tx(struct jobs *j, struct store_conn *c, const char *kind, json_t *raw,
                               int64_t run_after_ms, char id[40], struct jobs_problem *problem)
{
    memset(problem, 0, sizeof(*problem));
    char *text;
    int rc = jobs_normalise(j, kind, raw, &text, problem);
    if (!rc)
        rc = jobs_new_id(id);
    struct submit_tx t = {id, kind, text, run_after_ms};
    if (!rc)
        rc = submit_tx(c, &t);
    free(text);
    return rc;
}

void jobs_notify(struct jobs *j)
{
    jobs_wake(j);
}

struct cancel_tx {
    const char *id;
    bool now_cancelled;
};

static int cancel_tx(struct store_conn *c, void *arg)
{
    struct cancel_tx *t = arg;
    return store_job_cancel(c, t->id, clock_now_ms(), &t->now_cancelled);
}

enum herald_err jobs_cancel(struct jobs *j, const char *id, bool *now_cancelled)
{
    struct cancel_tx t = {id, false};
    int rc = jobs_id_valid(id) ? store_run_tx(j->st, cancel_tx, &t) : HERALD_ERR_NOT_FOUND;
    *now_cancelled = t.now_cancelled;
    if (!rc)
        jobs_cancel_local(j, id); /* the store flag reaches the other nodes */
    return rc;
}

/* ---------------- reading jobs ---------------- */

void jobs_info_clear(struct jobs_info *info)
{
    json_decref(info->params);
    json_decref(info->progress);
    free(info->error);
    info->params = info->progress = NULL;
    info->error = NULL;
}

void jobs_infos_free(struct jobs_info *infos, size_t count)
{
    for (size_t i = 0; infos && i < count; i++)
        jobs_info_clear(&infos[i]);
    free(infos);
}

/* Moves a store row into the public form (the row's strings are taken over). */
static void info_from_job(const struct jobs *j, struct store_job *job, struct jobs_info *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->id, job->id, sizeof(out->id));
    memcpy(out->kind, job->kind, sizeof(out->kind));
    memcpy(out->status, job->status, sizeof(out->status));
    out->params = json_loads(job->params ? job->params : "{}", 0, NULL);
    json_t *saved = json_loads(job->progress ? job->progress : "{}", 0, NULL);
    if (!saved)
        saved = json_object();
    const struct jobs_kind_entry *k = jobs_kind_find(j, job->kind);
    out->progress = k && k->kind->progress ? k->kind->progress(saved) : json_incref(saved);
    json_decref(saved);
    out->error = job->error;
    job->error = NULL;
    out->attempts = job->attempts;
    out->cancel_requested = job->cancel_requested;
    out->created_at_ms = job->created_at_ms;
    out->started_at_ms = job->started_at_ms;
    out->finished_at_ms = job->finished_at_ms;
}

static int queue_stats_tx(struct store_conn *c, void *arg)
{
    return store_job_queue_stats(c, arg);
}

enum herald_err jobs_queue_stats(struct jobs *j, struct jobs_queue_stats *out)
{
    struct store_queue_stats qs;
    int rc = store_run_read(j->st, queue_stats_tx, &qs);
    if (rc)
        return rc;
    out->pending = qs.pending;
    out->running = qs.running;
    out->oldest_pending_age_ms = qs.oldest_pending_ms ? clock_now_ms() - qs.oldest_pending_ms : 0;
    return HERALD_OK;
}

static int get_tx(struct store_conn *c, void *arg)
{
    struct store_job *job = arg;
    return store_job_get(c, job->id, job);
}

enum herald_err jobs_get(struct jobs *j, const char *id, struct jobs_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!jobs_id_valid(id))
        return HERALD_ERR_NOT_FOUND;
    struct store_job job = {0};
    snprintf(job.id, sizeof(job.id), "%s", id);
    int rc = store_run_read(j->st, get_tx, &job);
    if (rc)
        return rc;
    info_from_job(j, &job, out);
    store_job_clear(&job);
    return HERALD_OK;
}

struct list_tx {
    const char *status, *after_id;
    int64_t after_ms;
    int limit;
    struct store_job *rows;
    size_t n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_jobs_free(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    return store_job_list(c, t->status, t->after_ms, t->after_id, t->limit, &t->rows, &t->n);
}

enum herald_err jobs_list(struct jobs *j, const char *status, int64_t after_created_ms,
                          const char *after_id, int limit, struct jobs_info **out, size_t *count)
{
    struct list_tx t = {status, after_id, after_created_ms, limit, NULL, 0};
    *out = NULL;
    *count = 0;
    int rc = store_run_read(j->st, list_tx, &t);
    if (!rc && !(*out = calloc(t.n ? t.n : 1, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < t.n; i++)
        info_from_job(j, &t.rows[i], &(*out)[i]);
    if (!rc)
        *count = t.n;
    store_jobs_free(t.rows, t.n);
    return rc;
}

/* ---------------- dead letters ---------------- */

void jobs_dead_letters_free(struct jobs_dead_letter *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].job_id);
        free(rows[i].kind);
        free(rows[i].reason);
        free(rows[i].request);
        free(rows[i].payload);
    }
    free(rows);
}

struct dl_list_tx {
    int64_t before;
    int limit;
    struct store_dead_letter *rows;
    size_t n;
};

static int dl_list_tx(struct store_conn *c, void *arg)
{
    struct dl_list_tx *t = arg;
    store_dead_letters_free(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    return store_dead_letter_list(c, t->before, t->limit, &t->rows, &t->n);
}

enum herald_err jobs_dead_letters_list(struct jobs *j, int64_t before_id, int limit,
                                       struct jobs_dead_letter **out, size_t *count)
{
    struct dl_list_tx t = {before_id, limit, NULL, 0};
    *out = NULL;
    *count = 0;
    int rc = store_run_read(j->st, dl_list_tx, &t);
    if (!rc && !(*out = calloc(t.n ? t.n : 1, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (size_t i = 0; !rc && i < t.n; i++) {
        struct store_dead_letter *d = &t.rows[i];
        (*out)[i] =
            (struct jobs_dead_letter){d->id,      d->job_id,  d->kind,          d->reason,
                                      d->request, d->payload, d->created_at_ms, d->retried_at_ms};
        d->job_id = d->kind = d->reason = d->request = d->payload = NULL; /* taken over */
    }
    if (!rc)
        *count = t.n;
    store_dead_letters_free(t.rows, t.n);
    return rc;
}

struct retry_tx {
    struct jobs *j;
    int64_t id;
    char *job_id; /* 40 bytes */
};

/* A new job of the kind that retries this label, with the dead letter as its raw params. */
static int retry_as_new_job(struct store_conn *c, struct retry_tx *t,
                            const struct store_dead_letter *d, const struct jobs_kind *kind)
{
    if (d->retried_at_ms)
        return HERALD_ERR_CONFLICT; /* its retry job exists already */
    json_t *raw =
        json_pack("{s:I, s:s?}", "deadLetterId", (json_int_t)d->id, "payload", d->payload);
    struct jobs_problem problem;
    char *text = NULL;
    int rc = raw ? jobs_normalise(t->j, kind->name, raw, &text, &problem) : HERALD_ERR_NOMEM;
    json_decref(raw);
    if (rc == HERALD_ERR_INVALID)
        return HERALD_ERR_CONFLICT; /* nothing in it a retry could send */
    if (!rc && !(rc = jobs_new_id(t->job_id)))
        rc = jobs_insert_tx(c, t->job_id, kind->name, text, clock_now_ms());
    free(text);
    return rc;
}

static int retry_tx(struct store_conn *c, void *arg)
{
    struct retry_tx *t = arg;
    struct store_dead_letter d;
    int rc = store_dead_letter_get(c, t->id, &d);
    if (rc)
        return rc;
    const struct jobs_kind *retrier = NULL;
    for (size_t i = 0; i < t->j->nkinds; i++)
        if (t->j->kinds[i].kind->retries && !strcmp(t->j->kinds[i].kind->retries, d.kind))
            retrier = t->j->kinds[i].kind;
    if (retrier) {
        rc = retry_as_new_job(c, t, &d, retrier);
    } else if (d.job_id && jobs_kind_find(t->j, d.kind)) {
        snprintf(t->job_id, 40, "%s", d.job_id);
        rc = store_job_requeue(c, d.job_id, clock_now_ms());
    } else {
        rc = HERALD_ERR_CONFLICT; /* no kind on this node retries it */
    }
    if (!rc)
        rc = store_dead_letter_mark_retried(c, t->id, clock_now_ms());
    store_dead_letter_clear(&d);
    return rc;
}

enum herald_err jobs_retry_dead_letter(struct jobs *j, int64_t id, char job_id[40])
{
    struct retry_tx t = {j, id, job_id};
    job_id[0] = '\0';
    int rc = id > 0 ? store_run_tx(j->st, retry_tx, &t) : HERALD_ERR_NOT_FOUND;
    if (!rc)
        jobs_wake(j);
    return rc;
}
