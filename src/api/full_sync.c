/* Sync jobs: POST /api/full-sync/execute, GET /api/full-sync/status/{jobId},
 * DELETE /api/full-sync/cancel/{jobId}, GET /api/full-sync/jobs, and the dead letters. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/clock.h"
#include "base/text.h"
#include "store/store.h"
#include "sync/engine.h"

static enum http_result invalid(struct http_request *req, const char *field, const char *msg)
{
    http_reply_error(req, HERALD_ERR_INVALID, msg, field);
    return HTTP_REPLIED;
}

/* A string, a comma-separated string, or a list of strings → a new JSON array of labels. */
static json_t *label_list(json_t *v, size_t max_len, bool *ok)
{
    json_t *out = json_array();
    *ok = true;
    if (json_is_string(v)) {
        char *copy = strdup(json_string_value(v)), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t n = strlen(t);
            while (n && t[n - 1] == ' ')
                t[--n] = '\0';
            *ok &= text_ident_ok(t, max_len, "_.:-");
            json_array_append_new(out, json_string(t));
        }
        free(copy);
    } else {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            *ok &= text_ident_ok(json_string_value(item), max_len, "_.:-");
            json_array_append(out, item);
        }
    }
    *ok &= json_array_size(out) > 0;
    return out;
}

static bool is_day(const char *s)
{
    int64_t ms;
    return s && strlen(s) == 10 && clock_parse_iso(s, &ms) == 0;
}

enum http_result api_full_sync_execute(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL, *platforms_in = NULL, *namespaces_in = NULL, *campaigns_in = NULL;
    const char *mode = NULL, *start = NULL, *end = NULL;
    bool tracking = true;
    const struct http_field spec[] = {
        {"platforms", HF_STRINGS, true, 1, 10, &platforms_in},
        {"syncMode", HF_STRING, true, 1, 32, &mode},
        {"startDate", HF_STRING, false, 10, 10, &start},
        {"endDate", HF_STRING, false, 10, 10, &end},
        {"namespaces", HF_STRINGS, false, 1, 10, &namespaces_in},
        {"campaignIds", HF_STRINGS, false, 1, 1000, &campaigns_in},
        {"enableProgressTracking", HF_BOOL, false, 0, 0, &tracking},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    enum http_result result = HTTP_REPLIED;
    json_t *platforms = NULL, *namespaces = NULL, *campaigns = NULL, *params = NULL;
    bool ok;
    platforms = label_list(platforms_in, 32, &ok);
    size_t i;
    json_t *p;
    json_array_foreach(platforms, i, p) ok &= sync_platform_known(json_string_value(p));
    if (!ok) {
        invalid(req, "platforms", "platforms must be lemlist, smartlead or both");
        goto done;
    }
    if (strcmp(mode, "full") && strcmp(mode, "date_range") && strcmp(mode, "incremental")) {
        invalid(req, "syncMode", "syncMode must be full, date_range or incremental");
        goto done;
    }
    if (start && !is_day(start)) {
        invalid(req, "startDate", "startDate must be a date, YYYY-MM-DD");
        goto done;
    }
    if (end && !is_day(end)) {
        invalid(req, "endDate", "endDate must be a date, YYYY-MM-DD");
        goto done;
    }
    if (!strcmp(mode, "date_range")) {
        if (!start || !end) {
            invalid(req, start ? "endDate" : "startDate",
                    "date_range needs both startDate and endDate");
            goto done;
        }
        if (strcmp(start, end) > 0) {
            invalid(req, "startDate", "startDate must not be after endDate");
            goto done;
        }
    }
    if (namespaces_in) {
        namespaces = label_list(namespaces_in, 64, &ok);
        if (!ok) {
            invalid(req, "namespaces",
                    "each namespace must be 1-64 characters of A-Z a-z 0-9 _ . : -");
            goto done;
        }
    }
    if (campaigns_in) {
        campaigns = label_list(campaigns_in, 128, &ok);
        if (!ok) {
            invalid(req, "campaignIds",
                    "each campaignId must be 1-128 characters of A-Z a-z 0-9 _ . : -");
            goto done;
        }
    }
    json_array_foreach(platforms, i,
                       p) if (!sync_platform_configured(app->sync, json_string_value(p)))
    {
        char msg[160];
        snprintf(msg, sizeof(msg), "%s has no credentials configured (HERALD_%s_API_KEY)",
                 json_string_value(p),
                 !strcmp(json_string_value(p), "lemlist") ? "LEMLIST" : "SMARTLEAD");
        http_reply_error(req, HERALD_ERR_PLATFORM_NOT_CONFIGURED, msg, "platforms");
        goto done;
    }
    /* Events carry one namespace label: several given are joined, in order. */
    char ns[400] = "";
    json_array_foreach(namespaces, i, p)
    {
        size_t len = strlen(ns);
        snprintf(ns + len, sizeof(ns) - len, "%s%s", len ? "," : "", json_string_value(p));
    }
    if (strlen(ns) > 64) {
        invalid(req, "namespaces", "the namespaces together must fit in 64 characters");
        goto done;
    }
    params = json_pack("{s:O, s:s}", "platforms", platforms, "syncMode", mode);
    if (start)
        json_object_set_new(params, "startDate", json_string(start));
    if (end)
        json_object_set_new(params, "endDate", json_string(end));
    if (*ns)
        json_object_set_new(params, "namespace", json_string(ns));
    if (campaigns)
        json_object_set(params, "campaignIds", campaigns);
    char *text = json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char id[40];
    int rc = text ? sync_engine_enqueue(app->sync, text, id) : HERALD_ERR_NOMEM;
    free(text);
    if (rc) {
        api_fail(req, rc);
        goto done;
    }
    http_reply_json(req, 202,
                    json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", id, "status", "pending"));
done:
    json_decref(platforms);
    json_decref(namespaces);
    json_decref(campaigns);
    json_decref(params);
    json_decref(doc);
    return result;
}

static bool job_id_ok(const char *id)
{
    if (!id || strlen(id) != 36)
        return false;
    for (int i = 0; i < 36; i++)
        if (i == 8 || i == 13 || i == 18 || i == 23 ? id[i] != '-'
                                                    : !isxdigit((unsigned char)id[i]))
            return false;
    return true;
}

/* The public view: progress without the connectors' private cursors. */
static json_t *job_json(const struct store_job *j)
{
    json_t *progress = json_loads(j->progress ? j->progress : "{}", 0, NULL);
    if (!progress)
        progress = json_object();
    json_t *platforms = json_object_get(progress, "platforms");
    const char *name;
    json_t *p;
    json_object_foreach(platforms, name, p)
    {
        json_object_del(p, "_cursor");
        json_object_del(p, "_window");
    }
    if (!json_object_get(progress, "percent"))
        json_object_set_new(progress, "percent", json_integer(0));
    if (!platforms)
        json_object_set_new(progress, "platforms", json_object());
    json_t *params = json_loads(j->params ? j->params : "{}", 0, NULL);
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s?, s:i, s:o*}", "jobId", j->id,
                     "status", j->status, "progress", progress, "createdAt",
                     api_time(j->created_at_ms), "startedAt",
                     j->started_at_ms ? api_time(j->started_at_ms) : json_null(), "finishedAt",
                     j->finished_at_ms ? api_time(j->finished_at_ms) : json_null(), "error",
                     j->error ? json_string(j->error) : json_null(), "cancelRequested",
                     j->cancel_requested && !strcmp(j->status, "running") ? "true" : NULL,
                     "attempts", j->attempts, "params", params);
}

struct job_get_tx {
    const char *id;
    struct store_job job;
    bool now_cancelled;
};

static int job_get_tx(struct store_conn *c, void *arg)
{
    struct job_get_tx *t = arg;
    return store_job_get(c, t->id, &t->job);
}

/* Runs fn for the {jobId} of the path; answers 404 (or the error) itself and returns false. */
static bool with_job(struct http_request *req, struct app *app, store_fn fn, bool write,
                     struct job_get_tx *t)
{
    t->id = http_req_param(req, "jobId");
    int rc = job_id_ok(t->id) ? (write ? store_run_tx : store_run_read)(app->store, fn, t)
                              : HERALD_ERR_NOT_FOUND;
    if (rc == HERALD_ERR_NOT_FOUND)
        http_reply_error(req, rc, "no such job", NULL);
    else if (rc == HERALD_ERR_CONFLICT)
        http_reply_error(req, rc, "the job has already finished", NULL);
    else if (rc)
        api_fail(req, rc);
    return rc == HERALD_OK;
}

enum http_result api_full_sync_status(struct http_request *req, void *ctx)
{
    struct job_get_tx t = {0};
    if (!with_job(req, ctx, job_get_tx, false, &t))
        return HTTP_REPLIED;
    json_t *body = job_json(&t.job);
    store_job_clear(&t.job);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

static int cancel_tx(struct store_conn *c, void *arg)
{
    struct job_get_tx *t = arg;
    return store_job_cancel(c, t->id, clock_now_ms(), &t->now_cancelled);
}

enum http_result api_full_sync_cancel(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct job_get_tx t = {0};
    if (!with_job(req, app, cancel_tx, true, &t))
        return HTTP_REPLIED;
    const char *id = t.id;
    sync_engine_cancel_local(app->sync, id);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", id, "status",
                              t.now_cancelled ? "cancelled" : "cancelling"));
    return HTTP_REPLIED;
}

struct list_tx {
    const char *status;
    int64_t after_ms;
    const char *after_id;
    int limit;
    struct store_job *jobs;
    size_t n;
};

static int list_tx(struct store_conn *c, void *arg)
{
    struct list_tx *t = arg;
    store_jobs_free(t->jobs, t->n);
    t->jobs = NULL;
    t->n = 0;
    return store_job_list(c, t->status, t->after_ms, t->after_id, t->limit, &t->jobs, &t->n);
}

enum http_result api_full_sync_jobs(struct http_request *req, void *ctx)
{
    static const char *const statuses[] = {"pending", "running", "completed", "failed",
                                           "cancelled"};
    struct app *app = ctx;
    long long limit;
    if (http_query_int(req, "limit", 1, 100, 20, &limit))
        return HTTP_REPLIED;
    struct list_tx t = {.limit = (int)limit};
    t.status = http_req_query(req, "status");
    if (t.status) {
        bool known = false;
        for (size_t i = 0; i < 5; i++)
            known |= !strcmp(t.status, statuses[i]);
        if (!known)
            return invalid(req, "status",
                           "status must be pending, running, completed, failed or cancelled");
    }
    /* The cursor is "<created ms>.<job id>" of the last job of the previous page. */
    const char *cursor = http_req_query(req, "cursor");
    char after_id[40];
    if (cursor) {
        const char *dot = strchr(cursor, '.');
        char *end;
        t.after_ms = strtoll(cursor, &end, 10);
        if (!dot || end != dot || !job_id_ok(dot + 1))
            return invalid(req, "cursor", "cursor is not one this server issued");
        snprintf(after_id, sizeof(after_id), "%s", dot + 1);
        t.after_id = after_id;
    }
    int rc = store_run_read(app->store, list_tx, &t);
    if (rc)
        return api_fail(req, rc);
    json_t *jobs = json_array();
    for (size_t i = 0; i < t.n; i++)
        json_array_append_new(jobs, job_json(&t.jobs[i]));
    json_t *next = json_null();
    if (t.n == (size_t)t.limit) {
        char c[80];
        snprintf(c, sizeof(c), "%" PRId64 ".%s", t.jobs[t.n - 1].created_at_ms, t.jobs[t.n - 1].id);
        next = json_string(c);
    }
    store_jobs_free(t.jobs, t.n);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:o, s:o}", "success", 1, "jobs", jobs, "nextCursor", next));
    return HTTP_REPLIED;
}

struct dl_tx {
    int64_t before, id;
    int limit;
    struct store_dead_letter *rows, one;
    size_t n;
};

static int dl_list_tx(struct store_conn *c, void *arg)
{
    struct dl_tx *t = arg;
    store_dead_letters_free(t->rows, t->n);
    t->rows = NULL;
    t->n = 0;
    return store_dead_letter_list(c, t->before, t->limit, &t->rows, &t->n);
}

enum http_result api_dead_letters_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    long long limit, before;
    if (http_query_int(req, "limit", 1, 100, 20, &limit) ||
        http_query_int(req, "cursor", 1, INT64_MAX, 0, &before))
        return HTTP_REPLIED;
    struct dl_tx t = {.before = before, .limit = (int)limit};
    int rc = store_run_read(app->store, dl_list_tx, &t);
    if (rc)
        return api_fail(req, rc);
    json_t *rows = json_array();
    for (size_t i = 0; i < t.n; i++) {
        struct store_dead_letter *d = &t.rows[i];
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s?, s:s, s:s, s:s?, s:s?, s:o, s:o}", "id", (json_int_t)d->id,
                      "jobId", d->job_id, "kind", d->kind, "reason", d->reason, "request",
                      d->request, "payload", d->payload, "createdAt", api_time(d->created_at_ms),
                      "retriedAt", d->retried_at_ms ? api_time(d->retried_at_ms) : json_null()));
    }
    json_t *next =
        t.n == (size_t)t.limit ? json_sprintf("%" PRId64, t.rows[t.n - 1].id) : json_null();
    store_dead_letters_free(t.rows, t.n);
    http_reply_json(
        req, 200,
        json_pack("{s:b, s:o, s:o}", "success", 1, "deadLetters", rows, "nextCursor", next));
    return HTTP_REPLIED;
}

static int dl_get_tx(struct store_conn *c, void *arg)
{
    struct dl_tx *t = arg;
    return store_dead_letter_get(c, t->id, &t->one);
}

static int dl_mark_tx(struct store_conn *c, void *arg)
{
    struct dl_tx *t = arg;
    return store_dead_letter_mark_retried(c, t->id, clock_now_ms());
}

enum http_result api_dead_letters_retry(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *id_s = http_req_param(req, "id");
    char *end;
    long long id = strtoll(id_s, &end, 10);
    if (*end || id <= 0) {
        http_reply_error(req, HERALD_ERR_NOT_FOUND, "no such dead letter", NULL);
        return HTTP_REPLIED;
    }
    struct dl_tx t = {.id = id};
    int rc = store_run_read(app->store, dl_get_tx, &t);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no such dead letter", NULL);
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    char job_id[40] = "";
    if (t.one.job_id)
        snprintf(job_id, sizeof(job_id), "%s", t.one.job_id);
    free(t.one.job_id);
    free(t.one.kind);
    free(t.one.reason);
    free(t.one.request);
    free(t.one.payload);
    if (!*job_id) {
        http_reply_error(req, HERALD_ERR_CONFLICT, "this dead letter belongs to no job", NULL);
        return HTTP_REPLIED;
    }
    rc = sync_engine_requeue(app->sync, job_id);
    if (rc == HERALD_ERR_CONFLICT) {
        http_reply_error(req, rc, "the job has not failed; nothing to retry", NULL);
        return HTTP_REPLIED;
    }
    if (!rc)
        rc = store_run_tx(app->store, dl_mark_tx, &t);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(
        req, 202, json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", job_id, "status", "pending"));
    return HTTP_REPLIED;
}
