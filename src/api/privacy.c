/* Privacy endpoints: GET /api/privacy/export (streamed JSON or ZIP of CSVs), POST /api/privacy/
 * erase (202 + job), GET|POST /api/privacy/erasures/{id}[/retry-mixpanel], POST .../retention. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app.h"
#include "mail/contacts.h"
#include "privacy/privacy.h"

static long export_read(void *ctx, char *buf, size_t max)
{
    return privacy_export_read(ctx, buf, max);
}

static void export_free(void *ctx)
{
    privacy_export_free(ctx);
}

static const struct http_stream export_stream = {export_read, export_free};

/* Who asked, for the audit log. */
static struct privacy_audit who(struct http_request *req, const char *action)
{
    const struct http_principal *p = http_req_principal(req);
    return (struct privacy_audit){.actor = p ? p->key_id : "",
                                  .action = action,
                                  .ip = http_req_client_ip(req),
                                  .request_id = http_req_id(req)};
}

enum http_result api_privacy_export(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *email = http_req_query(req, "email");
    const char *format = http_req_query(req, "format");
    if (!email || !*email)
        return http_reply_error(req, HERALD_ERR_INVALID, "email is required", "email"),
               HTTP_REPLIED;
    bool zip = format && strcmp(format, "zip") == 0;
    if (format && !zip && strcmp(format, "json") != 0)
        return http_reply_error(req, HERALD_ERR_INVALID, "format is json or zip", "format"),
               HTTP_REPLIED;
    struct privacy_export *x;
    int rc = privacy_export_open(app->store, email, zip ? PRIVACY_ZIP : PRIVACY_JSON, &x);
    if (rc == HERALD_ERR_INVALID)
        return http_reply_error(req, rc, "not a valid email address", "email"), HTTP_REPLIED;
    if (rc)
        return api_fail(req, rc);
    struct privacy_audit a = who(req, "privacy.export");
    /* The subject is the address the export was for, in the one form an erasure later hashes
     * (trimmed, lower-cased): the raw query value would stay behind in clear. */
    char subject[MAIL_EMAIL_MAX];
    if ((rc = mail_email_normalize(email, subject))) {
        privacy_export_free(x);
        return api_fail(req, rc);
    }
    a.subject = subject;
    a.detail = zip ? "{\"format\":\"zip\"}" : "{\"format\":\"json\"}";
    a.status = 200;
    if ((rc = privacy_audit_write(app->store, &a))) {
        privacy_export_free(x);
        return api_fail(req, rc);
    }
    http_reply_header(req, "Cache-Control", "no-store");
    if (zip)
        http_reply_header(req, "Content-Disposition", "attachment; filename=\"export.zip\"");
    http_reply_stream(req, 200, zip ? "application/zip" : "application/json", &export_stream, x);
    return HTTP_REPLIED;
}

enum http_result api_privacy_erase(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    const char *email = NULL;
    struct http_field spec[] = {{"email", HF_STRING, true, 1, 254, &email}};
    json_t *doc = NULL;
    if (http_parse_json(req, spec, 1, &doc))
        return HTTP_REPLIED;
    struct privacy_audit a = who(req, "privacy.erase");
    a.status = 202;
    int64_t id = 0;
    char job_id[40];
    int rc = privacy_erase_submit(app->privacy, email, &a, &id, job_id);
    json_decref(doc);
    if (rc == HERALD_ERR_INVALID)
        return http_reply_error(req, rc, "not a valid email address", "email"), HTTP_REPLIED;
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 202,
                    json_pack("{s:b, s:I, s:s, s:s}", "success", 1, "erasureId", (json_int_t)id,
                              "jobId", job_id, "status", "pending"));
    return HTTP_REPLIED;
}

/* Whether POST .../retry-mixpanel has something to re-send: the deletion failed and the
 * distinct_ids are still kept. */
static bool mixpanel_retryable(const struct store_erasure *e, json_t *report)
{
    const char *st =
        json_string_value(json_object_get(json_object_get(report, "mixpanel"), "status"));
    return e->mixpanel_ids && st && strcmp(st, "failed") == 0;
}

enum http_result api_privacy_erasure_get(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return api_fail(req, HERALD_ERR_NOT_FOUND);
    struct store_erasure e;
    int rc = privacy_erasure_get(app->store, id, &e);
    if (rc)
        return api_fail(req, rc);
    json_t *report = e.report ? json_loads(e.report, 0, NULL) : NULL;
    json_t *body = json_pack(
        "{s:b, s:I, s:s, s:s, s:o, s:o, s:O?, s:o, s:o}", "success", 1, "id", (json_int_t)e.id,
        "status", e.status, "jobId", e.job_id, "createdAt", api_time(e.created_at_ms), "finishedAt",
        e.finished_at_ms ? api_time(e.finished_at_ms) : json_null(), "mixpanel",
        json_object_get(report, "mixpanel"), "mixpanelRetryable",
        json_boolean(mixpanel_retryable(&e, report)), "report", report ? report : json_null());
    store_erasure_clear(&e);
    http_reply_json(req, 200, body);
    return HTTP_REPLIED;
}

enum http_result api_privacy_erasure_retry_mixpanel(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    int64_t id;
    if (!api_positive_id(http_req_param(req, "id"), &id))
        return api_fail(req, HERALD_ERR_NOT_FOUND);
    char job_id[40];
    int rc = privacy_erasure_retry_mixpanel(app->privacy, id, job_id);
    if (rc == HERALD_ERR_CONFLICT)
        return http_reply_error(req, rc,
                                "nothing to re-send: Mixpanel's deletion has not failed, or a "
                                "retry is under way",
                                NULL),
               HTTP_REPLIED;
    if (rc)
        return api_fail(req, rc);
    http_reply_json(req, 202,
                    json_pack("{s:b, s:I, s:s, s:s}", "success", 1, "erasureId", (json_int_t)id,
                              "jobId", job_id, "status", "retrying"));
    return HTTP_REPLIED;
}

enum http_result api_privacy_retention(struct http_request *req, void *ctx)
{
    struct app *app = ctx;
    char job_id[40];
    int rc = privacy_retention_submit(app->privacy, job_id);
    if (rc)
        return api_fail(req, rc);
    http_reply_json(
        req, 202, json_pack("{s:b, s:s, s:s}", "success", 1, "jobId", job_id, "status", "pending"));
    return HTTP_REPLIED;
}
