/* Jobs, dead letters, schedules and sync cursors over the statement registry (queries.c):
 * the rows the job layer (src/jobs/) and the sync kind keep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/internal.h"

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

static int job_from_row(const struct store_res *r, int row, struct store_job *j)
{
    int failed = 0;
    memset(j, 0, sizeof(*j));
    snprintf(j->id, sizeof(j->id), "%s", store_res_text(r, row, 0));
    snprintf(j->kind, sizeof(j->kind), "%s", store_res_text(r, row, 1));
    snprintf(j->status, sizeof(j->status), "%s", store_res_text(r, row, 2));
    j->params = dup_or_null(store_res_text(r, row, 3), &failed);
    j->progress = dup_or_null(store_res_text(r, row, 4), &failed);
    j->error = dup_or_null(store_res_text(r, row, 5), &failed);
    j->attempts = (int)store_res_i64(r, row, 6);
    j->run_after_ms = store_res_i64(r, row, 7);
    const char *locked = store_res_text(r, row, 8);
    snprintf(j->locked_by, sizeof(j->locked_by), "%s", locked ? locked : "");
    j->lease_until_ms = store_res_i64(r, row, 9);
    j->cancel_requested = store_res_i64(r, row, 10) != 0;
    j->created_at_ms = store_res_i64(r, row, 11);
    j->started_at_ms = store_res_i64(r, row, 12);
    j->finished_at_ms = store_res_i64(r, row, 13);
    if (failed) {
        store_job_clear(j);
        return HERALD_ERR_NOMEM;
    }
    return HERALD_OK;
}

void store_job_clear(struct store_job *job)
{
    free(job->params);
    free(job->progress);
    free(job->error);
    job->params = job->progress = job->error = NULL;
}

void store_jobs_free(struct store_job *jobs, size_t count)
{
    for (size_t i = 0; jobs && i < count; i++)
        store_job_clear(&jobs[i]);
    free(jobs);
}

static int exec_write(struct store_conn *c, enum store_stmt stmt, const struct store_val *p, int n,
                      bool need_row)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, n, &r);
    if (!rc && need_row && r.changes == 0 && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_job_insert(struct store_conn *c, const char *id, const char *kind,
                                 const char *params, const char *progress, int64_t now_ms)
{
    return store_job_insert_at(c, id, kind, params, progress, now_ms, now_ms);
}

enum herald_err store_job_insert_at(struct store_conn *c, const char *id, const char *kind,
                                    const char *params, const char *progress, int64_t now_ms,
                                    int64_t run_after_ms)
{
    struct store_val p[] = {SV_STR(id),       SV_STR(kind),   SV_STR(params),
                            SV_STR(progress), SV_I64(now_ms), SV_I64(run_after_ms)};
    return exec_write(c, STMT_JOB_INSERT, p, 6, false);
}

static int one_job(struct store_conn *c, enum store_stmt stmt, const struct store_val *p, int n,
                   struct store_job *out)
{
    struct store_res r = {0};
    int rc = store_query(c, stmt, p, n, &r);
    if (!rc)
        rc = r.nrows ? job_from_row(&r, 0, out) : HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_job_get(struct store_conn *c, const char *id, struct store_job *out)
{
    struct store_val p[] = {SV_STR(id)};
    return one_job(c, STMT_JOB_GET, p, 1, out);
}

enum herald_err store_job_list(struct store_conn *c, const char *status, int64_t after_created_ms,
                               const char *after_id, int limit, struct store_job **out,
                               size_t *count)
{
    struct store_val p[] = {SV_STR(status), after_id ? SV_I64(after_created_ms) : SV_NUL,
                            SV_STR(after_id ? after_id : ""), SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_JOB_LIST, p, 4, &r);
    if (rc)
        goto done;
    *out = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(**out));
    if (!*out) {
        rc = HERALD_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < r.nrows && !rc; i++)
        if (!(rc = job_from_row(&r, i, &(*out)[i])))
            (*count)++;
    if (rc) {
        store_jobs_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
done:
    store_res_free(&r);
    return rc;
}

enum herald_err store_job_claim(struct store_conn *c, const char *node, const char *kinds,
                                int64_t now_ms, int64_t lease_until_ms, struct store_job *out)
{
    struct store_val p[] = {SV_STR(node), SV_I64(lease_until_ms), SV_I64(now_ms), SV_STR(kinds)};
    return one_job(c, STMT_JOB_CLAIM, p, 4, out);
}

enum herald_err store_job_progress(struct store_conn *c, const char *id, const char *node,
                                   const char *progress, int64_t lease_until_ms, bool *cancel)
{
    struct store_val p[] = {SV_STR(id), SV_STR(node), SV_STR(progress), SV_I64(lease_until_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_JOB_PROGRESS, p, 4, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc)
        *cancel = store_res_i64(&r, 0, 0) != 0;
    store_res_free(&r);
    return rc;
}

enum herald_err store_job_fence(struct store_conn *c, const char *id, const char *owner,
                                int64_t lease_until_ms)
{
    struct store_val p[] = {SV_STR(id), SV_STR(owner), SV_I64(lease_until_ms)};
    return exec_write(c, STMT_JOB_FENCE, p, 3, true);
}

enum herald_err store_job_finish(struct store_conn *c, const char *id, const char *node,
                                 const char *status, const char *error, const char *progress,
                                 int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id),    SV_STR(node),     SV_STR(status),
                            SV_STR(error), SV_STR(progress), SV_I64(now_ms)};
    return exec_write(c, STMT_JOB_FINISH, p, 6, true);
}

enum herald_err store_job_retry_later(struct store_conn *c, const char *id, const char *node,
                                      const char *error, const char *progress, int64_t run_after_ms)
{
    struct store_val p[] = {SV_STR(id), SV_STR(node), SV_STR(error), SV_I64(run_after_ms),
                            SV_STR(progress)};
    return exec_write(c, STMT_JOB_RETRY_LATER, p, 5, true);
}

enum herald_err store_job_cancel(struct store_conn *c, const char *id, int64_t now_ms,
                                 bool *now_cancelled)
{
    struct store_val p[] = {SV_STR(id), SV_I64(now_ms)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_JOB_CANCEL_PENDING, p, 2, &r);
    *now_cancelled = !rc && r.changes > 0;
    store_res_free(&r);
    if (rc || *now_cancelled)
        return rc;
    rc = store_query(c, STMT_JOB_CANCEL_RUNNING, p, 1, &r);
    bool flagged = !rc && r.changes > 0;
    store_res_free(&r);
    if (rc || flagged)
        return rc;
    struct store_job job;
    rc = store_job_get(c, id, &job);
    if (rc)
        return rc;
    store_job_clear(&job);
    return HERALD_ERR_CONFLICT;
}

enum herald_err store_job_requeue(struct store_conn *c, const char *id, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(id), SV_I64(now_ms)};
    int rc = exec_write(c, STMT_JOB_REQUEUE, p, 2, true);
    if (rc == HERALD_ERR_NOT_FOUND) {
        struct store_job job;
        if (store_job_get(c, id, &job) == HERALD_OK) {
            store_job_clear(&job);
            return HERALD_ERR_CONFLICT; /* exists, but has not failed */
        }
    }
    return rc;
}

enum herald_err store_job_queue_stats(struct store_conn *c, struct store_queue_stats *out)
{
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_JOB_QUEUE_STATS, NULL, 0, &r);
    for (int i = 0; !rc && i < r.nrows; i++) {
        const char *status = store_res_text(&r, i, 0);
        if (strcmp(status, "pending") == 0) {
            out->pending = store_res_i64(&r, i, 1);
            out->oldest_pending_ms = store_res_i64(&r, i, 2);
        } else {
            out->running = store_res_i64(&r, i, 1);
        }
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_dead_letter_insert(struct store_conn *c, const char *job_id, const char *kind,
                                         const char *reason, const char *request,
                                         const char *payload, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(job_id),  SV_STR(kind),    SV_STR(reason),
                            SV_STR(request), SV_STR(payload), SV_I64(now_ms)};
    return exec_write(c, STMT_DEAD_LETTER_INSERT, p, 6, false);
}

static int dl_from_row(const struct store_res *r, int row, struct store_dead_letter *d)
{
    int failed = 0;
    d->id = store_res_i64(r, row, 0);
    d->job_id = dup_or_null(store_res_text(r, row, 1), &failed);
    d->kind = dup_or_null(store_res_text(r, row, 2), &failed);
    d->reason = dup_or_null(store_res_text(r, row, 3), &failed);
    d->request = dup_or_null(store_res_text(r, row, 4), &failed);
    d->payload = dup_or_null(store_res_text(r, row, 5), &failed);
    d->created_at_ms = store_res_i64(r, row, 6);
    d->retried_at_ms = store_res_i64(r, row, 7);
    return failed ? HERALD_ERR_NOMEM : HERALD_OK;
}

void store_dead_letter_clear(struct store_dead_letter *d)
{
    free(d->job_id);
    free(d->kind);
    free(d->reason);
    free(d->request);
    free(d->payload);
}

void store_dead_letters_free(struct store_dead_letter *rows, size_t count)
{
    for (size_t i = 0; rows && i < count; i++)
        store_dead_letter_clear(&rows[i]);
    free(rows);
}

enum herald_err store_dead_letter_list(struct store_conn *c, int64_t before_id, int limit,
                                       struct store_dead_letter **out, size_t *count)
{
    struct store_val p[] = {before_id > 0 ? SV_I64(before_id) : SV_NUL, SV_I64(limit)};
    struct store_res r = {0};
    *out = NULL;
    *count = 0;
    int rc = store_query(c, STMT_DEAD_LETTER_LIST, p, 2, &r);
    if (!rc && !(*out = calloc(r.nrows ? (size_t)r.nrows : 1, sizeof(**out))))
        rc = HERALD_ERR_NOMEM;
    for (int i = 0; !rc && i < r.nrows; i++) {
        rc = dl_from_row(&r, i, &(*out)[i]);
        (*count)++;
    }
    if (rc) {
        store_dead_letters_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_dead_letter_get(struct store_conn *c, int64_t id,
                                      struct store_dead_letter *out)
{
    struct store_val p[] = {SV_I64(id)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_DEAD_LETTER_GET, p, 1, &r);
    if (!rc)
        rc = r.nrows ? dl_from_row(&r, 0, out) : HERALD_ERR_NOT_FOUND;
    store_res_free(&r);
    return rc;
}

enum herald_err store_dead_letter_mark_retried(struct store_conn *c, int64_t id, int64_t now_ms)
{
    struct store_val p[] = {SV_I64(id), SV_I64(now_ms)};
    return exec_write(c, STMT_DEAD_LETTER_RETRIED, p, 2, true);
}

enum herald_err store_cursor_get(struct store_conn *c, const char *platform, const char *scope,
                                 char **out)
{
    struct store_val p[] = {SV_STR(platform), SV_STR(scope)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_CURSOR_GET, p, 2, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc && !(*out = strdup(store_res_text(&r, 0, 0))))
        rc = HERALD_ERR_NOMEM;
    store_res_free(&r);
    return rc;
}

enum herald_err store_cursor_set(struct store_conn *c, const char *platform, const char *scope,
                                 const char *cursor, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(platform), SV_STR(scope), SV_STR(cursor), SV_I64(now_ms)};
    return exec_write(c, STMT_CURSOR_SET, p, 4, false);
}

enum herald_err store_schedule_upsert(struct store_conn *c, const char *name, const char *expr,
                                      int64_t next_run_ms, int64_t now_ms)
{
    struct store_val p[] = {SV_STR(name), SV_STR(expr), SV_I64(next_run_ms), SV_I64(now_ms)};
    return exec_write(c, STMT_SCHED_UPSERT, p, 4, false);
}

enum herald_err store_schedule_get(struct store_conn *c, const char *name,
                                   struct store_schedule *out)
{
    struct store_val p[] = {SV_STR(name)};
    struct store_res r = {0};
    memset(out, 0, sizeof(*out));
    int rc = store_query(c, STMT_SCHED_GET, p, 1, &r);
    if (!rc && r.nrows == 0)
        rc = HERALD_ERR_NOT_FOUND;
    if (!rc) {
        out->next_run_ms = store_res_i64(&r, 0, 1);
        out->last_run_ms = store_res_i64(&r, 0, 2);
        const char *job = store_res_text(&r, 0, 3);
        snprintf(out->last_job_id, sizeof(out->last_job_id), "%s", job ? job : "");
    }
    store_res_free(&r);
    return rc;
}

enum herald_err store_schedule_claim(struct store_conn *c, const char *name, int64_t due_ms,
                                     int64_t next_run_ms, int64_t now_ms, const char *job_id)
{
    struct store_val p[] = {SV_STR(name), SV_I64(due_ms), SV_I64(next_run_ms), SV_I64(now_ms),
                            SV_STR(job_id)};
    struct store_res r = {0};
    int rc = store_query(c, STMT_SCHED_CLAIM, p, 5, &r);
    if (!rc && r.changes == 0)
        rc = HERALD_ERR_CONFLICT;
    store_res_free(&r);
    return rc;
}
