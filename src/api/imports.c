/* CSV contact imports over HTTP: POST /api/contacts/import (a streaming route: the body goes to
 * mail/import.h piece by piece) and GET /api/contacts/import/{jobId}. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "mail/import.h"

/* text/csv, with or without parameters (charset=utf-8). */
static bool is_csv(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "text/csv", 8) == 0 && (ct[8] == '\0' || ct[8] == ';' || ct[8] == ' ');
}

/* "1,2,3" into ids; false on anything else. */
static bool parse_lists(const char *s, int64_t *ids, size_t max, size_t *n)
{
    *n = 0;
    if (!s || !*s)
        return true;
    for (;;) {
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)*s) || *n >= max)
            return false;
        long long v = strtoll(s, &end, 10);
        if (errno || v <= 0)
            return false;
        ids[(*n)++] = v;
        if (*end == '\0')
            return true;
        if (*end != ',')
            return false;
        s = end + 1;
    }
}

static void upload_free(void *state)
{
    mail_import_upload_free(state);
}

static bool import_chunk(struct http_request *req, void *ctx, const char *data, size_t len)
{
    (void)ctx;
    struct herald_error err;
    if (!mail_import_write(http_req_state(req), data, len, &err))
        return true;
    http_reply_err(req, &err);
    return false;
}

static enum http_result import_finish(struct http_request *req, void *ctx)
{
    (void)ctx;
    struct herald_error err;
    char job_id[40];
    int64_t rows = 0;
    if (mail_import_finish(http_req_state(req), job_id, &rows, &err))
        return api_fail_err(req, &err);
    http_reply_json(req, 202,
                    json_pack("{s:b, s:s, s:s, s:I}", "success", 1, "jobId", job_id, "status",
                              "pending", "rows", (json_int_t)rows));
    return HTTP_REPLIED;
}

static const struct http_sink import_sink = {import_chunk, import_finish};

/* On the headers: the content type and the query, then the body is streamed to the upload. */
enum http_result api_contacts_import(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    if (!is_csv(http_req_header(req, "Content-Type"))) {
        http_reply_error(req, HERALD_ERR_MEDIA_TYPE, "Content-Type must be text/csv", NULL);
        return HTTP_REPLIED;
    }
    int64_t lists[MAIL_IMPORT_MAX_LISTS];
    struct mail_import_request rq = {.lists = lists};
    if (!parse_lists(http_req_query(req, "lists"), lists, MAIL_IMPORT_MAX_LISTS, &rq.nlists)) {
        http_reply_error(req, HERALD_ERR_INVALID,
                         "lists must be list ids separated by commas (at most 100)", "lists");
        return HTTP_REPLIED;
    }
    const char *mode = http_req_query(req, "mode");
    if (mode && strcmp(mode, "upsert") != 0 && strcmp(mode, "skip") != 0) {
        http_reply_error(req, HERALD_ERR_INVALID, "mode must be upsert or skip", "mode");
        return HTTP_REPLIED;
    }
    rq.skip_existing = mode && strcmp(mode, "skip") == 0;
    rq.consent_text = http_req_query(req, "consentText");
    rq.consent_ip = http_req_client_ip(req);
    struct mail_import_upload *up;
    struct herald_error err;
    if (mail_import_begin(app->imports, &rq, &up, &err))
        return api_fail_err(req, &err);
    http_req_set_state(req, up, upload_free);
    return http_req_stream(req, &import_sink);
}

enum http_result api_contacts_import_status(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    struct jobs_info j;
    int rc = mail_import_status(app->imports, http_req_param(req, "jobId"), &j);
    if (rc == HERALD_ERR_NOT_FOUND) {
        http_reply_error(req, rc, "no such import job", NULL);
        return HTTP_REPLIED;
    }
    if (rc)
        return api_fail(req, rc);
    json_t *progress = j.progress ? json_incref(j.progress) : json_object();
    json_t *body = json_pack(
        "{s:b, s:s, s:s, s:O?, s:O?, s:O?, s:o, s:o, s:o, s:o, s:s?, s:i}", "success", 1, "jobId",
        j.id, "status", j.status, "lists", json_object_get(j.params, "lists"), "mode",
        json_object_get(j.params, "mode"), "consentText", json_object_get(j.params, "consentText"),
        "progress", progress, "createdAt", api_time(j.created_at_ms), "startedAt",
        j.started_at_ms ? api_time(j.started_at_ms) : json_null(), "finishedAt",
        j.finished_at_ms ? api_time(j.finished_at_ms) : json_null(), "error", j.error, "attempts",
        j.attempts);
    jobs_info_clear(&j);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}
