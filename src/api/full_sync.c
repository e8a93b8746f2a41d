/* Jobs over HTTP: POST /api/full-sync/execute, GET /api/full-sync/status/{jobId},
 * DELETE /api/full-sync/cancel/{jobId}, GET /api/full-sync/jobs, and the dead letters. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "jobs/jobs.h"

static enum http_result invalid(struct http_request *req, const char *field, const char *msg)
{
    http_reply_error(req, HERALD_ERR_INVALID, msg, field);
    return HTTP_REPLIED;
}

/* The body's shape is checked here; what it means, by the sync kind (jobs_submit). */
enum http_result api_full_sync_execute(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    json_t *doc = NULL, *platforms = NULL, *namespaces = NULL, *campaigns = NULL;
    const char *mode = NULL, *start = NULL, *end = NULL;
    bool tracking = true;
    const struct http_field spec[] = {
        {"platforms", HF_STRINGS, true, 1, 10, &platforms},
        {"syncMode", HF_STRING, true, 1, 32, &mode},
        {"startDate", HF_STRING, false, 10, 10, &start},
        {"endDate", HF_STRING, false, 10, 10, &end},
        {"namespaces", HF_STRINGS, false, 1, 10, &namespaces},
        {"campaignIds", HF_STRINGS, false, 1, 1000, &campaigns},
        {"enableProgressTracking", HF_BOOL, false, 0, 0, &tracking},
    };
    if (http_parse_json(req, spec, sizeof(spec) / sizeof(spec[0]), &doc))
        return HTTP_REPLIED;
    char id[40];
    struct jobs_problem problem;
    int rc = jobs_submit(app->jobs, "sync", doc, id, &problem);
    json_decref(doc);
    if (rc && problem.message[0])
        http_reply_error(req, (enum herald_err)rc, problem.message, problem.field);
    else if (rc)
        api_fail(req, rc);
    else
        http_reply_json(
            req, 202, json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", id, "status", "pending"));
    return HTTP_REPLIED;
}

static json_t *job_json(struct jobs_info *j)
{
    json_t *params = j->params ? json_incref(j->params) : json_object();
    json_t *progress = j->progress ? json_incref(j->progress) : json_object();
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s?, s:i, s:o}", "jobId", j->id,
                     "status", j->status, "progress", progress, "createdAt",
                     api_time(j->created_at_ms), "startedAt",
                     j->started_at_ms ? api_time(j->started_at_ms) : json_null(), "finishedAt",
                     j->finished_at_ms ? api_time(j->finished_at_ms) : json_null(), "error",
                     j->error ? json_string(j->error) : json_null(), "cancelRequested",
                     j->cancel_requested && !strcmp(j->status, "running") ? "true" : NULL,
                     "attempts", j->attempts, "params", params);
}

/* Answers a job lookup's failure: 404 for an unknown job, 409 for a finished one. */
static enum http_result job_fail(struct http_request *req, int rc)
{
    if (rc == HERALD_ERR_NOT_FOUND)
        http_reply_error(req, rc, "no such job", NULL);
    else if (rc == HERALD_ERR_CONFLICT)
        http_reply_error(req, rc, "the job has already finished", NULL);
    else
        api_fail(req, rc);
    return HTTP_REPLIED;
}

enum http_result api_full_sync_status(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct jobs_info info;
    int rc = jobs_get(app->jobs, http_req_param(req, "jobId"), &info);
    if (rc)
        return job_fail(req, rc);
    json_t *body = job_json(&info);
    jobs_info_clear(&info);
    json_object_set_new(body, "success", json_true());
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

enum http_result api_full_sync_cancel(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *id = http_req_param(req, "jobId");
    bool now_cancelled;
    int rc = jobs_cancel(app->jobs, id, &now_cancelled);
    if (rc)
        return job_fail(req, rc);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", id, "status",
                              now_cancelled ? "cancelled" : "cancelling"));
    return HTTP_REPLIED;
}

/* The cursor is "<created ms>.<job id>" of the last job of the previous page. */
static bool parse_cursor(const char *cursor, int64_t *after_ms, char after_id[40])
{
    const char *dot = strchr(cursor, '.');
    char *end;
    *after_ms = strtoll(cursor, &end, 10);
    if (!dot || end != dot || !jobs_id_valid(dot + 1))
        return false;
    snprintf(after_id, 40, "%s", dot + 1);
    return true;
}

enum http_result api_full_sync_jobs(struct http_request *req, void *ctx)
{
    static const char *const statuses[] = {"pending", "running", "completed", "failed",
                                           "cancelled"};
    struct app *app = ctx;
    long long limit;
    if (http_query_int(req, "limit", 1, 100, 20, &limit))
        return HTTP_REPLIED;
    const char *status = http_req_query(req, "status"), *cursor = http_req_query(req, "cursor");
    bool known = !status;
    for (size_t i = 0; status && i < 5; i++)
        known |= !strcmp(status, statuses[i]);
    if (!known)
        return invalid(req, "status",
                       "status must be pending, running, completed, failed or cancelled");
    int64_t after_ms = 0;
    char after_id[40];
    if (cursor && !parse_cursor(cursor, &after_ms, after_id))
        return invalid(req, "cursor", "cursor is not one this server issued");
    struct jobs_info *infos;
    size_t n;
    int rc =
        jobs_list(app->jobs, status, after_ms, cursor ? after_id : NULL, (int)limit, &infos, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *jobs = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(jobs, job_json(&infos[i]));
    json_t *next = json_null();
    if (n == (size_t)limit)
        next = json_sprintf("%" PRId64 ".%s", infos[n - 1].created_at_ms, infos[n - 1].id);
    jobs_infos_free(infos, n);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:o, s:o}", "success", 1, "jobs", jobs, "nextCursor", next));
    return HTTP_REPLIED;
}

enum http_result api_dead_letters_list(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    long long limit, before;
    if (http_query_int(req, "limit", 1, 100, 20, &limit) ||
        http_query_int(req, "cursor", 1, INT64_MAX, 0, &before))
        return HTTP_REPLIED;
    struct jobs_dead_letter *rows;
    size_t n;
    int rc = jobs_dead_letters_list(app->jobs, before, (int)limit, &rows, &n);
    if (rc)
        return api_fail(req, rc);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        struct jobs_dead_letter *d = &rows[i];
        json_array_append_new(
            list,
            json_pack("{s:I, s:s?, s:s, s:s, s:s?, s:s?, s:o, s:o}", "id", (json_int_t)d->id,
                      "jobId", d->job_id, "kind", d->kind, "reason", d->reason, "request",
                      d->request, "payload", d->payload, "createdAt", api_time(d->created_at_ms),
                      "retriedAt", d->retried_at_ms ? api_time(d->retried_at_ms) : json_null()));
    }
    json_t *next = n == (size_t)limit ? json_sprintf("%" PRId64, rows[n - 1].id) : json_null();
    jobs_dead_letters_free(rows, n);
    http_reply_json(
        req, 200,
        json_pack("{s:b, s:o, s:o}", "success", 1, "deadLetters", list, "nextCursor", next));
    return HTTP_REPLIED;
}

enum http_result api_dead_letters_retry(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    char *end, job_id[40];
    long long id = strtoll(http_req_param(req, "id"), &end, 10);
    int rc = *end || id <= 0 ? HERALD_ERR_NOT_FOUND : jobs_retry_dead_letter(app->jobs, id, job_id);
    if (rc == HERALD_ERR_NOT_FOUND)
        http_reply_error(req, rc, "no such dead letter", NULL);
    else if (rc == HERALD_ERR_CONFLICT)
        http_reply_error(
            req, rc, "nothing to retry: its job has not failed, or it was retried already", NULL);
    else if (rc)
        api_fail(req, rc);
    else
        http_reply_json(
            req, 202,
            json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", job_id, "status", "pending"));
    return HTTP_REPLIED;
}
